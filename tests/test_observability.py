"""course_lib.observability against the libraries it wraps: prometheus_client's own parser,
the OpenTelemetry SDK, the cloudevents SDK, jsonschema, and (where present) Argo's published
JSON Schemas. The real Prometheus tools are in tests/test_prometheus_real.py."""

from __future__ import annotations

import io
import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from course_lib import observability as obs

# --- logs ---------------------------------------------------------------------------------


def _log_line(**extra) -> dict:
    buffer = io.StringIO()
    logger = obs.prediction_logger("test.model", stream=buffer)
    logger.info("prediction served", extra=extra)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_json_log_line_has_the_standard_and_prediction_fields():
    line = _log_line(prediction_id="p-1", model_version="v2", latency_ms=12.5, features={"age": 41}, prediction=0.73)
    assert line["level"] == "INFO" and line["logger"] == "test.model" and line["message"] == "prediction served"
    assert line["prediction_id"] == "p-1" and line["model_version"] == "v2" and line["latency_ms"] == 12.5
    assert line["features"] == {"age": 41} and line["prediction"] == 0.73
    # UTC ISO 8601 with milliseconds, parseable by the standard library.
    from datetime import datetime, timezone

    stamp = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
    assert stamp.tzinfo == timezone.utc and abs((datetime.now(timezone.utc) - stamp).total_seconds()) < 60


def test_values_json_cannot_encode_do_not_break_the_line():
    class Opaque:
        def __repr__(self):
            return "<Opaque>"

    line = _log_line(
        features={"income": float("nan"), "score": np.float32(0.5), "vector": np.arange(3), "tags": {"b", "a"}},
        latency_ms=float("inf"),
        prediction=Opaque(),
    )
    assert line["features"] == {"income": "NaN", "score": 0.5, "vector": [0, 1, 2], "tags": ["a", "b"]}
    assert line["latency_ms"] == "Infinity" and line["prediction"] == "<Opaque>"


def test_exception_text_is_logged_and_handlers_are_not_stacked():
    buffer = io.StringIO()
    obs.prediction_logger("test.exc", stream=io.StringIO())
    logger = obs.prediction_logger("test.exc", stream=buffer)  # replaces the first handler
    try:
        raise ValueError("feature 'age' is missing")
    except ValueError:
        logger.exception("prediction failed", extra={"prediction_id": "p-9"})
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["level"] == "ERROR" and "ValueError: feature 'age' is missing" in line["exception"]
    assert len([h for h in logger.handlers if getattr(h, "_course_lib_json", False)]) == 1


def test_logger_arguments_are_checked():
    with pytest.raises(TypeError, match="stream"):
        obs.prediction_logger("x", stream=42)
    with pytest.raises(ValueError, match="name"):
        obs.prediction_logger("  ")
    with pytest.raises(TypeError, match="static_fields"):
        obs.JsonFormatter(static_fields=["service"])


# --- metrics ------------------------------------------------------------------------------


def _parsed(metrics: obs.ModelMetrics) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    return {family.name: family for family in text_string_to_metric_families(metrics.exposition())}


def test_exposition_parses_with_prometheus_client_and_has_the_issue_names():
    metrics = obs.ModelMetrics("v7", info={"framework": "sklearn"})
    rng = np.random.default_rng(0)
    latencies = rng.exponential(0.2, 500)
    for latency in latencies:
        metrics.observe(float(latency))
    metrics.observe(0.01, status="error")
    metrics.observe(0.01, status="rejected")
    metrics.set_drift_score("income", 0.42)
    metrics.set_accuracy(0.88)
    families = _parsed(metrics)
    assert {f.type for f in families.values()} >= {"counter", "histogram", "gauge"}
    assert families["model_predictions"].type == "counter"
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("model_predictions_total", (("model_version", "v7"), ("status", "success")))] == 500
    assert samples[("model_prediction_latency_seconds_count", (("model_version", "v7"),))] == 502
    assert samples[("model_prediction_latency_seconds_sum", (("model_version", "v7"),))] == pytest.approx(latencies.sum() + 0.02)
    # Each bucket counts the observations <= its bound, as numpy counts them.
    for bound in obs.DEFAULT_LATENCY_BUCKETS:
        key = ("model_prediction_latency_seconds_bucket", (("le", str(float(bound))), ("model_version", "v7")))
        assert samples[key] == np.count_nonzero(latencies <= bound) + 2
    assert samples[("model_feature_drift_score", (("feature", "income"),))] == 0.42
    assert samples[("model_accuracy", ())] == 0.88
    assert samples[("model_info", (("framework", "sklearn"), ("version", "v7")))] == 1
    assert "_created" not in metrics.exposition()


def test_two_services_do_not_collide():
    first, second = obs.ModelMetrics("a"), obs.ModelMetrics("b")
    first.observe(0.1)
    assert second.value("model_predictions_total", model_version="b", status="success") is None
    assert first.value("model_predictions_total", model_version="a", status="success") == 1


def test_latency_buckets_feed_histogram_quantile_like_numpy_on_uniform_data():
    metrics = obs.ModelMetrics("v1", buckets=[0.1 * k for k in range(1, 11)])
    for latency in np.linspace(0.0005, 0.9995, 1000):
        metrics.observe(float(latency))
    bounds, counts = metrics.latency_buckets()
    # Uniform data is the case where linear interpolation inside a bucket is exact.
    assert obs.histogram_quantile(0.95, bounds, counts) == pytest.approx(0.95, abs=1e-9)
    assert obs.histogram_quantile(0.5, bounds, counts) == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda m: m.observe(-0.1), ValueError, "latency_seconds"),
        (lambda m: m.observe(float("nan")), ValueError, "latency_seconds"),
        (lambda m: m.observe("fast"), TypeError, "latency_seconds"),
        (lambda m: m.observe(0.1, status="ok"), ValueError, "status must be one of"),
        (lambda m: m.set_accuracy(1.2), ValueError, "accuracy"),
        (lambda m: m.set_drift_score("", 0.1), ValueError, "feature"),
        (lambda m: m.set_drift_score("age", -1), ValueError, "score"),
    ],
)
def test_metric_updates_check_their_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call(obs.ModelMetrics("v1"))


def test_model_metrics_constructor_checks_its_arguments():
    with pytest.raises(TypeError, match="model_version"):
        obs.ModelMetrics(3)
    with pytest.raises(ValueError, match="strictly increasing"):
        obs.ModelMetrics("v1", buckets=[0.5, 0.1])
    with pytest.raises(ValueError, match="buckets"):
        obs.ModelMetrics("v1", buckets=[])
    with pytest.raises(TypeError, match="info"):
        obs.ModelMetrics("v1", info=["a"])


def test_serve_metrics_refuses_bad_arguments_without_opening_anything():
    with pytest.raises(TypeError, match="ModelMetrics"):
        obs.serve_metrics("registry")
    with pytest.raises(ValueError, match="port"):
        obs.serve_metrics(obs.ModelMetrics("v1"), port=70000)


def test_serve_metrics_refuses_to_run_in_the_browser(monkeypatch):
    monkeypatch.setattr(obs.sys, "platform", "emscripten")
    with pytest.raises(RuntimeError, match="laptop"):
        obs.serve_metrics(obs.ModelMetrics("v1"), port=0)


def test_serve_metrics_listens_on_loopback_and_serves_the_exposition():
    import urllib.request

    metrics = obs.ModelMetrics("v1")
    metrics.observe(0.2)
    server = obs.serve_metrics(metrics, port=0)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url, timeout=5) as response:
            assert response.read().decode() == metrics.exposition()
    finally:
        server.stop()


# --- histogram_quantile -------------------------------------------------------------------


def test_histogram_quantile_rules():
    bounds = [0.1, 0.5, 1.0, math.inf]
    assert obs.histogram_quantile(0.5, bounds, [10, 60, 90, 100]) == pytest.approx(0.42)
    # A rank in the +Inf bucket returns the largest finite bound.
    assert obs.histogram_quantile(0.95, bounds, [10, 60, 90, 100]) == 1.0
    # The first bucket is interpolated from 0.
    assert obs.histogram_quantile(0.05, bounds, [10, 60, 90, 100]) == pytest.approx(0.05)
    assert math.isnan(obs.histogram_quantile(0.5, bounds, [0, 0, 0, 0]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0.001, 10), min_size=1, max_size=200), st.floats(0.01, 0.99))
def test_histogram_quantile_brackets_the_empirical_quantile(values, q):
    values = np.array(values)
    bounds = [0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, math.inf]
    counts = [np.count_nonzero(values <= b) for b in bounds]
    estimate = obs.histogram_quantile(q, bounds, counts)
    # The estimate lies in the bucket where the rank q*n falls (the definition of the method).
    rank = q * len(values)
    index = next(i for i, c in enumerate(counts) if c >= rank)
    lower = 0.0 if index == 0 else bounds[index - 1]
    upper = bounds[min(index, len(bounds) - 2)]
    assert lower - 1e-12 <= estimate <= upper + 1e-12


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((1.5, [1, math.inf], [1, 2]), ValueError, "q must be between 0 and 1"),
        ((0.5, [1, 2], [1, 2]), ValueError, "end with inf"),
        ((0.5, [1, math.inf], [1]), ValueError, "same length"),
        ((0.5, [2, 1, math.inf], [1, 2, 3]), ValueError, "strictly increasing"),
        ((0.5, [1, 2, math.inf], [3, 2, 3]), ValueError, "must not decrease"),
        ((0.5, [1, math.inf], [1, -2]), ValueError, "cumulative_counts"),
        ((0.5, "1 inf", [1, 2]), TypeError, "sequences"),
    ],
)
def test_histogram_quantile_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        obs.histogram_quantile(*args)


# --- alert rules (structure; promtool runs them in test_prometheus_real.py) ---------------


def test_alert_rules_hold_the_seed_alerts():
    rules = {rule["alert"]: rule for rule in yaml.safe_load(obs.alert_rules())["groups"][0]["rules"]}
    assert set(rules) == {"ModelAccuracyLow", "ModelErrorRateHigh", "ModelLatencyP95High", "ModelFeatureDrift", "ModelTrafficSpike"}
    assert rules["ModelAccuracyLow"]["expr"] == "model_accuracy < 0.85"
    assert rules["ModelAccuracyLow"]["for"] == "10m" and rules["ModelAccuracyLow"]["labels"]["severity"] == "critical"
    assert "> 0.05" in rules["ModelErrorRateHigh"]["expr"] and rules["ModelErrorRateHigh"]["for"] == "5m"
    assert rules["ModelLatencyP95High"]["expr"].startswith("histogram_quantile(0.95,")
    assert rules["ModelFeatureDrift"]["expr"] == "model_feature_drift_score > 0.3"


def test_thresholds_change_the_rules_and_are_checked():
    custom = obs.AlertThresholds(accuracy=0.9, accuracy_for="30m")
    rule = yaml.safe_load(obs.alert_rules(custom))["groups"][0]["rules"][0]
    assert rule["expr"] == "model_accuracy < 0.9" and rule["for"] == "30m"
    with pytest.raises(ValueError, match="accuracy_for must be a Prometheus duration"):
        obs.AlertThresholds(accuracy_for="ten minutes")
    with pytest.raises(ValueError, match="accuracy"):
        obs.AlertThresholds(accuracy=1.5)
    with pytest.raises(ValueError, match="traffic_factor"):
        obs.AlertThresholds(traffic_factor=0.5)
    with pytest.raises(TypeError, match="thresholds"):
        obs.alert_rules({"accuracy": 0.9})
    with pytest.raises(ValueError, match="evaluation_interval"):
        obs.rule_tests(evaluation_interval="0s")


def test_duration_seconds():
    assert [obs.duration_seconds(d) for d in ("30s", "5m", "2h", "1h30m")] == [30, 300, 7200, 5400]
    # Prometheus' larger units (promtool accepts them too: tests/test_prometheus_real.py).
    assert [obs.duration_seconds(d) for d in ("1d", "2w", "1y", "1d12h", "0")] == [86400, 1209600, 31536000, 129600, 0]
    with pytest.raises(ValueError, match="milliseconds"):
        obs.duration_seconds("500ms")
    for bad in ("", "5", "5 m", "m5", "1h1d", "1.5h", "1m1m"):
        with pytest.raises(ValueError, match="duration"):
            obs.duration_seconds(bad)
    with pytest.raises(TypeError, match="duration"):
        obs.duration_seconds(300)


# --- traces -------------------------------------------------------------------------------


def test_traced_prediction_span_carries_version_features_and_prediction():
    tracing = obs.in_memory_tracing("churn", service_version="1.2.0")
    clock = iter([1_000_000_000, 1_250_000_000])

    def predict(features):
        with tracing.tracer.start_as_current_span("feature_lookup"):
            pass
        return 0.8

    result = obs.traced_prediction(
        predict, {"age": 40, "income": None, "plan": "basic"}, tracer=tracing.tracer, model_version="v3",
        prediction_id="p-5", clock=lambda: next(clock),
    )
    assert result == 0.8
    spans = {span.name: span for span in tracing.spans()}
    root, child = spans["predict"], spans["feature_lookup"]
    assert child.parent.span_id == root.context.span_id and child.context.trace_id == root.context.trace_id
    assert dict(root.attributes) == {
        "model.version": "v3", "feature.count": 3, "feature.age": 40, "feature.plan": "basic",
        "feature.missing": ("income",), "prediction.id": "p-5", "prediction.value": 0.8,
    }
    assert root.end_time - root.start_time == 250_000_000
    assert root.resource.attributes["service.name"] == "churn" and root.resource.attributes["service.version"] == "1.2.0"


def test_a_failing_prediction_is_recorded_as_an_error_and_raised():
    from opentelemetry.trace import StatusCode

    tracing = obs.in_memory_tracing()

    def predict(features):
        raise KeyError("income")

    with pytest.raises(KeyError):
        obs.traced_prediction(predict, {"age": 1}, tracer=tracing.tracer, model_version="v1")
    (span,) = tracing.spans()
    assert span.status.status_code == StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
    assert span.events[0].attributes["exception.type"] == "KeyError"


def test_traced_prediction_checks_its_arguments():
    tracer = obs.in_memory_tracing().tracer
    with pytest.raises(TypeError, match="predict"):
        obs.traced_prediction(0.5, {}, tracer=tracer, model_version="v1")
    with pytest.raises(TypeError, match="features"):
        obs.traced_prediction(lambda f: 1, [1, 2], tracer=tracer, model_version="v1")
    with pytest.raises(TypeError, match="tracer"):
        obs.traced_prediction(lambda f: 1, {}, tracer="jaeger", model_version="v1")
    with pytest.raises(ValueError, match="model_version"):
        obs.traced_prediction(lambda f: 1, {}, tracer=tracer, model_version="")


# --- CloudEvents --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["structured", "binary"])
@pytest.mark.parametrize("kind", ["drift", "performance"])
def test_events_round_trip_through_both_http_modes(kind, mode):
    from cloudevents.core.bindings import http
    from cloudevents.core.formats.json import JSONFormat

    if kind == "drift":
        event = obs.drift_event(feature="income", score=0.41, threshold=0.3, model_version="v2", event_id="e-1", time="2026-01-01T12:00:00Z")
        expected_data = {"feature": "income", "score": 0.41, "threshold": 0.3, "model_version": "v2"}
    else:
        event = obs.performance_event(metric="accuracy", value=0.81, threshold=0.85, model_version="v2", event_id="e-2", time="2026-01-01T12:00:00Z")
        expected_data = {"metric": "accuracy", "value": 0.81, "threshold": 0.85, "model_version": "v2"}
    headers, body = obs.to_http(event, mode=mode)
    if mode == "structured":
        assert headers["content-type"].startswith("application/cloudevents+json")
        assert json.loads(body)["type"] == event.get_type()
    else:
        assert headers["ce-type"] == event.get_type() and json.loads(body) == expected_data
    back = obs.from_http(headers, body)
    assert back.get_attributes() == event.get_attributes()
    assert back.get_data() == expected_data
    # The SDK's own reader agrees with ours on the same message.
    sdk = http.from_http(http.HTTPMessage(headers=headers, body=body), JSONFormat())
    assert sdk.get_attributes() == event.get_attributes()


def test_event_types_subjects_and_sources():
    drift = obs.drift_event(feature="age", score=0.5, threshold=0.3, model_version="v1")
    perf = obs.performance_event(metric="error_rate", value=0.08, threshold=0.05, model_version="v1", source="/svc/churn")
    assert (drift.get_type(), drift.get_subject(), drift.get_specversion()) == ("ml.data.drift.detected", "age", "1.0")
    assert (perf.get_type(), perf.get_subject(), perf.get_source()) == ("ml.performance.degraded", "error_rate", "/svc/churn")
    assert drift.get_id() != obs.drift_event(feature="age", score=0.5, threshold=0.3, model_version="v1").get_id()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(feature="", score=0.5, threshold=0.3, model_version="v1"), ValueError, "feature"),
        (dict(feature="age", score=0.2, threshold=0.3, model_version="v1"), ValueError, "above threshold"),
        (dict(feature="age", score=float("nan"), threshold=0.3, model_version="v1"), ValueError, "score"),
        (dict(feature="age", score=0.5, threshold=0.3, model_version="v1", source="not a uri"), ValueError, "source"),
        (dict(feature="age", score=0.5, threshold=0.3, model_version="v1", time="yesterday"), ValueError, "time"),
        (dict(feature="age", score=0.5, threshold=0.3, model_version=2), TypeError, "model_version"),
    ],
)
def test_drift_event_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        obs.drift_event(**kwargs)


def test_http_bad_input():
    event = obs.performance_event(metric="accuracy", value=0.8, threshold=0.85, model_version="v1")
    with pytest.raises(ValueError, match="mode"):
        obs.to_http(event, mode="batch")
    with pytest.raises(TypeError, match="CloudEvent"):
        obs.to_http({"type": "x"})
    with pytest.raises(ValueError, match="no CloudEvent"):
        obs.from_http({"content-type": "application/json"}, b"{}")
    with pytest.raises(TypeError, match="headers"):
        obs.from_http([("a", "b")], b"{}")


# --- Argo manifests -----------------------------------------------------------------------

REFERENCE = Path("/work/shared/reference/argo")


def test_workflow_and_sensor_validate_and_wire_the_event_to_deploy_py():
    workflow = obs.validate_manifest(obs.argo_workflow(canary_percent=20), "Workflow")
    templates = {t["name"]: t for t in workflow["spec"]["templates"]}
    assert templates["deploy"]["container"]["command"] == ["python", "deploy.py"]
    assert "20" in templates["deploy"]["container"]["args"]
    steps = [step["template"] for group in templates[workflow["spec"]["entrypoint"]]["steps"] for step in group]
    assert steps == ["train", "deploy"], "train first, then deploy"
    sensor = obs.validate_manifest(obs.argo_sensor(), "Sensor")
    dependency = sensor["spec"]["dependencies"][0]
    assert dependency["filters"]["data"] == [{"path": "body.type", "type": "string", "value": [obs.PERFORMANCE_DEGRADED]}]
    trigger = sensor["spec"]["triggers"][0]["template"]["argoWorkflow"]
    assert trigger["source"]["resource"] == yaml.safe_load(obs.argo_workflow())
    dests = {p["dest"]: p["src"] for p in trigger["parameters"]}
    params = [p["name"] for p in workflow["spec"]["arguments"]["parameters"]]
    assert dests[f"spec.arguments.parameters.{params.index('model_version')}.value"]["dataKey"] == "body.data.model_version"


@pytest.mark.parametrize(
    "mutate, kind, match",
    [
        (lambda d: d.pop("spec"), "Workflow", "'spec' is a required property"),
        (lambda d: d.update(kind="CronWorkflow"), "Workflow", "kind"),
        (lambda d: d["spec"]["templates"][2]["container"].pop("image"), "Workflow", r"spec\.templates\[2\]"),
        (lambda d: d["spec"]["templates"][0]["steps"][0][0].pop("template"), "Workflow", r"spec\.templates\[0\]"),
    ],
)
def test_a_broken_workflow_is_rejected_with_its_location(mutate, kind, match):
    document = yaml.safe_load(obs.argo_workflow())
    mutate(document)
    with pytest.raises(ValueError, match=match):
        obs.validate_manifest(document, kind)


def test_a_broken_sensor_is_rejected():
    document = yaml.safe_load(obs.argo_sensor())
    document["spec"]["triggers"][0]["template"]["argoWorkflow"]["operation"] = "launch"
    with pytest.raises(ValueError, match="operation"):
        obs.validate_manifest(document, "Sensor")
    with pytest.raises(ValueError, match="not valid YAML"):
        obs.validate_manifest("a: [1, 2", "Sensor")
    with pytest.raises(ValueError, match="kind must be one of"):
        obs.validate_manifest({}, "Deployment")


def test_argo_arguments_are_checked():
    with pytest.raises(ValueError, match="model_name"):
        obs.argo_workflow("Churn Model")
    with pytest.raises(ValueError, match="canary_percent"):
        obs.argo_workflow(canary_percent=0)
    with pytest.raises(ValueError, match="the Workflow does not follow the schema"):
        obs.argo_sensor("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {}")


def _reference_validator(file: str, definition: str):
    import jsonschema

    path = REFERENCE / file
    if not path.exists():
        pytest.skip(f"Argo's published schema is not on this machine ({path})")
    schema = json.loads(path.read_text())
    return jsonschema.Draft7Validator({"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]})


def test_manifests_also_validate_against_argos_own_published_schemas():
    workflow = _reference_validator("argo-wf-schema.json", "io.argoproj.workflow.v1alpha1.Workflow")
    assert not list(workflow.iter_errors(yaml.safe_load(obs.argo_workflow())))
    sensor = _reference_validator("argo-events-schema.json", "io.argoproj.events.v1alpha1.Sensor")
    assert not list(sensor.iter_errors(yaml.safe_load(obs.argo_sensor())))


# --- health report and snapshot -----------------------------------------------------------


def test_health_report_matches_numpy_on_the_measured_requests():
    rng = np.random.default_rng(3)
    bounds = [0.05 * k for k in range(1, 41)]  # fine buckets: interpolation error < 0.05 s
    metrics = obs.ModelMetrics("v1", buckets=bounds)
    latencies = rng.gamma(2.0, 0.15, 3000)
    statuses = rng.choice(["success", "error", "rejected"], size=latencies.size, p=[0.97, 0.01, 0.02])
    for latency, status in zip(latencies, statuses):
        metrics.observe(float(latency), status=str(status))
    metrics.set_accuracy(0.9)
    report = obs.health_report(metrics)
    assert report.requests == 3000
    assert report.latency_p95_seconds == pytest.approx(np.quantile(latencies, 0.95), abs=0.05)
    assert report.latency_p99_seconds == pytest.approx(np.quantile(latencies, 0.99), abs=0.05)
    assert report.error_rate == pytest.approx(np.mean(statuses != "success"))
    assert report.availability == pytest.approx(1 - np.mean(statuses == "error"))
    assert report.checks["accuracy"] is True and report.checks["availability"] is False
    assert not report.healthy and "availability" in repr(report)


def test_health_report_without_data_says_unknown():
    report = obs.health_report(obs.ModelMetrics("v1"))
    assert report.requests == 0 and not report.healthy
    assert report.checks == {name: None for name in report.checks}
    with pytest.raises(TypeError, match="metrics"):
        obs.health_report({"p95": 0.1})
    with pytest.raises(ValueError, match="availability"):
        obs.SLAThresholds(availability=2)


def test_snapshot_from_a_real_drift_report():
    from course_lib.drift import drift_report
    from course_lib.simulate import FEATURES, make_tabular

    report = drift_report(make_tabular(800, seed=1), make_tabular(800, covariate_shift=0.6, seed=2), columns=list(FEATURES))
    assert report.drifted, "the shifted sample must drift somewhere for this test to mean anything"
    snapshot = obs.build_observability_snapshot(report, "continue", predictions_served=800)
    assert snapshot.drifted_features == tuple(report.drifted) and snapshot.status == "degraded"
    assert snapshot.share_drifted == report.share_drifted
    rollback = obs.build_observability_snapshot(report, "rollback", predictions_served=800)
    assert rollback.status == "critical" and rollback.actions[0] == "roll back the canary"
    assert json.loads(json.dumps(rollback.to_dict()))["predictions_served"] == 800


def test_snapshot_bad_input():
    report = {"drifted": [], "share_drifted": 0.0}
    assert obs.build_observability_snapshot(report, "promote", predictions_served=0).status == "ok"
    with pytest.raises(ValueError, match="predictions_served"):
        obs.build_observability_snapshot(report, "promote", predictions_served=-1)
    with pytest.raises(ValueError, match="verdict"):
        obs.build_observability_snapshot(report, "ship it", predictions_served=1)
    with pytest.raises(ValueError, match="share_drifted"):
        obs.build_observability_snapshot({"drifted": []}, "promote", predictions_served=1)
    with pytest.raises(TypeError, match="report"):
        obs.build_observability_snapshot(["age"], "promote", predictions_served=1)


def test_importing_course_lib_does_not_import_the_observability_stack():
    import subprocess
    import sys

    code = "import course_lib, sys; print(any(m.split('.')[0] in ('prometheus_client', 'opentelemetry', 'cloudevents') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def _at_path(document, path):
    for part in path.split("."):
        document = document[part]
    return document


def test_the_sensor_matches_a_structured_performance_event_and_not_a_drift_event():
    """A webhook EventSource holds the POSTed body under `body`: resolve the sensor's paths there."""
    sensor = yaml.safe_load(obs.argo_sensor())
    data_filter = sensor["spec"]["dependencies"][0]["filters"]["data"][0]
    trigger = sensor["spec"]["triggers"][0]["template"]["argoWorkflow"]
    degraded = obs.performance_event(metric="accuracy", value=0.8, threshold=0.85, model_version="v4")
    drifted = obs.drift_event(feature="age", score=0.5, threshold=0.3, model_version="v4")
    for event, should_match in ((degraded, True), (drifted, False)):
        payload = {"body": json.loads(obs.to_http(event, mode="structured")[1])}
        assert (_at_path(payload, data_filter["path"]) in data_filter["value"]) is should_match
    payload = {"body": json.loads(obs.to_http(degraded)[1])}
    values = {p["dest"]: _at_path(payload, p["src"]["dataKey"]) for p in trigger["parameters"]}
    assert sorted(values.values()) == ["ml.performance.degraded", "v4"]

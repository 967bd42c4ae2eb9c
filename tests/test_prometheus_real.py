"""course_lib.observability checked by the real Prometheus tools: promtool lints and unit-tests
the alert rules and lints the exposition; a real Prometheus server on 127.0.0.1 scrapes a
course_lib exporter and fires the accuracy alert. Skipped on a laptop without Prometheus,
failed under CI=true (``.ci/run`` installs Debian's ``prometheus`` package)."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest
import yaml

from conftest import require_tool
from course_lib import observability as obs

HINT = "install Prometheus (Debian: apt-get install --no-install-recommends prometheus), which brings promtool"


def _promtool(*args, stdin: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    path = require_tool("promtool", HINT)
    return subprocess.run([path, *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=60)


def _write_pack(tmp_path, rules: str, tests: str | None = None):
    (tmp_path / "alert_rules.yml").write_text(rules)
    (tmp_path / "tests.yml").write_text(tests if tests is not None else obs.rule_tests())
    return tmp_path


# --- promtool check / test ----------------------------------------------------------------


def test_promtool_accepts_the_rule_file(tmp_path):
    _write_pack(tmp_path, obs.alert_rules())
    result = _promtool("check", "rules", "alert_rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


@pytest.mark.parametrize(
    "thresholds",
    [obs.AlertThresholds(), obs.AlertThresholds(accuracy=0.9, accuracy_for="3m", error_ratio=0.02, drift_for="2m", latency_p95_seconds=0.5)],
    ids=["defaults", "custom"],
)
def test_promtool_unit_tests_pass_on_the_rules(tmp_path, thresholds):
    _write_pack(tmp_path, obs.alert_rules(thresholds), obs.rule_tests(thresholds))
    result = _promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tests_written_for_other_thresholds_fail(tmp_path):
    """rule_tests follows its thresholds: tests for a 0.9 accuracy SLA reject the 0.85 rules."""
    _write_pack(tmp_path, obs.alert_rules(), obs.rule_tests(obs.AlertThresholds(accuracy=0.9)))
    result = _promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode != 0 and "ModelAccuracyLow" in result.stdout + result.stderr


def _mutated_rules(alert: str, **changes) -> str:
    document = yaml.safe_load(obs.alert_rules())
    rule = next(r for r in document["groups"][0]["rules"] if r["alert"] == alert)
    rule.update(changes)
    return yaml.safe_dump(document, sort_keys=False)


@pytest.mark.parametrize(
    "alert, changes, why",
    [
        ("ModelAccuracyLow", {"expr": "model_accuracy > 0.85"}, "comparison flipped"),
        ("ModelAccuracyLow", {"for": "0m"}, "fires without waiting"),
        ("ModelAccuracyLow", {"for": "15m"}, "waits too long"),
        ("ModelAccuracyLow", {"labels": {"severity": "warning"}}, "wrong severity"),
        ("ModelErrorRateHigh", {"expr": 'sum(rate(model_predictions_total{status="error"}[5m])) > 0.05'}, "a rate, not a ratio"),
        ("ModelLatencyP95High", {"expr": "histogram_quantile(0.5, sum by (le) (rate(model_prediction_latency_seconds_bucket[5m]))) > 1"}, "median"),
        ("ModelFeatureDrift", {"expr": "max(model_feature_drift_score) > 0.3"}, "loses the feature label"),
        ("ModelTrafficSpike", {"expr": "sum(rate(model_predictions_total[5m])) > 30 * sum(rate(model_predictions_total[1h]))"}, "never fires"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_promtool_rejects_a_wrong_rule(tmp_path, alert, changes, why):
    _write_pack(tmp_path, _mutated_rules(alert, **changes))
    assert _promtool("check", "rules", "alert_rules.yml", cwd=tmp_path).returncode == 0, "still valid syntax"
    result = _promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode != 0, f"a rule that {why} passed the unit tests:\n{result.stdout}"
    assert alert in result.stdout + result.stderr


@pytest.mark.parametrize(
    "duration", ["30s", "5m", "1h30m", "1d", "2w", "1y", "1d12h", "0", "5", "5 m", "m5", "1h1d", "1.5h", "1m1m"]
)
def test_durations_accepted_as_promtool_accepts_them(tmp_path, duration):
    # A rule's `for:` is parsed by Prometheus' own duration parser, so promtool is the judge.
    rule = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "for": duration}]}]}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rule))
    promtool_accepts = _promtool("check", "rules", str(tmp_path / "rules.yml")).returncode == 0
    try:
        obs.duration_seconds(duration)
        ours = True
    except ValueError:
        ours = False
    assert ours == promtool_accepts, f"{duration!r}: promtool {'accepts' if promtool_accepts else 'rejects'} it"


def test_promtool_rejects_a_rule_that_does_not_parse(tmp_path):
    _write_pack(tmp_path, _mutated_rules("ModelAccuracyLow", expr="model_accuracy <"))
    result = _promtool("check", "rules", "alert_rules.yml", cwd=tmp_path)
    assert result.returncode != 0 and "parse error" in (result.stdout + result.stderr).lower()


def test_promtool_lints_the_exposition_clean():
    metrics = obs.ModelMetrics("v1", info={"framework": "sklearn"})
    rng = np.random.default_rng(1)
    for latency in rng.exponential(0.1, 200):
        metrics.observe(float(latency))
    metrics.observe(0.2, status="error")
    metrics.set_drift_score("income", 0.2)
    metrics.set_accuracy(0.9)
    result = _promtool("check", "metrics", stdin=metrics.exposition())
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), result.stdout + result.stderr


def test_promtool_lint_can_fail_on_a_badly_named_metric():
    """The lint above is not vacuous: a counter without _total is reported (exit 3)."""
    bad = "# HELP predictions Predictions.\n# TYPE predictions counter\npredictions 3\n"
    result = _promtool("check", "metrics", stdin=bad)
    assert result.returncode == 3 and "_total" in result.stdout + result.stderr


def _quantile_tests(cases) -> str:
    """A promtool test file evaluating histogram_quantile on constant bucket series."""
    tests = []
    for q, bounds, counts in cases:
        series = []
        for bound, count in zip(bounds, counts):
            le = "+Inf" if bound == math.inf else f"{bound:g}"
            series.append({"series": f'h_bucket{{le="{le}"}}', "values": f"{count:g}x2"})
        expected = obs.histogram_quantile(q, bounds, counts)
        tests.append(
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {"expr": f"histogram_quantile({q:g}, h_bucket)", "eval_time": "1m", "exp_samples": [{"labels": "{}", "value": expected}]}
                ],
            }
        )
    return yaml.safe_dump({"rule_files": [], "tests": tests})


def test_histogram_quantile_agrees_with_prometheus(tmp_path):
    rng = np.random.default_rng(6)
    cases = [
        (0.5, [0.1, 0.5, 1.0, math.inf], [10, 60, 90, 100]),
        (0.95, [0.1, 0.5, 1.0, math.inf], [10, 60, 90, 100]),  # rank in the +Inf bucket
        (0.05, [0.1, 0.5, 1.0, math.inf], [10, 60, 90, 100]),  # rank in the first bucket
        (0.3, [0.1, 0.5, 1.0, math.inf], [0, 50, 50, 50]),  # empty first bucket
    ]
    for _ in range(8):
        bounds = sorted(set(np.round(rng.uniform(0.01, 5, rng.integers(2, 8)), 3).tolist())) + [math.inf]
        counts = np.cumsum(rng.integers(0, 50, len(bounds))).tolist()
        counts[-1] += 1
        cases.append((round(float(rng.uniform(0.01, 0.99)), 3), bounds, counts))
    (tmp_path / "quantiles.yml").write_text(_quantile_tests(cases))
    result = _promtool("test", "rules", "quantiles.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # ... and the same file fails when one expectation is off, so the comparison is real.
    wrong = yaml.safe_load(_quantile_tests(cases[:1]))
    wrong["tests"][0]["promql_expr_test"][0]["exp_samples"][0]["value"] = 0.5
    (tmp_path / "wrong.yml").write_text(yaml.safe_dump(wrong))
    assert _promtool("test", "rules", "wrong.yml", cwd=tmp_path).returncode != 0


# --- a real Prometheus server -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _query(base: str, path: str, **params) -> dict:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_prometheus_scrapes_the_exporter_and_fires_the_accuracy_alert(tmp_path):
    prometheus = require_tool("prometheus", HINT)
    metrics = obs.ModelMetrics("v9")
    for latency in (0.05, 0.07, 0.2):
        metrics.observe(latency)
    metrics.set_accuracy(0.70)  # below 0.85
    exporter = obs.serve_metrics(metrics, port=0)
    rules = yaml.safe_load(obs.alert_rules(obs.AlertThresholds(accuracy_for="2s")))
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    target = exporter.url.removeprefix("http://").removesuffix("/metrics")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "rules.yml")],
        "scrape_configs": [{"job_name": "model", "static_configs": [{"targets": [target]}]}],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 40
        value = firing = None
        while time.monotonic() < deadline and (value is None or not firing):
            time.sleep(0.5)
            if process.poll() is not None:
                pytest.fail(f"prometheus exited with {process.returncode}: {process.stderr.read()}")
            try:
                result = _query(base, "/api/v1/query", query='model_predictions_total{status="success"}')["data"]["result"]
                if result:
                    value = (result[0]["metric"], float(result[0]["value"][1]))
                alerts = _query(base, "/api/v1/alerts")["data"]["alerts"]
                firing = [a for a in alerts if a["labels"]["alertname"] == "ModelAccuracyLow" and a["state"] == "firing"]
            except OSError:
                continue  # the server is still starting
        assert value is not None, "no sample scraped in 40 s"
        labels, count = value
        assert count == 3 and labels["model_version"] == "v9" and labels["job"] == "model"
        assert labels["instance"].startswith("127.0.0.1:")
        assert firing, "ModelAccuracyLow did not fire in 40 s"
        assert firing[0]["labels"]["severity"] == "critical"
        assert firing[0]["annotations"]["description"] == "Accuracy is 0.70 (threshold 0.85)."
        # Nothing else fires: the service is healthy apart from accuracy.
        others = {a["labels"]["alertname"] for a in _query(base, "/api/v1/alerts")["data"]["alerts"]} - {"ModelAccuracyLow"}
        assert not others
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        exporter.stop()

"""Time course_lib.observability against the raw libraries it wraps, in the same run.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_observability.py``). Each line
prints the best-of-N time of course_lib and of its peer for the same work, and their ratio
(course_lib / peer; below 1 is faster). The wrappers validate their arguments and convert values
JSON cannot encode, so a ratio a little above 1 is their price; the targets say how much is
acceptable:

* JSON log formatter: within 1.5x of a bare ``json.dumps`` formatter (stdlib) writing the same
  fields, and of python-json-logger's ``JsonFormatter`` when it is installed (it encodes
  directly and converts NaN, numpy values and objects only when ``json.dumps`` refuses them);
* ``ModelMetrics.observe`` (counter + histogram, checked arguments): within 2x of the same two
  ``prometheus_client`` calls;
* ``ModelMetrics.exposition``: within 2x of ``prometheus_client.generate_latest`` (it also drops
  the ``*_created`` series);
* ``traced_prediction``: within 2x of a bare OpenTelemetry span with the same attributes;
* CloudEvents HTTP round trip: within 2x of the SDK's ``to_structured``/``from_http``;
* ``histogram_quantile`` (pure Python, 10 buckets): within 3x of a numpy version (which pays
  numpy's call overhead at this size).

Before timing, each pair of results is checked to agree, so a fast wrong answer cannot pass.
``BENCH_REPEATS`` sets N (default 5); the script takes about 12 s of CPU on 2 cores.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import platform
import time
from importlib import metadata

import numpy as np
import prometheus_client
from cloudevents.core.bindings import http
from cloudevents.core.formats.json import JSONFormat

from course_lib import observability as obs

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
CLOCK = time.perf_counter if os.environ.get("BENCH_CLOCK") == "wall" else time.process_time
RESULTS: list[tuple[str, float, float, float]] = []


def best_of(function, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = CLOCK()
        function()
        times.append(CLOCK() - start)
    return min(times)


def report(name: str, ours: float, peer: float, target: float) -> None:
    ratio = ours / peer
    RESULTS.append((name, ratio, target, ours))
    status = "ok" if ratio <= target else "SLOWER THAN TARGET"
    print(f"{name:<48} course_lib {ours * 1e3:8.2f} ms   peer {peer * 1e3:8.2f} ms   ratio {ratio:5.2f} (target <= {target:g}) {status}")


# --- logs ---------------------------------------------------------------------------------


class StdlibJsonFormatter(logging.Formatter):
    """The bare recipe: the same fields, json.dumps, no conversion of unencodable values."""

    def format(self, record):
        return json.dumps({
            "timestamp": self.formatTime(record), "level": record.levelname, "logger": record.name,
            "message": record.getMessage(), "prediction_id": record.prediction_id,
            "model_version": record.model_version, "latency_ms": record.latency_ms, "features": record.features,
        })


def _records(n: int) -> list[logging.LogRecord]:
    rng = np.random.default_rng(0)
    records = []
    for i in range(n):
        record = logging.LogRecord("bench", logging.INFO, __file__, 1, "prediction served", None, None)
        record.prediction_id, record.model_version = f"p-{i}", "v1"
        record.latency_ms = float(rng.gamma(4, 20))
        record.features = {"age": float(rng.normal(45, 10)), "income": float(rng.lognormal(10, 0.5)), "plan": "basic"}
        records.append(record)
    return records


def bench_logs() -> None:
    records = _records(5000)
    ours, stdlib = obs.JsonFormatter(), StdlibJsonFormatter()
    line, baseline = json.loads(ours.format(records[0])), json.loads(stdlib.format(records[0]))
    assert all(line[key] == baseline[key] for key in ("message", "prediction_id", "latency_ms", "features"))
    report("JSON log formatter, 5,000 records vs json.dumps", best_of(lambda: [ours.format(r) for r in records]),
           best_of(lambda: [stdlib.format(r) for r in records]), 1.5)
    try:
        from pythonjsonlogger.json import JsonFormatter as PeerFormatter
    except ImportError:
        try:
            from pythonjsonlogger.jsonlogger import JsonFormatter as PeerFormatter
        except ImportError:
            print("python-json-logger is not installed: its comparison is skipped")
            return
    peer = PeerFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    assert json.loads(peer.format(records[0]))["prediction_id"] == line["prediction_id"]
    report("JSON log formatter vs python-json-logger", best_of(lambda: [ours.format(r) for r in records]),
           best_of(lambda: [peer.format(r) for r in records]), 1.5)


# --- metrics ------------------------------------------------------------------------------


def bench_metrics() -> None:
    latencies = [float(x) for x in np.random.default_rng(1).gamma(4, 0.02, 20_000)]
    ours = obs.ModelMetrics("v1")
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter("model_predictions", "x", ["model_version", "status"], registry=registry)
    histogram = prometheus_client.Histogram("model_prediction_latency_seconds", "x", ["model_version"],
                                            buckets=obs.DEFAULT_LATENCY_BUCKETS, registry=registry)

    def observe_ours():
        for latency in latencies:
            ours.observe(latency)

    def observe_raw():
        for latency in latencies:
            counter.labels(model_version="v1", status="success").inc()
            histogram.labels(model_version="v1").observe(latency)

    observe_ours()
    observe_raw()
    assert ours.latency_buckets()[1][-1] == registry.get_sample_value(
        "model_prediction_latency_seconds_bucket", {"model_version": "v1", "le": "+Inf"})
    report("ModelMetrics.observe, 20,000 requests", best_of(observe_ours), best_of(observe_raw), 2.0)
    ours_text = ours.exposition()
    raw_text = prometheus_client.generate_latest(registry).decode()
    assert all(line in raw_text for line in ours_text.splitlines() if line.startswith("model_prediction_latency_seconds_bucket"))
    report("ModelMetrics.exposition vs generate_latest", best_of(lambda: [ours.exposition() for _ in range(200)]),
           best_of(lambda: [prometheus_client.generate_latest(registry) for _ in range(200)]), 2.0)


def numpy_histogram_quantile(q, bounds, counts):
    bounds, counts = np.asarray(bounds, float), np.asarray(counts, float)
    total = counts[-1]
    if total == 0:
        return math.nan
    rank = q * total
    index = int(np.searchsorted(counts[:-1], rank, side="left"))
    if index == len(bounds) - 1:
        return float(bounds[-2])
    lower = 0.0 if index == 0 else bounds[index - 1]
    below = 0.0 if index == 0 else counts[index - 1]
    return float(lower + (bounds[index] - lower) * (rank - below) / (counts[index] - below))


def bench_quantile() -> None:
    rng = np.random.default_rng(2)
    bounds = [*obs.DEFAULT_LATENCY_BUCKETS, math.inf]
    cases = [(float(rng.uniform(0.01, 0.99)), bounds, np.cumsum(rng.integers(0, 100, len(bounds))).tolist()) for _ in range(2000)]
    for case in cases[:200]:
        assert math.isclose(obs.histogram_quantile(*case), numpy_histogram_quantile(*case), rel_tol=1e-12)
    report("histogram_quantile, 2,000 histograms vs numpy", best_of(lambda: [obs.histogram_quantile(*c) for c in cases]),
           best_of(lambda: [numpy_histogram_quantile(*c) for c in cases]), 3.0)


# --- traces and events --------------------------------------------------------------------


def bench_traces() -> None:
    tracing = obs.in_memory_tracing()
    features = {"age": 41.0, "income": 52000.0, "tenure_months": 12.0, "plan": "basic"}

    def predict(f):
        return 0.3

    def ours():
        for i in range(2000):
            obs.traced_prediction(predict, features, tracer=tracing.tracer, model_version="v1", prediction_id="p")
        tracing.clear()

    def raw():
        for i in range(2000):
            attributes = {"model.version": "v1", "prediction.id": "p", "feature.count": 4,
                          **{f"feature.{k}": v for k, v in features.items()}, "feature.missing": ()}
            with tracing.tracer.start_as_current_span("predict", attributes=attributes) as span:
                span.set_attribute("prediction.value", predict(features))
        tracing.clear()

    ours()
    raw()
    obs.traced_prediction(predict, features, tracer=tracing.tracer, model_version="v1", prediction_id="p")
    with tracing.tracer.start_as_current_span("predict", attributes={"model.version": "v1", "prediction.id": "p", "feature.count": 4,
                                                                    **{f"feature.{k}": v for k, v in features.items()}, "feature.missing": ()}) as span:
        span.set_attribute("prediction.value", 0.3)
    first, second = tracing.spans()
    assert dict(first.attributes) == dict(second.attributes)
    tracing.clear()
    report("traced_prediction, 2,000 spans vs a bare span", best_of(ours), best_of(raw), 2.0)


def bench_events() -> None:
    event = obs.performance_event(metric="accuracy", value=0.8, threshold=0.85, model_version="v1", event_id="e")

    def ours():
        for _ in range(2000):
            obs.from_http(*obs.to_http(event))

    def raw():
        for _ in range(2000):
            message = http.to_structured(event, JSONFormat())
            http.from_http(message, JSONFormat())

    assert obs.from_http(*obs.to_http(event)).get_attributes() == http.from_http(http.to_structured(event, JSONFormat()), JSONFormat()).get_attributes()
    report("CloudEvents HTTP round trip, 2,000 events", best_of(ours), best_of(raw), 2.0)


def main() -> None:
    print(f"course_lib.observability vs raw libraries (best of {REPEATS}, "
          f"{'wall' if CLOCK is time.perf_counter else 'CPU'} time; Python {platform.python_version()}, "
          f"prometheus_client {metadata.version('prometheus-client')}, opentelemetry-sdk {metadata.version('opentelemetry-sdk')}, "
          f"cloudevents {metadata.version('cloudevents')})")
    started = time.perf_counter()
    bench_logs()
    bench_metrics()
    bench_quantile()
    bench_traces()
    bench_events()
    missed = [name for name, ratio, target, _ in RESULTS if ratio > target]
    print(f"{len(RESULTS) - len(missed)} of {len(RESULTS)} targets met in {time.perf_counter() - started:.1f} s"
          + (f"; missed: {', '.join(missed)}" if missed else ""))


if __name__ == "__main__":
    main()

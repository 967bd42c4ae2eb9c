"""Observability for a model service: JSON logs, Prometheus metrics and alert rules, traces,
CloudEvents and the Argo retraining hand-off.

Monitoring says that something is wrong; observability helps find why. This module wires the
signals of the earlier lessons into the formats operators' tools read, with the real libraries:

==========================  ====================================================================
signal                      here
==========================  ====================================================================
logs                        :class:`JsonFormatter`, :func:`prediction_logger`
metrics                     :class:`ModelMetrics` (``prometheus_client``), :func:`histogram_quantile`
alerts                      :func:`alert_rules`, :func:`rule_tests` (checked by ``promtool``)
traces                      :func:`in_memory_tracing`, :func:`traced_prediction` (OpenTelemetry)
events                      :func:`drift_event`, :func:`performance_event`, :func:`to_http`,
                            :func:`from_http` (``cloudevents`` 2.x)
retraining hand-off         :func:`argo_workflow`, :func:`argo_sensor`, :func:`validate_manifest`
SLA check                   :func:`health_report`, :func:`build_observability_snapshot`
==========================  ====================================================================

It needs the ``observability`` extra (``pip install course-lib[observability]``). Nothing here
starts a thread, a subprocess or a socket, so it runs in the browser (Pyodide) as well, except
:func:`serve_metrics`, the explicit, laptop-only ``/metrics`` endpoint.

Examples
--------
>>> from course_lib.observability import ModelMetrics
>>> metrics = ModelMetrics("v1")
>>> metrics.observe(0.120)
>>> print([line for line in metrics.exposition().splitlines() if line.startswith("model_predictions_total")])
['model_predictions_total{model_version="v1",status="success"} 1.0']

References
----------
Prometheus documentation: exposition formats, metric and label naming, alerting rules, unit
testing for rules (``promtool test rules``), ``histogram_quantile``.
OpenTelemetry specification: trace API and SDK, resource semantic conventions.
CloudEvents 1.0 specification and its HTTP protocol binding (structured and binary modes).
Argo Workflows and Argo Events: Workflow and Sensor resources.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import logging
import math
import numbers
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

__all__ = [
    "JsonFormatter",
    "prediction_logger",
    "ModelMetrics",
    "DEFAULT_LATENCY_BUCKETS",
    "serve_metrics",
    "MetricsServer",
    "histogram_quantile",
    "alert_rules",
    "rule_tests",
    "AlertThresholds",
    "duration_seconds",
    "breach_probability",
    "expected_false_alerts",
    "in_memory_tracing",
    "InMemoryTracing",
    "traced_prediction",
    "DRIFT_DETECTED",
    "PERFORMANCE_DEGRADED",
    "drift_event",
    "performance_event",
    "to_http",
    "from_http",
    "argo_workflow",
    "argo_sensor",
    "WORKFLOW_SCHEMA",
    "SENSOR_SCHEMA",
    "validate_manifest",
    "SLAThresholds",
    "HealthReport",
    "health_report",
    "ObservabilitySnapshot",
    "build_observability_snapshot",
    "DRIFT_CONFIG_SCHEMA",
    "drift_config",
    "event_yaml",
    "yaml_pack",
    "check_yaml_pack",
    "YAML_PACK_ENTRIES",
]


def _require(module: str, purpose: str):
    """Import an optional dependency, or say which extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:  # pragma: no cover - the extra is installed in tests
        raise ImportError(
            f"{purpose} needs the package that provides {module!r}: "
            "pip install 'course-lib[observability]'"
        ) from error


def _check_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string; got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ValueError(f"{name} must be a non-empty string; got {value!r}")
    return value


def _check_finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    return value


def _check_nonnegative(value: Any, name: str) -> float:
    value = _check_finite(value, name)
    if value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return value


def _check_share(value: Any, name: str) -> float:
    value = _check_finite(value, name)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1; got {value!r}")
    return value


# =============================================================================================
# Logs: one JSON object per line
# =============================================================================================

#: The prediction fields a log record may carry (pass them with ``extra={...}``).
PREDICTION_FIELDS = ("prediction_id", "model_version", "latency_ms", "features", "prediction", "status")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName"}


def _jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as something ``json.dumps`` encodes losslessly enough, without raising.

    NaN and infinities become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (strict JSON
    has no such numbers), numpy scalars and arrays become Python numbers and lists, datetimes
    ISO 8601 text, sets sorted lists, and anything else its ``repr``.
    """
    if depth > 20:
        return repr(value)
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, depth + 1) for item in value]
    if isinstance(value, (set, frozenset)):
        items = [_jsonable(item, depth + 1) for item in value]
        return sorted(items, key=repr)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    # numpy scalars and arrays (and pandas objects) without importing numpy here.
    if hasattr(value, "tolist") and callable(value.tolist):
        try:
            return _jsonable(value.tolist(), depth + 1)
        except Exception:  # noqa: BLE001 - fall back to the repr below
            pass
    if isinstance(value, numbers.Real):
        return _jsonable(float(value), depth + 1)
    return repr(value)


class JsonFormatter(logging.Formatter):
    """A :class:`logging.Formatter` that writes each record as one JSON object on one line.

    Every line has ``timestamp`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger`` and
    ``message``; the prediction fields of :data:`PREDICTION_FIELDS` and any other ``extra=``
    values follow, and ``exception`` holds the traceback text when the record has one. Values
    JSON cannot encode (NaN, numpy numbers and arrays, datetimes, sets, arbitrary objects) are
    converted instead of breaking the log line.

    Parameters
    ----------
    static_fields : mapping, optional
        Fields added to every line (service name, environment, host).

    Examples
    --------
    >>> import logging, json
    >>> record = logging.LogRecord("model", logging.INFO, __file__, 1, "prediction served", None, None)
    >>> record.prediction_id, record.latency_ms, record.features = "p-1", 12.5, {"age": float("nan")}
    >>> line = json.loads(JsonFormatter().format(record))
    >>> {key: line[key] for key in ("level", "message", "prediction_id", "latency_ms", "features")}
    {'level': 'INFO', 'message': 'prediction served', 'prediction_id': 'p-1', 'latency_ms': 12.5, 'features': {'age': 'NaN'}}
    >>> line["timestamp"].endswith("Z")
    True
    """

    def __init__(self, static_fields: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        if static_fields is not None and not isinstance(static_fields, Mapping):
            raise TypeError(f"static_fields must be a mapping of field names to values; got {type(static_fields).__name__}")
        self.static_fields = dict(static_fields or {})

    def format(self, record: logging.LogRecord) -> str:
        created = _dt.datetime.fromtimestamp(record.created, tz=_dt.timezone.utc)
        payload: dict[str, Any] = {
            "timestamp": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(self.static_fields)
        for name in PREDICTION_FIELDS:
            if hasattr(record, name):
                payload[name] = getattr(record, name)
        for name, value in vars(record).items():
            if name not in _STANDARD_RECORD_ATTRIBUTES and name not in payload:
                payload[name] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exception"] = record.exc_text
        try:
            # Most records hold plain values: encode them directly, convert only when needed.
            return json.dumps(payload, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            return json.dumps(_jsonable(payload), ensure_ascii=False, allow_nan=False)


def prediction_logger(
    name: str = "model_service",
    *,
    stream: Any = None,
    level: int = logging.INFO,
    static_fields: Mapping[str, Any] | None = None,
) -> logging.Logger:
    """Return a logger that writes JSON lines (one per prediction) to ``stream``.

    Calling it again with the same name replaces the handler instead of adding a second one
    (a re-run notebook cell would otherwise print every line twice). The logger does not
    propagate to the root logger, so the lines are not repeated in another format.

    Parameters
    ----------
    name : str
        The logger's name, written as ``logger`` on every line.
    stream : file-like, optional
        Where to write; ``sys.stderr`` by default.
    level : int
        The logging level, ``logging.INFO`` by default.
    static_fields : mapping, optional
        Fields written on every line (see :class:`JsonFormatter`).

    Returns
    -------
    logging.Logger

    Examples
    --------
    >>> import io
    >>> buffer = io.StringIO()
    >>> logger = prediction_logger("churn", stream=buffer)
    >>> logger.info("prediction served", extra={"prediction_id": "p-7", "model_version": "v2"})
    >>> line = json.loads(buffer.getvalue())
    >>> line["logger"], line["prediction_id"], line["model_version"]
    ('churn', 'p-7', 'v2')
    """
    _check_text(name, "name")
    if isinstance(level, bool) or not isinstance(level, int):
        raise TypeError(f"level must be a logging level such as logging.INFO; got {level!r}")
    if stream is not None and not hasattr(stream, "write"):
        raise TypeError(f"stream must be a file-like object with a write method; got {type(stream).__name__}")
    logger = logging.getLogger(name)
    for handler in list(logger.handlers):
        if getattr(handler, "_course_lib_json", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter(static_fields))
    handler._course_lib_json = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


# =============================================================================================
# Metrics: prometheus_client on an explicit registry
# =============================================================================================

#: Latency histogram bucket upper bounds, in seconds (a model service answers in 10 ms to 5 s).
DEFAULT_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

#: Statuses of a prediction request: ``success``; ``error`` (the service failed: counts against
#: availability); ``rejected`` (invalid input: the caller's fault, an error but not downtime).
STATUSES = ("success", "error", "rejected")


class _WithoutCreated:
    """A collector view of a registry without the ``*_created`` series.

    prometheus_client adds a ``_created`` timestamp series to counters and histograms; it is
    noise for this course's readers and changes on every run. Only this view drops it (the
    global ``disable_created_metrics()`` switch would change every registry in the process).
    """

    def __init__(self, registry) -> None:
        self._registry = registry

    def collect(self):
        for family in self._registry.collect():
            family.samples = [sample for sample in family.samples if not sample.name.endswith("_created")]
            yield family


class ModelMetrics:
    """The Prometheus metrics of one model service, on their own ``CollectorRegistry``.

    ==========================================  =========  ====================================
    metric                                      type       labels
    ==========================================  =========  ====================================
    ``model_predictions_total``                 counter    ``model_version``, ``status``
    ``model_prediction_latency_seconds``        histogram  ``model_version``
    ``model_feature_drift_score``               gauge      ``feature``
    ``model_accuracy``                          gauge      (none)
    ``model_info``                              info       ``version`` and any ``info`` fields
    ==========================================  =========  ====================================

    An explicit registry (not prometheus_client's global one) keeps two services, or two runs
    of a notebook cell, from colliding on the same metric names.

    Parameters
    ----------
    model_version : str
        The version label of the predictions this service makes.
    buckets : sequence of float
        Upper bounds of the latency histogram's buckets, in seconds.
    info : mapping, optional
        Extra ``model_info`` labels (framework, training date, dataset...).
    registry : prometheus_client.CollectorRegistry, optional
        A registry to add the metrics to; a new one by default.

    Examples
    --------
    >>> metrics = ModelMetrics("v3", info={"framework": "sklearn"})
    >>> for latency in (0.02, 0.04, 0.3):
    ...     metrics.observe(latency)
    >>> metrics.observe(0.01, status="error")
    >>> metrics.set_drift_score("income", 0.12)
    >>> metrics.set_accuracy(0.91)
    >>> metrics.value("model_predictions_total", model_version="v3", status="success")
    3.0
    >>> metrics.value("model_feature_drift_score", feature="income")
    0.12
    """

    def __init__(
        self,
        model_version: str,
        *,
        buckets: Sequence[float] = DEFAULT_LATENCY_BUCKETS,
        info: Mapping[str, str] | None = None,
        registry: Any = None,
    ) -> None:
        prometheus = _require("prometheus_client", "ModelMetrics")
        self.model_version = _check_text(model_version, "model_version")
        buckets = tuple(buckets) if not isinstance(buckets, (str, bytes)) else None
        if not buckets:
            raise ValueError("buckets must be a non-empty sequence of increasing upper bounds in seconds")
        bounds = [_check_nonnegative(bound, "buckets") for bound in buckets if bound != math.inf]
        if any(b <= a for a, b in zip(bounds, bounds[1:])):
            raise ValueError(f"buckets must be strictly increasing; got {list(buckets)}")
        if info is not None and not isinstance(info, Mapping):
            raise TypeError(f"info must be a mapping of label names to strings; got {type(info).__name__}")
        self.registry = registry if registry is not None else prometheus.CollectorRegistry()
        self.predictions = prometheus.Counter(
            "model_predictions",
            "Predictions served, by model version and outcome (success, error, rejected).",
            ["model_version", "status"],
            registry=self.registry,
        )
        self.latency = prometheus.Histogram(
            "model_prediction_latency_seconds",
            "Time to answer one prediction request, in seconds.",
            ["model_version"],
            buckets=bounds,
            registry=self.registry,
        )
        self.drift_score = prometheus.Gauge(
            "model_feature_drift_score",
            "Drift score of a feature, current window against the training reference.",
            ["feature"],
            registry=self.registry,
        )
        self.accuracy = prometheus.Gauge(
            "model_accuracy",
            "Accuracy on the most recent window of labelled predictions (0 to 1).",
            registry=self.registry,
        )
        self.info = prometheus.Info("model", "The model behind the service.", registry=self.registry)
        self.info.info({"version": self.model_version, **{str(k): str(v) for k, v in (info or {}).items()}})
        self.buckets = tuple(bounds)
        self._accuracy_set = False

    def __repr__(self) -> str:
        return f"ModelMetrics(model_version={self.model_version!r}, buckets={list(self.buckets)})"

    def observe(self, latency_seconds: float, *, status: str = "success") -> None:
        """Count one prediction and record its latency.

        Parameters
        ----------
        latency_seconds : float
            How long the request took, in seconds (>= 0).
        status : {"success", "error", "rejected"}
        """
        latency_seconds = _check_nonnegative(latency_seconds, "latency_seconds")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(map(repr, STATUSES))}; got {status!r}")
        self.predictions.labels(model_version=self.model_version, status=status).inc()
        self.latency.labels(model_version=self.model_version).observe(latency_seconds)

    def set_drift_score(self, feature: str, score: float) -> None:
        """Set the drift score of one feature (PSI, normalised Wasserstein..., >= 0)."""
        _check_text(feature, "feature")
        self.drift_score.labels(feature=feature).set(_check_nonnegative(score, "score"))

    def set_accuracy(self, accuracy: float) -> None:
        """Set the accuracy measured on the latest window of labelled predictions."""
        self.accuracy.set(_check_share(accuracy, "accuracy"))
        self._accuracy_set = True

    def exposition(self) -> str:
        """The metrics in the Prometheus text exposition format, as a ``/metrics`` page serves them.

        The ``*_created`` series are left out (see the class notes); ``promtool check metrics``
        accepts the text.
        """
        prometheus = _require("prometheus_client", "exposition")
        return prometheus.generate_latest(_WithoutCreated(self.registry)).decode("utf-8")

    def collector(self):
        """The registry as the exposition and :func:`serve_metrics` show it (no ``*_created``)."""
        return _WithoutCreated(self.registry)

    def value(self, name: str, **labels: str) -> float | None:
        """The current value of one sample, or None when it does not exist (yet).

        Examples
        --------
        >>> ModelMetrics("v1").value("model_predictions_total", model_version="v1", status="error") is None
        True
        """
        _check_text(name, "name")
        return self.registry.get_sample_value(name, labels)

    def latency_buckets(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Upper bounds (ending with +inf) and cumulative counts of the latency histogram."""
        bounds = (*self.buckets, math.inf)
        counts = []
        for bound in bounds:
            le = "+Inf" if bound == math.inf else _le_label(bound)
            sample = self.registry.get_sample_value(
                "model_prediction_latency_seconds_bucket", {"model_version": self.model_version, "le": le}
            )
            counts.append(sample or 0.0)
        return bounds, tuple(counts)


def _le_label(bound: float) -> str:
    """How prometheus_client writes a bucket bound in the ``le`` label (``0.1``, ``1.0``)."""
    from prometheus_client.utils import floatToGoString

    return floatToGoString(bound)


@dataclass(frozen=True)
class MetricsServer:
    """A running local ``/metrics`` endpoint (see :func:`serve_metrics`); call :meth:`stop`."""

    url: str
    _server: Any = field(repr=False)
    _thread: Any = field(repr=False)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(metrics: ModelMetrics, *, port: int = 8000, address: str = "127.0.0.1") -> MetricsServer:
    """Serve ``metrics`` on ``http://address:port/metrics``: for a laptop, not the browser.

    This is the one function of the module that opens a socket and starts a thread (the HTTP
    server of ``prometheus_client``), so it is never called on the lessons' normal path, and it
    refuses to run in the browser (Pyodide has neither). It listens on the loopback address by
    default, so nothing outside the machine can read the metrics; pass another ``address`` only
    on purpose.

    Parameters
    ----------
    metrics : ModelMetrics
    port : int
        TCP port; 0 picks a free one (read it back from the returned ``url``).
    address : str
        The address to bind, ``"127.0.0.1"`` by default.

    Returns
    -------
    MetricsServer
        With the ``url`` of the metrics page and a ``stop()`` method.
    """
    if not isinstance(metrics, ModelMetrics):
        raise TypeError(f"metrics must be a ModelMetrics; got {type(metrics).__name__}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer from 0 to 65535; got {port!r}")
    _check_text(address, "address")
    if sys.platform == "emscripten":
        raise RuntimeError("serve_metrics needs sockets and threads, which the browser does not have; run it on a laptop")
    prometheus = _require("prometheus_client", "serve_metrics")
    server, thread = prometheus.start_http_server(port, addr=address, registry=metrics.collector())
    host, bound_port = server.server_address[:2]
    return MetricsServer(f"http://{host}:{bound_port}/metrics", server, thread)


def histogram_quantile(q: float, upper_bounds: Sequence[float], cumulative_counts: Sequence[float]) -> float:
    """The ``q``-quantile of a Prometheus histogram, as PromQL's ``histogram_quantile`` computes it.

    Find the bucket where the rank ``q * total`` falls and interpolate linearly inside it,
    assuming the observations are spread evenly between the bucket's lower and upper bound.
    The first bucket starts at 0; a rank in the ``+Inf`` bucket returns the largest finite
    bound (there is no upper end to interpolate to).

    Parameters
    ----------
    q : float
        The quantile, between 0 and 1 (0.95 for the p95).
    upper_bounds : sequence of float
        The buckets' ``le`` bounds, increasing, the last one ``inf``.
    cumulative_counts : sequence of float
        The number of observations ``<=`` each bound (cumulative, as Prometheus stores them).

    Returns
    -------
    float
        The estimate; NaN when the histogram holds no observation.

    Examples
    --------
    >>> round(histogram_quantile(0.5, [0.1, 0.5, 1.0, float("inf")], [10, 60, 90, 100]), 6)
    0.42
    >>> histogram_quantile(0.99, [0.1, 0.5, 1.0, float("inf")], [10, 60, 90, 100])
    1.0

    References
    ----------
    Prometheus documentation, "Query functions: histogram_quantile()", and
    ``promql/quantile.go`` (``bucketQuantile``).
    """
    q = _check_share(q, "q")
    if isinstance(upper_bounds, (str, bytes)) or isinstance(cumulative_counts, (str, bytes)):
        raise TypeError("upper_bounds and cumulative_counts must be sequences of numbers")
    bounds = [float(b) for b in upper_bounds]
    counts = [_check_nonnegative(c, "cumulative_counts") for c in cumulative_counts]
    if len(bounds) != len(counts):
        raise ValueError(
            f"upper_bounds and cumulative_counts must have the same length; got {len(bounds)} and {len(counts)}"
        )
    if len(bounds) < 2 or bounds[-1] != math.inf:
        raise ValueError("upper_bounds must hold at least two buckets and end with inf (the +Inf bucket)")
    if any(math.isnan(b) for b in bounds) or any(b <= a for a, b in zip(bounds, bounds[1:])):
        raise ValueError(f"upper_bounds must be strictly increasing; got {bounds}")
    if any(b < a for a, b in zip(counts, counts[1:])):
        raise ValueError("cumulative_counts must not decrease: each bucket counts the observations <= its bound")
    total = counts[-1]
    if total == 0:
        return math.nan
    rank = q * total
    index = next(i for i in range(len(bounds) - 1) if counts[i] >= rank) if counts[-2] >= rank else len(bounds) - 1
    if index == len(bounds) - 1:
        return bounds[-2]
    if index == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, in_bucket = 0.0, bounds[index], counts[index]
    if index > 0:
        start = bounds[index - 1]
        in_bucket -= counts[index - 1]
        rank -= counts[index - 1]
    return start + (end - start) * (rank / in_bucket)


# =============================================================================================
# Alert rules and their promtool unit tests
# =============================================================================================

# Prometheus' own units and order (model.ParseDuration): y = 365d, w = 7d, d = 24h.
_DURATION_UNITS = (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_DURATION = re.compile("^" + "".join(rf"(?:(\d+){unit}(?!s))?" if unit == "m" else rf"(?:(\d+){unit})?" for unit, _ in _DURATION_UNITS) + "$")


def duration_seconds(duration: str) -> int:
    """Seconds in a Prometheus duration such as ``"10m"``, ``"1h30m"``, ``"90s"`` or ``"7d"``.

    The units are Prometheus' own, largest first: ``y`` (365 days), ``w``, ``d``, ``h``, ``m``,
    ``s``; ``"0"`` alone is zero. Durations below a second (``ms``) are refused: every duration
    here counts whole seconds.

    Examples
    --------
    >>> duration_seconds("10m"), duration_seconds("1h30m"), duration_seconds("0s")
    (600, 5400, 0)
    >>> duration_seconds("1w2d"), duration_seconds("1y")
    (777600, 31536000)
    >>> duration_seconds("10 minutes")
    Traceback (most recent call last):
    ...
    ValueError: duration must be a Prometheus duration such as '5m', '90s' or '1h30m'; got '10 minutes'
    """
    if not isinstance(duration, str):
        raise TypeError(f"duration must be a string such as '5m'; got {type(duration).__name__} {duration!r}")
    text = duration.strip()
    if text == "0":
        return 0
    if text.endswith("ms"):
        raise ValueError(f"duration must be whole seconds: milliseconds ('ms') are not supported; got {duration!r}")
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"duration must be a Prometheus duration such as '5m', '90s' or '1h30m'; got {duration!r}")
    return sum(int(part or 0) * seconds for part, (_, seconds) in zip(match.groups(), _DURATION_UNITS))


def _format_duration(seconds: int) -> str:
    if seconds % 60:
        return f"{seconds}s"
    return f"{seconds // 60}m"


@dataclass(frozen=True)
class AlertThresholds:
    """The thresholds and ``for:`` durations of the seed alerts (see :func:`alert_rules`).

    Attributes
    ----------
    accuracy, accuracy_for : float, str
        Page (critical) when ``model_accuracy`` stays below ``accuracy`` for ``accuracy_for``.
    error_ratio, error_for : float, str
        Errors (``status!="success"``) over all predictions, as 5-minute rates.
    latency_p95_seconds, latency_for : float, str
        The p95 of the latency histogram over 5 minutes.
    drift_score, drift_for : float, str
        Any feature's ``model_feature_drift_score``.
    traffic_factor, traffic_for : float, str
        The 5-minute request rate above ``traffic_factor`` times the 1-hour rate.
    """

    accuracy: float = 0.85
    accuracy_for: str = "10m"
    error_ratio: float = 0.05
    error_for: str = "5m"
    latency_p95_seconds: float = 1.0
    latency_for: str = "5m"
    drift_score: float = 0.3
    drift_for: str = "15m"
    traffic_factor: float = 3.0
    traffic_for: str = "5m"

    def __post_init__(self) -> None:
        _check_share(self.accuracy, "accuracy")
        _check_share(self.error_ratio, "error_ratio")
        if _check_nonnegative(self.latency_p95_seconds, "latency_p95_seconds") == 0:
            raise ValueError("latency_p95_seconds must be > 0")
        _check_nonnegative(self.drift_score, "drift_score")
        if _check_finite(self.traffic_factor, "traffic_factor") <= 1:
            raise ValueError(f"traffic_factor must be > 1 (a spike is more traffic than usual); got {self.traffic_factor!r}")
        for name in ("accuracy_for", "error_for", "latency_for", "drift_for", "traffic_for"):
            try:
                duration_seconds(getattr(self, name))
            except (TypeError, ValueError) as error:
                raise type(error)(str(error).replace("duration", name, 1)) from None


def _rule_groups(thresholds: AlertThresholds, group: str) -> dict:
    t = thresholds
    total_rate = "sum(rate(model_predictions_total[5m]))"
    return {
        "groups": [
            {
                "name": group,
                "rules": [
                    {
                        "alert": "ModelAccuracyLow",
                        "expr": f"model_accuracy < {t.accuracy:g}",
                        "for": t.accuracy_for,
                        "labels": {"severity": "critical"},
                        "annotations": {
                            "summary": "Model accuracy is below the SLA",
                            "description": f"Accuracy is {{{{ $value | printf \"%.2f\" }}}} (threshold {t.accuracy:g}).",
                        },
                    },
                    {
                        "alert": "ModelErrorRateHigh",
                        "expr": f'sum(rate(model_predictions_total{{status!="success"}}[5m])) / {total_rate} > {t.error_ratio:g}',
                        "for": t.error_for,
                        "labels": {"severity": "critical"},
                        "annotations": {
                            "summary": "Too many failed predictions",
                            "description": f"{{{{ $value | humanizePercentage }}}} of predictions fail (threshold {t.error_ratio:.0%}).",
                        },
                    },
                    {
                        "alert": "ModelLatencyP95High",
                        "expr": (
                            "histogram_quantile(0.95, sum by (le) (rate(model_prediction_latency_seconds_bucket[5m]))) "
                            f"> {t.latency_p95_seconds:g}"
                        ),
                        "for": t.latency_for,
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "Prediction latency p95 is too high",
                            "description": f"p95 latency is {{{{ $value | printf \"%.2f\" }}}} s (threshold {t.latency_p95_seconds:g} s).",
                        },
                    },
                    {
                        "alert": "ModelFeatureDrift",
                        "expr": f"model_feature_drift_score > {t.drift_score:g}",
                        "for": t.drift_for,
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "Feature {{ $labels.feature }} has drifted",
                            "description": f"Drift score {{{{ $value | printf \"%.2f\" }}}} (threshold {t.drift_score:g}).",
                        },
                    },
                    {
                        "alert": "ModelTrafficSpike",
                        "expr": f"{total_rate} > {t.traffic_factor:g} * sum(rate(model_predictions_total[1h]))",
                        "for": t.traffic_for,
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "Prediction traffic spike",
                            "description": f"Requests per second are more than {t.traffic_factor:g} times the hourly average.",
                        },
                    },
                ],
            }
        ]
    }


def _dump_yaml(document: Any) -> str:
    yaml = _require("yaml", "writing YAML")
    return yaml.safe_dump(document, sort_keys=False, width=1000, default_flow_style=False)


def _thresholds(thresholds: AlertThresholds | None) -> AlertThresholds:
    if thresholds is None:
        return AlertThresholds()
    if not isinstance(thresholds, AlertThresholds):
        raise TypeError(f"thresholds must be an AlertThresholds; got {type(thresholds).__name__}")
    return thresholds


def alert_rules(thresholds: AlertThresholds | None = None, *, group: str = "ml-model-alerts") -> str:
    """A Prometheus alerting-rule file (YAML) with the course's five model alerts.

    ======================  ========  ===================================================
    alert                   severity  fires when (defaults)
    ======================  ========  ===================================================
    ``ModelAccuracyLow``    critical  ``model_accuracy < 0.85`` for 10m
    ``ModelErrorRateHigh``  critical  failed / all predictions (5m rates) > 5% for 5m
    ``ModelLatencyP95High`` warning   p95 of the latency histogram (5m) > 1 s for 5m
    ``ModelFeatureDrift``   warning   a feature's drift score > 0.3 for 15m
    ``ModelTrafficSpike``   warning   5m request rate > 3 x the 1h rate for 5m
    ======================  ========  ===================================================

    Parameters
    ----------
    thresholds : AlertThresholds, optional
        Thresholds and ``for:`` durations; the defaults above when omitted.
    group : str
        The rule group's name.

    Returns
    -------
    str
        The rule file; ``promtool check rules`` accepts it.

    Examples
    --------
    >>> import yaml
    >>> rules = yaml.safe_load(alert_rules())["groups"][0]["rules"]
    >>> rules[0]["alert"], rules[0]["expr"], rules[0]["for"], rules[0]["labels"]
    ('ModelAccuracyLow', 'model_accuracy < 0.85', '10m', {'severity': 'critical'})

    References
    ----------
    Prometheus documentation, "Alerting rules" and "Recording rules" (rule file format).
    """
    return _dump_yaml(_rule_groups(_thresholds(thresholds), _check_text(group, "group")))


def _series(values: Sequence[float]) -> str:
    """A promtool input series written value by value (``'1 2 3'``)."""
    return " ".join(f"{value:g}" for value in values)


def _cumulative(per_minute: Sequence[float]) -> list[float]:
    total, out = 0.0, [0.0]
    for value in per_minute:
        total += value
        out.append(total)
    return out


def rule_tests(
    thresholds: AlertThresholds | None = None,
    *,
    rule_file: str = "alert_rules.yml",
    evaluation_interval: str = "1m",
) -> str:
    """A ``promtool test rules`` file exercising every alert of :func:`alert_rules`.

    One test group per alert, each with its own input series: healthy values first, then a
    breach that lasts long enough. Each checks that the alert is not firing while healthy, that
    it is only *pending* early in the breach (through the ``ALERTS`` series), and that it fires,
    with its labels and rendered annotations, once the breach has lasted its ``for:`` duration.
    The series are built from ``thresholds``, so the tests follow the thresholds.

    Parameters
    ----------
    thresholds : AlertThresholds, optional
        The same thresholds given to :func:`alert_rules`.
    rule_file : str
        The path of the rule file, as promtool will find it (relative to the test file).
    evaluation_interval : str
        How often promtool evaluates the rules (and the series' sample interval).

    Returns
    -------
    str
        The test file (YAML).

    Examples
    --------
    >>> import yaml
    >>> tests = yaml.safe_load(rule_tests())
    >>> tests["rule_files"], len(tests["tests"])
    (['alert_rules.yml'], 5)

    References
    ----------
    Prometheus documentation, "Unit testing for rules".
    """
    t = _thresholds(thresholds)
    _check_text(rule_file, "rule_file")
    step = duration_seconds(evaluation_interval)
    if step <= 0:
        raise ValueError(f"evaluation_interval must be a positive duration; got {evaluation_interval!r}")

    def steps(duration: str) -> int:
        return -(-duration_seconds(duration) // step)  # ceil: evaluations a breach must last

    def at(index: int) -> str:
        return _format_duration(index * step)

    def silent_then_firing(alertname, *, quiet_at, fires_at, labels, summary, description) -> list:
        """promtool's alert_rule_test: no alert at each of ``quiet_at``, then this one firing."""
        firing = {"exp_labels": labels, "exp_annotations": {"summary": summary, "description": description}}
        return [{"eval_time": at(index), "alertname": alertname, "exp_alerts": []} for index in quiet_at] + [
            {"eval_time": at(fires_at), "alertname": alertname, "exp_alerts": [firing]}
        ]

    groups = []

    # Accuracy: healthy for 5 intervals, then below the threshold.
    healthy, bad = min(1.0, t.accuracy + 0.05), max(0.0, t.accuracy - 0.05)
    hold = steps(t.accuracy_for)
    breach_start = 6
    length = breach_start + hold + 6
    accuracy_values = [healthy] * breach_start + [bad] * (length - breach_start)
    pending_at = breach_start + hold // 2
    groups.append(
        {
            "interval": evaluation_interval,
            "input_series": [{"series": 'model_accuracy{job="model"}', "values": _series(accuracy_values)}],
            "alert_rule_test": silent_then_firing(
                "ModelAccuracyLow", quiet_at=[breach_start - 1, breach_start + hold - 1], fires_at=breach_start + hold,
                labels={"severity": "critical", "job": "model"},
                summary="Model accuracy is below the SLA",
                description=f"Accuracy is {bad:.2f} (threshold {t.accuracy:g}).",
            ),
            "promql_expr_test": [
                {
                    "expr": 'ALERTS{alertname="ModelAccuracyLow"}',
                    "eval_time": at(pending_at),
                    "exp_samples": [
                        {
                            "labels": 'ALERTS{alertname="ModelAccuracyLow", alertstate="pending", job="model", severity="critical"}',
                            "value": 1,
                        }
                    ],
                }
            ],
        }
    )

    # Error ratio: 1000 requests per interval; errors at half the threshold, then at twice it.
    hold = steps(t.error_for)
    window = steps("5m")
    breach_start = window + 5
    length = breach_start + window + hold + 6
    error_share = [t.error_ratio / 2] * breach_start + [min(1.0, t.error_ratio * 2)] * (length - breach_start)
    success = _cumulative([1000 * (1 - share) for share in error_share])
    errors = _cumulative([1000 * share for share in error_share])
    groups.append(
        {
            "interval": evaluation_interval,
            "input_series": [
                {"series": 'model_predictions_total{model_version="v1",status="success"}', "values": _series(success)},
                {"series": 'model_predictions_total{model_version="v1",status="error"}', "values": _series(errors)},
            ],
            "alert_rule_test": silent_then_firing(
                "ModelErrorRateHigh", quiet_at=[breach_start], fires_at=breach_start + window + hold + 1,
                labels={"severity": "critical"},
                summary="Too many failed predictions",
                description=f"{_humanize_percentage(min(1.0, t.error_ratio * 2))} of predictions fail (threshold {t.error_ratio:.0%}).",
            ),
        }
    )

    # Latency: 100 requests per interval, all fast, then 30% slower than the threshold.
    hold = steps(t.latency_for)
    breach_start = window + 5
    length = breach_start + window + hold + 6
    fast_bound, slow_bound = t.latency_p95_seconds / 2, t.latency_p95_seconds * 2
    bounds = [fast_bound, t.latency_p95_seconds, slow_bound, math.inf]
    fast_phase = [100, 100, 100, 100]  # cumulative per bucket: everything <= fast_bound
    slow_phase = [70, 70, 100, 100]  # 30% between the threshold and twice it: p95 above it
    series = []
    for position, bound in enumerate(bounds):
        per_step = [fast_phase[position]] * breach_start + [slow_phase[position]] * (length - breach_start)
        le = "+Inf" if bound == math.inf else f"{bound:g}"
        series.append(
            {
                "series": f'model_prediction_latency_seconds_bucket{{model_version="v1",le="{le}"}}',
                "values": _series(_cumulative(per_step)),
            }
        )
    p95 = histogram_quantile(0.95, bounds, slow_phase)
    groups.append(
        {
            "interval": evaluation_interval,
            "input_series": series,
            "alert_rule_test": silent_then_firing(
                "ModelLatencyP95High", quiet_at=[breach_start], fires_at=breach_start + window + hold + 1,
                labels={"severity": "warning"},
                summary="Prediction latency p95 is too high",
                description=f"p95 latency is {p95:.2f} s (threshold {t.latency_p95_seconds:g} s).",
            ),
        }
    )

    # Drift: one feature drifts, the other stays quiet (the alert names only the drifted one).
    hold = steps(t.drift_for)
    breach_start = 5
    length = breach_start + hold + 5
    quiet, drifted = t.drift_score / 3, t.drift_score + 0.15
    groups.append(
        {
            "interval": evaluation_interval,
            "input_series": [
                {
                    "series": 'model_feature_drift_score{feature="income"}',
                    "values": _series([quiet] * breach_start + [drifted] * (length - breach_start)),
                },
                {"series": 'model_feature_drift_score{feature="age"}', "values": _series([quiet] * length)},
            ],
            "alert_rule_test": silent_then_firing(
                "ModelFeatureDrift", quiet_at=[breach_start + hold - 1], fires_at=breach_start + hold,
                labels={"severity": "warning", "feature": "income"},
                summary="Feature income has drifted",
                description=f"Drift score {drifted:.2f} (threshold {t.drift_score:g}).",
            ),
        }
    )

    # Traffic: an hour at 100 requests per interval, then a jump well above the factor.
    hold = steps(t.traffic_for)
    breach_start = steps("1h") + 5
    length = breach_start + window + hold + 6
    per_step = [100] * breach_start + [100 * (t.traffic_factor * 3)] * (length - breach_start)
    groups.append(
        {
            "interval": evaluation_interval,
            "input_series": [
                {"series": 'model_predictions_total{model_version="v1",status="success"}', "values": _series(_cumulative(per_step))}
            ],
            "alert_rule_test": silent_then_firing(
                "ModelTrafficSpike", quiet_at=[breach_start], fires_at=breach_start + window + hold + 1,
                labels={"severity": "warning"},
                summary="Prediction traffic spike",
                description=f"Requests per second are more than {t.traffic_factor:g} times the hourly average.",
            ),
        }
    )

    document = {"rule_files": [rule_file], "evaluation_interval": evaluation_interval, "tests": groups}
    return _dump_yaml(document)


def breach_probability(accuracy: float, threshold: float, labelled: int) -> float:
    """Chance that accuracy measured on ``labelled`` predictions falls below ``threshold``.

    A healthy model with true accuracy ``accuracy`` still shows a lower measured accuracy now and
    then: the number of correct answers is Binomial(``labelled``, ``accuracy``), and the alert's
    expression ``model_accuracy < threshold`` is true when fewer than ``threshold * labelled``
    are correct. This is the per-evaluation false-breach probability behind a ``for:`` choice.

    Parameters
    ----------
    accuracy : float
        The model's true accuracy, between 0 and 1.
    threshold : float
        The alert's threshold, between 0 and 1.
    labelled : int
        Labelled predictions behind each measurement (>= 1).

    Returns
    -------
    float

    Examples
    --------
    >>> round(breach_probability(0.89, 0.85, 200), 4)
    0.0318
    """
    accuracy, threshold = _check_share(accuracy, "accuracy"), _check_share(threshold, "threshold")
    if isinstance(labelled, bool) or not isinstance(labelled, numbers.Integral) or labelled < 1:
        raise ValueError(f"labelled must be an integer >= 1; got {labelled!r}")
    labelled = int(labelled)
    below = math.ceil(threshold * labelled - 1e-9)  # correct answers < below breach the threshold
    return float(sum(math.comb(labelled, k) * accuracy**k * (1 - accuracy) ** (labelled - k) for k in range(below)))


def expected_false_alerts(
    p_breach: float, for_duration: str, *, evaluation_interval: str = "1m", horizon: str = "720h"
) -> float:
    """Expected number of times an alert fires in ``horizon`` when each evaluation breaches by chance.

    Prometheus puts an alert in *pending* at the first evaluation where its expression is true
    and moves it to *firing* at the first evaluation at least ``for_duration`` later at which it
    is still true: with an evaluation every ``evaluation_interval``, that takes
    ``k = for_duration / evaluation_interval + 1`` true evaluations in a row (``for: 0m`` fires
    on the first). With independent breaches of probability ``p``, the expected number of runs of
    at least ``k`` breaches among ``N`` evaluations is ``p**k * (1 + (N - k) * (1 - p))``.

    Parameters
    ----------
    p_breach : float
        Probability that one evaluation's expression is true by chance, between 0 and 1.
    for_duration : str
        The rule's ``for:`` duration, e.g. ``"5m"``.
    evaluation_interval : str
        Prometheus' rule evaluation interval.
    horizon : str
        The period over which to count (``"720h"``, 30 days, by default).

    Returns
    -------
    float

    Examples
    --------
    >>> p = breach_probability(0.89, 0.85, 200)
    >>> [round(expected_false_alerts(p, f), 3) for f in ("0m", "2m", "5m")]
    [1330.032, 1.345, 0.0]

    References
    ----------
    Prometheus documentation, "Alerting rules" (the ``for`` clause); Feller, *An Introduction to
    Probability Theory and Its Applications*, vol. 1, ch. XIII (runs in Bernoulli trials).
    """
    p = _check_share(p_breach, "p_breach")
    step = duration_seconds(evaluation_interval)
    if step <= 0:
        raise ValueError(f"evaluation_interval must be a positive duration; got {evaluation_interval!r}")
    hold = duration_seconds(for_duration)
    if hold % step:
        raise ValueError(f"for_duration ({for_duration}) must be a multiple of evaluation_interval ({evaluation_interval})")
    evaluations = duration_seconds(horizon) // step
    k = hold // step + 1
    if k > evaluations:
        return 0.0
    return p**k * (1 + (evaluations - k) * (1 - p))


def _humanize_percentage(value: float) -> str:
    """Prometheus' ``humanizePercentage``: the value times 100 with Go's ``%.4g``, then ``%``."""
    return f"{value * 100:.4g}%"


# =============================================================================================
# Traces: OpenTelemetry, exported in memory
# =============================================================================================


@dataclass(frozen=True)
class InMemoryTracing:
    """A tracer whose finished spans stay in memory (see :func:`in_memory_tracing`)."""

    provider: Any = field(repr=False)
    tracer: Any = field(repr=False)
    exporter: Any = field(repr=False)
    service_name: str = "model-service"

    def spans(self) -> list:
        """The finished spans, oldest first."""
        return list(self.exporter.get_finished_spans())

    def clear(self) -> None:
        """Forget the finished spans."""
        self.exporter.clear()


def in_memory_tracing(service_name: str = "model-service", *, service_version: str = "0.1.0") -> InMemoryTracing:
    """An OpenTelemetry tracer that keeps finished spans in memory: no thread, no network.

    The tracer provider gets an explicit ``Resource`` (the default one runs resource detectors,
    which start threads that the browser does not have), and a ``SimpleSpanProcessor`` that
    hands each span to an ``InMemorySpanExporter`` as it ends (a ``BatchSpanProcessor`` would
    start a thread). The provider is not installed as the global one, so several can coexist.

    Parameters
    ----------
    service_name, service_version : str
        The ``service.name`` and ``service.version`` resource attributes.

    Returns
    -------
    InMemoryTracing

    Examples
    --------
    >>> tracing = in_memory_tracing("churn-model")
    >>> with tracing.tracer.start_as_current_span("predict"):
    ...     pass
    >>> [span.name for span in tracing.spans()], tracing.spans()[0].resource.attributes["service.name"]
    (['predict'], 'churn-model')

    References
    ----------
    OpenTelemetry specification, "Tracing SDK" and "Resource SDK".
    """
    _check_text(service_name, "service_name")
    _check_text(service_version, "service_version")
    _require("opentelemetry.sdk.trace", "in_memory_tracing")
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": service_name, "service.version": service_version}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("course_lib.observability")
    return InMemoryTracing(provider, tracer, exporter, service_name)


def _feature_attributes(features: Mapping[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {"feature.count": len(features)}
    missing = []
    for name, value in features.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            missing.append(str(name))
        elif isinstance(value, (bool, str, int, float)):
            attributes[f"feature.{name}"] = value
        elif isinstance(value, numbers.Real):
            attributes[f"feature.{name}"] = float(value)
        else:
            attributes[f"feature.{name}"] = repr(value)
    attributes["feature.missing"] = tuple(missing)
    return attributes


def traced_prediction(
    predict: Callable[[Mapping[str, Any]], Any],
    features: Mapping[str, Any],
    *,
    tracer: Any,
    model_version: str,
    prediction_id: str | None = None,
    clock: Callable[[], int] | None = None,
) -> Any:
    """Call ``predict(features)`` inside a ``predict`` span that records what happened.

    The span carries ``model.version``, ``prediction.id``, a summary of the features (their
    count, each scalar value as ``feature.<name>`` and the names of the missing ones as
    ``feature.missing``) and the result as ``prediction.value``. If ``predict`` raises, the span
    records the exception and an error status, and the exception propagates. Spans that
    ``predict`` opens with the same tracer become children of this one.

    Parameters
    ----------
    predict : callable
        Takes the feature mapping, returns the prediction.
    features : mapping
        Feature names to values (None or NaN for a missing value).
    tracer : opentelemetry.trace.Tracer
        For example ``in_memory_tracing().tracer``.
    model_version : str
    prediction_id : str, optional
    clock : callable, optional
        Returns the time in nanoseconds for the span's start and end; the SDK's clock by
        default. A simulated clock makes traces reproducible in a lesson.

    Returns
    -------
    object
        What ``predict`` returned.

    Examples
    --------
    >>> tracing = in_memory_tracing()
    >>> traced_prediction(lambda f: round(0.1 * f["age"], 2), {"age": 42, "income": None},
    ...                   tracer=tracing.tracer, model_version="v2", prediction_id="p-1")
    4.2
    >>> span = tracing.spans()[0]
    >>> span.attributes["model.version"], span.attributes["feature.missing"], span.attributes["prediction.value"]
    ('v2', ('income',), 4.2)
    """
    if not callable(predict):
        raise TypeError(f"predict must be callable; got {type(predict).__name__}")
    if not isinstance(features, Mapping):
        raise TypeError(f"features must be a mapping of feature names to values; got {type(features).__name__}")
    if not hasattr(tracer, "start_as_current_span"):
        raise TypeError(f"tracer must be an OpenTelemetry tracer; got {type(tracer).__name__}")
    _check_text(model_version, "model_version")
    if prediction_id is not None:
        _check_text(prediction_id, "prediction_id")
    if clock is not None and not callable(clock):
        raise TypeError(f"clock must be a callable returning nanoseconds; got {type(clock).__name__}")
    from opentelemetry.trace import Status, StatusCode

    attributes = {"model.version": model_version, **_feature_attributes(features)}
    if prediction_id is not None:
        attributes["prediction.id"] = prediction_id
    start = clock() if clock is not None else None
    with tracer.start_as_current_span(
        "predict", attributes=attributes, start_time=start, end_on_exit=False, record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            result = predict(features)
        except Exception as error:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.end(end_time=clock() if clock is not None else None)
            raise
        value = _jsonable(result)
        span.set_attribute("prediction.value", value if isinstance(value, (bool, str, int, float)) else json.dumps(value))
        span.end(end_time=clock() if clock is not None else None)
    return result


# =============================================================================================
# Events: CloudEvents 1.0 with the cloudevents 2.x SDK
# =============================================================================================

#: CloudEvent type of a drift detection.
DRIFT_DETECTED = "ml.data.drift.detected"
#: CloudEvent type of a performance degradation (accuracy, error rate, latency below the SLA).
PERFORMANCE_DEGRADED = "ml.performance.degraded"

_URI_REFERENCE = re.compile(r"^[^\s]+$")


def _event(event_type: str, source: str, subject: str | None, data: dict, event_id: str | None, time: Any):
    _require("cloudevents.core.v1.event", "CloudEvents")
    from cloudevents.core.v1.event import CloudEvent

    _check_text(source, "source")
    if not _URI_REFERENCE.match(source):
        raise ValueError(f"source must be a URI reference without spaces, such as '/models/churn'; got {source!r}")
    attributes: dict[str, Any] = {
        "type": event_type,
        "source": source,
        "specversion": "1.0",
        "datacontenttype": "application/json",
    }
    if subject is not None:
        attributes["subject"] = _check_text(subject, "subject")
    if event_id is not None:
        attributes["id"] = _check_text(event_id, "event_id")
    if time is not None:
        if isinstance(time, str):
            try:
                time = _dt.datetime.fromisoformat(time.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"time must be an ISO 8601 timestamp; got {time!r}") from None
        if not isinstance(time, _dt.datetime) or time.tzinfo is None:
            raise ValueError(f"time must be a timezone-aware datetime or an ISO 8601 text with a zone; got {time!r}")
        attributes["time"] = time
    return CloudEvent(attributes=attributes, data=data)


def drift_event(
    *,
    feature: str,
    score: float,
    threshold: float,
    model_version: str,
    source: str = "/models/churn/monitor",
    subject: str | None = None,
    event_id: str | None = None,
    time: Any = None,
):
    """A CloudEvent of type ``ml.data.drift.detected`` for one drifted feature.

    Parameters
    ----------
    feature : str
        The drifted feature (also the event's ``subject`` unless one is given).
    score, threshold : float
        The drift score and the threshold it crossed (``score > threshold``).
    model_version : str
    source : str
        The producer, a URI reference such as ``/models/churn/monitor``.
    subject : str, optional
    event_id : str, optional
        A unique id; the SDK makes a random UUID when omitted.
    time : datetime or str, optional
        When it happened (timezone-aware); now when omitted.

    Returns
    -------
    cloudevents.core.v1.event.CloudEvent

    Examples
    --------
    >>> event = drift_event(feature="income", score=0.41, threshold=0.3, model_version="v2", event_id="e-1")
    >>> event.get_type(), event.get_subject(), event.get_data()["score"]
    ('ml.data.drift.detected', 'income', 0.41)

    References
    ----------
    CloudEvents specification 1.0 (context attributes).
    """
    _check_text(feature, "feature")
    score = _check_nonnegative(score, "score")
    threshold = _check_nonnegative(threshold, "threshold")
    if score <= threshold:
        raise ValueError(f"score ({score:g}) must be above threshold ({threshold:g}) for a drift event")
    data = {"feature": feature, "score": score, "threshold": threshold, "model_version": _check_text(model_version, "model_version")}
    return _event(DRIFT_DETECTED, source, subject if subject is not None else feature, data, event_id, time)


def performance_event(
    *,
    metric: str,
    value: float,
    threshold: float,
    model_version: str,
    source: str = "/models/churn/monitor",
    subject: str | None = None,
    event_id: str | None = None,
    time: Any = None,
):
    """A CloudEvent of type ``ml.performance.degraded`` (a metric crossed its SLA threshold).

    Parameters
    ----------
    metric : str
        ``"accuracy"``, ``"error_rate"``, ``"latency_p95_seconds"``...; also the ``subject``
        unless one is given.
    value, threshold : float
        The measured value and the threshold it crossed.
    model_version, source, subject, event_id, time
        As for :func:`drift_event`.

    Returns
    -------
    cloudevents.core.v1.event.CloudEvent

    Examples
    --------
    >>> event = performance_event(metric="accuracy", value=0.81, threshold=0.85, model_version="v2")
    >>> event.get_type(), sorted(event.get_data())
    ('ml.performance.degraded', ['metric', 'model_version', 'threshold', 'value'])
    """
    _check_text(metric, "metric")
    data = {
        "metric": metric,
        "value": _check_finite(value, "value"),
        "threshold": _check_finite(threshold, "threshold"),
        "model_version": _check_text(model_version, "model_version"),
    }
    return _event(PERFORMANCE_DEGRADED, source, subject if subject is not None else metric, data, event_id, time)


def to_http(event: Any, *, mode: str = "structured") -> tuple[dict[str, str], bytes]:
    """The HTTP headers and body that carry ``event`` in ``structured`` or ``binary`` mode.

    Structured mode puts the whole event (attributes and data) in a JSON body of type
    ``application/cloudevents+json``; binary mode puts the attributes in ``ce-*`` headers and
    only the data in the body.

    Examples
    --------
    >>> event = drift_event(feature="age", score=0.5, threshold=0.3, model_version="v1", event_id="e-2")
    >>> headers, body = to_http(event, mode="binary")
    >>> headers["ce-type"], headers["content-type"], json.loads(body)["feature"]
    ('ml.data.drift.detected', 'application/json', 'age')
    >>> from_http(*to_http(event)).get_id()
    'e-2'

    References
    ----------
    CloudEvents, "HTTP Protocol Binding" 1.0 (binary and structured content modes).
    """
    from cloudevents.core.bindings import http
    from cloudevents.core.formats.json import JSONFormat

    # BaseCloudEvent is a typing Protocol that isinstance cannot check: look for its methods.
    if not all(hasattr(event, method) for method in ("get_attributes", "get_data", "get_type")):
        raise TypeError(f"event must be a CloudEvent; got {type(event).__name__}")
    if mode == "structured":
        message = http.to_structured(event, JSONFormat())
    elif mode == "binary":
        message = http.to_binary(event, JSONFormat())
    else:
        raise ValueError(f"mode must be one of 'structured', 'binary'; got {mode!r}")
    return dict(message.headers), bytes(message.body)


def from_http(headers: Mapping[str, str], body: bytes):
    """Read a CloudEvent from HTTP headers and body, in either content mode.

    Returns
    -------
    cloudevents.core.v1.event.CloudEvent
    """
    from cloudevents.core.bindings import http
    from cloudevents.core.formats.json import JSONFormat

    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping of header names to values; got {type(headers).__name__}")
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, (bytes, bytearray)):
        raise TypeError(f"body must be bytes; got {type(body).__name__}")
    lowered = {str(key).lower(): str(value) for key, value in headers.items()}
    content_type = lowered.get("content-type", "")
    if content_type.startswith("application/cloudevents"):
        try:
            return http.from_structured(http.HTTPMessage(headers=lowered, body=bytes(body)), JSONFormat())
        except ValueError as error:
            raise ValueError(f"body is not a structured CloudEvent: {error}") from None
    if "ce-specversion" not in lowered:
        raise ValueError(
            "headers carry no CloudEvent: expected content-type application/cloudevents+json "
            "(structured mode) or ce-* headers with ce-specversion (binary mode)"
        )
    return http.from_binary(http.HTTPMessage(headers=lowered, body=bytes(body)), JSONFormat())


# =============================================================================================
# The retraining hand-off: an Argo Workflow and the Argo Events Sensor that submits it
# =============================================================================================

_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_CONTAINER_TEMPLATE = {
    "type": "object",
    "required": ["name", "container"],
    "properties": {
        "name": {"type": "string", "pattern": _NAME},
        "inputs": {"type": "object"},
        "container": {
            "type": "object",
            "required": ["image", "command"],
            "properties": {
                "image": {"type": "string", "minLength": 1},
                "command": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "args": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}
_STEPS_TEMPLATE = {
    "type": "object",
    "required": ["name", "steps"],
    "properties": {
        "name": {"type": "string", "pattern": _NAME},
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["name", "template"],
                    "properties": {
                        "name": {"type": "string", "pattern": _NAME},
                        "template": {"type": "string"},
                        "arguments": {"type": "object"},
                    },
                },
            },
        },
    },
}

#: JSON Schema of the Argo Workflow fields this course uses (a subset of Argo's own schema,
#: ``io.argoproj.workflow.v1alpha1.Workflow``; unknown fields are allowed, as Kubernetes does).
WORKFLOW_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Argo Workflow (fields used by course_lib)",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "argoproj.io/v1alpha1"},
        "kind": {"const": "Workflow"},
        "metadata": {
            "type": "object",
            "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
            "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}, "namespace": {"type": "string"}},
        },
        "spec": {
            "type": "object",
            "required": ["entrypoint", "templates"],
            "properties": {
                "entrypoint": {"type": "string"},
                "arguments": {
                    "type": "object",
                    "properties": {
                        "parameters": {
                            "type": "array",
                            "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "value": {"type": "string"}}},
                        }
                    },
                },
                "templates": {"type": "array", "minItems": 1, "items": {"oneOf": [_CONTAINER_TEMPLATE, _STEPS_TEMPLATE]}},
            },
        },
    },
}

#: JSON Schema of the Argo Events Sensor fields this course uses (a subset of
#: ``io.argoproj.events.v1alpha1.Sensor``).
SENSOR_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Argo Events Sensor (fields used by course_lib)",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "argoproj.io/v1alpha1"},
        "kind": {"const": "Sensor"},
        "metadata": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "pattern": _NAME}}},
        "spec": {
            "type": "object",
            "required": ["dependencies", "triggers"],
            "properties": {
                "dependencies": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "eventSourceName", "eventName"],
                        "properties": {
                            "name": {"type": "string"},
                            "eventSourceName": {"type": "string"},
                            "eventName": {"type": "string"},
                            "filters": {
                                "type": "object",
                                "properties": {
                                    "data": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["path", "type", "value"],
                                            "properties": {
                                                "path": {"type": "string"},
                                                "type": {"enum": ["string", "number", "bool"]},
                                                "value": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                                            },
                                        },
                                    }
                                },
                            },
                        },
                    },
                },
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["template"],
                        "properties": {
                            "template": {
                                "type": "object",
                                "required": ["name", "argoWorkflow"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "conditions": {"type": "string"},
                                    "argoWorkflow": {
                                        "type": "object",
                                        "required": ["operation", "source"],
                                        "properties": {
                                            "operation": {"enum": ["submit", "resubmit", "resume", "retry", "suspend", "terminate", "stop"]},
                                            "source": {"type": "object", "required": ["resource"], "properties": {"resource": WORKFLOW_SCHEMA}},
                                            "parameters": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "required": ["src", "dest"],
                                                    "properties": {
                                                        "src": {
                                                            "type": "object",
                                                            "required": ["dependencyName"],
                                                            "properties": {"dependencyName": {"type": "string"}, "dataKey": {"type": "string"}, "contextKey": {"type": "string"}},
                                                        },
                                                        "dest": {"type": "string"},
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                },
            },
        },
    },
}


def _workflow_document(model_name: str, image: str, canary_percent: int, namespace: str) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": f"retrain-{model_name}-", "namespace": namespace},
        "spec": {
            "entrypoint": "retrain-and-deploy",
            "arguments": {"parameters": [{"name": "reason", "value": "manual"}, {"name": "model_version", "value": "unknown"}]},
            "templates": [
                {
                    "name": "retrain-and-deploy",
                    "steps": [
                        [{"name": "train", "template": "train"}],
                        [{"name": "deploy-canary", "template": "deploy"}],
                    ],
                },
                {
                    "name": "train",
                    "container": {
                        "image": image,
                        "command": ["python", "train.py"],
                        "args": ["--reason", "{{workflow.parameters.reason}}", "--replaces", "{{workflow.parameters.model_version}}"],
                    },
                },
                {
                    "name": "deploy",
                    "container": {
                        "image": image,
                        "command": ["python", "deploy.py"],
                        "args": ["--strategy", "canary", "--canary-percent", str(canary_percent)],
                    },
                },
            ],
        },
    }


def argo_workflow(
    model_name: str = "churn",
    *,
    image: str = "registry.example.com/ml/churn-model:latest",
    canary_percent: int = 10,
    namespace: str = "ml",
) -> str:
    """An Argo Workflow (YAML) that retrains the model, then redeploys it as a canary.

    Two steps run one after the other: ``train`` (``python train.py``, told why and which
    version it replaces through the workflow parameters ``reason`` and ``model_version``) and
    ``deploy-canary`` (``python deploy.py --strategy canary --canary-percent N``), both in the
    model's container image.

    Parameters
    ----------
    model_name : str
        Lower-case name used in the workflow's name.
    image : str
        The container image holding ``train.py`` and ``deploy.py``.
    canary_percent : int
        Share of traffic, 1 to 100, the new model gets first.
    namespace : str

    Returns
    -------
    str
        The manifest; it validates against :data:`WORKFLOW_SCHEMA`.

    Examples
    --------
    >>> import yaml
    >>> workflow = yaml.safe_load(argo_workflow())
    >>> workflow["kind"], [t["name"] for t in workflow["spec"]["templates"]]
    ('Workflow', ['retrain-and-deploy', 'train', 'deploy'])
    >>> workflow["spec"]["templates"][2]["container"]["command"]
    ['python', 'deploy.py']

    References
    ----------
    Argo Workflows documentation, "Workflow" and "Steps".
    """
    _check_text(model_name, "model_name")
    if not re.match(_NAME, model_name):
        raise ValueError(f"model_name must be lower-case letters, digits and '-' (a Kubernetes name); got {model_name!r}")
    _check_text(image, "image")
    _check_text(namespace, "namespace")
    if isinstance(canary_percent, bool) or not isinstance(canary_percent, int) or not 1 <= canary_percent <= 100:
        raise ValueError(f"canary_percent must be an integer from 1 to 100; got {canary_percent!r}")
    return _dump_yaml(_workflow_document(model_name, image, canary_percent, namespace))


def argo_sensor(
    workflow: str | None = None,
    *,
    event_type: str = PERFORMANCE_DEGRADED,
    event_source: str = "ml-monitoring",
    event_name: str = "model-events",
    name: str = "retrain-on-degradation",
) -> str:
    """An Argo Events Sensor (YAML) that submits ``workflow`` when a CloudEvent of ``event_type`` arrives.

    The dependency listens to ``event_source``/``event_name``, a webhook EventSource to which
    the monitor POSTs its CloudEvents in structured mode (Argo Events then holds the request
    body under ``body``), and keeps only the events whose ``body.type`` is ``event_type``; the
    trigger submits the workflow, passing the event's ``data.model_version`` and ``type`` to
    the workflow's ``model_version`` and ``reason`` parameters.

    Parameters
    ----------
    workflow : str, optional
        The workflow manifest (YAML), :func:`argo_workflow`'s by default.
    event_type : str
        The CloudEvent type that triggers retraining.
    event_source, event_name : str
        The Argo Events EventSource and event the sensor depends on.
    name : str
        The sensor's name.

    Returns
    -------
    str
        The manifest; it validates against :data:`SENSOR_SCHEMA`.

    Examples
    --------
    >>> import yaml
    >>> sensor = yaml.safe_load(argo_sensor())
    >>> sensor["spec"]["dependencies"][0]["filters"]["data"][0]["value"]
    ['ml.performance.degraded']
    >>> sensor["spec"]["triggers"][0]["template"]["argoWorkflow"]["operation"]
    'submit'

    References
    ----------
    Argo Events documentation, "Sensor", "Argo Workflow trigger" and "Filters".
    """
    document = validate_manifest(argo_workflow() if workflow is None else workflow, "Workflow")
    for value, label in ((event_type, "event_type"), (event_source, "event_source"), (event_name, "event_name"), (name, "name")):
        _check_text(value, label)
    if not re.match(_NAME, name):
        raise ValueError(f"name must be lower-case letters, digits and '-' (a Kubernetes name); got {name!r}")
    parameter_names = [p["name"] for p in document["spec"].get("arguments", {}).get("parameters", [])]
    parameters = []
    for data_key, parameter in (("body.data.model_version", "model_version"), ("body.type", "reason")):
        if parameter in parameter_names:
            source = {"dependencyName": "degraded", "dataKey": data_key}
            parameters.append({"src": source, "dest": f"spec.arguments.parameters.{parameter_names.index(parameter)}.value"})
    sensor = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Sensor",
        "metadata": {"name": name},
        "spec": {
            "dependencies": [
                {
                    "name": "degraded",
                    "eventSourceName": event_source,
                    "eventName": event_name,
                    "filters": {"data": [{"path": "body.type", "type": "string", "value": [event_type]}]},
                }
            ],
            "triggers": [
                {
                    "template": {
                        "name": "retrain",
                        "argoWorkflow": {"operation": "submit", "source": {"resource": document}, "parameters": parameters},
                    }
                }
            ],
        },
    }
    return _dump_yaml(sensor)


def validate_manifest(manifest: str | Mapping[str, Any], kind: str) -> dict:
    """Parse a Workflow or Sensor manifest and validate it against the course's JSON Schema.

    Parameters
    ----------
    manifest : str or mapping
        YAML text or an already parsed document.
    kind : {"Workflow", "Sensor"}

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    ValueError
        If the YAML does not parse or the document does not follow the schema; the message
        says where (``spec.templates[1]``) and what is wrong.

    Examples
    --------
    >>> validate_manifest("apiVersion: argoproj.io/v1alpha1\\nkind: Workflow\\nmetadata: {name: x}\\nspec: {}", "Workflow")
    Traceback (most recent call last):
    ...
    ValueError: the Workflow does not follow the schema at spec: 'entrypoint' is a required property
    """
    schemas = {"Workflow": WORKFLOW_SCHEMA, "Sensor": SENSOR_SCHEMA}
    if kind not in schemas:
        raise ValueError(f"kind must be one of 'Workflow', 'Sensor'; got {kind!r}")
    yaml = _require("yaml", "validate_manifest")
    jsonschema = _require("jsonschema", "validate_manifest")
    if isinstance(manifest, str):
        try:
            document = yaml.safe_load(manifest)
        except yaml.YAMLError as error:
            raise ValueError(f"manifest is not valid YAML: {error}") from None
    elif isinstance(manifest, Mapping):
        document = dict(manifest)
    else:
        raise TypeError(f"manifest must be YAML text or a mapping; got {type(manifest).__name__}")
    if not isinstance(document, dict):
        raise ValueError(f"manifest must hold a YAML mapping (a {kind} resource); got {type(document).__name__}")
    problem = _schema_problem(document, schemas[kind], kind)
    if problem:
        raise ValueError(problem.replace("follow its schema", "follow the schema", 1))
    return document


# =============================================================================================
# The SLA health check and the seed's observability snapshot
# =============================================================================================


@dataclass(frozen=True)
class SLAThresholds:
    """Service-level thresholds of the health check (see :func:`health_report`)."""

    latency_p95_seconds: float = 1.0
    latency_p99_seconds: float = 2.5
    error_rate: float = 0.05
    availability: float = 0.995
    accuracy: float = 0.85

    def __post_init__(self) -> None:
        _check_nonnegative(self.latency_p95_seconds, "latency_p95_seconds")
        _check_nonnegative(self.latency_p99_seconds, "latency_p99_seconds")
        _check_share(self.error_rate, "error_rate")
        _check_share(self.availability, "availability")
        _check_share(self.accuracy, "accuracy")


@dataclass(frozen=True)
class HealthReport:
    """The result of :func:`health_report`.

    Attributes
    ----------
    requests : int
        Predictions counted.
    latency_p95_seconds, latency_p99_seconds : float
        From the latency histogram, as Prometheus' ``histogram_quantile`` estimates them.
    error_rate : float
        Non-successful requests (errors and rejected inputs) over all requests.
    availability : float
        Requests the service did not fail (``status != "error"``) over all requests.
    accuracy : float or None
        The ``model_accuracy`` gauge, None when it was never set.
    checks : dict
        Each check's name and whether it passes (None when it cannot be evaluated).
    healthy : bool
        Every check that could be evaluated passes.
    """

    requests: int
    latency_p95_seconds: float
    latency_p99_seconds: float
    error_rate: float
    availability: float
    accuracy: float | None
    checks: dict
    healthy: bool

    def __repr__(self) -> str:
        failing = [name for name, ok in self.checks.items() if ok is False]
        accuracy = "unknown" if self.accuracy is None else f"{self.accuracy:.3f}"
        return (
            f"HealthReport({'healthy' if self.healthy else 'UNHEALTHY'}: requests={self.requests}, "
            f"p95={self.latency_p95_seconds:.3f}s, p99={self.latency_p99_seconds:.3f}s, "
            f"error_rate={self.error_rate:.4f}, availability={self.availability:.4f}, accuracy={accuracy}; "
            f"failing={failing})"
        )


def health_report(metrics: ModelMetrics, thresholds: SLAThresholds | None = None) -> HealthReport:
    """The SLA health check of a model service, from the metrics it has measured.

    Latency quantiles come from the latency histogram (as Prometheus would compute them), the
    rates from the prediction counter, accuracy from the ``model_accuracy`` gauge: nothing is
    made up, and a check without data (no requests, accuracy never measured) is reported as
    ``None`` instead of passing or failing silently.

    Parameters
    ----------
    metrics : ModelMetrics
    thresholds : SLAThresholds, optional

    Returns
    -------
    HealthReport

    Examples
    --------
    >>> metrics = ModelMetrics("v1")
    >>> for latency in [0.02] * 97 + [0.3, 0.3, 2.0]:
    ...     metrics.observe(latency)
    >>> metrics.observe(0.01, status="error")
    >>> metrics.set_accuracy(0.9)
    >>> report = health_report(metrics)
    >>> report.requests, round(report.error_rate, 4), report.checks["latency_p95"], report.healthy
    (101, 0.0099, True, False)
    """
    if not isinstance(metrics, ModelMetrics):
        raise TypeError(f"metrics must be a ModelMetrics; got {type(metrics).__name__}")
    if thresholds is None:
        thresholds = SLAThresholds()
    elif not isinstance(thresholds, SLAThresholds):
        raise TypeError(f"thresholds must be an SLAThresholds; got {type(thresholds).__name__}")
    counts = {
        status: metrics.value("model_predictions_total", model_version=metrics.model_version, status=status) or 0.0
        for status in STATUSES
    }
    requests = int(sum(counts.values()))
    bounds, cumulative = metrics.latency_buckets()
    p95 = histogram_quantile(0.95, bounds, cumulative)
    p99 = histogram_quantile(0.99, bounds, cumulative)
    error_rate = (counts["error"] + counts["rejected"]) / requests if requests else math.nan
    availability = 1 - counts["error"] / requests if requests else math.nan
    accuracy = metrics.value("model_accuracy") if metrics._accuracy_set else None

    def check(value: float | None, limit: float, below: bool) -> bool | None:
        if value is None or math.isnan(value):
            return None
        return value <= limit if below else value >= limit

    checks = {
        "latency_p95": check(p95, thresholds.latency_p95_seconds, True),
        "latency_p99": check(p99, thresholds.latency_p99_seconds, True),
        "error_rate": check(error_rate, thresholds.error_rate, True),
        "availability": check(availability, thresholds.availability, False),
        "accuracy": check(accuracy, thresholds.accuracy, False),
    }
    healthy = all(ok is not False for ok in checks.values()) and requests > 0
    return HealthReport(requests, p95, p99, error_rate, availability, accuracy, checks, healthy)


@dataclass(frozen=True)
class ObservabilitySnapshot:
    """The result of :func:`build_observability_snapshot`: what an on-call engineer sees first."""

    predictions_served: int
    drifted_features: tuple[str, ...]
    share_drifted: float
    canary_decision: str
    status: str
    actions: tuple[str, ...]

    def to_dict(self) -> dict:
        """The snapshot as plain JSON-ready values (for a log line or a dashboard)."""
        return {
            "predictions_served": self.predictions_served,
            "drifted_features": list(self.drifted_features),
            "share_drifted": self.share_drifted,
            "canary_decision": self.canary_decision,
            "status": self.status,
            "actions": list(self.actions),
        }


_DECISIONS = ("promote", "continue", "rollback")


def build_observability_snapshot(report: Any, verdict: Any, *, predictions_served: int) -> ObservabilitySnapshot:
    """Combine a drift report and a canary verdict into one status for the on-call engineer.

    The seed's version returned a dict with the raw inputs and a status that ignored the
    canary; here the status is ``"critical"`` when the canary must roll back, ``"degraded"``
    when features drifted, and ``"ok"`` otherwise, with the actions that follow.

    Parameters
    ----------
    report : DriftReport or mapping
        A :class:`course_lib.drift.DriftReport` (or anything with ``drifted`` and
        ``share_drifted``), or a mapping with those keys.
    verdict : str or object
        ``"promote"``, ``"continue"`` or ``"rollback"``, or an object with a ``decision``
        attribute holding one of them (lesson 04's canary verdicts).
    predictions_served : int
        Predictions served in the window the report covers (>= 0).

    Returns
    -------
    ObservabilitySnapshot

    Examples
    --------
    >>> snapshot = build_observability_snapshot({"drifted": ["income"], "share_drifted": 0.25}, "promote",
    ...                                         predictions_served=1200)
    >>> snapshot.status, snapshot.actions
    ('degraded', ('investigate drift in income',))
    """
    if isinstance(predictions_served, bool) or not isinstance(predictions_served, numbers.Integral) or predictions_served < 0:
        raise ValueError(f"predictions_served must be an integer >= 0; got {predictions_served!r}")
    if isinstance(report, Mapping):
        try:
            drifted, share = report["drifted"], report["share_drifted"]
        except KeyError as error:
            raise ValueError(f"report must have the keys 'drifted' and 'share_drifted'; missing {error}") from None
    elif hasattr(report, "drifted") and hasattr(report, "share_drifted"):
        drifted, share = report.drifted, report.share_drifted
    else:
        raise TypeError(f"report must be a DriftReport or a mapping with 'drifted' and 'share_drifted'; got {type(report).__name__}")
    if isinstance(drifted, str) or not all(isinstance(name, str) for name in drifted):
        raise TypeError("report's drifted must be a list of feature names")
    share = _check_share(share, "report's share_drifted")
    decision = getattr(verdict, "decision", verdict)
    if not isinstance(decision, str) or decision.strip().lower() not in _DECISIONS:
        raise ValueError(f"verdict must be one of {', '.join(map(repr, _DECISIONS))} (or have such a decision); got {verdict!r}")
    decision = decision.strip().lower()
    actions = []
    if decision == "rollback":
        actions.append("roll back the canary")
    actions += [f"investigate drift in {name}" for name in drifted]
    status = "critical" if decision == "rollback" else "degraded" if drifted else "ok"
    return ObservabilitySnapshot(int(predictions_served), tuple(drifted), share, decision, status, tuple(actions))


# =============================================================================================
# The "YAML pack": the lesson's challenge, every artefact checked by a real validator
# =============================================================================================

#: JSON Schema of the course's drift-monitoring configuration (read by a scheduled drift job).
DRIFT_CONFIG_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Drift monitoring configuration",
    "type": "object",
    "required": ["features"],
    "properties": {
        "reference": {"type": "string"},
        "window": {"type": "string"},
        "features": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "type", "method", "threshold"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "type": {"enum": ["numeric", "categorical"]},
                    "method": {"enum": ["ks", "psi", "wasserstein", "chi2", "js"]},
                    "threshold": {"type": "number", "exclusiveMinimum": 0},
                },
                "allOf": [
                    {
                        "if": {"properties": {"type": {"const": "numeric"}}},
                        "then": {"properties": {"method": {"enum": ["ks", "psi", "wasserstein"]}}},
                        "else": {"properties": {"method": {"enum": ["chi2", "psi", "js"]}}},
                    }
                ],
            },
        },
        "checks": {
            "type": "object",
            "properties": {
                "missing_values": {
                    "type": "object",
                    "required": ["columns", "max_share"],
                    "properties": {
                        "columns": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        "max_share": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                }
            },
        },
    },
}

#: The entries of the YAML pack, in the order the lesson asks for them.
YAML_PACK_ENTRIES = ("alert_rules", "drift_config", "cloudevent", "workflow", "sensor")

OK = "ok"


def drift_config(
    features: Mapping[str, str],
    *,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    missing_max_share: float | None = 0.05,
) -> str:
    """A drift-monitoring configuration (YAML) following :data:`DRIFT_CONFIG_SCHEMA`.

    Parameters
    ----------
    features : mapping
        Feature name to ``"numeric"`` or ``"categorical"``.
    methods : mapping, optional
        Feature name to method; ``ks`` for numeric and ``chi2`` for categorical by default.
    thresholds : mapping, optional
        Feature name to threshold (a p-value level for tests, a score for PSI/JS/Wasserstein);
        0.05 by default.
    missing_max_share : float or None
        Add a missing-value check on every feature allowing this share; None for no check.

    Returns
    -------
    str

    Examples
    --------
    >>> import yaml
    >>> config = yaml.safe_load(drift_config({"age": "numeric", "income": "numeric"}))
    >>> [f["method"] for f in config["features"]], config["checks"]["missing_values"]["columns"]
    (['ks', 'ks'], ['age', 'income'])
    """
    if not isinstance(features, Mapping) or not features:
        raise TypeError("features must be a non-empty mapping of feature names to 'numeric' or 'categorical'")
    methods, thresholds = dict(methods or {}), dict(thresholds or {})
    rows = []
    for name, kind in features.items():
        _check_text(name, "feature name")
        if kind not in ("numeric", "categorical"):
            raise ValueError(f"features[{name!r}] must be 'numeric' or 'categorical'; got {kind!r}")
        default = "ks" if kind == "numeric" else "chi2"
        rows.append({"name": name, "type": kind, "method": methods.get(name, default), "threshold": float(thresholds.get(name, 0.05))})
    document: dict[str, Any] = {"reference": "data/reference.parquet", "window": "1d", "features": rows}
    if missing_max_share is not None:
        document["checks"] = {"missing_values": {"columns": list(features), "max_share": _check_share(missing_max_share, "missing_max_share")}}
    problems = [problem for problem in [_schema_problem(document, DRIFT_CONFIG_SCHEMA, "drift config")] if problem]
    if problems:
        raise ValueError(problems[0])
    return _dump_yaml(document)


def _schema_problem(document: Any, schema: dict, what: str) -> str | None:
    jsonschema = _require("jsonschema", "schema validation")
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(document))
    if not errors:
        return None
    # best_match descends into oneOf/anyOf to the error that explains the most (a missing field
    # of the template that was meant, rather than "matches none of the alternatives").
    error = jsonschema.exceptions.best_match(errors)
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path).lstrip(".")
    return f"the {what} does not follow its schema at {where or 'the top level'}: {error.message}"


def event_yaml(event: Any) -> str:
    """A CloudEvent as YAML: its structured-mode JSON object, in YAML syntax.

    Examples
    --------
    >>> import yaml
    >>> text = event_yaml(performance_event(metric="accuracy", value=0.8, threshold=0.85, model_version="v1", event_id="e-1",
    ...                                     time="2026-01-05T08:00:00Z"))
    >>> yaml.safe_load(text)["type"]
    'ml.performance.degraded'
    """
    headers, body = to_http(event, mode="structured")
    return _dump_yaml(json.loads(body))


def yaml_pack() -> dict[str, str]:
    """The lesson's "YAML pack", built with this module: the reference answer of the challenge.

    Returns
    -------
    dict
        ``alert_rules`` (Prometheus rules with the critical accuracy alert), ``drift_config``
        (two numeric features and a missing-value check), ``cloudevent`` (an
        ``ml.performance.degraded`` event, structured mode, as YAML), ``workflow`` (Argo
        Workflow: train, then deploy.py) and ``sensor`` (Argo Events Sensor submitting the
        workflow when that event arrives).

    Examples
    --------
    >>> sorted(check_yaml_pack(yaml_pack()).values())
    ['ok', 'ok', 'ok', 'ok', 'ok']
    """
    event = performance_event(
        metric="accuracy", value=0.81, threshold=0.85, model_version="churn-v3", source="/models/churn/monitor",
        event_id="5b7d7c1e-perf-0001", time="2026-01-05T08:00:00Z",
    )
    workflow = argo_workflow()
    return {
        "alert_rules": alert_rules(),
        "drift_config": drift_config({"age": "numeric", "income": "numeric"}, methods={"income": "psi"}, thresholds={"income": 0.2}),
        "cloudevent": event_yaml(event),
        "workflow": workflow,
        "sensor": argo_sensor(workflow),
    }


def _load(text: Any, what: str) -> Any:
    if not isinstance(text, str):
        raise _Problem(f"the {what} must be YAML text (a string); got {type(text).__name__}")
    yaml = _require("yaml", "the YAML pack")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        first = str(error).splitlines()[0]
        raise _Problem(f"the {what} is not valid YAML ({first})") from None


class _Problem(Exception):
    """One problem found in an entry of the YAML pack (its message is the feedback)."""


_RULE_FILE_SCHEMA = {
    "type": "object",
    "required": ["groups"],
    "properties": {
        "groups": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "rules"],
                "properties": {
                    "name": {"type": "string"},
                    "rules": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["expr"],
                            "properties": {
                                "alert": {"type": "string"},
                                "record": {"type": "string"},
                                "expr": {"type": ["string", "number"]},
                                "for": {"type": "string"},
                                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        }
    },
}

_ACCURACY_EXPR = re.compile(r"^\s*model_accuracy\s*(<=|<|>=|>)\s*([0-9.]+)\s*$")
_ACCURACY_EXPR_REVERSED = re.compile(r"^\s*([0-9.]+)\s*(<=|<|>=|>)\s*model_accuracy\s*$")
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _check_alert_rules(text: Any) -> None:
    document = _load(text, "rule file")
    problem = _schema_problem(document, _RULE_FILE_SCHEMA, "rule file")
    if problem:
        raise _Problem(problem)
    rules = [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]
    accuracy = [rule for rule in rules if "model_accuracy" in str(rule["expr"])]
    if not accuracy:
        raise _Problem("no alerting rule uses the metric model_accuracy")
    rule = accuracy[0]
    match = _ACCURACY_EXPR.match(str(rule["expr"]))
    if match:
        operator, value = match.groups()
    else:
        reversed_match = _ACCURACY_EXPR_REVERSED.match(str(rule["expr"]))
        if not reversed_match:
            raise _Problem(f"the accuracy rule's expr {rule['expr']!r} is not a comparison of model_accuracy with a number")
        value, operator = reversed_match.group(1), _FLIP[reversed_match.group(2)]
    if operator not in ("<", "<="):
        raise _Problem("the accuracy rule fires when accuracy is above its threshold")
    if not math.isclose(float(value), 0.85):
        raise _Problem(f"the accuracy rule's threshold is {value}, not the SLA's 0.85")
    if "for" not in rule:
        raise _Problem("the accuracy rule has no for: clause")
    try:
        hold = duration_seconds(rule["for"])
    except ValueError:
        raise _Problem(f"the accuracy rule's for: {rule['for']!r} is not a Prometheus duration") from None
    if hold != 600:
        raise _Problem(f"the accuracy rule waits {rule['for']} instead of 10 minutes")
    severity = rule.get("labels", {}).get("severity")
    if severity != "critical":
        raise _Problem(f"the accuracy rule's severity label is {severity!r}")


def _check_drift_config(text: Any) -> None:
    document = _load(text, "drift config")
    problem = _schema_problem(document, DRIFT_CONFIG_SCHEMA, "drift config")
    if problem:
        raise _Problem(problem)
    numeric = [feature["name"] for feature in document["features"] if feature["type"] == "numeric"]
    if len(numeric) < 2:
        raise _Problem(f"the drift config monitors {len(numeric)} numeric feature(s), not two")
    missing = document.get("checks", {}).get("missing_values")
    if missing is None:
        raise _Problem("the drift config has no missing-value check")
    uncovered = [name for name in numeric if name not in missing["columns"]]
    if uncovered:
        raise _Problem(f"the missing-value check does not cover {', '.join(uncovered)}")


def _check_cloudevent(text: Any) -> None:
    document = _load(text, "CloudEvent")
    if not isinstance(document, dict):
        raise _Problem("the CloudEvent must be a YAML mapping of attributes (structured mode)")
    from cloudevents.core.formats.json import JSONFormat

    # The SDK fills in a missing id and specversion itself; a receiver would not, so check first.
    absent = [name for name in ("id", "source", "specversion", "type") if name not in document]
    if absent:
        raise _Problem(f"the CloudEvent lacks the required attribute(s) {', '.join(absent)}")
    try:
        event = JSONFormat().read(None, json.dumps(_jsonable(document)).encode())
    except Exception as error:  # noqa: BLE001 - the SDK's own message is the feedback
        raise _Problem(f"the CloudEvent SDK rejects it: {error}") from None
    if event.get_type() != PERFORMANCE_DEGRADED:
        raise _Problem(f"the event's type is {event.get_type()!r}")
    data = event.get_data()
    needed = ("metric", "value", "threshold", "model_version")
    if not isinstance(data, dict) or any(key not in data for key in needed):
        raise _Problem(f"the event's data must hold {', '.join(needed)}")


def _runs_deploy(workflow: dict) -> bool:
    templates = {template["name"]: template for template in workflow["spec"]["templates"]}

    def runs(name: str, seen: frozenset) -> bool:
        template = templates.get(name)
        if template is None or name in seen:
            return False
        if "container" in template:
            words = [*template["container"].get("command", []), *template["container"].get("args", [])]
            return any(word.endswith("deploy.py") for word in words)
        return any(runs(step["template"], seen | {name}) for group in template["steps"] for step in group)

    return runs(workflow["spec"]["entrypoint"], frozenset())


def _check_workflow(text: Any) -> None:
    document = _load(text, "workflow")
    try:
        document = validate_manifest(document if isinstance(document, dict) else text, "Workflow")
    except ValueError as error:
        raise _Problem(str(error)) from None
    if not _runs_deploy(document):
        raise _Problem("no step reached from the entrypoint runs deploy.py")


def _check_sensor(text: Any) -> None:
    document = _load(text, "sensor")
    try:
        document = validate_manifest(document if isinstance(document, dict) else text, "Sensor")
    except ValueError as error:
        raise _Problem(str(error)) from None
    types = set()
    for dependency in document["spec"]["dependencies"]:
        filters = dependency.get("filters", {})
        types |= {value for f in filters.get("data", []) if f["path"] in ("body.type", "type") for value in f["value"]}
        context_type = filters.get("context", {}).get("type")
        if context_type:
            types.add(context_type)
    if types != {PERFORMANCE_DEGRADED}:
        raise _Problem("the sensor does not filter on the CloudEvent type of the performance event")
    workflows = [trigger["template"]["argoWorkflow"]["source"]["resource"] for trigger in document["spec"]["triggers"]]
    if not any(_runs_deploy(workflow) for workflow in workflows):
        raise _Problem("the workflow the sensor submits has no step running deploy.py")


_PACK_CHECKS = {
    "alert_rules": _check_alert_rules,
    "drift_config": _check_drift_config,
    "cloudevent": _check_cloudevent,
    "workflow": _check_workflow,
    "sensor": _check_sensor,
}


def check_yaml_pack(pack: Mapping[str, Any]) -> dict[str, str]:
    """Check each entry of a YAML pack: ``"ok"``, or the first problem found in it.

    The alert rules are checked for the critical accuracy alert (``model_accuracy < 0.85`` for
    10m), the drift config against :data:`DRIFT_CONFIG_SCHEMA` (two numeric features and a
    missing-value check covering them), the CloudEvent by the ``cloudevents`` SDK (type
    ``ml.performance.degraded``, data with metric, value, threshold and model_version), the
    workflow and sensor against :data:`WORKFLOW_SCHEMA` and :data:`SENSOR_SCHEMA` (a step
    running deploy.py; the sensor filtering on the event's type). ``promtool check rules``
    checks the rule file further in the course's tests.

    Parameters
    ----------
    pack : mapping
        Entry name (see :data:`YAML_PACK_ENTRIES`) to YAML text. Entries not named there are
        ignored; missing ones are left out of the result.

    Returns
    -------
    dict
        Entry name to ``"ok"`` or a one-line problem.

    Examples
    --------
    >>> pack = yaml_pack()
    >>> pack["alert_rules"] = pack["alert_rules"].replace("model_accuracy < 0.85", "model_accuracy > 0.85")
    >>> check_yaml_pack(pack)["alert_rules"]
    'the accuracy rule fires when accuracy is above its threshold'
    """
    if not isinstance(pack, Mapping):
        raise TypeError(
            f"the YAML pack must be a dict with the keys {', '.join(map(repr, YAML_PACK_ENTRIES))} "
            f"(each YAML text); got {type(pack).__name__}"
        )
    result = {}
    for name in YAML_PACK_ENTRIES:
        if name not in pack:
            continue
        try:
            _PACK_CHECKS[name](pack[name])
            result[name] = OK
        except _Problem as problem:
            result[name] = str(problem)
    return result

"""When to retrain a model, and how to put the new one in place safely (lesson 05).

Four pieces:

- :class:`Signals` and :class:`RetrainingPolicy`: a policy reads what monitoring knows at a
  moment (drift scores per feature, accuracy or its label-free estimate, latency, error rate,
  label coverage, sample size, a data-quality verdict, a business metric) and returns a
  :class:`Decision`. Triggers (drift share or score, accuracy, latency or error budget, business
  metric, schedule) say *why* one might retrain; guardrails (minimum samples, cooldown,
  hysteresis, a budget per period, a broken pipeline) say *why not now*. A broken pipeline (a
  failed data-quality check or missing labels) never leads to retraining: it raises an alert.
- :func:`should_trigger_retraining` and :func:`enqueue_retraining_tasks`: the seed tutorial's
  rule (alert on any drifted feature, accuracy below 0.78 or latency above 0.5 s) and its
  per-feature task queue, kept under their names so the lesson can show why such a queue floods.
- :class:`ModelRegistry`: a folder of pickled models with human-readable JSON metadata, SHA-256
  verified loads, promotion and rollback, atomic writes and an inter-process file lock.
- :func:`make_policy_stream` and :func:`simulate_policies`: a seeded year of traffic with
  covariate drift, concept drift, a label outage and a data incident, replayed through a model
  under several policies, reporting accuracy over time, retrains, labels and cost.

Times given to a policy are numbers (days) or :class:`datetime.datetime`; durations are
:class:`datetime.timedelta` or numbers of days.

Examples
--------
>>> policy = RetrainingPolicy(min_accuracy=0.78, cooldown=7)
>>> policy.decide(Signals(accuracy=0.74, n_samples=500), now=10).retrain
True
>>> decision = policy.decide(Signals(accuracy=0.70, n_samples=500), now=12)
>>> decision.retrain, decision.blocked_by
(False, ('cooldown', 'hysteresis'))

References
----------
.. [1] Gama, J., Žliobaitė, I., Bifet, A., Pechenizkiy, M., Bouchachia, A. (2014). A survey on
   concept drift adaptation. ACM Computing Surveys 46(4), 44.
.. [2] Breck, E., Cai, S., Nielsen, E., Salib, M., Sculley, D. (2017). The ML test score: a
   rubric for ML production readiness and technical debt reduction. IEEE Big Data.
.. [3] Beyer, B., Jones, C., Petoff, J., Murphy, N. R. (2016). Site Reliability Engineering,
   chapter 6 (monitoring, alert fatigue) and chapter 4 (error budgets). O'Reilly.
.. [4] Žliobaitė, I., Budka, M., Stahl, F. (2015). Towards cost-sensitive adaptation: when is it
   worth updating your predictive model? Neurocomputing 150, 240-249.
"""

from __future__ import annotations

import copy
import datetime as _dt
import difflib
import hashlib
import json
import math
import numbers
import os
import pickle
import re
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from course_lib.grading.atomic import write_bytes_atomic, write_text_atomic
from course_lib.validation import check_int, check_number

__all__ = [
    "Signals",
    "Decision",
    "RetrainingPolicy",
    "RetrainingTask",
    "should_trigger_retraining",
    "enqueue_retraining_tasks",
    "SIGNAL_SCENARIOS",
    "scenario_table",
    "retrain_days",
    "budget_allows",
    "ModelRegistry",
    "ModelVersion",
    "RegistryIntegrityError",
    "PolicyStream",
    "PolicyComparison",
    "make_policy_stream",
    "standard_policies",
    "simulate_policies",
    "fit_logistic",
]

# --------------------------------------------------------------------------------------------
# Times and durations


def _as_duration(value: Any, name: str) -> float:
    """A duration in days, from a timedelta or a non-negative number of days."""
    if isinstance(value, _dt.timedelta):
        days = value.total_seconds() / 86400.0
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        days = float(value)
    else:
        raise TypeError(
            f"{name} must be a duration: a datetime.timedelta or a number of days; got "
            f"{type(value).__name__} {value!r}"
        )
    if not math.isfinite(days) or days < 0:
        raise ValueError(f"{name} must be a finite, non-negative duration; got {value!r}")
    return days


def _as_time(value: Any, name: str) -> tuple[float, str]:
    """A moment in days and its kind ("number" or "datetime")."""
    if isinstance(value, _dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=_dt.timezone.utc)
        return moment.timestamp() / 86400.0, "datetime"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{name} must be a finite time; got {value!r}")
        return number, "number"
    raise TypeError(f"{name} must be a time: a number of days or a datetime.datetime; got {type(value).__name__} {value!r}")


def _optional_number(value: Any, name: str, *, minimum: float | None = 0.0, maximum: float | None = None) -> float | None:
    return None if value is None else check_number(value, name, minimum=minimum, maximum=maximum)


# --------------------------------------------------------------------------------------------
# Signals and decisions


@dataclass(frozen=True)
class Signals:
    """What monitoring knows at one moment, as a retraining policy reads it.

    Every field is optional (``None`` = not measured): a trigger whose signal is missing does not
    fire (and, under hysteresis, counts as cleared: the next measurement starts a new episode).

    Attributes
    ----------
    drift_scores : mapping of str to float
        A drift score per feature (e.g. the drift report's effect sizes: normalised Wasserstein
        or PSI, or a mean shift in standard deviations), each >= 0.
    accuracy : float, optional
        Accuracy on recently labelled traffic, or a label-free estimate of it, in [0, 1].
    latency_p95 : float, optional
        95th-percentile serving latency, in seconds.
    error_rate : float, optional
        Share of requests that failed, in [0, 1].
    label_coverage : float, optional
        Share of recent predictions whose true label has arrived, in [0, 1].
    n_samples : int, optional
        How many observations the signals rest on.
    data_quality_ok : bool, default True
        Whether the input data passed its validation checks (schema, ranges, missing values).
    business_metric : float, optional
        A business outcome the model drives (conversion, revenue per user...), any real number.
    expected_accuracy : float, optional
        The accuracy the model in service had on held-out data when it was trained: the
        baseline an accuracy *drop* is measured from, in [0, 1].
    time_since_retrain : duration, optional
        Time since the model was last retrained, when that happened outside the policy (for
        example by hand); a timedelta or a number of days.

    Examples
    --------
    >>> Signals(accuracy=0.8, drift_scores={"age": 0.3, "income": 0.02})
    Signals(drift_scores={'age': 0.3, 'income': 0.02}, accuracy=0.8)
    >>> Signals.from_mapping({"acuracy": 0.8})
    Traceback (most recent call last):
    ...
    ValueError: unknown signal name 'acuracy' (did you mean 'accuracy'?); known signals: drift_scores, accuracy, latency_p95, error_rate, label_coverage, n_samples, data_quality_ok, business_metric, expected_accuracy, time_since_retrain
    """

    drift_scores: Mapping[str, float] = field(default_factory=dict)
    accuracy: float | None = None
    latency_p95: float | None = None
    error_rate: float | None = None
    label_coverage: float | None = None
    n_samples: int | None = None
    data_quality_ok: bool = True
    business_metric: float | None = None
    expected_accuracy: float | None = None
    time_since_retrain: Any = None

    def __post_init__(self) -> None:
        scores = self.drift_scores
        if not isinstance(scores, Mapping):
            raise TypeError(f"drift_scores must be a mapping of feature name to score; got {type(scores).__name__}")
        checked = {}
        for feature, score in scores.items():
            if not isinstance(feature, str):
                raise TypeError(f"drift_scores keys must be feature names (str); got {feature!r}")
            checked[feature] = check_number(score, f"drift_scores[{feature!r}]", minimum=0.0)
        object.__setattr__(self, "drift_scores", checked)
        for name in ("accuracy", "error_rate", "label_coverage", "expected_accuracy"):
            object.__setattr__(self, name, _optional_number(getattr(self, name), name, maximum=1.0))
        object.__setattr__(self, "latency_p95", _optional_number(self.latency_p95, "latency_p95"))
        object.__setattr__(self, "business_metric", _optional_number(self.business_metric, "business_metric", minimum=None))
        if self.n_samples is not None:
            object.__setattr__(self, "n_samples", check_int(self.n_samples, "n_samples", minimum=0))
        if not isinstance(self.data_quality_ok, (bool, np.bool_)):
            raise TypeError(f"data_quality_ok must be True or False; got {self.data_quality_ok!r}")
        object.__setattr__(self, "data_quality_ok", bool(self.data_quality_ok))
        if self.time_since_retrain is not None:
            _as_duration(self.time_since_retrain, "time_since_retrain")

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or (item.name == "drift_scores" and not value) or (item.name == "data_quality_ok" and value):
                continue
            shown.append(f"{item.name}={value!r}")
        return f"Signals({', '.join(shown)})"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The names of the signals, in order."""
        return tuple(item.name for item in fields(cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Signals":
        """Build signals from a dict, rejecting unknown names with a suggestion."""
        if isinstance(values, Signals):
            return values
        if not isinstance(values, Mapping):
            raise TypeError(f"signals must be a Signals or a mapping of signal name to value; got {type(values).__name__}")
        known = cls.names()
        for name in values:
            if name not in known:
                close = difflib.get_close_matches(str(name), known, n=1)
                suggestion = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"unknown signal name {name!r}{suggestion}; known signals: {', '.join(known)}")
        return cls(**dict(values))

    @classmethod
    def from_drift_report(cls, report: Any, **others: Any) -> "Signals":
        """Signals whose drift scores are a :func:`course_lib.drift.drift_report`'s effect sizes.

        Columns that could not be compared (schema changes) are left out of the scores and make
        ``data_quality_ok`` False: a vanished or re-typed column is a broken pipeline, not drift.
        """
        table = getattr(report, "table", None)
        if table is None or "effect_size" not in getattr(table, "columns", ()):
            raise TypeError(f"report must be a course_lib.drift.DriftReport; got {type(report).__name__}")
        compared = table[table["method"].notna() & table["effect_size"].notna()]
        scores = {str(name): float(value) for name, value in zip(compared["column"], compared["effect_size"])}
        values = {"drift_scores": scores, **others}
        if list(getattr(report, "schema_changes", [])):
            values["data_quality_ok"] = False
        return cls.from_mapping(values)


@dataclass(frozen=True)
class Decision:
    """A policy's answer at one moment.

    Attributes
    ----------
    retrain : bool
    reasons : tuple of str
        Why: the triggers that fired, and what blocked or held them.
    triggers : tuple of str
        Names of the triggers that fired (``"drift_share"``, ``"accuracy"``, ``"schedule"``...).
    blocked_by : tuple of str
        Names of the guardrails that stopped a fired trigger (``"cooldown"``, ``"budget"``,
        ``"min_samples"``, ``"data_quality"``, ``"labels"``); hysteresis holds are listed as
        ``"hysteresis"``.
    alerts : tuple of str
        Problems for a person rather than for retraining (a broken pipeline).
    """

    retrain: bool
    reasons: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    blocked_by: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()

    def __repr__(self) -> str:
        parts = [f"retrain={self.retrain}", f"reasons={list(self.reasons)}"]
        if self.alerts:
            parts.append(f"alerts={list(self.alerts)}")
        return f"Decision({', '.join(parts)})"


_TRIGGERS = ("drift_share", "drift_score", "accuracy", "accuracy_drop", "latency", "error_rate", "business_metric", "schedule")


class RetrainingPolicy:
    """Triggers and guardrails that decide, moment by moment, whether to retrain.

    A policy is stateful: it remembers when it last decided to retrain (it assumes the retrain
    happens at that moment) and which triggers have fired, so it is called with increasing
    ``now``. :meth:`reset` forgets that history.

    Parameters
    ----------
    drift_share : float, optional
        Trigger when at least this share of the features (in (0, 1]) has a drift score at or
        above ``drift_threshold``.
    drift_threshold : float, default 0.1
        The per-feature score at or above which a feature counts as drifted (0.1 is the drift
        report's default for normalised Wasserstein and PSI).
    max_drift_score : float, optional
        Trigger when any single feature's score reaches this.
    min_accuracy : float, optional
        Trigger when accuracy falls below this.
    max_accuracy_drop : float, optional
        Trigger when accuracy is more than this below ``Signals.expected_accuracy`` (the
        model's own baseline, so a population that is simply harder for every model does not
        count as decay once a retrained model has set a new baseline).
    max_latency : float, optional
        Trigger when p95 latency (seconds) exceeds this.
    max_error_rate : float, optional
        Trigger when the error rate exceeds this.
    min_business_metric : float, optional
        Trigger when the business metric falls below this.
    every : duration, optional
        Schedule: trigger when this long has passed since the last retrain (or since the first
        call when there was none).
    min_samples : int, default 0
        Guardrail: do not act on signals resting on fewer observations.
    cooldown : duration, default 0
        Guardrail: no retrain sooner than this after the previous one.
    hysteresis : bool, default True
        Guardrail: a trigger that led to a retrain must clear (its condition become false, or its
        signal go unmeasured, as the accuracy of a new model does until its labels arrive) before
        it can fire again, so a condition retraining did not fix does not retrain every
        ``cooldown``.
    max_retrains, budget_period : int and duration, optional
        Guardrail: at most ``max_retrains`` retrains in any trailing ``budget_period``.
    min_label_coverage : float, default 0.0
        Guardrail: when the label coverage is below this, the label pipeline is broken: no
        retraining (there is nothing trustworthy to train on), an alert instead.
    last_retrain : time, optional
        When the model in service was trained, if known.

    Notes
    -----
    A failed data-quality check (``Signals.data_quality_ok`` False) always blocks retraining
    and raises an alert: a model retrained on broken data learns the breakage.

    Examples
    --------
    >>> policy = RetrainingPolicy(drift_share=0.5, cooldown=7)
    >>> policy
    RetrainingPolicy(drift_share=0.5, drift_threshold=0.1, cooldown=7.0)
    >>> drifted = Signals(drift_scores={"age": 0.4, "income": 0.3})
    >>> [policy.decide(drifted, now=day).retrain for day in (0, 1, 8)]
    [True, False, False]
    >>> policy.decide(drifted, now=9).reasons  # still the same drift: it has not cleared
    ('drift_share: 2 of 2 features at or above 0.1 (share 1.00 >= 0.50)', 'held: drift_share has not cleared since the last retrain')
    >>> RetrainingPolicy(cooldown="7 days")
    Traceback (most recent call last):
    ...
    TypeError: cooldown must be a duration: a datetime.timedelta or a number of days; got str '7 days'
    """

    def __init__(
        self,
        *,
        drift_share: float | None = None,
        drift_threshold: float = 0.1,
        max_drift_score: float | None = None,
        min_accuracy: float | None = None,
        max_accuracy_drop: float | None = None,
        max_latency: float | None = None,
        max_error_rate: float | None = None,
        min_business_metric: float | None = None,
        every: Any = None,
        min_samples: int = 0,
        cooldown: Any = 0,
        hysteresis: bool = True,
        max_retrains: int | None = None,
        budget_period: Any = None,
        min_label_coverage: float = 0.0,
        last_retrain: Any = None,
    ) -> None:
        if drift_share is not None:
            drift_share = check_number(drift_share, "drift_share", minimum=0.0, strict=True, maximum=1.0)
        self.drift_share = drift_share
        self.drift_threshold = check_number(drift_threshold, "drift_threshold", minimum=0.0)
        self.max_drift_score = _optional_number(max_drift_score, "max_drift_score")
        self.min_accuracy = _optional_number(min_accuracy, "min_accuracy", maximum=1.0)
        self.max_accuracy_drop = _optional_number(max_accuracy_drop, "max_accuracy_drop", maximum=1.0)
        self.max_latency = _optional_number(max_latency, "max_latency")
        self.max_error_rate = _optional_number(max_error_rate, "max_error_rate", maximum=1.0)
        self.min_business_metric = _optional_number(min_business_metric, "min_business_metric", minimum=None)
        self.every = None if every is None else _as_duration(every, "every")
        if self.every == 0:
            raise ValueError("every must be a positive duration; got 0")
        self.min_samples = check_int(min_samples, "min_samples", minimum=0)
        self.cooldown = _as_duration(cooldown, "cooldown")
        if not isinstance(hysteresis, bool):
            raise TypeError(f"hysteresis must be True or False; got {hysteresis!r}")
        self.hysteresis = hysteresis
        if (max_retrains is None) != (budget_period is None):
            raise ValueError("max_retrains and budget_period go together: give both or neither")
        self.max_retrains = None if max_retrains is None else check_int(max_retrains, "max_retrains", minimum=1)
        self.budget_period = None if budget_period is None else _as_duration(budget_period, "budget_period")
        if self.budget_period == 0:
            raise ValueError("budget_period must be a positive duration; got 0")
        self.min_label_coverage = check_number(min_label_coverage, "min_label_coverage", minimum=0.0, maximum=1.0)
        self._initial_retrain = None if last_retrain is None else _as_time(last_retrain, "last_retrain")
        self.reset()

    _SETTINGS = ("drift_share", "drift_threshold", "max_drift_score", "min_accuracy", "max_accuracy_drop", "max_latency",
                 "max_error_rate", "min_business_metric", "every", "min_samples", "cooldown",
                 "hysteresis", "max_retrains", "budget_period", "min_label_coverage")  # fmt: skip

    def __repr__(self) -> str:
        # Settings at their defaults are left out, except drift_threshold next to drift_share.
        hidden = {"drift_threshold": 0.1 if self.drift_share is None else object(), "min_samples": 0, "cooldown": 0.0,
                  "hysteresis": True, "min_label_coverage": 0.0}  # fmt: skip
        shown = [f"{name}={getattr(self, name)!r}" for name in self._SETTINGS
                 if getattr(self, name) is not None and not (name in hidden and getattr(self, name) == hidden[name])]  # fmt: skip
        return f"RetrainingPolicy({', '.join(shown)})"

    def reset(self) -> None:
        """Forget every retrain and trigger state (back to how the policy was built)."""
        self._retrains: list[float] = []
        self._clock_kind: str | None = None
        self._last_now: float | None = None
        self._first_now: float | None = None
        self._armed = {name: True for name in _TRIGGERS}
        if self._initial_retrain is not None:
            self._retrains.append(self._initial_retrain[0])
            self._clock_kind = self._initial_retrain[1]

    @property
    def retrain_times(self) -> tuple[float, ...]:
        """When the policy decided to retrain, in days (``timestamp / 86400`` for datetimes)."""
        return tuple(self._retrains)

    def _fired(self, signals: Signals, now: float, last: float | None) -> dict[str, str]:
        """Every trigger whose condition holds, with a sentence saying why."""
        fired: dict[str, str] = {}
        scores = signals.drift_scores
        if self.drift_share is not None and scores:
            drifted = sum(score >= self.drift_threshold for score in scores.values())
            share = drifted / len(scores)
            if share >= self.drift_share:
                fired["drift_share"] = (f"drift_share: {drifted} of {len(scores)} features at or above "
                                        f"{self.drift_threshold:g} (share {share:.2f} >= {self.drift_share:.2f})")  # fmt: skip
        if self.max_drift_score is not None and scores:
            feature, score = max(scores.items(), key=lambda item: item[1])
            if score >= self.max_drift_score:
                fired["drift_score"] = f"drift_score: {feature} scores {score:.3g} >= {self.max_drift_score:g}"
        if self.min_accuracy is not None and signals.accuracy is not None and signals.accuracy < self.min_accuracy:
            fired["accuracy"] = f"accuracy: {signals.accuracy:.3f} < {self.min_accuracy:g}"
        if (self.max_accuracy_drop is not None and signals.accuracy is not None and signals.expected_accuracy is not None
                and signals.expected_accuracy - signals.accuracy > self.max_accuracy_drop):  # fmt: skip
            fired["accuracy_drop"] = (f"accuracy_drop: {signals.accuracy:.3f} is {signals.expected_accuracy - signals.accuracy:.3f} "
                                      f"below the expected {signals.expected_accuracy:.3f} (> {self.max_accuracy_drop:g})")  # fmt: skip
        if self.max_latency is not None and signals.latency_p95 is not None and signals.latency_p95 > self.max_latency:
            fired["latency"] = f"latency: p95 {signals.latency_p95:.3g} s > {self.max_latency:g} s"
        if self.max_error_rate is not None and signals.error_rate is not None and signals.error_rate > self.max_error_rate:
            fired["error_rate"] = f"error_rate: {signals.error_rate:.3g} > {self.max_error_rate:g}"
        if (self.min_business_metric is not None and signals.business_metric is not None
                and signals.business_metric < self.min_business_metric):  # fmt: skip
            fired["business_metric"] = f"business_metric: {signals.business_metric:.4g} < {self.min_business_metric:g}"
        if self.every is not None:
            since = now - (last if last is not None else self._first_now)
            if since >= self.every:
                fired["schedule"] = f"schedule: {since:g} days since the last retrain >= {self.every:g}"
        return fired

    def decide(self, signals: Signals | Mapping[str, Any], now: Any) -> Decision:
        """Whether to retrain at ``now``, and why.

        Parameters
        ----------
        signals : Signals or mapping
            A mapping is read with :meth:`Signals.from_mapping` (unknown names are an error).
        now : time
            A number of days or a datetime, never earlier than the previous call's, and of the
            same kind.

        Returns
        -------
        Decision
            When ``retrain`` is True the policy records a retrain at ``now``.
        """
        signals = Signals.from_mapping(signals)
        moment, kind = _as_time(now, "now")
        if self._clock_kind is not None and kind != self._clock_kind:
            raise TypeError(f"now must be a {self._clock_kind} like the earlier times given to this policy; got {type(now).__name__}")
        if self._last_now is not None and moment < self._last_now:
            raise ValueError("now must not go back in time: it is earlier than the previous call's now")
        self._clock_kind, self._last_now = kind, moment
        if self._first_now is None:
            self._first_now = moment

        last = self._retrains[-1] if self._retrains else None
        if signals.time_since_retrain is not None:
            outside = moment - _as_duration(signals.time_since_retrain, "time_since_retrain")
            last = outside if last is None else max(last, outside)

        fired = self._fired(signals, moment, last)
        # Hysteresis: a trigger re-arms once its condition is false, or once its signal is not
        # measured (a new model without labels yet): the next measurement starts a new episode.
        for name in set(_TRIGGERS) - set(fired):
            self._armed[name] = True
        reasons = list(fired.values())
        held = [name for name in fired if self.hysteresis and name != "schedule" and not self._armed[name]]
        reasons += [f"held: {name} has not cleared since the last retrain" for name in held]
        active = [name for name in fired if name not in held]

        alerts, blocked = [], []
        if not signals.data_quality_ok:
            alerts.append("data-quality check failed: fix the input pipeline before any retraining")
            blocked.append(("data_quality", "blocked: the data-quality check failed"))
        if signals.label_coverage is not None and signals.label_coverage < self.min_label_coverage:
            alerts.append(f"labels missing: coverage {signals.label_coverage:.2f} < {self.min_label_coverage:g}")
            blocked.append(("labels", f"blocked: label coverage {signals.label_coverage:.2f} < {self.min_label_coverage:g}"))
        if self.min_samples and (signals.n_samples is None or signals.n_samples < self.min_samples):
            have = "an unknown number of" if signals.n_samples is None else f"only {signals.n_samples}"
            blocked.append(("min_samples", f"blocked: {have} samples, need {self.min_samples}"))
        if last is not None and self.cooldown and moment - last < self.cooldown:
            blocked.append(("cooldown", f"blocked: cooldown, {moment - last:g} days since the last retrain < {self.cooldown:g}"))
        if self.max_retrains is not None:
            recent = sum(moment - self.budget_period < when <= moment for when in self._retrains)
            if recent >= self.max_retrains:
                blocked.append(("budget", f"blocked: budget, {recent} retrains in the last {self.budget_period:g} days"))

        retrain = bool(active) and not blocked
        blocked_names = [name for name, _ in blocked] if fired else []
        if fired:
            reasons += [text for _, text in blocked]
        if retrain:
            self._retrains.append(moment)
            for name in active:
                self._armed[name] = False
        return Decision(
            retrain=retrain,
            reasons=tuple(reasons),
            triggers=tuple(fired),
            blocked_by=tuple(blocked_names + (["hysteresis"] if held and not active else [])),
            alerts=tuple(alerts),
        )


# --------------------------------------------------------------------------------------------
# What each signal can and cannot tell you: six situations (exercise 05.signal_actions)

_SCENARIO_DRIFT = {"age": 0.45, "income": 0.38, "tenure_months": 0.52, "support_calls": 0.31, "plan": 0.04, "region": 0.02}
_QUIET = {"age": 0.02, "income": 0.03, "tenure_months": 0.01, "support_calls": 0.04, "plan": 0.02, "region": 0.01}

#: Six situations a churn model's monitoring reports, as (description, Signals). Drift scores are
#: drift-report effect sizes; accuracy is measured on labelled traffic of the last two weeks.
SIGNAL_SCENARIOS: dict[str, tuple[str, Signals]] = {
    "A": ("four of six inputs drifted for two weeks; accuracy held on complete labels",
          Signals(drift_scores=_SCENARIO_DRIFT, accuracy=0.80, expected_accuracy=0.81, label_coverage=1.0, n_samples=5000)),
    "B": ("no input drifted; accuracy fell far below the model's baseline for three weeks, on complete labels",
          Signals(drift_scores=_QUIET, accuracy=0.71, expected_accuracy=0.79, label_coverage=1.0, n_samples=5000)),
    "C": ("p95 latency tripled after Tuesday's deploy; inputs and accuracy as usual",
          Signals(drift_scores=_QUIET, accuracy=0.80, expected_accuracy=0.81, latency_p95=0.9, label_coverage=1.0, n_samples=5000)),
    "D": ("one input's drift score exploded and the data-quality check failed (incomes arrive in thousands)",
          Signals(drift_scores={**_QUIET, "income": 12.0}, accuracy=0.66, expected_accuracy=0.81, label_coverage=1.0,
                  n_samples=5000, data_quality_ok=False)),
    "E": ("labels stopped arriving ten days ago; one input drifted slightly; accuracy cannot be measured",
          Signals(drift_scores={**_QUIET, "age": 0.12}, label_coverage=0.05, expected_accuracy=0.81, n_samples=250)),
    "F": ("a new market: accuracy 0.74 against a baseline of 0.79, measured on 60 labelled predictions",
          Signals(drift_scores=_QUIET, accuracy=0.74, expected_accuracy=0.79, label_coverage=1.0, n_samples=60)),
}  # fmt: skip


def scenario_table() -> pd.DataFrame:
    """:data:`SIGNAL_SCENARIOS` as a table: one row per situation, one column per signal.

    Examples
    --------
    >>> row = scenario_table().loc["F"]
    >>> float(row["accuracy"]), float(row["expected_accuracy"]), int(row["n_samples"])
    (0.74, 0.79, 60)
    """
    rows = {}
    for name, (description, signals) in SIGNAL_SCENARIOS.items():
        scores = signals.drift_scores
        rows[name] = {
            "situation": description,
            "drifted_inputs": sum(score >= 0.1 for score in scores.values()),
            "max_drift_score": max(scores.values()) if scores else None,
            "accuracy": signals.accuracy,
            "expected_accuracy": signals.expected_accuracy,
            "n_samples": signals.n_samples,
            "label_coverage": signals.label_coverage,
            "latency_p95": signals.latency_p95,
            "data_quality_ok": signals.data_quality_ok,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


# --------------------------------------------------------------------------------------------
# Small decision rules (the lesson's exercises)


def retrain_days(scores: Sequence[float], *, threshold: float, clear_below: float, cooldown: int) -> list[int]:
    """The days on which a drift trigger with cooldown and hysteresis retrains.

    Day ``i`` has drift score ``scores[i]``. The trigger starts armed. On each day, in order:
    a score below ``clear_below`` re-arms it; then, if it is armed, the score is at or above
    ``threshold`` and at least ``cooldown`` days have passed since the last retrain (or there
    was none), the policy retrains that day and the trigger disarms. A trigger blocked by the
    cooldown stays armed. A missing score (NaN) neither fires nor re-arms.

    Parameters
    ----------
    scores : sequence of float
        One drift score per day (NaN = not measured).
    threshold : float
        Fire at or above this.
    clear_below : float
        Re-arm below this; at most ``threshold``.
    cooldown : int
        Minimum number of days between two retrains (0 = none).

    Returns
    -------
    list of int

    Examples
    --------
    >>> retrain_days([0.1, 0.5, 0.6, 0.6, 0.3, 0.5, 0.1, 0.5], threshold=0.4, clear_below=0.2, cooldown=2)
    [1, 7]
    """
    threshold = check_number(threshold, "threshold", minimum=0.0)
    clear_below = check_number(clear_below, "clear_below", minimum=0.0, maximum=threshold)
    cooldown = check_int(cooldown, "cooldown", minimum=0)
    values = np.asarray(scores, dtype=float).ravel()
    armed, last, days = True, None, []
    for day, score in enumerate(values.tolist()):
        if score < clear_below:
            armed = True
        if armed and score >= threshold and (last is None or day - last >= cooldown):
            days.append(day)
            last, armed = day, False
    return days


def budget_allows(past_retrains: Sequence[float], now: float, *, max_retrains: int, period: float) -> bool:
    """Whether a retraining budget of ``max_retrains`` per trailing ``period`` allows one more.

    The trailing window is ``(now - period, now]``: a retrain exactly ``period`` days ago has
    left it. Retrains after ``now`` (planned ones) do not count.

    Parameters
    ----------
    past_retrains : sequence of float
        When earlier retrains happened (days), in any order; may be empty.
    now : float
    max_retrains : int
        At least 1.
    period : float
        Length of the trailing window, in days, > 0.

    Returns
    -------
    bool

    Examples
    --------
    >>> budget_allows([1, 20, 25], now=30, max_retrains=2, period=28)
    False
    >>> budget_allows([1, 20, 25], now=48, max_retrains=2, period=28)
    True
    """
    now = check_number(now, "now", minimum=None)
    max_retrains = check_int(max_retrains, "max_retrains", minimum=1)
    period = check_number(period, "period", minimum=0.0, strict=True)
    times = np.asarray(past_retrains, dtype=float).ravel()
    in_window = np.count_nonzero((times > now - period) & (times <= now))
    return bool(in_window < max_retrains)


# --------------------------------------------------------------------------------------------
# The seed tutorial's rule and queue


@dataclass(frozen=True)
class RetrainingTask:
    """One entry of the seed's retraining queue."""

    report: str
    feature: str | None
    reason: str


def _drifted_features(report: Any, name: str) -> list[str]:
    if hasattr(report, "drifted") and hasattr(report, "table"):  # a DriftReport
        return [str(feature) for feature in report.drifted]
    if isinstance(report, pd.DataFrame):
        key = "feature" if "feature" in report.columns else "column"
        if key not in report.columns or "drifted" not in report.columns:
            raise ValueError(f"{name} as a DataFrame needs the columns 'feature' (or 'column') and 'drifted'")
        return [str(feature) for feature in report.loc[report["drifted"].astype(bool), key]]
    if isinstance(report, Mapping):
        return [str(feature) for feature, drifted in report.items() if bool(drifted)]
    raise TypeError(
        f"{name} must be a DriftReport, a DataFrame with 'feature' and 'drifted' columns, or a mapping "
        f"of feature to drifted flag; got {type(report).__name__}"
    )


def should_trigger_retraining(
    report: Any,
    *,
    accuracy: float | None,
    latency: float | None,
    min_accuracy: float = 0.78,
    max_latency: float = 0.5,
) -> Decision:
    """The seed tutorial's retraining alert: any drifted feature, low accuracy or high latency.

    Kept under its name so the lesson can compare it with :class:`RetrainingPolicy`. Fixed
    from the seed: the thresholds are arguments, accuracy and latency are checked (a latency in
    milliseconds passed as seconds fails loudly only if negative, so the unit is in the name of
    the reason), and the decision says which alert fired. Still no cooldown, no hysteresis, no
    guardrail: every call with a drifted feature says "retrain".

    Parameters
    ----------
    report : DriftReport, DataFrame or mapping
        A drift report, the table of :func:`course_lib.drift.detect_drift_across_features`, or
        ``{feature: drifted}``.
    accuracy : float or None
        Recent accuracy in [0, 1] (None = not measured).
    latency : float or None
        p95 latency in seconds (None = not measured).
    min_accuracy : float, default 0.78
    max_latency : float, default 0.5

    Returns
    -------
    Decision
        ``triggers`` holds ``"drift:<feature>"`` per drifted feature, ``"accuracy"``,
        ``"latency"``.

    Examples
    --------
    >>> should_trigger_retraining({"age": True, "income": False}, accuracy=0.81, latency=0.2)
    Decision(retrain=True, reasons=['drift in age'])
    >>> should_trigger_retraining({"age": False}, accuracy=0.75, latency=0.7).triggers
    ('accuracy', 'latency')
    """
    accuracy = _optional_number(accuracy, "accuracy", maximum=1.0)
    latency = _optional_number(latency, "latency")
    min_accuracy = check_number(min_accuracy, "min_accuracy", minimum=0.0, maximum=1.0)
    max_latency = check_number(max_latency, "max_latency", minimum=0.0)
    triggers, reasons = [], []
    for feature in _drifted_features(report, "report"):
        triggers.append(f"drift:{feature}")
        reasons.append(f"drift in {feature}")
    if accuracy is not None and accuracy < min_accuracy:
        triggers.append("accuracy")
        reasons.append(f"accuracy {accuracy:.3f} < {min_accuracy:g}")
    if latency is not None and latency > max_latency:
        triggers.append("latency")
        reasons.append(f"p95 latency {latency:.3g} s > {max_latency:g} s")
    return Decision(bool(triggers), tuple(reasons), tuple(triggers))


def _per_report(value: Any, names: list[str], label: str) -> list[Any]:
    if value is None or isinstance(value, numbers.Real):
        return [value] * len(names)
    if isinstance(value, Mapping):
        missing = [name for name in names if name not in value]
        if missing:
            raise ValueError(f"{label} has no value for the reports {missing}")
        return [value[name] for name in names]
    values = list(value)
    if len(values) != len(names):
        raise ValueError(f"{label} must be one number, or one per report ({len(names)}); got {len(values)}")
    return values


def enqueue_retraining_tasks(
    reports: Mapping[str, Any] | Sequence[Any],
    *,
    accuracy: Any,
    latency: Any,
    min_accuracy: float = 0.78,
    max_latency: float = 0.5,
) -> list[RetrainingTask]:
    """The seed's retraining queue: one task per drifted feature (and per accuracy or latency
    alert) of every report.

    This is the design the lesson takes apart: with ``k`` drifted features a single drift event
    enqueues ``k`` retraining jobs, and a drift that lasts ``d`` daily reports enqueues ``k * d``.
    :class:`RetrainingPolicy` makes one decision per moment instead.

    Parameters
    ----------
    reports : mapping of name to report, or sequence of reports
        Reports as :func:`should_trigger_retraining` takes them; a sequence is named
        ``"0"``, ``"1"``...
    accuracy, latency : float, sequence or mapping
        One value for all reports, or one per report.
    min_accuracy, max_latency : float

    Returns
    -------
    list of RetrainingTask

    Examples
    --------
    >>> queue = enqueue_retraining_tasks(
    ...     {"mon": {"age": True, "income": True}, "tue": {"age": True, "income": True}},
    ...     accuracy=0.8, latency=0.3)
    >>> len(queue), queue[0]
    (4, RetrainingTask(report='mon', feature='age', reason='drift in age'))
    """
    if isinstance(reports, Mapping):
        names, items = [str(name) for name in reports], list(reports.values())
    elif isinstance(reports, (list, tuple)):
        names, items = [str(index) for index in range(len(reports))], list(reports)
    else:
        raise TypeError(f"reports must be a mapping of name to report or a list of reports; got {type(reports).__name__}")
    accuracies = _per_report(accuracy, names, "accuracy")
    latencies = _per_report(latency, names, "latency")
    queue = []
    for name, report, acc, lat in zip(names, items, accuracies, latencies):
        decision = should_trigger_retraining(report, accuracy=acc, latency=lat, min_accuracy=min_accuracy, max_latency=max_latency)
        for trigger, reason in zip(decision.triggers, decision.reasons):
            feature = trigger.split(":", 1)[1] if trigger.startswith("drift:") else None
            queue.append(RetrainingTask(name, feature, reason))
    return queue


# --------------------------------------------------------------------------------------------
# The model registry


class RegistryIntegrityError(ValueError):
    """A model file does not match the SHA-256 the registry recorded for it (or is missing)."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version (a snapshot of its metadata).

    Attributes
    ----------
    name : str
    version : int
        1, 2, ... per name, in registration order.
    stage : str
        ``"candidate"`` (registered), ``"production"`` (serving), ``"archived"`` (served before)
        or ``"rolled_back"`` (taken out of production by :meth:`ModelRegistry.rollback`).
    sha256 : str
        Hex digest of the model file.
    metrics : dict of str to float
    tags : dict of str to str
    training_data : dict
        A description of the data the model was trained on (JSON-serialisable).
    file : str
        The model file, relative to the registry folder.
    registered_at : str
        UTC time of registration, ISO 8601.
    """

    name: str
    version: int
    stage: str
    sha256: str
    metrics: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    training_data: dict = field(default_factory=dict)
    file: str = ""
    registered_at: str = ""

    def __repr__(self) -> str:
        return (f"ModelVersion(name={self.name!r}, version={self.version}, stage={self.stage!r}, "
                f"metrics={self.metrics}, sha256={self.sha256[:12]!r}...)")  # fmt: skip


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_INDEX = "registry.json"
_LOCK = ".registry.lock"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ModelRegistry:
    """A folder of versioned models with JSON metadata, verified loads, promotion and rollback.

    Layout: ``registry.json`` (every version's metadata and each name's production history,
    indented JSON a person can read and diff) and one pickle per version,
    ``<name>/v0001.pkl``. Every file is written atomically (a temporary file in the same folder,
    then :func:`os.replace`), so a crash never leaves half a file. Changes to ``registry.json``
    run under an exclusive lock on ``.registry.lock``.

    Parameters
    ----------
    path : str or pathlib.Path
        The registry folder; created if missing. An existing file there is an error.

    Notes
    -----
    **What the lock guarantees.** On POSIX systems (Linux, macOS) the lock is ``fcntl.flock``:
    two processes registering at once are serialised and no version is lost or numbered twice.
    Where ``fcntl`` is missing or ``flock`` is not supported (Windows, and Pyodide in the browser,
    where there is one learner and one process), the lock is a no-op: the registry still works,
    each write is still atomic, but concurrent writers from several processes could lose an
    entry. A network file system may ignore ``flock``.

    **Security.** Loading a pickle runs code chosen by whoever wrote it. The SHA-256 check stops a
    corrupted or replaced model file from loading silently, but it trusts ``registry.json``:
    anyone who can write the folder can register anything. Keep the folder writable only by the
    training pipeline.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> registry = ModelRegistry(folder.name)
    >>> v1 = registry.register("churn", {"weights": [1, 2]}, metrics={"accuracy": 0.8})
    >>> v2 = registry.register("churn", {"weights": [1, 3]}, metrics={"accuracy": 0.82})
    >>> registry.promote("churn", 1).stage
    'production'
    >>> registry.promote("churn", 2).version
    2
    >>> registry.rollback("churn").version
    1
    >>> registry.load("churn")
    {'weights': [1, 2]}
    >>> registry.versions("churn")[["version", "stage", "accuracy"]]
       version       stage  accuracy
    0        1  production      0.80
    1        2  rolled_back      0.82
    >>> folder.cleanup()
    """

    def __init__(self, path: str | os.PathLike) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a folder path (str or pathlib.Path); got {type(path).__name__}")
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"path {str(self.path)!r} is a file; a model registry is a folder (give a new or existing folder)")
        self.path.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        index = self._read_index()
        counts = ", ".join(f"{name}: {len(entry['versions'])}" for name, entry in index["models"].items())
        return f"ModelRegistry({counts or 'empty'})"

    # -- files ----------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # Windows, or a Python without it: no inter-process lock (see Notes)
            fcntl = None
        with open(self.path / _LOCK, "a+b") as handle:
            locked = False
            if fcntl is not None:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                    locked = True
                except (OSError, NotImplementedError):  # e.g. Pyodide's in-memory file system: one process
                    pass
            try:
                yield
            finally:
                if locked:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _read_index(self) -> dict:
        index_path = self.path / _INDEX
        if not index_path.exists():
            return {"format": 1, "models": {}}
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RegistryIntegrityError(f"{_INDEX} in the registry folder is not valid JSON ({error}); restore it from a backup") from None
        if not isinstance(index, dict) or not isinstance(index.get("models"), dict):
            raise RegistryIntegrityError(f"{_INDEX} in the registry folder does not hold a model registry")
        return index

    def _write_index(self, index: dict) -> None:
        write_text_atomic(self.path / _INDEX, json.dumps(index, indent=2, sort_keys=True) + "\n")

    # -- checks ----------------------------------------------------------------------------

    @staticmethod
    def _check_name(name: Any) -> str:
        if not isinstance(name, str):
            raise TypeError(f"name must be a string; got {type(name).__name__}")
        if not _NAME.match(name):
            raise ValueError(f"name must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit; got {name!r}")
        return name

    @staticmethod
    def _entry(index: dict, name: str) -> dict:
        entry = index["models"].get(name)
        if entry is None:
            known = ", ".join(sorted(index["models"])) or "none yet"
            raise ValueError(f"no model named {name!r} in the registry; registered names: {known}")
        return entry

    @staticmethod
    def _version_record(entry: dict, name: str, version: Any) -> dict:
        version = check_int(version, "version", minimum=1)
        for record in entry["versions"]:
            if record["version"] == version:
                return record
        raise ValueError(f"model {name!r} has no version {version}; versions: {[r['version'] for r in entry['versions']]}")

    @staticmethod
    def _as_version(record: dict, name: str, entry: dict) -> ModelVersion:
        if entry["production"] == record["version"]:
            stage = "production"
        elif record["version"] in entry.get("rolled_back", []):
            stage = "rolled_back"
        elif record["version"] in entry["production_history"]:
            stage = "archived"
        else:
            stage = "candidate"
        values = {key: record[key] for key in ("version", "sha256", "metrics", "tags", "training_data", "file", "registered_at")}
        return ModelVersion(name=name, stage=stage, **values)

    # -- public interface --------------------------------------------------------------------

    def register(
        self,
        name: str,
        model: Any,
        *,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        training_data: Mapping[str, Any] | str | None = None,
    ) -> ModelVersion:
        """Store ``model`` as the next version of ``name``, as a candidate.

        Parameters
        ----------
        name : str
        model : object
            Anything :mod:`pickle` can serialise (scikit-learn estimators, dicts, arrays...).
        metrics : mapping of str to float, optional
            Evaluation results (finite numbers).
        tags : mapping of str to str, optional
        training_data : mapping or str, optional
            What the model was trained on (period, rows, data version, hash...); must be
            JSON-serialisable. A string is stored as ``{"description": ...}``.

        Returns
        -------
        ModelVersion
        """
        name = self._check_name(name)
        metrics = {} if metrics is None else metrics
        if not isinstance(metrics, Mapping):
            raise TypeError(f"metrics must be a mapping of metric name to number; got {type(metrics).__name__}")
        metrics = {str(key): check_number(value, f"metrics[{key!r}]", minimum=None) for key, value in metrics.items()}
        tags = {} if tags is None else tags
        if not isinstance(tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise TypeError(f"tags must be a mapping of str to str; got {tags!r:.80}")
        if training_data is None:
            training_data = {}
        elif isinstance(training_data, str):
            training_data = {"description": training_data}
        elif not isinstance(training_data, Mapping):
            raise TypeError(f"training_data must be a mapping or a string; got {type(training_data).__name__}")
        try:
            training_data = json.loads(json.dumps(dict(training_data)))
        except (TypeError, ValueError) as error:
            raise TypeError(f"training_data must be JSON-serialisable (numbers, strings, lists, dicts): {error}") from None
        try:
            payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # noqa: BLE001 - pickle raises many kinds
            raise TypeError(f"model cannot be pickled ({type(error).__name__}: {error})") from None
        digest = _sha256(payload)
        with self._locked():
            index = self._read_index()
            entry = index["models"].setdefault(name, {"versions": [], "production": None, "production_history": []})
            version = max((record["version"] for record in entry["versions"]), default=0) + 1
            relative = f"{name}/v{version:04d}.pkl"
            write_bytes_atomic(self.path / relative, payload)
            record = {
                "version": version,
                "sha256": digest,
                "metrics": metrics,
                "tags": dict(tags),
                "training_data": training_data,
                "file": relative,
                "registered_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            }
            entry["versions"].append(record)
            self._write_index(index)
        return self._as_version(record, name, entry)

    def get(self, name: str, version: int | str = "production") -> ModelVersion:
        """The metadata of one version: a number, ``"production"`` or ``"latest"``."""
        name = self._check_name(name)
        index = self._read_index()
        entry = self._entry(index, name)
        return self._as_version(self._resolve(entry, name, version), name, entry)

    def _resolve(self, entry: dict, name: str, version: Any) -> dict:
        if version == "production":
            if entry["production"] is None:
                raise ValueError(f"model {name!r} has no production version yet; promote one first")
            version = entry["production"]
        elif version == "latest":
            version = entry["versions"][-1]["version"]
        elif isinstance(version, str):
            raise ValueError(f"version must be a number, 'production' or 'latest'; got {version!r}")
        return self._version_record(entry, name, version)

    def load(self, name: str, version: int | str = "production") -> Any:
        """Load a model after checking its file's SHA-256 against the recorded one.

        Raises
        ------
        RegistryIntegrityError
            If the file is missing or its hash differs from the one recorded at registration
            (the file was corrupted, edited or replaced). The model is never unpickled then.
        """
        name = self._check_name(name)
        entry = self._entry(self._read_index(), name)
        record = self._resolve(entry, name, version)
        model_path = self.path / record["file"]
        try:
            payload = model_path.read_bytes()
        except FileNotFoundError:
            raise RegistryIntegrityError(f"model {name!r} version {record['version']}: its file {record['file']} is missing") from None
        digest = _sha256(payload)
        if digest != record["sha256"]:
            raise RegistryIntegrityError(
                f"model {name!r} version {record['version']}: file {record['file']} has SHA-256 {digest[:16]}..., "
                f"but the registry recorded {record['sha256'][:16]}... at registration; the file was corrupted or "
                "replaced, so it is not loaded"
            )
        return pickle.loads(payload)

    def promote(self, name: str, version: int) -> ModelVersion:
        """Make ``version`` the production model of ``name`` (the previous one is archived)."""
        name = self._check_name(name)
        with self._locked():
            index = self._read_index()
            entry = self._entry(index, name)
            record = self._version_record(entry, name, version)
            if entry["production"] != record["version"]:
                entry["production"] = record["version"]
                if record["version"] in entry.get("rolled_back", []):
                    entry["rolled_back"].remove(record["version"])
                entry["production_history"].append(record["version"])
                self._write_index(index)
        return self._as_version(record, name, entry)

    def rollback(self, name: str) -> ModelVersion:
        """Put the previous production model of ``name`` back in production.

        Raises
        ------
        ValueError
            If ``name`` has had fewer than two production models.
        """
        name = self._check_name(name)
        with self._locked():
            index = self._read_index()
            entry = self._entry(index, name)
            history = entry["production_history"]
            if len(history) < 2:
                raise ValueError(f"model {name!r} has no earlier production version to roll back to")
            entry.setdefault("rolled_back", []).append(history.pop())
            entry["production"] = history[-1]
            self._write_index(index)
            record = self._version_record(entry, name, history[-1])
        return self._as_version(record, name, entry)

    def versions(self, name: str | None = None) -> pd.DataFrame:
        """A table of the registered versions (of one name, or all), one row per version.

        Columns: ``name, version, stage``, one column per metric, then ``tags``,
        ``training_data``, ``sha256`` and ``registered_at``.
        """
        index = self._read_index()
        names = sorted(index["models"]) if name is None else [self._check_name(name)]
        rows = []
        for model_name in names:
            entry = self._entry(index, model_name)
            for record in entry["versions"]:
                item = self._as_version(record, model_name, entry)
                rows.append({"name": model_name, "version": item.version, "stage": item.stage, **item.metrics,
                             "tags": item.tags, "training_data": item.training_data, "sha256": item.sha256,
                             "registered_at": item.registered_at})  # fmt: skip
        columns = ["name", "version", "stage"]
        metric_names = [key for row in rows for key in row if key not in columns]
        ordered = columns + [key for key in dict.fromkeys(metric_names) if key not in ("tags", "training_data", "sha256", "registered_at")]
        return pd.DataFrame(rows, columns=ordered + ["tags", "training_data", "sha256", "registered_at"])


# --------------------------------------------------------------------------------------------
# A year of traffic, and the policies replayed on it


def fit_logistic(features: np.ndarray, labels: np.ndarray, *, l2: float = 1e-3, iterations: int = 25) -> np.ndarray:
    """Logistic regression by Newton's method (IRLS) with a small ridge penalty.

    The model of :func:`simulate_policies`: a few milliseconds on thousands of rows, pure numpy
    (so it runs in the browser), and the same fit as scikit-learn's ``LogisticRegression``
    with ``C = 1 / (l2 * n)`` (the tests compare them).

    Parameters
    ----------
    features : numpy.ndarray, shape (n, k)
    labels : numpy.ndarray of 0/1, shape (n,)
    l2 : float
        Penalty on the squared weights (not on the intercept), per observation.
    iterations : int
        Maximum Newton steps (it stops earlier once the step is below 1e-10).

    Returns
    -------
    numpy.ndarray, shape (k + 1,)
        Intercept first, then one weight per column.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(20000, 1))
    >>> y = (rng.random(20000) < 1 / (1 + np.exp(-(0.5 + 2 * x[:, 0])))).astype(int)
    >>> np.round(fit_logistic(x, y), 1)
    array([0.5, 2. ])
    """
    x = np.asarray(features, dtype=float)
    y = np.asarray(labels, dtype=float)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y) or len(y) == 0:
        raise ValueError(f"features must be (n, k) and labels (n,), n >= 1; got {x.shape} and {y.shape}")
    design = np.column_stack([np.ones(len(x)), x])
    weights = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2 * len(x))
    penalty[0] = 0.0
    for _ in range(iterations):
        probability = 1.0 / (1.0 + np.exp(-(design @ weights)))
        gradient = design.T @ (probability - y) + penalty * weights
        hessian = (design * (probability * (1 - probability))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(len(weights))
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return weights


# The columns the simulated model reads: numeric features on a natural scale and the plan.
_MODEL_COLUMNS = ("age", "log_income", "tenure_months", "support_calls", "plan_basic", "plan_premium")


def _encode(frame: pd.DataFrame) -> np.ndarray:
    income = frame["income"].to_numpy(float)
    plan = frame["plan"].astype(str).to_numpy()
    return np.column_stack([
        frame["age"].to_numpy(float),
        np.log(np.maximum(income, 1.0)),
        frame["tenure_months"].to_numpy(float),
        frame["support_calls"].to_numpy(float),
        (plan == "basic").astype(float),
        (plan == "premium").astype(float),
    ])  # fmt: skip


@dataclass(frozen=True)
class PolicyStream:
    """A year (or more) of daily traffic for :func:`simulate_policies`.

    Attributes
    ----------
    features : numpy.ndarray, shape (n, 6)
        The model's inputs: age, log income, tenure (months), support calls, basic plan, premium
        plan.
    labels : numpy.ndarray of int, shape (n,)
    day : numpy.ndarray of int, shape (n,)
        Day of each row; negative days are the history the first model is trained on.
    schedule : pandas.DataFrame
        One row per day: ``covariate_shift``, ``concept_shift``, ``labels_arrive`` (False during
        the label outage) and ``data_quality_ok`` (False during the data incident).
    label_delay : int
        Days until a day's labels arrive.
    """

    features: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    day: np.ndarray = field(repr=False)
    schedule: pd.DataFrame = field(repr=False)
    label_delay: int = 7

    @property
    def days(self) -> int:
        """Number of days of traffic (history excluded)."""
        return int(self.day.max()) + 1

    def __repr__(self) -> str:
        history = int(-self.day.min()) if self.day.min() < 0 else 0
        return f"PolicyStream(days={self.days}, rows={len(self.labels)}, history_days={history}, label_delay={self.label_delay})"


def _ramp(days: np.ndarray, start: float, end: float, level: float) -> np.ndarray:
    return level * np.clip((days - start) / max(end - start, 1), 0.0, 1.0)


def make_policy_stream(
    days: int = 365,
    *,
    rows_per_day: int = 200,
    history_days: int = 28,
    label_delay: int = 7,
    seed: int | np.random.Generator = 0,
) -> PolicyStream:
    """A seeded year of churn traffic with the events a retraining policy has to face.

    Drawn with :func:`course_lib.simulate.make_tabular`, day by day. The default year (the
    events scale with ``days``):

    - days 0-89: the world the first model was trained in;
    - days 90-180: **covariate drift** (inputs move up to one standard deviation and back,
      P(churn | X) unchanged): drift scores rise, and a retrained model is no better;
    - from day 200: **concept drift** over 30 days (P(churn | X) changes, the inputs do not):
      accuracy falls, drift scores see nothing;
    - days 255-269: a **label outage** (labels of those days never arrive);
    - days 300-306: a **data incident** (income logged in thousands): the data-quality check fails.

    Parameters
    ----------
    days : int
        Days of traffic, at least 60.
    rows_per_day : int
    history_days : int
        Days of history before day 0 (the first model's training data).
    label_delay : int
        Days until a day's labels arrive (>= 0).
    seed : int or numpy.random.Generator

    Returns
    -------
    PolicyStream

    Examples
    --------
    >>> make_policy_stream(120, rows_per_day=50, seed=1)
    PolicyStream(days=120, rows=7400, history_days=28, label_delay=7)
    """
    from course_lib.simulate import _rng, make_tabular

    days = check_int(days, "days", minimum=60)
    rows_per_day = check_int(rows_per_day, "rows_per_day", minimum=10)
    history_days = check_int(history_days, "history_days", minimum=1)
    label_delay = check_int(label_delay, "label_delay", minimum=0)
    rng = _rng(seed)
    scale = days / 365
    day_index = np.arange(-history_days, days)
    covariate = _ramp(day_index, 90 * scale, 120 * scale, 1.0) - _ramp(day_index, 160 * scale, 180 * scale, 1.0)
    concept = _ramp(day_index, 200 * scale, 230 * scale, 1.0)
    outage = (day_index >= 255 * scale) & (day_index < 270 * scale)
    incident = (day_index >= 300 * scale) & (day_index < 307 * scale)

    # Consecutive days with the same shifts are drawn in one call (fewer, larger draws).
    keys = np.round(np.column_stack([covariate, concept]), 6)
    starts = np.flatnonzero(np.r_[True, np.any(keys[1:] != keys[:-1], axis=1)])
    ends = np.r_[starts[1:], len(day_index)]
    frames = []
    for start, end in zip(starts, ends):
        frame = make_tabular((end - start) * rows_per_day, covariate_shift=float(covariate[start]),
                             concept_shift=float(concept[start]), seed=rng)  # fmt: skip
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    row_day = np.repeat(day_index, rows_per_day)
    bad_rows = np.repeat(incident, rows_per_day)
    table.loc[bad_rows, "income"] = (table.loc[bad_rows, "income"] / 1000).round(1)
    schedule = pd.DataFrame({
        "day": day_index,
        "covariate_shift": covariate,
        "concept_shift": concept,
        "labels_arrive": ~outage,
        "data_quality_ok": ~incident,
    }).set_index("day")  # fmt: skip
    labels = table["churned"].to_numpy(int)
    return PolicyStream(_encode(table), labels, row_day, schedule, label_delay)


def _data_quality_ok(features: np.ndarray) -> bool:
    """The pipeline's validation: incomes (log scale) in a plausible range for 99% of rows."""
    log_income = features[:, 1]
    return bool(np.mean((log_income >= np.log(3000)) & (log_income <= np.log(2e6))) >= 0.99)


def standard_policies() -> dict[str, RetrainingPolicy]:
    """The five policies the lesson compares: never, periodic, drift, performance, combined.

    Examples
    --------
    >>> list(standard_policies())
    ['never', 'periodic', 'drift', 'performance', 'combined']
    """
    return {
        "never": RetrainingPolicy(),
        "periodic": RetrainingPolicy(every=30),
        "drift": RetrainingPolicy(drift_share=0.3, drift_threshold=0.2, cooldown=14, min_samples=500),
        "performance": RetrainingPolicy(max_accuracy_drop=0.04, cooldown=14, min_samples=500, min_label_coverage=0.5),
        "combined": RetrainingPolicy(drift_share=0.5, drift_threshold=0.3, max_accuracy_drop=0.04, every=120, cooldown=14,
                                     min_samples=500, min_label_coverage=0.5, max_retrains=4, budget_period=90),
    }  # fmt: skip


@dataclass(frozen=True)
class _Fitted:
    """A model fitted by the simulation, with what monitoring compares it against."""

    weights: np.ndarray
    centre: np.ndarray
    spread: np.ndarray
    n_rows: int
    reference_mean: np.ndarray
    reference_sd: np.ndarray
    expected_accuracy: float

    def predict(self, features: np.ndarray) -> np.ndarray:
        scaled = (features - self.centre) / self.spread
        return (scaled @ self.weights[1:] + self.weights[0] > 0).astype(int)


@dataclass(frozen=True)
class PolicyComparison:
    """The result of :func:`simulate_policies`.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per policy: ``retrains``, ``accuracy`` (over the whole period), ``errors``,
        ``retrain_cost``, ``error_cost``, ``total_cost``, ``training_labels`` (labelled rows
        used by all retrains), ``monitoring_labels`` (labelled rows the policy's accuracy signal
        read; 0 for a policy that does not look at accuracy) and ``alert_days``.
    daily : pandas.DataFrame
        One row per policy and day: ``policy, day, accuracy, retrained, drift_share,
        monitored_accuracy, alert``.
    """

    summary: pd.DataFrame
    daily: pd.DataFrame

    def __repr__(self) -> str:
        return f"PolicyComparison(policies={list(self.summary.index)}, days={self.daily['day'].nunique()})"

    def plot(self, *, window: int = 14, ax: Any = None):
        """Accuracy over time per policy (rolling mean over ``window`` days), retrains marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(9, 3.8))
        for name, group in self.daily.groupby("policy", sort=False):
            line, = ax.plot(group["day"], group["accuracy"].rolling(window, min_periods=1).mean(), label=name, linewidth=1.4)
            retrained = group.loc[group["retrained"], "day"]
            ax.scatter(retrained, group["accuracy"].rolling(window, min_periods=1).mean()[group["retrained"]],
                       color=line.get_color(), marker="v", s=40, edgecolor="white", linewidth=0.5, zorder=3)  # fmt: skip
        ax.set(title=f"Accuracy per policy ({window}-day rolling mean; triangles = retrains)", xlabel="day",
               ylabel="accuracy")  # fmt: skip
        ax.legend(loc="lower left", ncol=len(self.summary), fontsize="small")
        return ax


def simulate_policies(
    stream: PolicyStream,
    policies: Mapping[str, RetrainingPolicy],
    *,
    retrain_cost: float,
    error_cost: float = 1.0,
    train_window: int = 28,
    monitor_window: int = 7,
) -> PolicyComparison:
    """Replay a stream through a model under each policy; count accuracy, retrains, labels, cost.

    Every day the model in service predicts that day's traffic. At the end of the day the
    policy gets :class:`Signals`:

    - ``drift_scores``: per model input, the mean shift of the last ``monitor_window`` days from
      the current model's training data, in that data's standard deviations (the seed's
      heuristic, :func:`course_lib.drift.compute_mean_drift`, computed from daily sums);
    - ``accuracy``: the served model's accuracy on the last ``monitor_window`` days whose labels
      have arrived (labels arrive ``stream.label_delay`` days late, and never during an outage);
      ``label_coverage`` and ``n_samples`` describe that window;
    - ``data_quality_ok``: the day's data passes a range check on income.

    When the policy says retrain, a new model is fitted (:func:`fit_logistic`) on the labelled
    rows of the last ``train_window`` days with labels that passed the quality check, and serves
    from the next day. Fits are shared between policies retraining on the same day.

    Parameters
    ----------
    stream : PolicyStream
        From :func:`make_policy_stream`.
    policies : mapping of str to RetrainingPolicy
        Copied and reset, so the policies passed in are not changed.
    retrain_cost : float
        Cost of one retrain, in the units of ``error_cost``.
    error_cost : float, default 1.0
        Cost of one wrong prediction.
    train_window, monitor_window : int
        Days.

    Returns
    -------
    PolicyComparison

    Examples
    --------
    >>> stream = make_policy_stream(120, rows_per_day=100, seed=3)
    >>> result = simulate_policies(stream, {"never": RetrainingPolicy(), "monthly": RetrainingPolicy(every=30)},
    ...                            retrain_cost=50)
    >>> result.summary[["retrains", "retrain_cost"]]
             retrains  retrain_cost
    policy
    never           0           0.0
    monthly         3         150.0
    """
    if not isinstance(stream, PolicyStream):
        raise TypeError(f"stream must be a PolicyStream (see make_policy_stream); got {type(stream).__name__}")
    if not isinstance(policies, Mapping) or not policies:
        raise TypeError("policies must be a non-empty mapping of name to RetrainingPolicy")
    for name, policy in policies.items():
        if not isinstance(policy, RetrainingPolicy):
            raise TypeError(f"policies[{name!r}] must be a RetrainingPolicy; got {type(policy).__name__}")
    retrain_cost = check_number(retrain_cost, "retrain_cost", minimum=0.0)
    error_cost = check_number(error_cost, "error_cost", minimum=0.0)
    train_window = check_int(train_window, "train_window", minimum=1)
    monitor_window = check_int(monitor_window, "monitor_window", minimum=1)

    first_day = int(stream.day.min())
    n_days = stream.days
    all_days = np.arange(first_day, n_days)
    # Per-day sufficient statistics of the inputs: counts, sums, sums of squares.
    offset = stream.day - first_day
    counts = np.bincount(offset, minlength=len(all_days)).astype(float)
    sums = np.stack([np.bincount(offset, stream.features[:, j], len(all_days)) for j in range(stream.features.shape[1])], axis=1)
    squares = np.stack([np.bincount(offset, stream.features[:, j] ** 2, len(all_days)) for j in range(stream.features.shape[1])], axis=1)
    # Prefix sums: the statistics of any range of days in O(1).
    cum_sums = np.vstack([np.zeros(sums.shape[1]), np.cumsum(sums, axis=0)])
    cum_squares = np.vstack([np.zeros(squares.shape[1]), np.cumsum(squares, axis=0)])
    cum_counts = np.r_[0.0, np.cumsum(counts)]
    rows_of_day = [np.flatnonzero(offset == k) for k in range(len(all_days))]
    quality = np.array([_data_quality_ok(stream.features[rows]) for rows in rows_of_day])
    arrives = stream.schedule["labels_arrive"].to_numpy(bool)

    def window_stats(lo: int, hi: int, mask: np.ndarray | None = None):
        """Count, mean and sd of the inputs over days [lo, hi] (offsets), optionally masked."""
        lo, hi = max(lo, 0), min(hi, len(all_days) - 1)
        if mask is None:
            n = cum_counts[hi + 1] - cum_counts[lo]
            s, q = cum_sums[hi + 1] - cum_sums[lo], cum_squares[hi + 1] - cum_squares[lo]
        else:
            keep = np.arange(lo, hi + 1)[mask[lo: hi + 1]]
            n, s, q = counts[keep].sum(), sums[keep].sum(axis=0), squares[keep].sum(axis=0)
        mean = s / max(n, 1)
        sd = np.sqrt(np.maximum(q / max(n, 1) - mean**2, 0.0) * n / max(n - 1, 1))
        return n, mean, sd

    fits: dict[int, _Fitted | None] = {}

    def fit_at(day_offset: int) -> "_Fitted | None":
        """The model a retrain at the end of day ``day_offset`` produces (None: too few labels)."""
        if day_offset not in fits:
            hi = day_offset - stream.label_delay
            lo = max(hi - train_window + 1, 0)
            usable = [k for k in range(lo, hi + 1) if arrives[k] and quality[k]]
            rows = np.concatenate([rows_of_day[k] for k in usable]) if usable else np.array([], int)
            if len(rows) < 50:
                fits[day_offset] = None
            else:
                x, y = stream.features[rows], stream.labels[rows]
                centre, spread = x.mean(axis=0), x.std(axis=0) + 1e-9
                weights = fit_logistic((x - centre) / spread, y)
                # The accuracy to expect: on the most recent week of the training data.
                last = np.concatenate([rows_of_day[k] for k in usable[-monitor_window:]])
                scores = np.column_stack([np.ones(len(last)), (stream.features[last] - centre) / spread]) @ weights
                expected = float(np.mean((scores > 0).astype(int) == stream.labels[last]))
                ref_mask = np.zeros(len(all_days), dtype=bool)
                ref_mask[usable] = True
                _, ref_mean, ref_sd = window_stats(usable[0], usable[-1], ref_mask)
                fits[day_offset] = _Fitted(weights, centre, spread, len(rows), ref_mean, ref_sd, expected)
        return fits[day_offset]

    start = -first_day
    initial = fit_at(start - 1 + stream.label_delay)  # trained on the history, before day 0
    summaries, daily_frames = [], []
    for name, original in policies.items():
        policy = copy.deepcopy(original)
        policy.reset()
        model, served_since = initial, start
        correct = np.zeros(len(all_days))
        served = counts
        retrained = np.zeros(len(all_days), dtype=bool)
        drift_shares = np.full(len(all_days), np.nan)
        monitored = np.full(len(all_days), np.nan)
        alerts = np.zeros(len(all_days), dtype=bool)
        training_labels = monitoring_labels = 0
        uses_accuracy = policy.min_accuracy is not None or policy.max_accuracy_drop is not None
        for k in range(start, len(all_days)):
            rows = rows_of_day[k]
            correct[k] = np.count_nonzero(model.predict(stream.features[rows]) == stream.labels[rows])
            # Drift: the recent inputs against the model's own training days.
            n_recent, recent_mean, _ = window_stats(k - monitor_window + 1, k)
            drift = np.abs(recent_mean - model.reference_mean) / np.maximum(model.reference_sd, 1e-9)
            drift_shares[k] = float(np.mean(drift >= 0.2))
            # Accuracy of the model in service, on its days whose labels have arrived.
            hi = k - stream.label_delay
            window = range(max(hi - monitor_window + 1, served_since), hi + 1)
            labelled = [d for d in window if arrives[d]]
            n_labelled = int(served[labelled].sum())
            accuracy = float(correct[labelled].sum() / n_labelled) if n_labelled else None
            coverage = len(labelled) / len(window) if len(window) else None
            if uses_accuracy and hi >= served_since and arrives[hi]:
                monitoring_labels += int(served[hi])
            monitored[k] = np.nan if accuracy is None else accuracy
            signals = Signals(
                drift_scores={column: float(value) for column, value in zip(_MODEL_COLUMNS, drift)},
                accuracy=accuracy,
                expected_accuracy=model.expected_accuracy,
                label_coverage=coverage,
                n_samples=n_labelled if uses_accuracy else int(n_recent),
                data_quality_ok=bool(quality[k]),
            )
            decision = policy.decide(signals, now=float(all_days[k]))
            alerts[k] = bool(decision.alerts)
            if decision.retrain:
                candidate = fit_at(k)
                if candidate is not None:
                    model, served_since = candidate, k + 1
                    retrained[k] = True
                    training_labels += candidate.n_rows
        days_slice = slice(start, len(all_days))
        total_served, total_correct = served[days_slice].sum(), correct[days_slice].sum()
        errors = int(total_served - total_correct)
        n_retrains = int(retrained.sum())
        summaries.append({
            "policy": name,
            "retrains": n_retrains,
            "accuracy": float(total_correct / total_served),
            "errors": errors,
            "retrain_cost": n_retrains * retrain_cost,
            "error_cost": errors * error_cost,
            "total_cost": n_retrains * retrain_cost + errors * error_cost,
            "training_labels": int(training_labels),
            "monitoring_labels": int(monitoring_labels),
            "alert_days": int(alerts.sum()),
        })  # fmt: skip
        daily_frames.append(pd.DataFrame({
            "policy": name,
            "day": all_days[days_slice],
            "accuracy": correct[days_slice] / served[days_slice],
            "retrained": retrained[days_slice],
            "drift_share": drift_shares[days_slice],
            "monitored_accuracy": monitored[days_slice],
            "alert": alerts[days_slice],
        }))  # fmt: skip
    summary = pd.DataFrame(summaries).set_index("policy")
    return PolicyComparison(summary, pd.concat(daily_frames, ignore_index=True))

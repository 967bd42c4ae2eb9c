"""Time course_lib.retraining against plain peers, in the same run.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_retraining.py``). Prints best-of-N
wall times and the ratio peer / course_lib (above 1: course_lib is faster; below 1: what its
extra guarantees cost):

* ``ModelRegistry.register`` and ``load`` against plain ``pickle`` + ``hashlib`` + a JSON index
  rewritten in place (no lock, no atomic rename, no checks): the price of the guarantees. Two
  fsyncs per registration dominate, so ``register`` is compared with the same plain code flushing
  its two files too (target >= 0.5x; the ratio to the bare version is printed for information);
  ``load`` with the bare version (target >= 0.3x);
* ``RetrainingPolicy.decide`` over a year of daily signals against a hand-written loop of the same
  rule: the policy validates every input and explains every decision, so it is far slower than the
  bare loop; the target is absolute (under 0.2 ms per decision, nothing for a daily or hourly job);
* ``fit_logistic`` (the simulation's model) against scikit-learn's ``LogisticRegression`` with its
  default tolerance on a training window of the simulation, same penalty (target: >= 1x);
* ``simulate_policies``: a year of traffic under the five standard policies (target: < 3 s).

Each pair of results is checked to agree before it is timed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import tempfile
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

from course_lib import retraining

import timing  # benchmarks/timing.py: make bench runs the scripts from this folder
from course_lib.retraining import ModelRegistry, RetrainingPolicy, Signals

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def best_of(function, repeats: int = REPEATS) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls, and the last result."""
    return timing.best_of(function, repeats)


def report_line(name: str, ours: float, peer: float, peer_name: str, target: str, met: bool | None) -> bool:
    verdict = "" if met is None else ("target met" if met else "TARGET MISSED")
    print(f"{name:<40} course_lib {ours * 1e3:9.1f} ms   {peer_name:<22} {peer * 1e3:9.2f} ms   "
          f"ratio {peer / ours:7.3f}x   ({target})  {verdict}")  # fmt: skip
    return met


def _models(count: int) -> list:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6))
    y = (x[:, 0] + rng.normal(size=500) > 0).astype(int)
    return [LogisticRegression(C=1.0 + i).fit(x, y) for i in range(count)]


class PlainRegistry:
    """The bare minimum: pickle, hash, write the file, rewrite a JSON index. No lock, no rename;
    with ``durable=True`` each file is flushed to disk (fsync), as course_lib's are."""

    def __init__(self, path: Path, durable: bool = False) -> None:
        self.path = path
        self.durable = durable
        path.mkdir(parents=True, exist_ok=True)
        self.index_path = path / "index.json"

    def register(self, name: str, model) -> int:
        index = json.loads(self.index_path.read_text()) if self.index_path.exists() else {}
        versions = index.setdefault(name, [])
        payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        version = len(versions) + 1
        versions.append({"version": version, "sha256": hashlib.sha256(payload).hexdigest()})
        self._write(self.path / f"{name}-{version}.pkl", payload)
        self._write(self.index_path, json.dumps(index).encode())
        return version

    def _write(self, path: Path, data: bytes) -> None:
        with open(path, "wb") as stream:
            stream.write(data)
            if self.durable:
                stream.flush()
                os.fsync(stream.fileno())

    def load(self, name: str, version: int):
        record = json.loads(self.index_path.read_text())[name][version - 1]
        payload = (self.path / f"{name}-{version}.pkl").read_bytes()
        if hashlib.sha256(payload).hexdigest() != record["sha256"]:
            raise ValueError("hash mismatch")
        return pickle.loads(payload)


def bench_registry() -> list[bool]:
    models = _models(100)
    probe = np.random.default_rng(1).normal(size=(20, 6))
    outcomes = []
    with tempfile.TemporaryDirectory() as folder:
        counter = iter(range(10**6))

        def ours_register():
            registry = ModelRegistry(Path(folder) / f"ours{next(counter)}")
            for model in models:
                registry.register("churn", model, metrics={"accuracy": 0.8})
            return registry

        def plain_register(durable):
            registry = PlainRegistry(Path(folder) / f"plain{next(counter)}", durable=durable)
            for model in models:
                registry.register("churn", model)
            return registry

        ours_time, ours = best_of(ours_register)
        durable_time, _ = best_of(lambda: plain_register(True))
        peer_time, peer = best_of(lambda: plain_register(False))
        for version in (1, 50, 100):
            assert np.array_equal(ours.load("churn", version).predict(probe), peer.load("churn", version).predict(probe))
        outcomes.append(report_line("register 100 models", ours_time, durable_time, "same + fsync", ">= 0.5x",
                                    durable_time / ours_time >= 0.5))  # fmt: skip
        report_line("register 100 models", ours_time, peer_time, "pickle+hashlib+json", "for information", None)
        ours_time, _ = best_of(lambda: [ours.load("churn", v) for v in range(1, 101)])
        peer_time, _ = best_of(lambda: [peer.load("churn", v) for v in range(1, 101)])
        outcomes.append(report_line("load 100 models (SHA-256 checked)", ours_time, peer_time, "pickle+hashlib+json",
                                    ">= 0.3x", peer_time / ours_time >= 0.3))  # fmt: skip
    return outcomes


def hand_written_policy(scores: np.ndarray, threshold: float, cooldown: int) -> list[int]:
    """The same rule as RetrainingPolicy(max_drift_score=threshold, cooldown=cooldown), inlined."""
    days, armed, last = [], True, None
    for day, score in enumerate(scores.tolist()):
        if score < threshold:
            armed = True
        elif armed and (last is None or day - last >= cooldown):
            days.append(day)
            armed, last = False, day
    return days


def bench_policy() -> bool:
    rng = np.random.default_rng(2)
    scores = np.abs(0.3 + 0.3 * np.sin(np.arange(365) / 9) + rng.normal(0, 0.1, 365))

    def ours():
        policy = RetrainingPolicy(max_drift_score=0.5, cooldown=7)
        return [day for day, score in enumerate(scores.tolist())
                if policy.decide(Signals(drift_scores={"x": score}), now=day).retrain]  # fmt: skip

    ours_time, ours_days = best_of(ours)
    peer_time, peer_days = best_of(lambda: hand_written_policy(scores, 0.5, 7))
    assert ours_days == peer_days, (ours_days, peer_days)
    per_decision = ours_time / len(scores)
    return report_line("decide, 365 daily signals", ours_time, peer_time, "hand-written loop",
                       f"{per_decision * 1e6:.0f} us per decision < 200 us", per_decision < 2e-4)  # fmt: skip


def bench_fit() -> bool:
    stream = retraining.make_policy_stream(seed=3)
    rows = (stream.day >= 0) & (stream.day < 28)
    x, y = stream.features[rows], stream.labels[rows]
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    ours_time, weights = best_of(lambda: retraining.fit_logistic(x, y), REPEATS * 3)
    model = LogisticRegression(C=1 / (1e-3 * len(y)))
    peer_time, fitted = best_of(lambda: model.fit(x, y), REPEATS * 3)
    assert np.allclose(weights, np.r_[fitted.intercept_, fitted.coef_.ravel()], atol=1e-3)
    return report_line(f"fit_logistic, {len(y)} rows x {x.shape[1]}", ours_time, peer_time, "sklearn (lbfgs)", ">= 1x",
                       peer_time / ours_time >= 1.0)  # fmt: skip


def bench_simulation() -> bool:
    stream_time, stream = best_of(lambda: retraining.make_policy_stream(seed=2024), 1)
    sim_time, result = best_of(lambda: retraining.simulate_policies(stream, retraining.standard_policies(), retrain_cost=200), 1)
    met = sim_time < 3.0
    print(f"{'a year, 5 policies (simulate_policies)':<40} course_lib {sim_time * 1e3:9.1f} ms   "
          f"(stream drawn in {stream_time * 1e3:.0f} ms; {int(result.summary['retrains'].sum())} retrains)   "
          f"(< 3 s)  {'target met' if met else 'TARGET MISSED'}")  # fmt: skip
    return met


def main() -> None:
    print(f"course_lib.retraining benchmarks · Python {platform.python_version()} · numpy {np.__version__} · "
          f"scikit-learn {sklearn.__version__} · best of {REPEATS}")  # fmt: skip
    outcomes = [*bench_registry(), bench_policy(), bench_fit(), bench_simulation()]
    print(f"{sum(outcomes)} of {len(outcomes)} targets met")


if __name__ == "__main__":
    main()

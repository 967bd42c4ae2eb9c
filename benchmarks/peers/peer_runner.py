"""Run one drift library on frames saved by bench_peers.py; print its time and flagged columns.

This script runs inside the library's own environment (``.venv-peers-<name>/``, made by
``make bench PEERS=1``), so it imports numpy, pandas and that library only, never course_lib:

    .venv-peers-evidently/bin/python benchmarks/peers/peer_runner.py evidently frames.npz

It reads the frames (numeric columns as float64 matrices, categorical columns as integer
codes plus their labels), builds what the library expects, calls it once on a small slice
(imports and first-call set-up are not timed), then times one full call and prints one JSON
line: ``{"library": ..., "version": ..., "seconds": ..., "flagged": [...], "scores": {...}}``.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import pandas as pd


def load_frames(path: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    with np.load(path, allow_pickle=False) as stored:
        data = {key: stored[key] for key in stored.files}  # each stored[key] reads the file again
    numeric = [str(name) for name in data["numeric_names"]]
    categorical = [str(name) for name in data["categorical_names"]]
    labels = np.asarray(data["labels"], dtype=object)
    frames = []
    for side in ("reference", "current"):
        columns = {name: data[f"{side}_numeric"][:, i] for i, name in enumerate(numeric)}
        codes = data[f"{side}_codes"]
        columns.update({name: labels[codes[:, i]] for i, name in enumerate(categorical)})
        frames.append(pd.DataFrame(columns))
    return frames[0], frames[1], numeric, categorical


def run_evidently(reference, current, numeric, categorical):
    """Evidently's DataDriftPreset with its defaults; flagged = the per-column drift verdicts."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)

    def call(ref, cur):
        report = Report([DataDriftPreset()])
        snapshot = report.run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
        return evidently_verdicts(snapshot, numeric + categorical)

    return call


def evidently_verdicts(snapshot, columns):
    """Per column: (drift score, drifted) from the snapshot's ValueDrift results."""
    scores, flagged = {}, []
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        column = config.get("column")
        if column not in columns or config.get("type", "").split(":")[-1] != "ValueDrift":
            continue
        score = float(metric["value"])
        method = config.get("method") or ""
        threshold = config.get("threshold")
        scores[column] = score
        # ValueDrift holds the score; a test's p-value drifts below the threshold, a distance
        # at or above it (Evidently's own rule, in its ValueDriftCalculation).
        is_test = "p_value" in method.lower() or "test" in method.lower()
        if (score < threshold) if is_test else (score >= threshold):
            flagged.append(column)
    return scores, flagged


def run_alibi(reference, current, numeric, categorical):
    """alibi-detect's KSDrift on numeric and ChiSquareDrift on categorical columns, p_val 0.05.

    Feature-level verdicts (``drift_type="feature"``) compare each p-value with p_val itself;
    alibi-detect's Bonferroni correction applies to its batch-level verdict only.
    """
    from alibi_detect.cd import ChiSquareDrift, KSDrift

    def call(ref, cur):
        scores, flagged = {}, []
        if numeric:
            detector = KSDrift(ref[numeric].to_numpy(), p_val=0.05)
            result = detector.predict(cur[numeric].to_numpy(), drift_type="feature")["data"]
            for name, drifted, pvalue in zip(numeric, result["is_drift"], result["p_val"]):
                scores[name] = float(pvalue)
                if drifted:
                    flagged.append(name)
        if categorical:
            ref_codes = np.column_stack([pd.factorize(ref[name])[0] for name in categorical])
            # Codes over the union of categories, so a category new in current is counted.
            cur_codes = []
            for name in categorical:
                levels = pd.Index(pd.unique(ref[name]))
                levels = levels.append(pd.Index(pd.unique(cur[name])).difference(levels, sort=False))
                cur_codes.append(levels.get_indexer(cur[name]))
            detector = ChiSquareDrift(ref_codes, p_val=0.05)
            result = detector.predict(np.column_stack(cur_codes), drift_type="feature")["data"]
            for name, drifted, pvalue in zip(categorical, result["is_drift"], result["p_val"]):
                scores[name] = float(pvalue)
                if drifted:
                    flagged.append(name)
        return scores, flagged

    return call


def run_nannyml(reference, current, numeric, categorical):
    """NannyML's UnivariateDriftCalculator, Kolmogorov-Smirnov on continuous and chi-squared on
    categorical columns, with its default 10 chunks per side: flagged = an alert in any
    analysis chunk. NannyML's KS alert is its statistic above mean + 3 SD of the reference
    chunks' (from 10,000 values on, the statistic is estimated on 10,000 bins); its chi-squared
    alert is p < 0.05 in the chunk. (With one chunk the KS threshold is 0 and all alert.)"""
    import nannyml as nml

    def call(ref, cur):
        calculator = nml.UnivariateDriftCalculator(
            column_names=numeric + categorical,
            treat_as_categorical=categorical,
            continuous_methods=["kolmogorov_smirnov"],
            categorical_methods=["chi2"],
            chunk_number=10,
        )
        calculator.fit(ref)
        table = calculator.calculate(cur).filter(period="analysis").to_df()
        scores, flagged = {}, []
        for name in numeric + categorical:
            method = "kolmogorov_smirnov" if name in numeric else "chi2"
            scores[name] = float(table[(name, method, "value")].max())
            if bool(table[(name, method, "alert")].any()):
                flagged.append(name)
        return scores, flagged

    return call


RUNNERS = {"evidently": run_evidently, "alibi-detect": run_alibi, "nannyml": run_nannyml}
MODULES = {"evidently": "evidently", "alibi-detect": "alibi_detect", "nannyml": "nannyml"}


def main() -> int:
    library, path = sys.argv[1], sys.argv[2]
    if library == "nannyml":
        os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"  # no usage data sent
        import warnings

        warnings.simplefilter("ignore")  # "the resulting number of chunks is too low" on the warm-up
    reference, current, numeric, categorical = load_frames(path)
    call = RUNNERS[library](reference, current, numeric, categorical)
    call(reference.iloc[:2000], current.iloc[:2000])  # imports and first-call set-up, untimed
    start = time.perf_counter()
    scores, flagged = call(reference, current)
    seconds = time.perf_counter() - start
    module = __import__(MODULES[library])
    print(json.dumps({"library": library, "version": getattr(module, "__version__", "?"), "seconds": seconds,
                      "flagged": sorted(flagged), "scores": scores}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

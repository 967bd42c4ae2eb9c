"""Time course_lib.streams' detectors against river's, update by update, in the same run.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_streams.py [n]``). For each
detector it prints updates per second for course_lib and river over an n-element stream
(default 1,000,000; ``BENCH_STREAMS_N`` or the first argument sets a smaller n for a quick run)
and the ratio course_lib / river (above 1: course_lib is faster), from CPU time. KSWIN runs on
n / 200 elements, because river's KSWIN calls scipy's exact KS test at every element.

Before timing, each pair must agree on the detection indices of a 100,000-element prefix
(KSWIN: on its first detection, where the two are meant to agree), so a fast wrong answer
cannot pass. ADWIN is timed twice: ``update`` called per element (the loop above), and
``detect(ADWIN(), stream)`` on the whole float array (input checks included; building the
array, like building the list for the loops, is not timed), which uses ``ADWIN.update_many``
(numpy over blocks of checks, with exactly update()'s results; its detections are compared
with river's over the whole stream). The target of issue 11 is ADWIN at 1 million updates per second in CPython;
the last ADWIN line says which path meets it. On a loaded machine both libraries slow down
alike, so the ratio is the steadier number. The last lines time ADWIN on the first and the
last tenth of a long stationary stream, per element and in batches: its state grows only
with the logarithm of the window (the number of buckets), so the last tenth is about as fast
as the first.
"""

from __future__ import annotations

import os
import platform
import sys
import time

import numpy as np
from river import drift as river_drift
from river.drift import binary as river_binary

from course_lib import streams

TARGET_ADWIN_UPDATES_PER_SECOND = 1_000_000


def stream_length() -> int:
    raw = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_STREAMS_N", "1000000")
    n = int(float(raw))
    if n < 10_000:
        raise SystemExit(f"n must be at least 10,000 (got {n})")
    return n


def numeric_stream(n: int, seed: int = 0) -> list[float]:
    """Normal noise whose mean moves every n / 4 elements, so the detectors have work to do."""
    rng = np.random.default_rng(seed)
    means = np.repeat([0.0, 0.5, -0.5, 0.3], -(-n // 4))[:n]
    return (means + rng.normal(0.0, 1.0, n)).tolist()


def error_stream(n: int, seed: int = 1) -> list[int]:
    rng = np.random.default_rng(seed)
    rates = np.repeat([0.1, 0.2, 0.1, 0.3], -(-n // 4))[:n]
    return (rng.random(n) < rates).astype(int).tolist()


def run(detector, values) -> float:
    """CPU seconds to feed every value to ``detector.update`` (the same loop for both libraries).

    CPU time of this process rather than wall time: on a machine shared with other jobs, wall
    time charges one library for the other jobs' turns on the CPU.
    """
    update = detector.update
    start = time.process_time()
    for value in values:
        update(value)
    return time.process_time() - start


def indices_ours(detector, values) -> list[int]:
    return [index for index, value in enumerate(values) if detector.update(value)]


def indices_river(detector, values) -> list[int]:
    found = []
    for index, value in enumerate(values):
        detector.update(value)
        if detector.drift_detected:
            found.append(index)
    return found


def run_batch(values) -> tuple[float, list[int]]:
    """CPU seconds for ``detect(ADWIN(), values)`` (ADWIN.update_many) on a float array, and
    the detections."""
    detector = streams.ADWIN()
    start = time.process_time()
    found = streams.detect(detector, values)
    return time.process_time() - start, found


def main() -> None:
    n = stream_length()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; n = {n:,}")
    numbers, errors = numeric_stream(n), error_stream(n)
    kswin_n = max(2_000, n // 200)
    cases = [
        ("ADWIN", streams.ADWIN, river_drift.ADWIN, numbers, n),
        ("PageHinkley", streams.PageHinkley, river_drift.PageHinkley, numbers, n),
        ("DDM", streams.DDM, river_binary.DDM, errors, n),
        ("EDDM", streams.EDDM, river_binary.EDDM, errors, n),
        ("KSWIN", lambda: streams.KSWIN(seed=1), lambda: river_drift.KSWIN(seed=1), numbers, kswin_n),
    ]
    rates = {}
    for name, ours, theirs, values, length in cases:
        prefix = values[: min(100_000, length)]
        mine, river = indices_ours(ours(), prefix), indices_river(theirs(), prefix)
        agree = mine[:1] == river[:1] if name == "KSWIN" else mine == river
        assert agree, f"{name}: detections differ from river's: {mine[:5]} vs {river[:5]}"
        data = values[:length]
        ours_time, river_time = run(ours(), data), run(theirs(), data)
        ours_rate, river_rate = length / ours_time, length / river_time
        label = "ADWIN update" if name == "ADWIN" else name
        rates[label] = ours_rate
        print(
            f"{label:<13}{length:>10,} updates   course_lib {ours_rate:>11,.0f} /s   river {river_rate:>11,.0f} /s   "
            f"ratio {ours_rate / river_rate:5.2f}x   ({len(mine)} detections in the checked prefix, same as river)"
        )
        if name == "ADWIN":
            # The batch path on the same stream, against river's update loop timed just above;
            # its detections are checked against river's over the whole stream.
            batch_time, batch = run_batch(np.asarray(data))
            everywhere = indices_river(theirs(), data)
            assert batch == everywhere, f"ADWIN detect: detections differ from river's: {batch[:5]} vs {everywhere[:5]}"
            batch_rate = length / batch_time
            rates["ADWIN detect"] = batch_rate
            print(
                f"{'ADWIN detect':<13}{length:>10,} updates   course_lib {batch_rate:>11,.0f} /s   river {river_rate:>11,.0f} /s   "
                f"ratio {batch_rate / river_rate:5.2f}x   (update_many; {len(batch)} detections in the whole stream, same as river)"
            )
    target = TARGET_ADWIN_UPDATES_PER_SECOND
    paths = [path for path in ("ADWIN update", "ADWIN detect") if rates[path] >= target]
    print(
        f"ADWIN target >= {target / 1e6:.0f} M updates/s: per element {rates['ADWIN update']:,.0f} /s, "
        f"detect {rates['ADWIN detect']:,.0f} /s: "
        + (f"target met by {' and '.join(paths)}" if paths else "TARGET MISSED (compare the ratios: the machine may be loaded)")
    )

    # Bounded state: the last tenth of a long stationary stream is as fast as the first.
    stationary = np.random.default_rng(2).random(n)
    tenth = n // 10
    for how in ("per element", "update_many"):
        detector = streams.ADWIN()
        feed = (lambda part: run(detector, part.tolist())) if how == "per element" else (lambda part: timed_many(detector, part))
        first = feed(stationary[:tenth])
        early_buckets = detector.n_buckets
        feed(stationary[tenth:-tenth])
        last = feed(stationary[-tenth:])
        print(
            f"ADWIN {how:<12} on a stationary stream: first tenth {tenth / first:>11,.0f} /s ({early_buckets} buckets), "
            f"last tenth {tenth / last:>11,.0f} /s ({detector.n_buckets} buckets for a window of {detector.width:,})"
        )


def timed_many(detector, values) -> float:
    start = time.process_time()
    detector.update_many(values)
    return time.process_time() - start


if __name__ == "__main__":
    main()

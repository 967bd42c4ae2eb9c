"""Timing shared by the benchmark scripts (``make bench`` runs them from this folder).

Each script checks first that course_lib agrees with the tool it is timed against, then times
both with :func:`best_of` in the same run and prints the ratio, so machine noise affects both.
"""

from __future__ import annotations

import time
from typing import Any, Callable


def best_of(function: Callable[[], Any], repeats: int, *, clock: Callable[[], float] = time.perf_counter) -> tuple[float, Any]:
    """Best time of ``repeats`` calls of ``function`` (measured with ``clock``), and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = clock()
        result = function()
        times.append(clock() - start)
    return min(times), result

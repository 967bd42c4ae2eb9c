"""Change detectors on a stream: has the mean of what I am watching moved?

Lesson 03 watches two kinds of stream. A stream of numbers (a feature, a score, a loss) goes to
:class:`ADWIN`, :class:`PageHinkley` or :class:`KSWIN`; a stream of 0/1 errors (1 when the model
was wrong) goes to :class:`DDM` or :class:`EDDM`, which assume a Bernoulli error rate.

Every detector has the same small interface, the one river uses:

* ``update(x) -> bool`` takes one element and returns True when a change is detected at it;
* ``drift_detected`` (and ``warning_detected`` for DDM and EDDM) tells the state after the last
  element;
* ``reset()`` forgets everything. After a detection the next ``update`` starts afresh by itself
  (KSWIN keeps its most recent ``stat_size`` elements, as its paper says).

Defaults equal river 0.26's, and ADWIN, Page-Hinkley, DDM and EDDM reproduce river's detection
indices exactly (the tests check it). :func:`detect` runs a detector over a whole stream;
:func:`evaluate_detector` measures delay, missed detections and false alarms over many streams.
For ADWIN, :func:`detect` goes through :meth:`ADWIN.update_many`, a batch path with exactly
``update``'s results that runs several times faster on long streams.

State stays bounded: ADWIN keeps O(log n) buckets for a window of n elements, KSWIN a window of
``window_size`` elements, the others a handful of numbers, so the cost per element does not grow
with the stream (ADWIN's grows with the logarithm of its window). The hot paths use plain Python
floats (no numpy per element), so they run in Pyodide as they do in CPython.

Examples
--------
>>> import numpy as np
>>> from course_lib import streams
>>> rng = np.random.default_rng(0)
>>> stream = np.concatenate([rng.normal(0.0, 1.0, 1000), rng.normal(1.0, 1.0, 1000)])
>>> streams.detect(streams.ADWIN(), stream)
[1055]
>>> streams.detect(streams.PageHinkley(), stream)  # the second alarm is a false one
[1048, 1922]
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from functools import reduce
from itertools import chain
from itertools import repeat as _repeat
from operator import add as _add
from operator import mul as _mul
from operator import sub as _sub
from typing import Any, Callable, Iterable

import numpy as np

from course_lib.validation import check_choice, check_int, check_number, check_probability

__all__ = [
    "DriftDetector",
    "ADWIN",
    "PageHinkley",
    "DDM",
    "EDDM",
    "KSWIN",
    "DetectorScore",
    "detect",
    "evaluate_detector",
    "page_hinkley_statistic",
]

_INF = math.inf
_EPS = 2.0**-52  # spacing of floats near 1 (twice the unit roundoff)
_BUCKET_SIZES = tuple(float(1 << row) for row in range(128))  # elements per bucket of each ADWIN row


def _as_real(x: Any) -> float:
    """``x`` as a float for a detector's update (the slow path: x is not already a float)."""
    if isinstance(x, (str, bytes)) or x is None or isinstance(x, complex):
        raise TypeError(f"x must be a real number; got {type(x).__name__} {x!r}")
    try:
        return float(x)
    except (TypeError, ValueError):
        raise TypeError(f"x must be a real number; got {type(x).__name__} {x!r}") from None


def _checked_real(x: Any) -> float:
    """``x`` as a finite float, or the error ``update`` raises for it."""
    if x.__class__ is not float:
        x = _as_real(x)
    if x - x:  # NaN or infinite
        raise _not_finite(x)
    return x


def _not_finite(x: float) -> ValueError:
    return ValueError(f"x must be a finite number; got {x!r} (drop or impute missing values first)")


def _not_binary(x: Any) -> ValueError:
    return ValueError(f"x must be 0 (correct) or 1 (error) for an error-rate detector; got {x!r}")


class DriftDetector:
    """The interface every detector of this module shares (see the module docstring)."""

    __slots__ = ("drift_detected",)

    #: Whether the detector takes a 0/1 error stream (DDM, EDDM) rather than any numbers.
    binary = False

    def update(self, x: float) -> bool:  # pragma: no cover - overridden
        """Take one element; return True when a change is detected at it."""
        raise NotImplementedError

    def reset(self) -> None:  # pragma: no cover - overridden
        """Forget everything seen so far."""
        raise NotImplementedError

    def _parameters(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={value!r}" for name, value in self._parameters().items())
        return f"{type(self).__name__}({arguments})"


# ------------------------------------------------------------------------------------- ADWIN


class ADWIN(DriftDetector):
    """ADaptive WINdowing: drop old data while the window's two halves have different means.

    ADWIN keeps a window of recent elements, compressed into an exponential histogram (row ``i``
    holds up to ``max_buckets`` buckets that each summarise ``2**i`` elements by their sum and
    variance). Every ``clock`` elements it tries each bucket boundary as a cut into an older part
    W0 and a newer part W1, and drops the oldest bucket while some cut has

        |mean(W0) - mean(W1)| > sqrt(2 m var(W) d') + 2/3 d' m,

    where m = 1/(n0 - L + 1) + 1/(n1 - L + 1), L = ``min_window_length`` and
    d' = ln(2 ln(|W|) / delta). A change is reported when anything was dropped.

    :meth:`update_many` takes a whole sequence at once, with exactly the results of calling
    :meth:`update` on each element, several times faster (:func:`detect` uses it).

    Parameters
    ----------
    delta : float, default 0.002
        Confidence of the cut test, strictly between 0 and 1; smaller means fewer false alarms
        and later detections.
    clock : int, default 32
        Check for a change every ``clock`` elements (1 checks at every element).
    max_buckets : int, default 5
        Buckets of each size kept before the two oldest are merged; at least 2 (with 1, a row
        can empty between two others, and river's ADWIN fails on it).
    min_window_length : int, default 5
        Neither part of a cut may hold fewer elements than this.
    grace_period : int, default 10
        No check until the window holds more than this many elements.

    Attributes
    ----------
    drift_detected : bool
    width : int
        Elements in the current window.
    estimation : float
        Mean of the window (0.0 when empty).
    variance : float
        Variance of the window (population, divided by ``width``). river's ``ADWIN.variance``
        returns the sum of squared deviations instead, ``width`` times larger.
    n_buckets : int
        Buckets currently stored: O(``max_buckets`` * log2(width)).
    n_detections : int
        Changes detected since the detector was created.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(12345)
    >>> adwin = ADWIN()
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> [i for i, x in enumerate(stream) if adwin.update(x)]
    [1023]

    References
    ----------
    Bifet, A. and Gavalda, R. (2007). Learning from time-changing data with adaptive windowing.
    Proceedings of the 2007 SIAM International Conference on Data Mining, 443-448.
    """

    __slots__ = (
        "delta", "clock", "max_buckets", "min_window_length", "grace_period", "n_detections",
        "_row0", "_due", "_folded", "_step", "_to_check", "_width", "_total", "_sq", "_totals",
        "_variances", "_abs_sum", "_ordinary",
    )  # fmt: skip

    #: Pending single elements are merged into buckets at least this often, so that a long
    #: ``clock`` cannot make row 0 grow without bound.
    _SETTLE_EVERY = 256
    #: update_many() hands shorter sequences to the element-by-element path (numpy's fixed
    #: cost per block would dominate), and works on blocks of at most _CHECKS_PER_BLOCK checks
    #: and _BLOCK_ELEMENTS elements (a long clock must not make the numpy arrays huge).
    _BATCH_MINIMUM = 256
    _CHECKS_PER_BLOCK = 1024
    _BLOCK_ELEMENTS = 1 << 18

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        self.delta = check_probability(delta, "delta")
        self.clock = check_int(clock, "clock", minimum=1)
        self.max_buckets = check_int(max_buckets, "max_buckets", minimum=2)
        self.min_window_length = check_int(min_window_length, "min_window_length", minimum=1)
        self.grace_period = check_int(grace_period, "grace_period", minimum=0)
        self.n_detections = 0
        self.reset()

    def _parameters(self) -> dict[str, Any]:
        return {
            "delta": self.delta, "clock": self.clock, "max_buckets": self.max_buckets,
            "min_window_length": self.min_window_length, "grace_period": self.grace_period,
        }  # fmt: skip

    def reset(self) -> None:
        """Empty the window (``n_detections`` is kept)."""
        self.drift_detected = False
        self._width = 0.0
        self._total = 0.0
        self._sq = 0.0  # sum of squared deviations from the window's mean
        self._abs_sum = 0.0  # sum of |x| since the reset: bounds the rounding of the cut screen
        self._ordinary = True  # every element so far is 0 or of a magnitude in [1e-100, 1e100]
        self._to_check = self.clock
        # _totals[i] and _variances[i] hold the sums and squared-deviation sums of the buckets of
        # 2**i elements, oldest first. Row 0 buckets are single elements (variance 0), so that
        # row keeps no variance list. update() only appends to row 0: the elements from index
        # _folded on are not yet in _width, _total and _sq, and when row 0 reaches _due elements
        # _scheduled() folds them in, merges full rows and, every ``clock`` elements, checks.
        self._row0 = []
        self._totals = [self._row0]
        self._variances = [None]
        self._folded = 0
        self._step = self._due = min(self.clock, self._SETTLE_EVERY)

    @property
    def width(self) -> int:
        self._fold()
        return int(self._width)

    @property
    def estimation(self) -> float:
        self._fold()
        return self._total / self._width if self._width else 0.0

    @property
    def variance(self) -> float:
        self._fold()
        return self._sq / self._width if self._width else 0.0

    @property
    def n_buckets(self) -> int:
        self._catch_up()
        return sum(len(row) for row in self._totals)

    def update(self, x: float) -> bool:
        """Add ``x`` to the window; return True when the window was cut (a change)."""
        if x.__class__ is not float or x - x:  # x - x: NaN or infinite
            x = _checked_real(x)
        # Only an append per element: the running sums are brought up to date every few
        # elements, in one loop (_fold), which is cheaper than six attribute writes each time.
        row0 = self._row0
        row0.append(x)
        if len(row0) < self._due:
            return False
        return self._scheduled()

    def _detect_all(self, values: list) -> list[int]:
        """:func:`detect`'s loop for ADWIN: :meth:`update` over a list of checked floats, a slice
        at a time (same state, same results, without a method call per element)."""
        found: list[int] = []
        start, stop_all = 0, len(values)
        while start < stop_all:
            if self.drift_detected:  # what update() does with the element after a detection
                self.reset()
            row0 = self._row0
            stop = start + self._due - len(row0)
            row0 += values[start:stop]
            if stop > stop_all:
                break
            start = stop
            if self._scheduled():
                found.append(stop - 1)
        return found

    def update_many(self, values: Iterable[float]) -> list[int]:
        """Add a whole sequence of elements; return the positions at which a change was detected.

        The result and the detector's state afterwards are exactly those of calling
        :meth:`update` on each element in turn (``[i for i, x in enumerate(values) if
        adwin.update(x)]``), detections, fresh windows after them and all, but much faster on
        long sequences: the running sums, the bucket merges and river's cut test run as numpy
        operations over blocks of up to 1,024 checks, with the same floating-point operations
        in the same order as element by element, and river's exact test, in Python, decides
        every check the numpy test flags.

        Parameters
        ----------
        values : array_like
            1-D, finite numbers (booleans are read as 0/1).

        Returns
        -------
        list of int
            0-based positions in ``values`` of the elements at which a change was detected.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> stream = np.concatenate([rng.normal(0.0, 1.0, 1000), rng.normal(1.0, 1.0, 1000)])
        >>> adwin = ADWIN()
        >>> adwin.update_many(stream[:1500])
        [1055]
        >>> adwin.width  # the window holds the new concept only
        444
        >>> adwin.update_many(stream[1500:])  # carries on where it stopped
        []
        >>> adwin.width
        944
        """
        return self._update_array(_stream_array(values, self, "values"))

    def _update_array(self, array: np.ndarray) -> list[int]:
        """:meth:`update_many` on a checked float64 array."""
        if len(array) < self._BATCH_MINIMUM:
            return self._detect_all(array.tolist())
        found: list[int] = []
        start, stop_all = 0, len(array)
        while start < stop_all:
            if self.drift_detected:  # what update() does with the element after a detection
                self.reset()
            self._catch_up()
            stop = min(stop_all, start + min(self.clock * self._CHECKS_PER_BLOCK, self._BLOCK_ELEMENTS))
            detected_at = self._update_block(array[start:stop])
            if detected_at is None:
                start = stop
            else:
                found.append(start + detected_at)
                start += detected_at + 1
        return found

    def _update_block(self, x: np.ndarray) -> int | None:
        """:meth:`update_many` on one block, from a caught-up state without deletions (a window
        is only ever cut at a detection, and the next element resets it).

        Between detections the window is every element since the reset, so everything the
        element-by-element path computes has a closed form in numpy:

        * width, sum and sum of squared deviations after each element: the fold's recurrences,
          as ``np.add.accumulate`` (a strictly sequential loop, so it rounds as the Python loop);
        * the buckets: merges always take the two oldest buckets of a row, so the buckets of
          size ``2**(k+1)`` are the pairwise merges of row k's queue (its buckets at the start
          of the block, then the merges arriving from row k-1), and the number of merges out
          of a row that has received s buckets is 0 for s <= max_buckets and
          ``(s - max_buckets + 1) // 2`` after, which gives every row at any element;
        * river's cut test at every check of the block at once (:meth:`_cuts_at`), on a matrix
          of the buckets (one row per check, oldest bucket first), with running sums along the
          rows; it may flag a check river would not cut, never miss one it would.

        Each check the numpy test flags, in order, is handed to :meth:`_cut` on the state rebuilt
        at that element: river's exact test decides, and drops buckets as :meth:`update` would.
        Returns the position of the detection in ``x``, or None (then the state is the one after
        the whole block).
        """
        width0 = int(self._width)
        with np.errstate(all="ignore"):  # as in river: sums may overflow, cells outside a cut divide by 0
            checks, totals, squares, queues, queue_variances = self._block_arrays(x)
            hits = self._cuts_at(checks, width0, totals, squares, queues) if len(checks) else checks
        if len(checks):
            for check in checks[hits].tolist():
                self._rebuild(check, width0, x, totals, squares, queues, queue_variances)
                if self._cut():
                    self.drift_detected = True
                    self.n_detections += 1
                    self._due = 0  # the next update() starts a fresh window
                    return check - width0 - 1
        self._rebuild(width0 + len(x), width0, x, totals, squares, queues, queue_variances)
        return None

    def _block_arrays(self, x: np.ndarray) -> tuple:
        """The checks in block ``x``, and the window's sums and the rows' queues after each of
        its elements (see :meth:`_update_block`)."""
        width0, count = int(self._width), len(x)
        total0, limit = self._total, self.max_buckets
        # The fold: sums after each element, in the Python loop's order of operations.
        widths_before = np.arange(width0, width0 + count, dtype=np.float64)
        totals = np.add.accumulate(np.concatenate(([total0], x)))
        deviations = x - totals[:-1] / widths_before  # the first element of a window adds no term
        terms = widths_before * deviations * deviations / (widths_before + 1.0)
        if width0 == 0:
            terms = terms[1:]
        squares = np.add.accumulate(np.concatenate(([self._sq], terms)))
        totals, squares = totals[1:], squares[-count:]

        # Row k's queue: its buckets at the start, then those merged from row k-1's queue.
        rows, row_variances = self._totals, self._variances
        queues = [np.concatenate((np.array(rows[0], dtype=np.float64), x))]
        queue_variances: list = [None]
        level = 0
        while True:
            queue = queues[level]
            merges = _merges_out(len(queue), limit)
            if not merges and level + 1 >= len(rows):
                break
            first, second = queue[0 : 2 * merges : 2], queue[1 : 2 * merges : 2]
            size = float(1 << level)
            gaps = first / size - second / size
            variances = (size * 0.5 * gaps) * gaps
            if level:
                variances = (queue_variances[level][0 : 2 * merges : 2] + queue_variances[level][1 : 2 * merges : 2]) + variances
            old = level + 1 < len(rows)
            queues.append(np.concatenate((np.array(rows[level + 1], dtype=np.float64), first + second)) if old else first + second)
            queue_variances.append(np.concatenate((np.array(row_variances[level + 1], dtype=np.float64), variances)) if old else variances)
            level += 1

        # The checks of the block: every clock-th element since the reset, past the grace
        # period, with room for min_window_length on both sides of a cut.
        clock, shortest = self.clock, self.min_window_length
        first_check = max(width0 // clock + 1, -(-max(self.grace_period + 1, 2 * shortest) // clock)) * clock
        checks = np.arange(first_check, width0 + count + 1, clock)
        return checks, totals, squares, queues, queue_variances

    def _cuts_at(self, checks: np.ndarray, width0: int, totals: np.ndarray, squares: np.ndarray, queues: list) -> np.ndarray:
        """For each check, whether river's cut test may pass at some boundary (a boolean array).

        River's test in river's order of operations (see :meth:`_row_differs`), one check per
        row of a matrix of buckets, oldest first, with d' computed by numpy's log and lowered by
        1e-9 of itself: the bound can only come out lower than river's, so no cut river would
        make is missed, and :meth:`_cut` decides each flagged check exactly.
        """
        limit, n_rows = self.max_buckets, len(queues)
        received = len(self._totals[0]) + (checks - width0)
        starts, counts = [], []
        for level in range(n_rows):
            merges = np.where(received > limit, (received - limit + 1) // 2, 0)
            starts.append(2 * merges)
            counts.append(received - 2 * merges)
            if level + 1 < n_rows:
                received = (len(self._totals[level + 1]) if level + 1 < len(self._totals) else 0) + merges
        widths = [int(count.max()) for count in counts]
        at = checks - width0 - 1
        # Column 0 holds the window's sum (river's u1 starts from it), then the buckets.
        buckets = np.empty((len(checks), 1 + sum(widths)))
        buckets[:, 0] = totals[at]
        n0 = np.empty((len(checks), sum(widths)))
        present = np.empty((len(checks), sum(widths)), dtype=bool)
        column = 0
        for level in range(n_rows - 1, -1, -1):  # oldest buckets first, as river scans
            columns = widths[level]
            if not columns:
                continue
            offsets = np.arange(columns)
            here = present[:, column : column + columns]
            np.less(offsets, counts[level][:, None], out=here)
            queue = queues[level]
            where = np.minimum(starts[level][:, None] + offsets, len(queue) - 1)
            # An absent bucket adds 0 to the running sums and 0 elements to W0.
            buckets[:, 1 + column : 1 + column + columns] = np.where(here, queue[where], 0.0)
            np.multiply(here, float(1 << level), out=n0[:, column : column + columns])
            column += columns
        np.cumsum(n0, axis=1, out=n0)
        u1 = np.subtract.accumulate(buckets, axis=1)[:, 1:]
        u0 = np.cumsum(buckets[:, 1:], axis=1)
        widths_column = checks.astype(np.float64)[:, None]
        n1 = widths_column - n0
        shortest = self.min_window_length
        cuttable = present & (n0 >= shortest) & (n1 >= shortest)
        variances = squares[at] / checks
        delta_primes = np.log(2.0 * np.log(checks.astype(np.float64)) / self.delta) * (1.0 - 1e-9)
        offset = shortest - 1.0
        gaps = u0 / n0 - u1 / n1
        m = 1.0 / (n0 - offset) + 1.0 / (n1 - offset)
        bounds = np.sqrt(2.0 * m * variances[:, None] * delta_primes[:, None]) + (2.0 / 3.0 * delta_primes)[:, None] * m
        return (cuttable & (np.abs(gaps) > bounds)).any(axis=1)

    def _rebuild(self, width: int, width0: int, x: np.ndarray, totals, squares, queues, queue_variances) -> None:
        """Set the state to the one after the element that makes the window ``width`` long."""
        limit, taken = self.max_buckets, width - width0
        received = len(self._totals[0]) + taken
        new_totals, new_variances = [], []
        for level, queue in enumerate(queues):
            merges = _merges_out(received, limit)
            start = 2 * merges
            new_totals.append(queue[start:received].tolist())
            new_variances.append(queue_variances[level][start:received].tolist() if level else None)
            if level + 1 < len(queues):
                received = (len(self._totals[level + 1]) if level + 1 < len(self._totals) else 0) + merges
        while len(new_totals) > 1 and not new_totals[-1]:
            new_totals.pop()
            new_variances.pop()
        taken_values = x[:taken]
        magnitudes = np.abs(taken_values)
        with np.errstate(over="ignore"):  # an infinite sum, as Python's sum() gives
            self._abs_sum += float(magnitudes.sum())
        nonzero = magnitudes[magnitudes > 0.0]
        if magnitudes.max() > 1e100 or (nonzero.size and nonzero.min() < 1e-100):
            self._ordinary = False
        self._totals, self._variances = new_totals, new_variances
        self._row0 = new_totals[0]
        self._folded = len(self._row0)
        self._width, self._total, self._sq = float(width), float(totals[taken - 1]), float(squares[taken - 1])
        self._to_check = self.clock - width % self.clock
        self._step = min(self._to_check, self._SETTLE_EVERY)
        self._due = len(self._row0) + self._step

    def _scheduled(self) -> bool:
        """Row 0 is due: fold, merge and, every ``clock`` elements, check."""
        if self.drift_detected:  # the element just appended opens a fresh window
            x = self._row0[-1]
            self.reset()
            self._row0.append(x)
            if len(self._row0) < self._due:
                return False
        self._catch_up()
        to_check = self._to_check - self._step
        check = not to_check
        if check:
            to_check = self.clock
        self._to_check = to_check
        self._step = step = min(to_check, self._SETTLE_EVERY)
        if check and self._width > self.grace_period and self._cut():
            self.drift_detected = True
            self.n_detections += 1
            self._due = 0  # the next update() comes here and starts a fresh window
            return True
        self._due = len(self._row0) + step
        return False

    def _fold(self) -> None:
        """Add the pending elements of row 0 to the window's width, sum and sum of squares.

        The arithmetic and its order follow river's ADWIN, element by element, so both round
        alike and agree on every detection index.
        """
        row0 = self._row0
        start = self._folded
        if start == len(row0):
            return
        values = row0[start:]
        pending = iter(values)
        width, total, sq = self._width, self._total, self._sq
        if not width:
            total += next(pending)
            width = 1.0
        for x in pending:
            deviation = x - total / width
            grown = width + 1.0
            sq += width * deviation * deviation / grown
            width = grown
            total += x
        self._width, self._total, self._sq = width, total, sq
        magnitudes = list(map(abs, values))
        self._abs_sum += sum(magnitudes)
        # Ordinary magnitudes (0 or between 1e-100 and 1e100) keep every bucket sum a multiple of
        # a float above 1e-116 and below 1e120, so no merge step is subnormal or overflows.
        if max(magnitudes) > 1e100 or min(filter(None, magnitudes), default=1.0) < 1e-100:
            self._ordinary = False
        self._folded = len(row0)

    def _catch_up(self) -> None:
        """Fold the pending elements and merge full rows, keeping the next due point in step."""
        self._fold()
        row0 = self._row0
        before = len(row0)
        self._settle()
        self._due -= before - len(row0)
        self._folded = len(row0)

    def _settle(self) -> None:
        """Merge the two oldest buckets of a row while it holds more than ``max_buckets``.

        Merging lazily, a whole row at a time, gives the same buckets (and the same rounding)
        as merging after every element: a merge always takes the two oldest buckets of a row,
        so the pairs do not depend on when the merge runs. The cut test sees settled rows only.
        """
        totals, variances, limit = self._totals, self._variances, self.max_buckets
        row = totals[0]
        if len(row) <= limit:
            return
        pairs = 2 * ((len(row) - limit + 1) // 2)
        first, second = row[0:pairs:2], row[1:pairs:2]
        del row[:pairs]
        merged = list(map(_add, first, second))
        gaps = list(map(_sub, first, second))
        merged_variances = list(map(_mul, map(_mul, _repeat(0.5), gaps), gaps))  # 0.5 * gap * gap
        index, size = 1, 1.0
        while True:
            if index == len(totals):
                totals.append([])
                variances.append([])
            row, row_variances = totals[index], variances[index]
            row += merged
            row_variances += merged_variances
            if len(row) <= limit:
                return
            size *= 2.0
            half = size * 0.5  # exact, so half * gap * gap rounds as river's size * 0.5 * gap * gap
            if len(row) <= limit + 2:  # one merge, the usual case above the first rows
                a, b = row[0], row[1]
                del row[:2]
                gap = a / size - b / size
                merged = [a + b]
                merged_variances = [row_variances[0] + row_variances[1] + half * gap * gap]
                del row_variances[:2]
            else:
                pairs = 2 * ((len(row) - limit + 1) // 2)
                first, second = row[0:pairs:2], row[1:pairs:2]
                first_v, second_v = row_variances[0:pairs:2], row_variances[1:pairs:2]
                del row[:pairs], row_variances[:pairs]
                merged = list(map(_add, first, second))
                if self._ordinary:
                    # Here a / size - b / size is exactly (a - b) / size and half * gap * gap is
                    # exactly (a - b)**2 * (0.5 / size), as size is a power of 2 and no step
                    # can underflow or overflow (see _fold): the same floats, without a loop.
                    gaps = list(map(_sub, first, second))
                    merged_variances = list(map(
                        _add, map(_add, first_v, second_v), map(_mul, map(_mul, gaps, gaps), _repeat(0.5 / size))
                    ))  # fmt: skip
                else:
                    merged_variances = [
                        va + vb + half * (gap := a / size - b / size) * gap
                        for a, b, va, vb in zip(first, second, first_v, second_v)
                    ]
            index += 1

    def _cut(self) -> bool:
        """Drop the oldest bucket while some cut separates two different means."""
        dropped = False
        while self._some_cut_differs():
            dropped = True
            self._drop_oldest()
        return dropped

    def _some_cut_differs(self) -> bool:
        """Whether any boundary between buckets splits the window into two different means.

        A cheap screen runs first and river's exact test, in river's arithmetic, only where the
        screen cannot rule a cut out. With u0 the sum and n0 the length of W0, mu the window's
        mean and D = u0 - mu n0, the gap between the means is D |W| / (n0 n1), and as
        m >= 1/n0 + 1/n1 = |W| / (n0 n1), a cut needs

            |D| > threshold * n0 n1 / |W| >= sqrt(2 var(W) d' n0 n1 / |W|) + 2/3 d'.

        The right side is smallest at one of the row's end cuts (n0 n1 is concave), so each cut
        costs one running sum and a comparison with a bound per row. The bound is lowered by
        1e-9 of itself and by a rounding allowance (a few float spacings times the number of
        buckets times the sum of |x| over the window), so the screen never rejects a cut the
        exact test would accept.
        """
        limit = self.min_window_length
        width = self._width
        if width < 2 * limit:  # no cut can leave min_window_length on both sides
            return False
        variance = self._sq / width
        if variance < 0.0:  # rounding after deletions; river's sqrt gives NaN and no cut
            return False
        delta_prime = math.log(2.0 * math.log(width) / self.delta)
        two_thirds = 2.0 / 3.0 * delta_prime
        totals = self._totals
        mean = self._total / width
        per_product = 2.0 * variance * delta_prime / width
        allowance = 16.0 * _EPS * (sum(map(len, totals)) + 4) * self._abs_sum
        last_n0 = width - limit
        sqrt = math.sqrt
        n0 = deviation = 0.0  # W0 grows from the oldest bucket, as in river
        for index in range(len(totals) - 1, -1, -1):
            row = totals[index]
            size = _BUCKET_SIZES[index]
            # The newest element is never a cut on its own: stop before it. A cut with more
            # than last_n0 elements in W0 ends the scan (W1 would be too short), as in river.
            count = len(row) if index else len(row) - 1
            last = n0 + size * count
            last_row = last > last_n0
            if last_row:
                count = int((last_n0 - n0) // size)
                last = n0 + size * count
            if count > 0:
                first = n0 + size
                product = first * (width - first)
                if last * (width - last) < product:
                    product = last * (width - last)
                bound = (sqrt(per_product * product) + two_thirds) * (1.0 - 1e-9) - allowance
                shift = mean * size
                d = deviation
                for bucket_total in row if count == len(row) else row[:count]:
                    d += bucket_total - shift
                    if d > bound or d < -bound:
                        break
                else:
                    deviation, n0 = d, last
                    if last_row:
                        return False
                    continue
                found, u0 = self._row_differs(index, count, n0, variance, delta_prime)
                if found:
                    return True
                n0 = last
                deviation = u0 - mean * n0
            if last_row:
                return False
        return False

    def _row_differs(self, index: int, count: int, n0: float, variance: float, delta_prime: float) -> tuple:
        """River's exact test on the first ``count`` cuts of row ``index`` (W0 holds n0 elements
        before it): (whether a cut passes, u0 after the last of them)."""
        totals, limit, width = self._totals, self.min_window_length, self._width
        older = list(chain.from_iterable(totals[len(totals) - 1 : index : -1]))
        u0 = reduce(_add, older, 0.0)  # river's running sums, in river's order
        u1 = reduce(_sub, older, self._total)
        size, offset, two_thirds = float(1 << index), limit - 1.0, 2.0 / 3.0 * delta_prime
        for bucket_total in totals[index][:count]:
            n0 += size
            u0 += bucket_total
            u1 -= bucket_total
            if n0 >= limit:
                n1 = width - n0
                gap = u0 / n0 - u1 / n1
                m = 1.0 / (n0 - offset) + 1.0 / (n1 - offset)
                if abs(gap) > math.sqrt(2.0 * m * variance * delta_prime) + two_thirds * m:
                    return True, u0
        return False, u0

    def _drop_oldest(self) -> None:
        last = len(self._totals) - 1
        row = self._totals[last]
        size = float(1 << last)
        bucket_total = row.pop(0)
        bucket_variance = self._variances[last].pop(0) if last else 0.0
        self._width -= size
        self._total -= bucket_total
        width = self._width
        gap = bucket_total / size - self._total / width
        self._sq -= bucket_variance + size * width * gap * gap / (size + width)
        if not row and last:
            self._totals.pop()
            self._variances.pop()


def _merges_out(received: int, max_buckets: int) -> int:
    """Merges out of an ADWIN row that has received ``received`` buckets one at a time (a merge
    of its two oldest whenever it holds more than ``max_buckets``)."""
    return (received - max_buckets + 1) // 2 if received > max_buckets else 0


# -------------------------------------------------------------------------------- PageHinkley

PAGE_HINKLEY_MODES = ("up", "down", "both")


class PageHinkley(DriftDetector):
    """Page-Hinkley test: a cumulative sum of deviations from the running mean.

    With the running mean x̄_t, the detector keeps ``U_t = alpha U_{t-1} + (x_t - x̄_t) - delta``
    and its minimum (for an increase), and ``D_t = alpha D_{t-1} + (x_t - x̄_t) + delta`` and its
    maximum (for a decrease); a change is reported once at least ``min_instances`` elements were
    seen and ``U_t - min U > threshold`` (or ``max D - D_t > threshold``).

    Parameters
    ----------
    min_instances : int, default 30
        Elements seen before any detection.
    delta : float, default 0.005
        Magnitude of change tolerated: deviations smaller than ``delta`` never accumulate.
    threshold : float, default 50
        The detection threshold (lambda): higher means fewer false alarms, later detections.
    alpha : float, default 1 - 0.0001
        Forgetting factor of the cumulative sums, in (0, 1]; 1 forgets nothing.
    mode : {"both", "up", "down"}
        Detect increases, decreases, or both.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(12345)
    >>> ph = PageHinkley()
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> [i for i, x in enumerate(stream) if ph.update(x)]
    [1006]

    References
    ----------
    Page, E. S. (1954). Continuous inspection schemes. Biometrika 41(1/2), 100-115.
    Sebastiao, R. and Fernandes, J. M. (2017). Supporting the Page-Hinkley test with empirical
    mode decomposition for change detection. ISMIS 2017, 492-498.
    """

    __slots__ = (
        "min_instances", "delta", "threshold", "alpha", "mode",
        "_n", "_mean", "_up", "_down", "_min_up", "_max_down", "_watch_up", "_watch_down",
    )  # fmt: skip

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ) -> None:
        self.min_instances = check_int(min_instances, "min_instances", minimum=1)
        self.delta = check_number(delta, "delta", minimum=0)
        self.threshold = check_number(threshold, "threshold", minimum=0, strict=True)
        self.alpha = check_number(alpha, "alpha", minimum=0, strict=True, maximum=1)
        self.mode = check_choice(mode, "mode", PAGE_HINKLEY_MODES)
        self._watch_up = mode != "down"
        self._watch_down = mode != "up"
        self.reset()

    def _parameters(self) -> dict[str, Any]:
        return {
            "min_instances": self.min_instances, "delta": self.delta, "threshold": self.threshold,
            "alpha": self.alpha, "mode": self.mode,
        }  # fmt: skip

    def reset(self) -> None:
        """Forget the mean and both cumulative sums."""
        self.drift_detected = False
        self._n = 0.0
        self._mean = 0.0
        self._up = 0.0
        self._down = 0.0
        self._min_up = _INF
        self._max_down = -_INF

    @property
    def statistic(self) -> float:
        """The larger of the two test statistics after the last element (0 before any)."""
        up = self._up - self._min_up if self._watch_up and self._n else 0.0
        down = self._max_down - self._down if self._watch_down and self._n else 0.0
        return max(up, down)

    def update(self, x: float) -> bool:
        """Add ``x``; return True when the cumulative deviation passes the threshold."""
        if x.__class__ is not float:
            x = _as_real(x)
        if x - x:
            raise _not_finite(x)
        if self.drift_detected:
            self.reset()
        n = self._n + 1.0
        self._n = n
        mean = self._mean
        mean += (1.0 / n) * (x - mean)  # river's running mean, rounding included
        self._mean = mean
        deviation = x - mean
        up = self.alpha * self._up + deviation - self.delta
        down = self.alpha * self._down + deviation + self.delta
        self._up, self._down = up, down
        if up < self._min_up:
            self._min_up = up
        if down > self._max_down:
            self._max_down = down
        if n < self.min_instances:
            return False
        threshold = self.threshold
        if (self._watch_up and up - self._min_up > threshold) or (
            self._watch_down and self._max_down - down > threshold
        ):
            self.drift_detected = True
            return True
        return False


def page_hinkley_statistic(stream: Iterable[float], delta: float = 0.005, alpha: float = 1 - 0.0001) -> np.ndarray:
    """Page-Hinkley's statistic for an increase, after each element of a stream.

    The statistic :class:`PageHinkley` compares with its threshold in mode "up", without the
    threshold and the restart: with the running mean x̄_t (including x_t),
    ``U_t = alpha * U_{t-1} + (x_t - x̄_t) - delta`` (U_0 = 0) and the statistic is
    ``U_t - min(U_1, ..., U_t)``.

    Parameters
    ----------
    stream : array_like
        1-D, finite numbers (may be empty).
    delta : float, default 0.005
    alpha : float, default 1 - 0.0001
        As in :class:`PageHinkley`.

    Returns
    -------
    numpy.ndarray
        One value per element, each >= 0.

    Examples
    --------
    >>> page_hinkley_statistic([1.0, 2.0, 3.0, 10.0, 10.0], delta=0.5, alpha=1.0)
    array([ 0. ,  0. ,  0.5,  6. , 10.3])
    """
    values = _stream_values(stream, None)
    delta = check_number(delta, "delta", minimum=0)
    alpha = check_number(alpha, "alpha", minimum=0, strict=True, maximum=1)
    statistic = np.empty(len(values))
    n = mean = cumulative = 0.0
    lowest = _INF
    for index, x in enumerate(values):
        n += 1.0
        mean += (1.0 / n) * (x - mean)
        cumulative = alpha * cumulative + (x - mean) - delta
        lowest = min(lowest, cumulative)
        statistic[index] = cumulative - lowest
    return statistic


# ---------------------------------------------------------------------------------- DDM, EDDM


class DDM(DriftDetector):
    """Drift Detection Method: has the error rate risen above its best level plus k sigma?

    With p_i the error rate after i elements and s_i = sqrt(p_i (1 - p_i) / i), DDM remembers
    the (p_min, s_min) where p_i + s_i was smallest, and after ``warm_start`` elements reports a
    warning when ``p_i + s_i > p_min + warning_threshold * s_min`` and a change when
    ``p_i + s_i > p_min + drift_threshold * s_min``.

    Parameters
    ----------
    warm_start : int, default 30
        Elements seen before any warning or detection.
    warning_threshold : float, default 2.0
    drift_threshold : float, default 3.0
        Must be at least ``warning_threshold``.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(42)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    >>> ddm = DDM()
    >>> [i for i, x in enumerate(stream) if ddm.update(x)]
    [1334]

    References
    ----------
    Gama, J., Medas, P., Castillo, G. and Rodrigues, P. (2004). Learning with drift detection.
    SBIA 2004, LNCS 3171, 286-295.
    """

    __slots__ = ("warm_start", "warning_threshold", "drift_threshold", "warning_detected",
                 "_n", "_p", "_p_min", "_s_min", "_ps_min")  # fmt: skip
    binary = True

    def __init__(self, warm_start: int = 30, warning_threshold: float = 2.0, drift_threshold: float = 3.0) -> None:
        self.warm_start = check_int(warm_start, "warm_start", minimum=0)
        self.warning_threshold = check_number(warning_threshold, "warning_threshold", minimum=0, strict=True)
        self.drift_threshold = check_number(drift_threshold, "drift_threshold", minimum=0, strict=True)
        if self.drift_threshold < self.warning_threshold:
            raise ValueError(
                f"drift_threshold ({drift_threshold!r}) must be at least warning_threshold ({warning_threshold!r})"
            )
        self.reset()

    def _parameters(self) -> dict[str, Any]:
        return {"warm_start": self.warm_start, "warning_threshold": self.warning_threshold,
                "drift_threshold": self.drift_threshold}  # fmt: skip

    def reset(self) -> None:
        """Forget the error rate and its minimum."""
        self.drift_detected = False
        self.warning_detected = False
        self._n = 0.0
        self._p = 0.0
        self._p_min = _INF
        self._s_min = _INF
        self._ps_min = _INF

    @property
    def error_rate(self) -> float:
        return self._p

    def update(self, x: float) -> bool:
        """Add one outcome (1 = error, 0 = correct); return True on a change."""
        if x != 0 and x != 1:
            raise _not_binary(x)
        if self.drift_detected:
            self.reset()
        n = self._n + 1.0
        self._n = n
        p = self._p
        p += (1.0 / n) * (x - p)
        self._p = p
        s = math.sqrt(p * (1 - p) / n)
        if n <= self.warm_start:
            return False
        level = p + s
        if level <= self._ps_min:
            self._p_min, self._s_min = p, s
            self._ps_min = p + s
        if level > self._p_min + self.drift_threshold * self._s_min:
            self.warning_detected = False
            self.drift_detected = True
            return True
        self.warning_detected = level > self._p_min + self.warning_threshold * self._s_min
        return False


class EDDM(DriftDetector):
    """Early Drift Detection Method: are errors coming closer together?

    EDDM tracks the distance (in elements) between consecutive errors: its mean p' and standard
    deviation s'. It remembers the largest p' + 2 s' seen and, once more than ``warm_start``
    errors were seen, reports a warning when (p' + 2 s') / max < ``alpha`` and a change when it
    is below ``beta``. It reacts to slow increases of the error rate earlier than DDM.

    Parameters
    ----------
    warm_start : int, default 30
        Elements, and errors, seen before any warning or detection.
    alpha : float, default 0.95
        Warning level, in (0, 1).
    beta : float, default 0.9
        Detection level, in (0, 1) and at most ``alpha``.

    Notes
    -----
    As in river (and MOA), the first distance is counted from the start of the stream, the
    standard deviation uses n - 1, and the state only changes at errors. One difference from
    river: a detection clears ``warning_detected`` (river leaves the previous warning set at the
    detecting element); detection indices are the same.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(42)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    >>> eddm = EDDM(alpha=0.8, beta=0.75)
    >>> [i for i, x in enumerate(stream) if eddm.update(x)]
    [1278]

    References
    ----------
    Baena-Garcia, M., del Campo-Avila, J., Fidalgo, R., Bifet, A., Gavalda, R. and
    Morales-Bueno, R. (2006). Early drift detection method. Fourth International Workshop on
    Knowledge Discovery from Data Streams.
    """

    __slots__ = ("warm_start", "alpha", "beta", "warning_detected",
                 "_n", "_errors", "_last_error", "_mean", "_sq", "_best")  # fmt: skip
    binary = True

    def __init__(self, warm_start: int = 30, alpha: float = 0.95, beta: float = 0.9) -> None:
        self.warm_start = check_int(warm_start, "warm_start", minimum=0)
        self.alpha = check_probability(alpha, "alpha")
        self.beta = check_probability(beta, "beta")
        if self.beta > self.alpha:
            raise ValueError(f"beta ({beta!r}) must be at most alpha ({alpha!r}): beta is the stricter level")
        self.reset()

    def _parameters(self) -> dict[str, Any]:
        return {"warm_start": self.warm_start, "alpha": self.alpha, "beta": self.beta}

    def reset(self) -> None:
        """Forget the error distances and their maximum."""
        self.drift_detected = False
        self.warning_detected = False
        self._n = 0
        self._errors = 0
        self._last_error = 0
        self._mean = 0.0
        self._sq = 0.0
        self._best = -1.0

    def update(self, x: float) -> bool:
        """Add one outcome (1 = error, 0 = correct); return True on a change."""
        if x != 0 and x != 1:
            raise _not_binary(x)
        if self.drift_detected:
            self.reset()
        self._n += 1
        if x != 1:
            return False
        n = self._n
        errors = self._errors + 1
        self._errors = errors
        distance = n - self._last_error
        self._last_error = n
        # Welford's update in river's stats.Var order, so the two agree to the last bit.
        old_mean = self._mean
        mean = old_mean + (1.0 / errors) * (distance - old_mean)
        self._mean = mean
        self._sq += (distance - old_mean) * (distance - mean)
        if n <= self.warm_start:
            return False
        spread = (self._sq / (errors - 1)) ** 0.5 if errors > 1 else 0.0
        level = mean + 2 * spread
        if level > self._best:
            self._best = level
        elif errors > self.warm_start:
            ratio = level / self._best
            if ratio < self.beta:
                self.warning_detected = False
                self.drift_detected = True
                return True
            self.warning_detected = ratio < self.alpha
        return False


# -------------------------------------------------------------------------------------- KSWIN


class KSWIN(DriftDetector):
    """Kolmogorov-Smirnov windowing: do the newest elements differ from a sample of older ones?

    KSWIN keeps the last ``window_size`` elements. Once the window is full, at every element it
    compares the newest ``stat_size`` elements R with ``stat_size`` elements W drawn without
    replacement from the older part, by the two-sample KS test, and reports a change when the
    p-value is at most ``alpha`` and the statistic exceeds 0.1. After a change the window keeps
    only R, as in the paper.

    The test needs no scipy call per element: for two samples of equal size the exact p-value
    depends only on the statistic's count k = n D, so the smallest k with p <= alpha is found
    once (with ``scipy.stats.ks_2samp``, the same function river calls) and each element costs
    a merge of two sorted lists.

    Parameters
    ----------
    alpha : float, default 0.005
        Significance level, strictly between 0 and 1 (keep it small: the test runs at every
        element).
    window_size : int, default 100
        Elements kept; at least ``2 * stat_size``, so W can be drawn from older elements.
    stat_size : int, default 30
        Size of R and W.
    seed : int, optional
        Seed of the sampling of W (a ``random.Random``, as river uses).

    Attributes
    ----------
    statistic : float
        KS statistic of the last test (0.0 before the window is full).
    p_value : float
        Its p-value (1.0 before the window is full), computed when asked.

    Notes
    -----
    Up to the first detection the indices equal river's for the same seed. After it they differ
    by design: river's next update empties the window and reseeds its generator (so it waits
    ``window_size`` elements and redraws the same positions), whereas this KSWIN keeps R and
    goes on drawing, as Raab et al. describe.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(12345)
    >>> kswin = KSWIN(alpha=0.0001, seed=42)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> [i for i, x in enumerate(stream) if kswin.update(x)][:1]
    [1016]

    References
    ----------
    Raab, C., Heusinger, M. and Schleif, F.-M. (2020). Reactive soft prototype computing for
    concept drift streams. Neurocomputing 416, 340-351.
    """

    __slots__ = ("alpha", "window_size", "stat_size", "seed", "_window", "_rng", "_critical",
                 "_count", "_pvalues", "_population")  # fmt: skip

    def __init__(self, alpha: float = 0.005, window_size: int = 100, stat_size: int = 30, seed: int | None = None) -> None:
        self.alpha = check_probability(alpha, "alpha")
        self.stat_size = check_int(stat_size, "stat_size", minimum=1)
        self.window_size = check_int(window_size, "window_size", minimum=2)
        if self.window_size < 2 * self.stat_size:
            raise ValueError(
                f"window_size must be at least 2 * stat_size = {2 * self.stat_size} so that "
                f"{self.stat_size} older elements can be drawn; got window_size={window_size}"
            )
        if seed is not None:
            seed = check_int(seed, "seed")
        self.seed = seed
        self._pvalues: dict[int, float] = {}
        self._critical = self._smallest_significant_count()
        self._population = range(self.window_size - self.stat_size)
        self._rng = random.Random(seed)
        self.reset()

    def _parameters(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "window_size": self.window_size, "stat_size": self.stat_size, "seed": self.seed}

    def reset(self) -> None:
        """Empty the window and restart the sampling from ``seed``."""
        self.drift_detected = False
        self._window: list[float] = []
        self._count = 0
        self._rng = random.Random(self.seed)

    def _pvalue_of_count(self, count: int) -> float:
        if count not in self._pvalues:
            import scipy.stats

            r = self.stat_size
            # Two samples whose ECDFs differ by exactly count / r; the p-value depends on nothing else.
            result = scipy.stats.ks_2samp(np.arange(r, dtype=float), np.arange(count, count + r, dtype=float))
            self._pvalues[count] = float(result.pvalue)
        return self._pvalues[count]

    def _smallest_significant_count(self) -> int:
        low, high = 1, self.stat_size + 1  # high: "never significant"
        if self._pvalue_of_count(self.stat_size) > self.alpha:
            return high
        high = self.stat_size
        while low < high:
            middle = (low + high) // 2
            if self._pvalue_of_count(middle) <= self.alpha:
                high = middle
            else:
                low = middle + 1
        return low

    @property
    def statistic(self) -> float:
        return self._count / self.stat_size

    @property
    def p_value(self) -> float:
        return self._pvalue_of_count(self._count) if self._count else 1.0

    def update(self, x: float) -> bool:
        """Add ``x``; return True when the newest elements differ from the older ones."""
        if x.__class__ is not float:
            x = _as_real(x)
        if x - x:
            raise _not_finite(x)
        window = self._window
        self.drift_detected = False
        window.append(x)
        size = self.window_size
        if len(window) < size:
            return False
        if len(window) > size:
            del window[0]
        r = self.stat_size
        older = sorted([window[i] for i in self._rng.sample(self._population, r)])
        newest = window[size - r :]
        count = _ks_count(older, sorted(newest))
        self._count = count
        if count >= self._critical and _ks_statistic(older, sorted(newest)) > 0.1:
            self._window = newest
            self.drift_detected = True
            return True
        return False


def _ks_count(a: list, b: list) -> int:
    """max |#a <= t - #b <= t| over the pooled points, for sorted lists of equal length."""
    i = j = best = 0
    size = len(a)
    while i < size and j < size:
        value = a[i] if a[i] <= b[j] else b[j]
        while i < size and a[i] <= value:
            i += 1
        while j < size and b[j] <= value:
            j += 1
        gap = i - j if i > j else j - i
        if gap > best:
            best = gap
    return best


def _ks_statistic(a: list, b: list) -> float:
    """The KS statistic computed as scipy does (differences of ECDF values as floats)."""
    size = len(a)
    i = j = 0
    best = 0.0
    for value in sorted(a + b):
        while i < size and a[i] <= value:
            i += 1
        while j < size and b[j] <= value:
            j += 1
        best = max(best, abs(i / size - j / size))
    return best


# ------------------------------------------------------------------------- detect, evaluate


def _stream_array(stream: Any, detector: DriftDetector | None, name: str = "stream") -> np.ndarray:
    """The stream as a float64 array, checked once up front (faster than per element)."""
    if isinstance(stream, (str, bytes, dict, set, frozenset)) or stream is None:
        raise TypeError(f"{name} must be a 1-D sequence of numbers, not {type(stream).__name__}")
    try:
        array = np.asarray(stream)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} could not be read as an array: {error}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per element); got an array of shape {array.shape}")
    if array.size and array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers (or booleans); got dtype {array.dtype}")
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        bad = int(values.size - np.count_nonzero(np.isfinite(values)))
        raise ValueError(f"{name} contains NaN or infinite values ({bad} of {values.size}); drop or impute them first")
    if getattr(detector, "binary", False) and not np.isin(values, (0.0, 1.0)).all():
        raise ValueError(
            f"{type(detector).__name__} takes a 0/1 error stream (1 = the model was wrong); "
            f"{name} holds other values, e.g. {values[~np.isin(values, (0.0, 1.0))][0]!r}"
        )
    return values


def _stream_values(stream: Any, detector: DriftDetector | None) -> list[float]:
    """The stream as a list of Python floats, checked once up front."""
    return _stream_array(stream, detector).tolist()


def _check_detector(detector: Any, name: str) -> None:
    if not callable(getattr(detector, "update", None)):
        raise TypeError(f"{name} must be a drift detector with an update(x) method; got {type(detector).__name__}")


def detect(detector: DriftDetector, stream: Iterable[float]) -> list[int]:
    """Feed a whole stream to a detector and return where it fired.

    Parameters
    ----------
    detector : DriftDetector
        Any object with ``update(x) -> bool`` (a course_lib detector, or your own). It keeps its
        state: pass a fresh one to start from scratch.
    stream : array_like
        1-D, finite numbers (0/1 for DDM and EDDM; booleans are read as 0/1).

    Returns
    -------
    list of int
        0-based indices of the elements at which a change was detected.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> errors = np.concatenate([rng.random(1000) < 0.1, rng.random(500) < 0.3])  # booleans
    >>> detect(DDM(), errors)  # two false alarms while the error rate is still uncertain
    [39, 263, 1150]
    """
    _check_detector(detector, "detector")
    array = _stream_array(stream, detector)
    if type(detector) is ADWIN:  # a subclass may override update; then use it
        return detector._update_array(array)
    values = array.tolist()
    update = detector.update
    return [index for index, value in enumerate(values) if update(value)]


@dataclass(frozen=True)
class DetectorScore:
    """How a detector did over many streams with a known change point.

    Attributes
    ----------
    n_streams : int
    change_point : int or None
        Index of the first changed element in every stream (None: the streams never change).
    detection_rate : float
        Share of streams with a detection at or after the change point (nan without change).
    missed : int
        Streams with no detection at or after the change point.
    mean_delay, median_delay : float
        Elements from the change point to the first detection at or after it (0: at the first
        changed element), over the detected streams; nan when none was detected.
    false_alarms : int
        Detections before the change point (anywhere, when the streams never change).
    false_alarms_per_1000 : float
        False alarms per 1,000 stationary elements.
    arl0 : float
        Average run length under no change: stationary elements per false alarm (inf when
        there was none), the mean time between false alarms.
    """

    n_streams: int
    change_point: int | None
    detection_rate: float
    missed: int
    mean_delay: float
    median_delay: float
    false_alarms: int
    false_alarms_per_1000: float
    arl0: float

    def __repr__(self) -> str:
        return (
            f"DetectorScore(n_streams={self.n_streams}, change_point={self.change_point}, "
            f"detection_rate={self.detection_rate:.3g}, missed={self.missed}, "
            f"mean_delay={self.mean_delay:.4g}, median_delay={self.median_delay:.4g}, "
            f"false_alarms={self.false_alarms}, false_alarms_per_1000={self.false_alarms_per_1000:.3g}, "
            f"arl0={self.arl0:.4g})"
        )


def evaluate_detector(
    make_detector: Callable[[], DriftDetector],
    streams: Iterable[Any],
    change_point: int | None,
) -> DetectorScore:
    """Run a fresh detector on each stream and score delay, misses and false alarms.

    Parameters
    ----------
    make_detector : callable
        ``make_detector() -> detector``, called once per stream (e.g. ``lambda: ADWIN(delta=0.01)``
        or the class itself).
    streams : sequence of array_like, or a 2-D array
        The streams, one per row, each with its change at ``change_point``.
    change_point : int or None
        Index of the first changed element (``0 < change_point < len(stream)``), or None for
        stationary streams, which measures false alarms only.

    Returns
    -------
    DetectorScore

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> runs = [np.concatenate([rng.normal(0, 1, 500), rng.normal(1, 1, 300)]) for _ in range(20)]
    >>> evaluate_detector(ADWIN, runs, change_point=500)
    DetectorScore(n_streams=20, change_point=500, detection_rate=1, missed=0, mean_delay=49.4, median_delay=43, false_alarms=0, false_alarms_per_1000=0, arl0=inf)
    >>> evaluate_detector(lambda: PageHinkley(threshold=20), runs, change_point=500).arl0
    312.5
    """
    if not callable(make_detector):
        raise TypeError(f"make_detector must be callable (e.g. a detector class or a lambda); got {type(make_detector).__name__}")
    if isinstance(streams, np.ndarray) and streams.ndim == 1:
        raise ValueError("streams must be a list of streams (or a 2-D array, one stream per row); got one 1-D array")
    streams = list(streams)
    if not streams:
        raise ValueError("streams is empty; pass at least one stream")
    if change_point is not None:
        change_point = check_int(change_point, "change_point", minimum=1)
    delays: list[int] = []
    false_alarms = 0
    stationary = 0
    for number, stream in enumerate(streams):
        detector = make_detector()
        _check_detector(detector, "make_detector()")
        length = len(stream)
        if change_point is not None and change_point >= length:
            raise ValueError(
                f"change_point ({change_point}) must be inside every stream; stream {number} has {length} elements"
            )
        alarms = detect(detector, stream)
        end = length if change_point is None else change_point
        stationary += end
        early = sum(1 for index in alarms if index < end)
        false_alarms += early
        if change_point is not None and early < len(alarms):
            delays.append(alarms[early] - change_point)
    n = len(streams)
    detected = len(delays)
    return DetectorScore(
        n_streams=n,
        change_point=change_point,
        detection_rate=detected / n if change_point is not None else math.nan,
        missed=n - detected if change_point is not None else 0,
        mean_delay=statistics.fmean(delays) if delays else math.nan,
        median_delay=float(statistics.median(delays)) if delays else math.nan,
        false_alarms=false_alarms,
        false_alarms_per_1000=1000.0 * false_alarms / stationary,
        arl0=stationary / false_alarms if false_alarms else math.inf,
    )

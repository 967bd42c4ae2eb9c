"""Exercises of lesson 04, canary analysis (references in :mod:`course_lib.canary`).

In the order of the notebook: ``pooled_z`` (the two-proportion z statistic), ``sample_size``
(observations per arm for a relative MDE), ``canary_hours``
(how long a canary must run before its test can be read, a design), ``stopping_batch`` (when a
team that looks after every batch may stop, a judgement about peeking) and ``rollout_actions``
(promote, hold or roll back five candidates from their health reports, a judgement).

The data the notebook shows for the last two live here (:func:`stopping_batches`,
:data:`ROLLOUT_REPORTS`), so the notebook and the answer key cannot drift apart. Case
factories, wrong answers and answer keys import numpy and course_lib.canary when called, so
listing these ids stays light.
"""

from __future__ import annotations

import math
import numbers

from course_lib.grading.registry import Case, EntriesOneOf, Exercise, Mistake, register

# ---------------------------------------------------------------------------------------------
# 04.pooled_z: the pooled two-proportion z statistic
# ---------------------------------------------------------------------------------------------


def pooled_z(successes_a, n_a, successes_b, n_b) -> float:
    """Reference of 04.pooled_z: the statistic of :func:`course_lib.canary.two_proportion_ztest`."""
    from course_lib.canary import two_proportion_ztest

    return two_proportion_ztest(successes_a, n_a, successes_b, n_b).statistic


def _pooled_z_public() -> list[Case]:
    return [
        Case("candidate with more errors, 10,000 requests each", (200, 10_000, 260, 10_000)),
        Case("candidate with fewer errors, unequal sizes", (300, 12_000, 40, 2_500)),
        Case("no errors on either side: no evidence, z = 0", (0, 5_000, 0, 800)),
        Case("a baseline without any error", (0, 4_000, 6, 1_000)),
        Case("high rates, unequal sizes", (450, 1_000, 130, 400)),
    ]


def _pooled_z_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(6):
        n_a, n_b = (int(n) for n in rng.integers(100, 40_000, size=2))
        rate = float(rng.uniform(0.002, 0.3))
        rate_b = rate * float(rng.uniform(0.7, 1.5))
        cases.append(Case("random counts", (int(rng.binomial(n_a, rate)), n_a, int(rng.binomial(n_b, rate_b)), n_b)))
    cases.append(Case("no events on either side", (0, int(rng.integers(10, 5000)), 0, int(rng.integers(10, 5000)))))
    return cases


def _z(difference: float, variance: float) -> float:
    return difference / math.sqrt(variance) if variance > 0 else 0.0


def _z_unpooled(successes_a, n_a, successes_b, n_b):
    p_a, p_b = successes_a / n_a, successes_b / n_b
    return _z(p_b - p_a, p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)


def _z_reversed(successes_a, n_a, successes_b, n_b):
    return -pooled_z(successes_a, n_a, successes_b, n_b)


def _z_one_size(successes_a, n_a, successes_b, n_b):
    pooled = (successes_a + successes_b) / (n_a + n_b)
    return _z(successes_b / n_b - successes_a / n_a, pooled * (1 - pooled) * 2 / n_a)


def _z_unguarded(successes_a, n_a, successes_b, n_b):
    import numpy as np

    pooled = np.float64(successes_a + successes_b) / (n_a + n_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float((successes_b / n_b - successes_a / n_a) / np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b)))


register(
    Exercise(
        id="04.pooled_z",
        title="The pooled z statistic of candidate rate minus baseline rate",
        kind="function",
        reference="course_lib.grading.exercises.lesson04:pooled_z",
        public_cases=_pooled_z_public,
        hidden_cases=_pooled_z_hidden,
        returns="float",
        mistakes=(
            Mistake(
                "you used each side's own rate in the standard error. The test asks how surprising the "
                "difference is IF the two rates were equal, so estimate that one common rate from both "
                "sides together (all events / all requests) and use it for both.",
                wrong=_z_unpooled,
            ),
            Mistake(
                "your sign is flipped: the statistic is candidate minus baseline (b - a), so a "
                "candidate with more errors gets a positive z.",
                wrong=_z_reversed,
            ),
            Mistake(
                "your standard error treats both sides as the size of the baseline; with unequal sizes "
                "each side contributes 1/n of its own: (1/n_a + 1/n_b).",
                wrong=_z_one_size,
            ),
            Mistake(
                "with no events on either side the common rate is 0, its standard error is 0, and 0/0 "
                "is NaN. There is no evidence of a difference then: return 0.0 for that case.",
                wrong=_z_unguarded,
            ),
        ),
        hint=(
            "rates p_a = s_a / n_a and p_b = s_b / n_b; common rate p = (s_a + s_b) / (n_a + n_b); "
            "z = (p_b - p_a) / sqrt(p (1 - p) (1/n_a + 1/n_b)), and 0.0 when that standard error is 0."
        ),
    )
)

# ---------------------------------------------------------------------------------------------
# 04.sample_size: observations per arm before starting
# ---------------------------------------------------------------------------------------------


def sample_size(baseline_rate, mde, alpha=0.05, power=0.8) -> int:
    """Reference of 04.sample_size: :func:`course_lib.canary.sample_size_two_proportions`, relative MDE."""
    from course_lib.canary import sample_size_two_proportions

    return sample_size_two_proportions(baseline_rate, mde, alpha=alpha, power=power)


def _sample_size_public() -> list[Case]:
    return [
        Case("2% errors, +25%", (0.02, 0.25)),
        Case("10% conversion, +10%", (0.10, 0.10)),
        Case("5% errors, +50%, alpha 0.01 and power 0.9", (0.05, 0.50), {"alpha": 0.01, "power": 0.9}),
        Case("0.5% errors, doubled", (0.005, 1.0)),
    ]


def _sample_size_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(6):
        rate = float(rng.uniform(0.002, 0.4))
        mde = float(rng.uniform(0.05, min(1.0, 0.9 / rate - 1)))
        kwargs = {"alpha": float(rng.choice([0.01, 0.05, 0.1])), "power": float(rng.choice([0.8, 0.9]))}
        cases.append(Case("random rate and MDE", (rate, mde), kwargs))
    return cases


def _size_parts(baseline_rate, mde, alpha, power, *, relative=True):
    from scipy.special import ndtri

    p1 = baseline_rate
    p2 = p1 * (1 + mde) if relative else p1 + mde
    return p1, p2, (p1 + p2) / 2, float(-ndtri(alpha / 2)), float(ndtri(power))


def _size_formula(p1, p2, p_bar, z_alpha, z_power) -> float:
    return (z_alpha * math.sqrt(2 * p_bar * (1 - p_bar)) + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2


def _size_one_sided(baseline_rate, mde, alpha=0.05, power=0.8):
    return math.ceil(_size_formula(*_size_parts(baseline_rate, mde, 2 * alpha, power)) - 1e-9)


def _size_absolute(baseline_rate, mde, alpha=0.05, power=0.8):
    return math.ceil(_size_formula(*_size_parts(baseline_rate, mde, alpha, power, relative=False)) - 1e-9)


def _size_both_arms(baseline_rate, mde, alpha=0.05, power=0.8):
    return 2 * sample_size(baseline_rate, mde, alpha, power)


def _size_truncated(baseline_rate, mde, alpha=0.05, power=0.8):
    return int(_size_formula(*_size_parts(baseline_rate, mde, alpha, power)))


def _size_unpooled(baseline_rate, mde, alpha=0.05, power=0.8):
    p1, p2, _, z_alpha, z_power = _size_parts(baseline_rate, mde, alpha, power)
    return math.ceil((z_alpha + z_power) ** 2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p2 - p1) ** 2 - 1e-9)


register(
    Exercise(
        id="04.sample_size",
        title="Observations per arm for a two-sided two-proportion z-test to detect a relative MDE",
        kind="function",
        reference="course_lib.grading.exercises.lesson04:sample_size",
        public_cases=_sample_size_public,
        hidden_cases=_sample_size_hidden,
        returns="int",
        mistakes=(
            Mistake(
                "that is the size for a one-sided test: with alpha split over both tails the critical "
                "value is z at 1 - alpha / 2 (1.96 for alpha = 0.05), not z at 1 - alpha.",
                wrong=_size_one_sided,
            ),
            Mistake(
                "you added the MDE to the rate; here it is relative: the new rate is "
                "baseline_rate x (1 + mde), so +25% of 2% is 2.5%, not 27%.",
                wrong=_size_absolute,
            ),
            Mistake(
                "the formula gives the size of EACH arm; you doubled it (the total of both arms).",
                wrong=_size_both_arms,
            ),
            Mistake(
                "you rounded down: one observation fewer than the formula asks for leaves the power "
                "below its target. Round up (math.ceil).",
                wrong=_size_truncated,
            ),
            Mistake(
                "you used the unpooled variance for both terms. The alpha term is about the test's "
                "behaviour when nothing changed, so it uses the pooled variance 2 p_bar (1 - p_bar); "
                "only the power term uses p1 (1 - p1) + p2 (1 - p2).",
                wrong=_size_unpooled,
            ),
        ),
        hint=(
            "p2 = p1 (1 + mde), p_bar = (p1 + p2) / 2; n = ceil((z_{1-alpha/2} sqrt(2 p_bar (1 - p_bar)) + "
            "z_power sqrt(p1 (1 - p1) + p2 (1 - p2)))^2 / (p2 - p1)^2), as an int."
        ),
    )
)

# ---------------------------------------------------------------------------------------------
# 04.canary_hours: how long the canary must run before the test can be read
# ---------------------------------------------------------------------------------------------

#: The service of 04.canary_hours: requests per hour, the canary's and the baseline's share of
#: them, the error rate today and the relative increase that must be detected.
HOURLY_REQUESTS = 12_000
CANARY_SHARE = 0.05
ERROR_RATE = 0.015
RELATIVE_MDE = 0.40


def _hours(per_arm: float, share: float = CANARY_SHARE) -> int:
    return math.ceil(per_arm / (HOURLY_REQUESTS * share) - 1e-9)


def canary_hours_answer() -> int:
    """Reference answer of 04.canary_hours: whole hours until each arm has its sample size."""
    from course_lib.canary import sample_size_two_proportions

    return _hours(sample_size_two_proportions(ERROR_RATE, RELATIVE_MDE))


def _per_arm(**kwargs) -> int:
    from course_lib.canary import sample_size_two_proportions

    return sample_size_two_proportions(ERROR_RATE, RELATIVE_MDE, **kwargs)


def _whole_number(what: str, *, minimum: int):
    """A ``normalize`` for an answer that is one whole number (``13``, ``13.0`` or numpy's 13)."""

    def normalize(answer) -> int:
        if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
            raise TypeError(f"answer must be one whole number ({what}), got {type(answer).__name__}")
        value = float(answer)
        if not math.isfinite(value) or value != math.floor(value):
            raise ValueError(f"answer must be a whole number ({what}); got {answer!r}: round it the way the question asks")
        if value < minimum:
            raise ValueError(f"answer must be a whole number >= {minimum} ({what}); got {int(value)}")
        return int(value)

    return normalize


register(
    Exercise(
        id="04.canary_hours",
        title="Whole hours the canary must run before its z-test can be read",
        kind="value",
        reference="course_lib.grading.exercises.lesson04:canary_hours_answer",
        public_cases=lambda: [Case("hours for 12,000 requests/hour, 5% canary and 5% baseline, 1.5% errors, +40%")],
        normalize=_whole_number("hours", minimum=1),
        mistakes=(
            Mistake(
                "you divided by the whole traffic, but only the canary's slice (and the equally large "
                "baseline slice) feeds the test: each arm collects 5% of the requests per hour.",
                wrong=lambda: _hours(_per_arm(), share=1.0),
            ),
            Mistake(
                "the sample size is already PER ARM: the canary needs that many requests, and the "
                "baseline slice, filling at the same speed, needs as many at the same time.",
                wrong=lambda: _hours(2 * _per_arm()),
            ),
            Mistake(
                "that is the time for a one-sided test (z at 1 - alpha); the canary can make things "
                "better or worse and the test is two-sided, z at 1 - alpha / 2.",
                wrong=lambda: _hours(_per_arm(alpha=0.10)),
            ),
            Mistake(
                "you rounded down: after that many hours the arms are still short of the sample size. "
                "Round the hours up.",
                wrong=lambda: math.floor(_per_arm() / (HOURLY_REQUESTS * CANARY_SHARE)),
            ),
        ),
        hint=(
            "requests per arm from sample_size_two_proportions(0.015, 0.40) (relative MDE, alpha 0.05, "
            "power 0.8), divided by the requests each arm gets per hour, rounded up."
        ),
    )
)

# ---------------------------------------------------------------------------------------------
# 04.stopping_batch: when may a team that looks after every batch stop?
# ---------------------------------------------------------------------------------------------

#: The canary of 04.stopping_batch: batches, requests per arm per batch, true error rates, seed.
STOPPING_BATCHES = 15
STOPPING_BATCH_SIZE = 500
STOPPING_RATES = (0.02, 0.03)
STOPPING_SEED = 6
STOPPING_TAU = 0.01


def stopping_batches():
    """The cumulative counts after each batch of the lesson's canary (a pandas DataFrame)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(STOPPING_SEED)
    baseline = rng.binomial(STOPPING_BATCH_SIZE, STOPPING_RATES[0], STOPPING_BATCHES).cumsum()
    candidate = rng.binomial(STOPPING_BATCH_SIZE, STOPPING_RATES[1], STOPPING_BATCHES).cumsum()
    requests = STOPPING_BATCH_SIZE * np.arange(1, STOPPING_BATCHES + 1)
    return pd.DataFrame(
        {
            "batch": np.arange(1, STOPPING_BATCHES + 1),
            "baseline_requests": requests,
            "baseline_errors": baseline,
            "canary_requests": requests,
            "canary_errors": candidate,
        }
    )


def _stopping_columns():
    table = stopping_batches()
    return (table[column].to_numpy() for column in ("baseline_errors", "baseline_requests", "canary_errors", "canary_requests"))


def stopping_batch_answer() -> int:
    """Reference answer of 04.stopping_batch: the batch (1-based) where the mSPRT first rejects."""
    from course_lib.canary import sequential_test

    result = sequential_test(*_stopping_columns(), alpha=0.05, tau=STOPPING_TAU)
    return result.stop_look + 1


def _first_naive_rejection() -> int:
    from course_lib.canary import two_proportion_ztest

    for look, (s_a, n_a, s_b, n_b) in enumerate(zip(*_stopping_columns()), start=1):
        if two_proportion_ztest(int(s_a), int(n_a), int(s_b), int(n_b)).pvalue < 0.05:
            return look
    return STOPPING_BATCHES


register(
    Exercise(
        id="04.stopping_batch",
        title="The batch at which the team may stop the canary and roll back",
        kind="value",
        reference="course_lib.grading.exercises.lesson04:stopping_batch_answer",
        public_cases=lambda: [Case("the batch (1 to 15) at which the team may stop")],
        normalize=_whole_number("a batch number from 1 to 15", minimum=1),
        mistakes=(
            Mistake(
                "that is the first batch where the fixed-sample z-test gives p < 0.05. Checked after "
                "every batch, that rule fires on about one in seven canaries that are NOT worse (the "
                "peeking simulation above): it is not a valid reason to stop.",
                wrong=_first_naive_rejection,
            ),
            Mistake(
                "off by one: stop_look counts looks from 0, the batches are numbered from 1.",
                wrong=lambda: stopping_batch_answer() - 1,
            ),
            Mistake(
                "waiting for the last batch is valid but wasteful: the sequential test's always-valid "
                "p-value may be read after every batch, and you may stop at the first one where it "
                "reaches alpha.",
                wrong=lambda: STOPPING_BATCHES,
            ),
        ),
        hint=(
            "run canary.sequential_test on the cumulative columns (alpha=0.05, tau=0.01) and give the "
            "1-based number of the first batch whose always-valid p-value is at most 0.05."
        ),
    )
)

# ---------------------------------------------------------------------------------------------
# 04.rollout_actions: promote, hold or roll back, from five health reports
# ---------------------------------------------------------------------------------------------

_ACTIONS = ("promote", "hold", "rollback")

#: Health reports of five candidates, each at an intermediate step of its rollout, read with the
#: gates of ``RolloutController()``'s defaults.
ROLLOUT_REPORTS = {
    "A": {"error_rate": 0.006, "p95_latency_ms": 210.0, "accuracy": 0.90, "verdict": "Marginal"},
    "B": {"error_rate": 0.024, "p95_latency_ms": 190.0, "accuracy": 0.92, "verdict": "Pass"},
    "C": {"error_rate": 0.004, "p95_latency_ms": 230.0, "accuracy": math.nan, "verdict": "Pass"},
    "D": {"error_rate": 0.011, "p95_latency_ms": 296.0, "accuracy": 0.83, "verdict": "Pass"},
    "E": {"error_rate": 0.003, "p95_latency_ms": 180.0, "accuracy": 0.91, "verdict": "Fail"},
}


def rollout_actions_answer() -> dict:
    """Reference answer of 04.rollout_actions: what a fresh ``RolloutController`` decides."""
    from course_lib.canary import RolloutController

    return {name: RolloutController().observe(report).action for name, report in ROLLOUT_REPORTS.items()}


def _word(got, key: str) -> str | None:
    if not isinstance(got, dict) or not isinstance(got.get(key), str):
        return None
    return got[key].strip().lower()


def _rollout_cases() -> list[Case]:
    return [Case(f"candidate {key}", entry=key) for key in ROLLOUT_REPORTS]


def _other_action(key: str):
    """The right answer except for candidate ``key``, answered with another action."""

    def answer() -> dict:
        result = rollout_actions_answer()
        result[key] = next(action for action in _ACTIONS if action != result[key])
        return result

    return answer


def _wrong_on(key: str):
    def test(case: Case, got) -> bool:
        word = _word(got, key)
        return case.entry == key and word in _ACTIONS and word != rollout_actions_answer()[key]

    return test


def _not_an_action(case: Case, got) -> bool:
    return _word(got, case.entry) not in _ACTIONS


# Each hint explains the reasoning for one candidate without naming its action.
_CANDIDATE_HINTS = {
    "A": "a Marginal verdict means the judge found neither a clear pass nor a clear failure. That is "
    "not enough evidence to send more users to the candidate, and not enough to give up on it yet.",
    "B": "the judge compares the candidate with the baseline, but the error-rate gate is an absolute "
    "limit (the service's objective): 2.4% breaks the 2% limit whatever the baseline does.",
    "C": "accuracy is missing because the labels have not arrived yet. A missing number is neither "
    "a pass nor a failure: nothing is known to be wrong, and one gate is still unchecked.",
    "D": "check each gate against its limit: 296 ms is under 300 ms, 1.1% under 2%, 0.83 above 0.8, "
    "and the verdict is Pass. Every gate holds, so nothing stands in the candidate's way.",
    "E": "every absolute number is within its limit, but the judge's verdict is Fail: on its metrics "
    "the candidate is clearly worse than the baseline running beside it, and that gate is broken.",
}

register(
    Exercise(
        id="04.rollout_actions",
        title="Promote, hold or roll back: five candidates from their health reports",
        kind="value",
        reference="course_lib.grading.exercises.lesson04:rollout_actions_answer",
        public_cases=_rollout_cases,
        reveal_expected=False,
        normalize=EntriesOneOf(*_ACTIONS),
        mistakes=(
            Mistake(
                'answer with a dict {"A": ..., ..., "E": ...} whose values are exactly "promote", '
                '"hold" or "rollback".',
                wrong=lambda: {key: "roll back now" for key in ROLLOUT_REPORTS},
                test=_not_an_action,
            ),
            *(
                Mistake(hint, wrong=_other_action(key), test=_wrong_on(key))
                for key, hint in _CANDIDATE_HINTS.items()
            ),
        ),
        hint='one word per candidate: "promote", "hold" or "rollback", by the gates of the lesson.',
    )
)

"""Exercises of lesson 05, retraining triggers (references in :mod:`course_lib.retraining`).

In the order of the notebook: ``signal_actions`` (what to do in six monitored situations, a
judgement), ``retrain_days`` (a drift trigger with cooldown and hysteresis), ``budget_allows``
(a retraining budget over a trailing period) and ``choose_policy`` (the policy to run for a
given cost of retraining, read from the lesson's simulated year, a judgement).

Case factories, wrong answers and answer keys import numpy and course_lib.retraining when
called, so listing these ids stays light.
"""

from __future__ import annotations

import functools
import math

from course_lib.grading.registry import Case, EntriesOneOf, Exercise, Mistake, register

# ---------------------------------------------------------------------------------------------
# 05.signal_actions: retrain, investigate or wait, in six situations
# ---------------------------------------------------------------------------------------------

_ACTIONS = ("retrain", "investigate", "wait")


def signal_actions_answer() -> dict:
    """Reference answer of 05.signal_actions (situations in ``retraining.SIGNAL_SCENARIOS``)."""
    return {"A": "wait", "B": "retrain", "C": "investigate", "D": "investigate", "E": "investigate", "F": "wait"}


def _word(got, key: str) -> str | None:
    if not isinstance(got, dict) or not isinstance(got.get(key), str):
        return None
    return got[key].strip().lower()


def _entry_cases() -> list[Case]:
    return [Case(f"situation {key}", entry=key) for key in signal_actions_answer()]


def _other_action(key: str):
    """The right answer except for situation ``key``, answered with another action."""

    def answer() -> dict:
        result = signal_actions_answer()
        result[key] = next(action for action in _ACTIONS if action != result[key])
        return result

    return answer


def _wrong_on(key: str, choices: tuple[str, ...]):
    """A mistake test: situation ``key`` answered with a valid but wrong word."""

    def test(case: Case, got) -> bool:
        word = _word(got, key)
        return case.entry == key and word in choices and word != signal_actions_answer()[key]

    return test


def _not_an_action(case: Case, got) -> bool:
    return _word(got, case.entry) not in _ACTIONS


_SITUATION_HINTS = {
    "A": "the inputs moved, but accuracy on complete labels is where the model's own baseline says "
    "it should be. What would a retrained model do better here, and what does a retrain cost and risk?",
    "B": "nothing in the inputs moved, yet on complete labels the model is far below its own "
    "baseline, week after week: the relation between inputs and outcome changed. Which action "
    "brings the model up to date with that relation?",
    "C": "look at which signal moved and when: latency, right after a deploy. Would a model trained "
    "on fresher data answer any faster?",
    "D": "the data-quality check failed: the drift is in the pipeline, not in the world. What would "
    "a model learn from this data, and who has to act first?",
    "E": "no labels have arrived for ten days. What would a retrain train on, and what does a "
    "silent label pipeline need before anything else?",
    "F": "how many labelled predictions is the drop measured on? With 60, the standard error of an "
    "accuracy near 0.79 is about 0.05: is a drop of 0.05 evidence yet?",
}

register(
    Exercise(
        id="05.signal_actions",
        title="Retrain, investigate or wait: the right action in six monitored situations",
        kind="value",
        reference="course_lib.grading.exercises.lesson05:signal_actions_answer",
        public_cases=_entry_cases,
        reveal_expected=False,
        normalize=EntriesOneOf(*_ACTIONS),
        mistakes=(
            Mistake(
                'answer with a dict {"A": ..., ..., "F": ...} whose values are exactly "retrain", '
                '"investigate" or "wait".',
                wrong=lambda: {key: "later" for key in signal_actions_answer()},
                test=_not_an_action,
            ),
            *(
                Mistake(hint, wrong=_other_action(key), test=_wrong_on(key, _ACTIONS))
                for key, hint in _SITUATION_HINTS.items()
            ),
        ),
        hint='one word per situation: "retrain", "investigate" (a person must fix something first) or "wait".',
    )
)

# ---------------------------------------------------------------------------------------------
# 05.retrain_days: a drift trigger with cooldown and hysteresis
# ---------------------------------------------------------------------------------------------


def _retrain_days_public() -> list[Case]:
    nan = math.nan
    return [
        Case("no scores yet", ([],), {"threshold": 0.5, "clear_below": 0.2, "cooldown": 3}),
        Case(
            "a drift that lasts longer than the cooldown",
            ([0.1, 0.6, 0.7, 0.6, 0.8, 0.7, 0.6, 0.1],),
            {"threshold": 0.5, "clear_below": 0.2, "cooldown": 3},
        ),
        Case(
            "cleared, then back inside the cooldown, then exactly at its end",
            ([0.6, 0.1, 0.6, 0.6, 0.6, 0.1],),
            {"threshold": 0.5, "clear_below": 0.2, "cooldown": 3},
        ),
        Case(
            "dips below the threshold but not below clear_below",
            ([0.6, 0.6, 0.3, 0.6],),
            {"threshold": 0.5, "clear_below": 0.2, "cooldown": 1},
        ),
        Case(
            "a missing score (NaN) neither fires nor re-arms",
            ([0.6, 0.6, nan, 0.6, 0.1, nan, 0.9],),
            {"threshold": 0.5, "clear_below": 0.2, "cooldown": 0},
        ),
        Case(
            "a score exactly at the threshold fires",
            ([0.2, 0.5, 0.1, 0.5],),
            {"threshold": 0.5, "clear_below": 0.2, "cooldown": 2},
        ),
    ]


def _retrain_days_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(6):
        n = int(rng.integers(20, 120))
        # A slowly wandering score with spikes, so runs above the threshold and clears both occur.
        scores = (0.3 + 0.25 * rng.standard_normal(n).cumsum() / math.sqrt(n) + 0.2 * rng.standard_normal(n)).clip(0, None)
        scores[rng.random(n) < 0.05] = math.nan
        threshold = float(rng.uniform(0.3, 0.6))
        cases.append(
            Case(
                "a random score sequence",
                (scores.round(3).tolist(),),
                {"threshold": threshold, "clear_below": float(threshold * rng.uniform(0.3, 1.0)),
                 "cooldown": int(rng.integers(0, 10))},  # fmt: skip
            )
        )
    return cases


def _days_with(scores, threshold, clear_below, cooldown, *, rearm, cooled, disarm_when_blocked=False, nan_as_zero=False):
    """The reference loop with one rule changed (the known mistakes)."""
    days, armed, last = [], True, None
    for day, score in enumerate(scores):
        if nan_as_zero and score != score:
            score = 0.0
        if rearm(score, threshold, clear_below):
            armed = True
        high = armed and score >= threshold
        if high and cooled(day, last, cooldown):
            days.append(day)
            last, armed = day, False
        elif high and disarm_when_blocked:
            armed = False
    return days


def _rearm_below_clear(score, threshold, clear_below):
    return score < clear_below


def _cooled(day, last, cooldown):
    return last is None or day - last >= cooldown


def _no_hysteresis(scores, threshold, clear_below, cooldown):
    return _days_with(scores, threshold, clear_below, cooldown, rearm=lambda *a: True, cooled=_cooled)


def _no_cooldown(scores, threshold, clear_below, cooldown):
    return _days_with(scores, threshold, clear_below, cooldown, rearm=_rearm_below_clear, cooled=lambda *a: True)


def _rearm_below_threshold(scores, threshold, clear_below, cooldown):
    return _days_with(scores, threshold, clear_below, cooldown, rearm=lambda s, t, c: s < t, cooled=_cooled)


def _strict_cooldown(scores, threshold, clear_below, cooldown):
    cooled = lambda day, last, cooldown: last is None or day - last > cooldown  # noqa: E731
    return _days_with(scores, threshold, clear_below, cooldown, rearm=_rearm_below_clear, cooled=cooled)


def _disarmed_by_cooldown(scores, threshold, clear_below, cooldown):
    return _days_with(scores, threshold, clear_below, cooldown, rearm=_rearm_below_clear, cooled=_cooled,
                      disarm_when_blocked=True)  # fmt: skip


def _nan_rearms(scores, threshold, clear_below, cooldown):
    return _days_with(scores, threshold, clear_below, cooldown, rearm=_rearm_below_clear, cooled=_cooled, nan_as_zero=True)


def _per_day_flags(scores, threshold, clear_below, cooldown):
    from course_lib.retraining import retrain_days

    chosen = set(retrain_days(scores, threshold=threshold, clear_below=clear_below, cooldown=cooldown))
    return [day in chosen for day in range(len(scores))]


register(
    Exercise(
        id="05.retrain_days",
        title="The days a drift trigger with cooldown and hysteresis retrains",
        kind="function",
        reference="course_lib.retraining:retrain_days",
        public_cases=_retrain_days_public,
        hidden_cases=_retrain_days_hidden,
        returns="list",
        mistakes=(
            Mistake(
                "return the list of DAYS (indices) on which the policy retrains, not one True/False "
                "per day.",
                wrong=lambda scores, threshold, clear_below, cooldown: _per_day_flags(scores, threshold, clear_below, cooldown),
            ),
            Mistake(
                "your policy retrains again and again during one long drift: after a retrain the "
                "trigger is disarmed, and only a score below clear_below re-arms it (hysteresis).",
                wrong=lambda scores, threshold, clear_below, cooldown: _no_hysteresis(scores, threshold, clear_below, cooldown),
            ),
            Mistake(
                "your policy retrained twice within the cooldown: a retrain needs at least cooldown "
                "days since the previous one, however armed the trigger is.",
                wrong=lambda scores, threshold, clear_below, cooldown: _no_cooldown(scores, threshold, clear_below, cooldown),
            ),
            Mistake(
                "a dip below the threshold is not enough to re-arm: that is what makes a trigger flap "
                "around its threshold. Re-arm only when the score falls below clear_below.",
                wrong=lambda scores, threshold, clear_below, cooldown: _rearm_below_threshold(scores, threshold, clear_below, cooldown),
            ),
            Mistake(
                "off by one at the end of the cooldown: a retrain exactly cooldown days after the "
                "previous one is allowed (day - last >= cooldown).",
                wrong=lambda scores, threshold, clear_below, cooldown: _strict_cooldown(scores, threshold, clear_below, cooldown),
            ),
            Mistake(
                "a trigger held back by the cooldown has not led to a retrain, so it stays armed: "
                "disarm it only on the day the policy actually retrains.",
                wrong=lambda scores, threshold, clear_below, cooldown: _disarmed_by_cooldown(scores, threshold, clear_below, cooldown),
            ),
            Mistake(
                "a missing score (NaN) re-armed your trigger: NaN says nothing about drift, so it must "
                "neither fire nor re-arm (every comparison with NaN is False, so a plain `<` does this).",
                wrong=lambda scores, threshold, clear_below, cooldown: _nan_rearms(scores, threshold, clear_below, cooldown),
            ),
        ),
        hint=(
            "keep two pieces of state, armed (starts True) and the day of the last retrain (starts "
            "None); each day: re-arm if score < clear_below, then retrain if armed, score >= "
            "threshold and the cooldown has passed."
        ),
    )
)

# ---------------------------------------------------------------------------------------------
# 05.budget_allows: at most max_retrains per trailing period
# ---------------------------------------------------------------------------------------------


def _budget_public() -> list[Case]:
    return [
        Case("no retrains yet", ([], 10), {"max_retrains": 1, "period": 30}),
        Case("a retrain exactly one period ago has left the window", ([0, 25], 30), {"max_retrains": 2, "period": 30}),
        Case("a planned retrain after now does not count", ([5, 12], 10), {"max_retrains": 2, "period": 30}),
        Case("the budget is used up", ([35, 50], 55), {"max_retrains": 2, "period": 30}),
        Case("the window trails now, it is not a calendar month", ([28, 29, 31], 32), {"max_retrains": 2, "period": 30}),
        Case("a retrain at now counts, times in any order", ([30, 3], 30), {"max_retrains": 1, "period": 30}),
    ]


def _budget_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(8):
        times = sorted(float(t) for t in rng.uniform(0, 120, int(rng.integers(0, 12))).round(1))
        now = round(float(rng.uniform(30, 130)), 1)
        cases.append(Case("random retrain times", (times, now),
                          {"max_retrains": int(rng.integers(1, 5)), "period": float(rng.integers(7, 60))}))  # fmt: skip
    return cases


def _budget_count(times, now, period, *, lower_inclusive=False, future=False, calendar=False):
    count = 0
    for t in times:
        if calendar:
            inside = math.floor(t / period) == math.floor(now / period) and t <= now
        else:
            above = t >= now - period if lower_inclusive else t > now - period
            inside = above and (future or t <= now)
        count += bool(inside)
    return count


register(
    Exercise(
        id="05.budget_allows",
        title="Whether a retraining budget per trailing period allows one more retrain",
        kind="function",
        reference="course_lib.retraining:budget_allows",
        public_cases=_budget_public,
        hidden_cases=_budget_hidden,
        returns="bool",
        mistakes=(
            Mistake(
                "a retrain exactly `period` days ago has left the window: it is (now - period, now], "
                "open on the left.",
                wrong=lambda times, now, max_retrains, period: _budget_count(times, now, period, lower_inclusive=True) < max_retrains,
            ),
            Mistake(
                "you counted a retrain planned after now: only retrains at or before now have spent "
                "the budget.",
                wrong=lambda times, now, max_retrains, period: _budget_count(times, now, period, future=True) < max_retrains,
            ),
            Mistake(
                "off by one: with max_retrains already done in the window, one more would exceed the "
                "budget (allowed only while the count is < max_retrains).",
                wrong=lambda times, now, max_retrains, period: _budget_count(times, now, period) <= max_retrains,
            ),
            Mistake(
                "you counted per calendar block (same floor(t / period) as now); the budget is over the "
                "trailing window ending at now, so a burst around a block boundary is still a burst.",
                wrong=lambda times, now, max_retrains, period: _budget_count(times, now, period, calendar=True) < max_retrains,
            ),
        ),
        hint="count the retrains t with now - period < t <= now and return count < max_retrains, as a bool.",
    )
)

# ---------------------------------------------------------------------------------------------
# 05.choose_policy: the policy for a cost of retraining, from the simulated year
# ---------------------------------------------------------------------------------------------

#: The lesson's simulated year: make_policy_stream(seed=LESSON_SEED) under standard_policies().
LESSON_SEED = 2024
#: The two costs of one retrain the exercise asks about (one wrong prediction costs 1).
CHOOSE_POLICY_COSTS = {"retrain_cost_200": 200, "retrain_cost_2000": 2000}


@functools.lru_cache(maxsize=1)
def _lesson_year():
    from course_lib.retraining import make_policy_stream, simulate_policies, standard_policies

    summary = simulate_policies(make_policy_stream(seed=LESSON_SEED), standard_policies(), retrain_cost=0.0).summary
    return {name: (int(row["retrains"]), int(row["errors"])) for name, row in summary.iterrows()}


def _cheapest(cost: float, *, ignore: str = "") -> str:
    year = _lesson_year()
    totals = {name: errors + cost * retrains for name, (retrains, errors) in year.items()}
    if ignore == "retrains":
        totals = {name: errors for name, (_, errors) in year.items()}
    return min(totals, key=totals.get)


def choose_policy_answer() -> dict:
    """Reference answer of 05.choose_policy: the policy with the lowest total cost at each cost."""
    return {key: _cheapest(cost) for key, cost in CHOOSE_POLICY_COSTS.items()}


def _with(key: str, word: str):
    def answer() -> dict:
        result = choose_policy_answer()
        result[key] = word
        return result

    return answer


def _chose(key: str, word: str):
    def test(case: Case, got) -> bool:
        return case.entry == key and _word(got, key) == word and word != choose_policy_answer()[key]

    return test


_POLICIES = ("never", "periodic", "drift", "performance", "combined")
_CHEAP, _DEAR = CHOOSE_POLICY_COSTS

register(
    Exercise(
        id="05.choose_policy",
        title="The retraining policy to run, for a cheap and for an expensive retrain",
        kind="value",
        reference="course_lib.grading.exercises.lesson05:choose_policy_answer",
        public_cases=lambda: [Case(f"one retrain costs {cost} errors", entry=key) for key, cost in CHOOSE_POLICY_COSTS.items()],
        reveal_expected=False,
        normalize=EntriesOneOf(*_POLICIES),
        mistakes=(
            Mistake(
                'answer with a dict {"retrain_cost_200": ..., "retrain_cost_2000": ...} whose values are '
                'policy names: "never", "periodic", "drift", "performance" or "combined".',
                wrong=lambda: {key: "monthly" for key in CHOOSE_POLICY_COSTS},
                test=lambda case, got: _word(got, case.entry) not in _POLICIES,
            ),
            Mistake(
                "the calendar policy is as accurate as the best triggered one, but pays for a dozen "
                "retrains to get there. Compare total costs, errors + cost x retrains, not accuracy.",
                wrong=_with(_CHEAP, "periodic"),
                test=_chose(_CHEAP, "periodic"),
            ),
            Mistake(
                "at this price a retrain is cheap next to the thousands of extra errors a model "
                "left to decay makes after the concept changes. Add up errors + 200 x retrains.",
                wrong=_with(_CHEAP, "never"),
                test=_chose(_CHEAP, "never"),
            ),
            Mistake(
                "the combined policy is a little more accurate than the cheapest choice but retrains "
                "more often: at 200 per retrain, do the errors it saves pay for its extra retrains? "
                "Compare errors + 200 x retrains.",
                wrong=_with(_CHEAP, "combined"),
                test=_chose(_CHEAP, "combined"),
            ),
            Mistake(
                "the drift trigger fired on the covariate drift, which did not hurt, and stayed "
                "silent through the concept drift, which did: it pays for a retrain and still makes "
                "about as many errors as a model left alone.",
                wrong=_with(_CHEAP, "drift"),
                test=lambda case, got: _word(got, case.entry) == "drift" and choose_policy_answer()[case.entry] != "drift",
            ),
            Mistake(
                "the table's total_cost column was computed at 200 per retrain: recompute errors + "
                "2000 x retrains for every policy. At this price, is any retrain worth what it saves?",
                wrong=_with(_DEAR, "performance"),
                test=_chose(_DEAR, "performance"),
            ),
            Mistake(
                "the most accurate policies retrain most: at 2000 per retrain their retrains cost "
                "more than the errors they save. Compare errors + 2000 x retrains.",
                wrong=_with(_DEAR, "periodic"),
                test=lambda case, got: case.entry == _DEAR and _word(got, _DEAR) in ("periodic", "combined")
                and _word(got, _DEAR) != choose_policy_answer()[_DEAR],
            ),
        ),
        hint="for each cost, compute errors + cost x retrains for every policy in the summary and pick the smallest.",
    )
)

"""Multiple-choice puzzles with one word per item (lessons 01 and 02): helpers for their cases
and their known mistakes.

A puzzle's answer is a dict such as ``{"A": "prior", "B": "concept"}``. Each entry is its own
case (partial credit, one hint per wrong entry), and a mistake is recognised per entry: "this
item is truly X and was answered Y".
"""

from __future__ import annotations

from course_lib.grading.registry import Case


def word(got, key: str) -> str | None:
    """The learner's word for ``key``, normalised, or None when there is none."""
    if not isinstance(got, dict) or not isinstance(got.get(key), str):
        return None
    return got[key].strip().lower()


def entry_cases(answer_key, noun: str):
    """One case per entry of the answer dict, so each wrong entry costs one case."""

    def cases() -> list[Case]:
        return [Case(f"{noun} {key}", entry=key) for key in answer_key()]

    return cases


def not_a_word(allowed: tuple[str, ...]):
    """A mistake test: the entry of this case is missing or not one of ``allowed``."""

    def test(case: Case, got) -> bool:
        return word(got, case.entry) not in allowed

    return test


def called(truth: str, wrong: tuple[str, ...], answer_key):
    """A mistake test: this case's entry is truly ``truth`` and was answered as one of ``wrong``."""

    def test(case: Case, got) -> bool:
        key = case.entry
        return answer_key()[key] == truth and word(got, key) in wrong

    return test


def relabelled(answer_key, truth: str, wrong: str):
    """The right answer except that the entry that is truly ``truth`` is answered ``wrong``."""

    def answer() -> dict:
        result = answer_key()
        key = next(name for name, word in result.items() if word == truth)
        result[key] = wrong
        return result

    return answer


def misspelt(answer_key, word: str):
    """The right answer with every entry replaced by ``word`` (not one of the options)."""

    def answer() -> dict:
        return {key: word for key in answer_key()}

    return answer

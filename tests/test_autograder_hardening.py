"""Red-team findings of issue 9 (paths, lost records, leaks, sizes), each graded in one batch.

Every submission here is a notebook of the synthetic lesson 01 (tests/grading_lesson.py) in which
one thing is hostile; the tests check that the grader writes only inside RESULTS, keeps every
record, and never shows a student the grading seed, hidden inputs, or text their code produced
while a hidden case ran, while the instructor's record keeps it all.
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pytest

from course_lib.grading import get_exercise
from course_lib.grading.autograder import grade, hash_tree
from course_lib.grading.feedback import MAX_FILE_BYTES, assign_folders, inside, safe_name
from course_lib.grading.release import build_release

from grading_lesson import LABELLED_FRACTION_SOLUTION, solution_notebook, with_exercise, write_course, write_notebook

SEED = 3183698728
LEAK = "LEAK-7f3a"

WINDOWED = """\
def windowed_mean(values, window):
    values = np.asarray(values, dtype=float)
    full = len(values) // window * window
    return values[:full].reshape(-1, window).mean(axis=1)
"""

# Finds the hidden cases in the sandbox's memory and raises them, with the seeds it can find, in
# the message of every public case (the attack of the issue).
LEAKS_HIDDEN_INPUTS = """\
import gc
def _hidden_inputs():
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "01.windowed_mean" in obj:
            found.append(repr(obj)[:400])
    return found
_calls = []
def windowed_mean(values, window):
    _calls.append(1)
    raise ValueError(f"%s public={len(_calls)} hidden={_hidden_inputs()}")
""" % LEAK

# On hidden cases (the public ones come first and are known), return or raise text.
TALKS_ON_HIDDEN_CASES = """\
_seen = []
def windowed_mean(values, window):
    _seen.append(list(values))
    if len(_seen) <= PUBLIC:
        values = np.asarray(values, dtype=float)
        full = len(values) // window * window
        return values[:full].reshape(-1, window).mean(axis=1)
    if len(_seen) & 1:
        raise RuntimeError("LEAK " + repr(_seen[-1]))
    return "LEAK " + repr(_seen[-1])
""".replace("LEAK", LEAK).replace("PUBLIC", str(len(get_exercise("01.windowed_mean").public_cases())))

HUGE_ANSWER = 'def labelled_fraction(prediction_times, label_delays, now):\n    return "x" * 30_000_000\n'

FORGES_DONE = """\
import gc, json
from multiprocessing.connection import Connection
for obj in gc.get_objects():
    if isinstance(obj, Connection):
        try:
            obj.send_bytes(json.dumps({"event": "done", "cell_errors": [], "output": "%s" * 8_000_000,
                                       "output_dropped": 0}).encode())
        except Exception:
            pass
""" % LEAK + WINDOWED


def _plain_notebook(exercise_id: str, source: str) -> dict:
    """A notebook without lesson metadata whose only cell claims ``exercise_id``."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "id": "only",
                "metadata": {"course": {"exercise": exercise_id}},
                "source": source,
                "outputs": [],
                "execution_count": None,
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("hardening")
    release = build_release(write_course(base / "course"))
    student = release.lessons["01"].notebook
    good = with_exercise(student, "01.labelled_fraction", LABELLED_FRACTION_SOLUTION)
    submissions = base / "submissions"
    escape_targets = [Path("/z"), base / "results" / "students" / "feedback.md"]
    preexisting = {path for path in escape_targets if path.exists()}

    write_notebook(submissions / "slash_id.ipynb", _plain_notebook("/z.evil", WINDOWED))
    write_notebook(submissions / "dotdot_id.ipynb", _plain_notebook("..evil", WINDOWED))
    write_notebook(submissions / "x:y.ipynb", solution_notebook())
    write_notebook(submissions / "x_y.ipynb", student)
    nfc, nfd = unicodedata.normalize("NFC", "Zoë"), unicodedata.normalize("NFD", "Zoë")
    write_notebook(submissions / nfc / "01_synthetic.ipynb", solution_notebook())
    write_notebook(submissions / nfd / "01_synthetic.ipynb", student)
    os.utime(submissions / nfd / "01_synthetic.ipynb", (2_000_000_000, 2_000_000_000))  # the newer one
    outside = base / "outside"
    write_notebook(outside / "elsewhere.ipynb", solution_notebook())
    (submissions / "linked.ipynb").symlink_to(outside / "elsewhere.ipynb")
    (submissions / "linked_folder").symlink_to(outside, target_is_directory=True)

    for name, source in {
        "complex": "def labelled_fraction(prediction_times, label_delays, now):\n    return complex(0.25, 0)\n",
        "huge_int": "def labelled_fraction(prediction_times, label_delays, now):\n    return 10**400\n",
    }.items():
        write_notebook(
            submissions / f"{name}.ipynb",
            with_exercise(with_exercise(student, "01.windowed_mean", WINDOWED), "01.labelled_fraction", source),
        )
    write_notebook(submissions / "leaks.ipynb", with_exercise(good, "01.windowed_mean", LEAKS_HIDDEN_INPUTS))
    write_notebook(submissions / "talks.ipynb", with_exercise(good, "01.windowed_mean", TALKS_ON_HIDDEN_CASES))
    write_notebook(
        submissions / "huge_answer.ipynb",
        with_exercise(with_exercise(student, "01.windowed_mean", WINDOWED), "01.labelled_fraction", HUGE_ANSWER),
    )
    write_notebook(submissions / "forges_done.ipynb", with_exercise(good, "01.windowed_mean", FORGES_DONE))

    before = hash_tree(submissions)
    run = grade(submissions, base / "results", release=release, seed=SEED, workers=2)
    records: dict[str, list] = {}
    for record in run.records:
        records.setdefault(record.student, []).append(record)
    return {
        "run": run,
        "records": records,
        "results": base / "results",
        "escape_targets": escape_targets,
        "preexisting": preexisting,
        "before": before,
        "after": hash_tree(submissions),
        "nfc": nfc,
        "nfd": nfd,
    }


def _one(batch, student):
    (record,) = batch["records"][student]
    return record


def _exercise(record, exercise_id):
    return next(grade for grade in record.exercises if grade.id == exercise_id)


def _student_texts(batch, record) -> str:
    folder = batch["results"] / "students" / record.folder / record.lesson
    return "\n".join((folder / name).read_text(encoding="utf-8") for name in ("feedback.md", "feedback.html", "results.json"))


def _instructor_record(batch, record) -> str:
    return (batch["results"] / "instructor" / record.folder / record.lesson / "record.json").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# (1) paths


def test_exercise_ids_never_become_paths(batch):
    for path in batch["escape_targets"]:
        if path not in batch["preexisting"]:
            assert not path.exists(), path
    for student in ("slash_id", "dotdot_id"):
        record = _one(batch, student)
        assert record.lesson == "01"  # the only lesson of the release; "/z" and ".." are no lesson numbers
        assert (batch["results"] / "students" / student / "01" / "feedback.md").is_file()


def test_every_file_lies_in_its_place_inside_results(batch):
    results = batch["results"].resolve()
    top = {"gradebook.csv", "gradebook.json", "summary.md", "summary.html", "score_distribution.png"}
    for path in results.rglob("*"):
        assert not path.is_symlink()
        if path.is_file():
            parts = path.relative_to(results).parts
            assert parts[0] in top or (len(parts) == 4 and parts[0] in ("students", "instructor")), parts


def test_colliding_ids_get_their_own_folders_and_a_flag(batch):
    colon, underscore = _one(batch, "x:y"), _one(batch, "x_y")
    assert (underscore.folder, colon.folder) == ("x_y", "x_y~2")
    assert (colon.score, underscore.score) == (2, 0)
    assert "folder renamed" in colon.flags and "folder renamed" not in underscore.flags
    for record in (colon, underscore):
        data = json.loads(_instructor_record(batch, record))
        assert (data["student"], data["score"]) == (record.student, record.score)
        text = (batch["results"] / "students" / record.folder / "01" / "feedback.md").read_text(encoding="utf-8")
        assert f"Score: {record.score:g} / 2" in text


def test_unicode_variants_are_kept_apart_and_flagged(batch):
    composed, decomposed = _one(batch, batch["nfc"]), _one(batch, batch["nfd"])
    assert (composed.score, decomposed.score) == (2, 0)  # the newer stub did not replace the solution
    assert composed.folder == batch["nfc"] and decomposed.folder == batch["nfc"] + "~2"
    assert "folder renamed" in decomposed.flags
    assert any("Unicode normalisation" in note for note in decomposed.notes)
    # The note is handed back to the student: it must not name the other student's id.
    assert not any(batch["nfc"] + "'" in note for note in decomposed.notes)
    assert not any("'x_y'" in note for note in _one(batch, "x:y").notes)


def test_symlinks_are_listed_as_skipped(batch):
    skipped = {item.relpath: item.reason for item in batch["run"].skipped}
    assert set(skipped) == {"linked.ipynb", "linked_folder"}
    assert all("symbolic link" in reason for reason in skipped.values())
    summary = (batch["results"] / "summary.md").read_text(encoding="utf-8")
    assert "linked.ipynb: a symbolic link" in summary and "linked_folder" in summary
    data = json.loads((batch["results"] / "gradebook.json").read_text(encoding="utf-8"))
    assert {item["path"] for item in data["skipped"]} == set(skipped)
    assert "linked" not in batch["records"] and "elsewhere" not in batch["records"]


def test_safe_names_and_the_containment_check():
    assert safe_name("a/b\\c\x00d\u202ee") == "a_b_c_d_e"
    assert safe_name("..") == "_" and safe_name(".x") == "_x" and len(safe_name("é" * 500)) == 120
    assert assign_folders(["Bob", "bob"])["bob"].name == "bob~2"  # case-insensitive disks
    with pytest.raises(ValueError, match="refusing"):
        inside("/tmp/results", "students", "..", "x")
    with pytest.raises(ValueError, match="refusing"):
        inside("/tmp/results", "/z")


def test_submissions_are_untouched(batch):
    assert batch["after"] == batch["before"]


# ---------------------------------------------------------------------------------------------
# (2) lost records


@pytest.mark.parametrize("student", ["complex", "huge_int"])
def test_an_answer_the_comparer_cannot_handle_costs_only_its_exercise(batch, student):
    record = _one(batch, student)
    assert record.status == "graded"
    assert _exercise(record, "01.windowed_mean").score == 1.0
    grade_ = _exercise(record, "01.labelled_fraction")
    assert grade_.score == 0.0
    if student == "huge_int":
        assert grade_.status == "not gradable" and "could not compare" in grade_.message
    else:  # the exercise promises a float: the self-check's type check fails it first
        assert grade_.status in ("failed", "not gradable")
    assert batch["run"].records and not any(r.status == "grader error" for r in batch["run"].records)


# ---------------------------------------------------------------------------------------------
# (3) leaks and sizes


def test_feedback_never_shows_the_seed(batch):
    for records in batch["records"].values():
        for record in records:
            assert str(SEED) not in _student_texts(batch, record)
            assert json.loads(_instructor_record(batch, record))["seed"] == SEED


def test_public_case_messages_cannot_carry_hidden_inputs_out(batch):
    record = _one(batch, "leaks")
    texts = _student_texts(batch, record)
    assert LEAK not in texts and "hidden=" not in texts
    assert "raised ValueError" in texts
    assert LEAK in _instructor_record(batch, record)  # the instructor keeps the message


def test_hidden_cases_show_neither_returned_text_nor_messages(batch):
    record = _one(batch, "talks")
    grade_ = _exercise(record, "01.windowed_mean")
    assert grade_.public.passed == grade_.public.total
    assert grade_.hidden.passed == 0
    texts = _student_texts(batch, record)
    assert LEAK not in texts
    assert "raised RuntimeError" in texts and "what a hidden case returned is not shown" in texts
    assert LEAK in _instructor_record(batch, record)


def test_a_huge_answer_is_not_graded_and_nothing_grows(batch):
    record = _one(batch, "huge_answer")
    assert _exercise(record, "01.windowed_mean").score == 1.0
    assert _exercise(record, "01.labelled_fraction").score == 0.0
    for path in batch["results"].rglob("*"):
        if path.is_file():
            assert path.stat().st_size < 1_000_000, path
    assert MAX_FILE_BYTES <= 4 * 2**20


def test_a_forged_oversized_message_is_refused(batch):
    record = _one(batch, "forges_done")
    assert record.status == "graded"
    assert _exercise(record, "01.labelled_fraction").score == 1.0
    assert LEAK not in record.output
    assert _exercise(record, "01.windowed_mean").status in ("crashed", "passed")

"""The instructor's term around the grader: a tiny class in both layouts and in Canvas's naming,
a roster, late work, manual adjustments, the wide gradebook, feedback to hand back, and
notebooks whose metadata an editor stripped (cell ids kept)."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from course_lib.grading.__main__ import main
from course_lib.grading.autograder import describe_cell, find_submissions, grade, student_id
from course_lib.grading.release import build_release, read_release, write_release
from course_lib.grading.roster import (
    Adjustments,
    Roster,
    Term,
    canvas_name,
    parse_due,
)
from course_lib.grading.sandbox import Limits

from grading_lesson import WINDOWED_MEAN_SOLUTION, solution_notebook, with_exercise, write_course, write_notebook

SEED = 4242
LIMITS = Limits(exercise_seconds=20.0, submission_seconds=60.0, memory_mb=1024)
DUE = dt.datetime(2026, 10, 5, 23, 59, tzinfo=dt.timezone.utc)
BEFORE, AFTER = DUE.timestamp() - 3600, DUE.timestamp() + 7200

ROSTER = """\
student_id,name,lms_id,match
alice,Alice Liddell,11111,alice
bob,Bob Builder,22222,
h.hopper,Heidi Hopper,12345,
i.ivanov,Ivan Ivanov,23456,
ken,Ken Thompson,,ken*
zoe,Zoë Zeller,99999,
"""

ADJUSTMENTS = """\
student,exercise,points,delta,comment
bob,01.windowed_mean,0.5,,Right idea on paper (office hours); half a point.
alice,01.labelled_fraction,,-0.5,Copied the docstring of another student.
zoe,01.windowed_mean,1,,Excused: graded by hand after an illness.
"""


def _strip_metadata(notebook: dict) -> dict:
    """What some editors save: cell ids kept, every metadata dict emptied."""
    stripped = copy.deepcopy(notebook)
    stripped["metadata"] = {}
    for cell in stripped["cells"]:
        cell["metadata"] = {}
    return stripped


def _class(folder: Path, release) -> None:
    student = release.lessons["01"].notebook
    solution = solution_notebook()
    files = {
        "alice/01_synthetic.ipynb": (solution, AFTER),  # folder layout, late by its time
        "bob.ipynb": (student, BEFORE),  # file layout, untouched
        "heidi_LATE_12345_67890_01_synthetic.ipynb": (solution, BEFORE),  # Canvas says late
        "ken.ipynb": (_strip_metadata(solution), BEFORE),  # metadata lost
    }
    # Canvas, on time by Canvas's word even though the download is newer than the due time; the
    # check cell under the first exercise is edited (the released one runs).
    ivan = with_exercise(student, "01.windowed_mean", WINDOWED_MEAN_SOLUTION)
    ivan["cells"][5]["source"] = "print('checked by me')"
    files["ivan_23456_78901_01_synthetic.ipynb"] = (ivan, AFTER)
    for relpath, (notebook, mtime) in files.items():
        path = write_notebook(folder / relpath, notebook)
        os.utime(path, (mtime, mtime))


@pytest.fixture(scope="module")
def term_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("term")
    write_release(build_release(write_course(base / "course")), base / "release")
    release = read_release(base / "release")
    submissions = base / "submissions"
    _class(submissions, release)
    (base / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (base / "adjustments.csv").write_text(ADJUSTMENTS, encoding="utf-8")
    exercises = [item.id for item in release.lessons["01"].exercises]
    term = Term(
        roster=Roster.read(base / "roster.csv"),
        adjustments=Adjustments.read(base / "adjustments.csv", exercises),
        due=DUE,
        late_penalty=0.1,
    )
    # One worker: two at once have hit a sandbox start-up race (runner.py, "seek of closed file").
    run = grade(submissions, base / "results", release=release, seed=SEED, limits=LIMITS, term=term, workers=1)
    return {
        "base": base,
        "release": release,
        "submissions": submissions,
        "results": base / "results",
        "run": run,
        "records": {r.student: r for r in run.records},
    }


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as stream:
        return {row["student"]: row for row in csv.DictReader(stream)}


# ---------------------------------------------------------------------------------------------
# names


@pytest.mark.parametrize(
    "name, expected",
    [
        ("heidi_LATE_12345_67890_02_drift_statistics.ipynb", ("heidi", True, "12345", "67890", "02_drift_statistics.ipynb")),
        ("heidi_12345_67890_02_drift_statistics.ipynb", ("heidi", False, "12345", "67890", "02_drift_statistics.ipynb")),
        ("vanderberg_LATE_7_8_01_drift_theory-1.ipynb", ("vanderberg", True, "7", "8", "01_drift_theory-1.ipynb")),
    ],
)
def test_canvas_names(name, expected):
    parsed = canvas_name(name)
    assert (parsed.student, parsed.late, parsed.user_id, parsed.file_id, parsed.original) == expected
    assert student_id(name) == expected[0]


@pytest.mark.parametrize("name", ["alice.ipynb", "alice_01.ipynb", "a_b_c.ipynb", "heidi_12_x_y.ipynb", "x_1_2_.txt"])
def test_other_names_are_not_canvas_names(name):
    assert canvas_name(name) is None


def test_canvas_names_only_at_the_top_level(tmp_path):
    write_notebook(tmp_path / "heidi_LATE_1_2_01_x.ipynb", solution_notebook())
    write_notebook(tmp_path / "carl" / "heidi_LATE_1_2_01_x.ipynb", solution_notebook())
    found = {item.relpath: item for item in find_submissions(tmp_path)}
    top, nested = found["heidi_LATE_1_2_01_x.ipynb"], found["carl/heidi_LATE_1_2_01_x.ipynb"]
    assert (top.student, top.lms_id, top.lms_late, top.original) == ("heidi", "1", True, "01_x.ipynb")
    assert (nested.student, nested.lms_id, nested.lms_late) == ("carl", "", False)


def test_canvas_submissions_are_named_by_the_roster(term_run):
    heidi = term_run["records"]["h.hopper"]
    assert (heidi.name, heidi.lms_id, heidi.lesson) == ("Heidi Hopper", "12345", "01")
    assert heidi.submission == "heidi_LATE_12345_67890_01_synthetic.ipynb"
    # The lesson came from Canvas's original file name or the metadata; the folder is the roster id.
    assert (term_run["results"] / "students" / "h.hopper" / "01" / "feedback.md").is_file()
    assert set(term_run["records"]) == {"alice", "bob", "h.hopper", "i.ivanov", "ken"}


def test_roster_problems_are_flagged(tmp_path):
    roster_path = tmp_path / "roster.csv"
    roster_path.write_text("student_id,name,lms_id,match\na,A,,x*\nb,B,,x*\n", encoding="utf-8")
    roster = Roster.read(roster_path)
    assert roster.identify("xavier", "xavier.ipynb").problem.startswith("matches several roster rows")
    assert roster.identify("nobody", "nobody.ipynb").problem == "not on the roster"
    assert roster.identify("nobody", "nobody.ipynb").student == "nobody"
    assert roster.identify("a", "whatever.ipynb").student == "a"


@pytest.mark.parametrize(
    "text, message",
    [
        ("name\nx\n", "student_id"),
        ("student_id\nx\nx\n", "appears twice"),
        ("student_id,name\n,Nobody\n", "empty"),
    ],
)
def test_bad_rosters_are_refused(tmp_path, text, message):
    (tmp_path / "r.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Roster.read(tmp_path / "r.csv")


# ---------------------------------------------------------------------------------------------
# late work


def test_late_by_time_and_by_canvas_marker(term_run):
    records = term_run["records"]
    assert records["alice"].late.startswith("modified 2.0 h after the due time")
    assert records["h.hopper"].late == "Canvas marked it LATE"
    # Canvas's word decides for its downloads: ivan's file is newer than the due time, on time.
    assert records["i.ivanov"].late == "" and records["bob"].late == "" and records["ken"].late == ""
    summary = (term_run["results"] / "summary.md").read_text(encoding="utf-8")
    assert "Late: 2 (alice, h.hopper)." in summary


def test_late_penalty_only_when_set(term_run, tmp_path):
    heidi = term_run["records"]["h.hopper"]
    assert (heidi.score, heidi.penalty, heidi.final_score) == (2, pytest.approx(0.2), pytest.approx(1.8))
    # Without a penalty late work is only flagged.
    record = copy.deepcopy(heidi)
    Term(due=DUE).apply(record, type("S", (), {"lms_late": True, "lms_id": "12345", "mtime": BEFORE})())
    assert (record.late, record.penalty, record.final_score) == ("Canvas marked it LATE", 0.0, 2.0)


@pytest.mark.parametrize("penalty", [-0.1, 1.5, "0.1", True])
def test_bad_penalties_are_refused(penalty):
    with pytest.raises(ValueError, match="late_penalty"):
        Term(late_penalty=penalty)


def test_due_times():
    assert parse_due("2026-10-05T23:59-04:00").utcoffset() == dt.timedelta(hours=-4)
    assert parse_due("2026-10-05T23:59Z") == DUE
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_due("next friday")


# ---------------------------------------------------------------------------------------------
# adjustments and the gradebooks


def test_adjustments_change_the_exercise_and_are_explained(term_run):
    alice, bob = term_run["records"]["alice"], term_run["records"]["bob"]
    assert bob.score == 0 and bob.adjusted_score == 0.5 and bob.final_score == 0.5
    # alice: 2 points, minus 0.5 by hand, then late: 10 % of 1.5 off.
    assert (alice.score, alice.adjusted_score, alice.final_score) == (2, 1.5, pytest.approx(1.35))
    text = (term_run["results"] / "students" / "bob" / "01" / "feedback.md").read_text(encoding="utf-8")
    assert "## From your instructor" in text
    assert "01.windowed_mean: 0 → 0.5 points. Right idea on paper (office hours); half a point." in text
    assert "**Score: 0.5 / 2 (graded automatically: 0" in text
    alice_text = (term_run["results"] / "students" / "alice" / "01" / "feedback.md").read_text(encoding="utf-8")
    assert "Submitted late (modified 2.0 h after the due time" in alice_text
    assert "0.15 points were taken off" in alice_text


def test_long_gradebook_has_adjusted_scores_and_term_columns(term_run):
    rows = _rows(term_run["results"] / "gradebook.csv")
    assert rows["bob"]["01.windowed_mean"] == "0.5" and rows["bob"]["total"] == "0.5"
    assert rows["alice"]["01.labelled_fraction"] == "0.5" and rows["alice"]["final"] == "1.35"
    assert "late" in rows["alice"]["flags"] and "adjusted: 01.labelled_fraction" in rows["alice"]["flags"]
    assert rows["h.hopper"]["late"] == "Canvas marked it LATE" and rows["h.hopper"]["penalty"] == "0.2"
    for row in rows.values():
        total = float(row["01.windowed_mean"]) + float(row["01.labelled_fraction"])
        assert float(row["total"]) == pytest.approx(total)


def test_wide_gradebook_one_row_per_student(term_run):
    path = term_run["results"] / "gradebook_wide.csv"
    with open(path, encoding="utf-8", newline="") as stream:
        header = next(csv.reader(stream))
    assert header == [
        "student", "name", "lms_id", "01 total", "01.windowed_mean", "01.labelled_fraction",
        "total", "max", "late", "flags",
    ]  # fmt: skip
    rows = _rows(path)
    # Every roster student, zoe without a submission too (her adjustment counts from 0).
    assert set(rows) == {"alice", "bob", "h.hopper", "i.ivanov", "ken", "zoe"}
    assert (rows["zoe"]["name"], rows["zoe"]["01 total"], rows["zoe"]["01.labelled_fraction"]) == ("Zoë Zeller", "1", "")
    assert rows["h.hopper"]["lms_id"] == "12345" and rows["h.hopper"]["late"] == "01"
    assert rows["ken"]["01 total"] == "2" and "01: metadata lost" in rows["ken"]["flags"]
    assert rows["i.ivanov"]["01.windowed_mean"] == "1" and rows["i.ivanov"]["01.labelled_fraction"] == "0"
    for row in rows.values():
        assert row["max"] == "2" and row["total"] == row["01 total"]
        if row["01 total"] and row["student"] != "zoe":
            exercise_sum = float(row["01.windowed_mean"]) + float(row["01.labelled_fraction"])
            record = term_run["records"][row["student"]]
            assert float(row["01 total"]) == pytest.approx(exercise_sum - record.penalty)


@pytest.mark.parametrize(
    "text, message",
    [
        ("student,exercise,points,comment\nbob,01.nope,1,x\n", "not an exercise of the release"),
        ("student,exercise,points,delta,comment\nbob,01.windowed_mean,1,1,x\n", "either points"),
        ("student,exercise,points,delta,comment\nbob,01.windowed_mean,,,x\n", "either points"),
        ("student,exercise,points,comment\nbob,01.windowed_mean,lots,x\n", "must be a number"),
        ("student,exercise,points,comment\nbob,01.windowed_mean,-1,x\n", ">= 0"),
        ("student,exercise,points,comment\nbob,01.windowed_mean,1,\n", "comment"),
        ("student,points,comment\nbob,1,x\n", "missing: exercise"),
    ],
)
def test_bad_adjustments_are_refused(tmp_path, text, message):
    (tmp_path / "a.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Adjustments.read(tmp_path / "a.csv", ["01.windowed_mean", "01.labelled_fraction"])


def test_grade_command_rereads_the_term_for_unchanged_submissions(term_run, tmp_path, capsys):
    """A re-run with new adjustments regrades nothing but rewrites the gradebooks and feedback."""
    base = term_run["base"]
    results = tmp_path / "results"
    shutil.copytree(term_run["results"], results)  # the other tests read the fixture's results
    (tmp_path / "adjustments2.csv").write_text(
        "student,exercise,delta,comment\nken,01.windowed_mean,-1,Helper code copied from the answers.\n"
        "kenn,01.windowed_mean,1,A typo in the student id.\n",
        encoding="utf-8",
    )
    args = ["grade", str(term_run["submissions"]), "--out", str(results), "--release", str(base / "release")]
    args += ["--roster", str(base / "roster.csv"), "--adjustments", str(tmp_path / "adjustments2.csv")]
    args += ["--timeout", "20", "--submission-timeout", "60", "--memory-mb", "1024"]  # the fixture's limits
    assert main(args + ["--due", "2026-10-05T23:59Z"]) == 0
    out, err = capsys.readouterr()
    assert out.count("(unchanged, reused)") == 5 and "alice · lesson 01: 2/2 graded (late)" in out
    assert "adjustment of 01.windowed_mean for 'kenn' was not applied" in err and "'ken'" not in err
    rows = _rows(results / "gradebook_wide.csv")
    assert rows["ken"]["01 total"] == "1" and rows["bob"]["01 total"] == "0"
    bob = (results / "students" / "bob" / "01" / "feedback.md").read_text(encoding="utf-8")
    assert "From your instructor" not in bob
    assert main(args + ["--due", "tomorrow"]) == 2
    assert "ISO 8601" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# metadata lost (ken), and what goes back to students


def test_metadata_lost_is_graded_by_cell_ids_and_flagged(term_run):
    ken = term_run["records"]["ken"]
    assert (ken.lesson, ken.status, ken.score, ken.max_score) == ("01", "graded", 2, 2)
    assert "metadata lost" in ken.flags
    assert any("recognised by their cell ids" in note and "01.windowed_mean" in note for note in ken.notes)


def test_metadata_lost_without_cell_ids_finds_no_exercise(tmp_path, term_run):
    notebook = _strip_metadata(solution_notebook())
    for cell in notebook["cells"]:
        del cell["id"]
    write_notebook(tmp_path / "subs" / "nobody.ipynb", notebook)
    write_notebook(tmp_path / "subs" / "nobody2.ipynb", term_run["release"].lessons["01"].notebook)
    release = term_run["release"]
    run = grade(tmp_path / "subs", tmp_path / "out", release=release, seed=SEED, limits=LIMITS)
    records = {r.student: r for r in run.records}
    # One released lesson: the notebook is taken as that lesson, but no exercise cell is found.
    assert records["nobody"].score == 0 and "metadata lost" not in records["nobody"].flags
    assert records["nobody2"].flags == []


def test_feedback_for_students_has_no_instructor_material(term_run):
    students = term_run["results"] / "students"
    for record in term_run["run"].records:
        folder = students / record.folder
        names = {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
        assert names == {"01/feedback.md", "01/feedback.html", "01/results.json"}
        for name in names:
            text = (folder / name).read_text(encoding="utf-8")
            assert "Flags for the instructor" not in text and str(SEED) not in text
            assert "position" not in text and "Released cell" not in text
    instructor = term_run["results"] / "instructor" / "ken" / "01"
    assert {path.name for path in instructor.iterdir()} == {"record.json", "output.txt"}


def test_one_zip_per_student_to_hand_back(term_run):
    results = term_run["results"]
    zips = sorted(path.name for path in (results / "return").iterdir())
    assert zips == sorted(f"{record.folder}.zip" for record in term_run["run"].records)
    with zipfile.ZipFile(results / "return" / "h.hopper.zip") as archive:
        assert sorted(archive.namelist()) == ["01/feedback.html", "01/feedback.md", "01/results.json"]
        shown = archive.read("01/feedback.md")
    assert shown == (results / "students" / "h.hopper" / "01" / "feedback.md").read_bytes()


def test_notes_name_cells_by_their_heading(term_run):
    ivan = term_run["records"]["i.ivanov"]
    assert "edited cells: 1" in ivan.flags
    note = next(note for note in ivan.notes if note.startswith("Edited cells"))
    assert 'the 2nd code cell under "Exercise 01.windowed_mean: means of full windows"' in note
    assert any("position" in line and "5" in line for line in ivan.log)


def test_describe_cell():
    notebook = solution_notebook()
    assert describe_cell(notebook, 0) == 'the text cell "Lesson 01 · A synthetic lesson for the grader\'s tests"'
    assert describe_cell(notebook, 2) == 'the 2nd code cell under "Lesson 01 · A synthetic lesson for the grader\'s tests"'
    assert describe_cell(notebook, 6) == 'the 3rd code cell under "Exercise 01.windowed_mean: means of full windows"'
    assert describe_cell(notebook, 99) == "a cell of the lesson"
    assert describe_cell({"cells": [{"cell_type": "code", "source": "x"}]}, 0) == "the code cell at the top of the notebook"


def test_lesson_and_exercises_by_cell_ids_among_several_lessons():
    """Without metadata and under a name that says nothing, the cell ids still tell lesson 02."""
    from course_lib.grading.autograder import Submission, lesson_by_cell_ids, plan_submissions

    root = Path(__file__).resolve().parent.parent
    release = build_release(root / "notebooks" / "solutions", ["01", "02"])
    stripped = _strip_metadata(release.lessons["02"].notebook)
    assert lesson_by_cell_ids(stripped, release) == "02"
    assert lesson_by_cell_ids({"cells": [{"cell_type": "code", "id": "nope", "source": ""}]}, release) is None
    data = json.dumps(stripped).encode("utf-8")
    (plan,) = plan_submissions([Submission("ken", "homework.ipynb", data, 0.0)], release)
    assert plan.lesson == "02" and plan.problem is None
    assert plan.restored == ("lesson", *(item.id for item in release.lessons["02"].exercises))
    marked = [cell["metadata"]["course"]["exercise"] for cell in plan.notebook["cells"] if cell["metadata"]]
    assert marked == [item.id for item in release.lessons["02"].exercises]

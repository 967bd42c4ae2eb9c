"""The autograder on well-behaved submissions: scores, feedback, gradebook, Gradescope results,
re-runs and seeds; the answer wire format; the static integrity checks; the real lessons."""

from __future__ import annotations

import csv
import html.parser
import json
import re
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from course_lib.grading import get_exercise, run_cases
from course_lib.grading.__main__ import main
from course_lib.grading.autograder import grade, hash_tree, hidden_seed
from course_lib.grading.gradebook import exercise_statistics
from course_lib.grading.integrity import cell_changes, reference_use, tampering
from course_lib.grading.notebooks import read_notebook, student_version
from course_lib.grading.release import build_release, read_release, write_release
from course_lib.grading.runner import describe_exit
from course_lib.grading.sandbox import Limits
from course_lib.grading.selfcheck import Raised, judge
from course_lib.grading.wire import Opaque, WireError, decode, encode

from grading_lesson import (
    WINDOWED_MEAN_SOLUTION,
    solution_notebook,
    with_exercise,
    write_course,
    write_notebook,
)

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240607
LIMITS = Limits(exercise_seconds=20, submission_seconds=60, memory_mb=1024)

PARTIAL_WINDOW = """\
def windowed_mean(values, window):
    values = np.asarray(values, dtype=float)
    return np.array([values[i:i + window].mean() for i in range(0, len(values), window)])
"""
OFF_BY_ONE = WINDOWED_MEAN_SOLUTION.replace("mean(axis=1)", "mean(axis=1) + 1")


def _submissions(folder: Path, release) -> None:
    student = release.lessons["01"].notebook
    write_notebook(folder / "teacher.ipynb", solution_notebook())
    write_notebook(folder / "untouched.ipynb", student)
    write_notebook(folder / "half.ipynb", with_exercise(student, "01.windowed_mean", WINDOWED_MEAN_SOLUTION))
    write_notebook(
        folder / "partial" / "01.ipynb", with_exercise(solution_notebook(), "01.windowed_mean", PARTIAL_WINDOW)
    )
    write_notebook(folder / "off_by_one.ipynb", with_exercise(solution_notebook(), "01.windowed_mean", OFF_BY_ONE))
    # Learners often run the self-check in the exercise cell itself; that is not reference use.
    checked = WINDOWED_MEAN_SOLUTION + 'check("01.windowed_mean", windowed_mean)\n'
    write_notebook(folder / "checks_in_cell.ipynb", with_exercise(solution_notebook(), "01.windowed_mean", checked))
    edited = solution_notebook()
    edited["cells"][5]["source"] = 'print("all good")'  # the check cell
    del edited["cells"][2]  # the imports: the released copy still runs
    write_notebook(folder / "edited.ipynb", edited)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("graded")
    write_release(build_release(write_course(base / "course")), base / "release")
    release = read_release(base / "release")
    submissions = base / "submissions"
    _submissions(submissions, release)
    before = hash_tree(submissions)
    run = grade(submissions, base / "results", release=release, seed=SEED, limits=LIMITS)
    return {
        "base": base,
        "release": release,
        "submissions": submissions,
        "results": base / "results",
        "run": run,
        "records": {r.student: r for r in run.records},
        "before": before,
    }


def _grade(record, exercise_id):
    return next(g for g in record.exercises if g.id == exercise_id)


def test_solutions_get_full_marks_and_untouched_notebooks_zero(graded):
    teacher, untouched = graded["records"]["teacher"], graded["records"]["untouched"]
    assert (teacher.score, teacher.max_score, teacher.status, teacher.flags) == (2, 2, "graded", [])
    assert (untouched.score, untouched.status) == (0, "not attempted")
    assert {g.status for g in untouched.exercises} == {"not attempted"}


def test_check_in_the_exercise_cell_is_not_reference_use(graded):
    record = graded["records"]["checks_in_cell"]
    assert (record.score, record.flags) == (2, [])


def test_an_untouched_exercise_next_to_an_answered_one(graded):
    half = graded["records"]["half"]
    assert [(g.id, g.score, g.status) for g in half.exercises] == [
        ("01.windowed_mean", 1.0, "passed"),
        ("01.labelled_fraction", 0.0, "not attempted"),
    ]


def test_partial_credit_follows_the_cases_that_fail(graded):
    """Keeping the last partial window is wrong exactly when the window does not divide the length."""
    grade_ = _grade(graded["records"]["partial"], "01.windowed_mean")
    exercise = get_exercise("01.windowed_mean")
    public = exercise.public_cases()
    hidden = exercise.draw_hidden_cases(hidden_seed(SEED, exercise.id))
    fails = [len(c.args[0]) % c.args[1] != 0 for c in public + hidden]
    assert [not o.passed for o in grade_.public.outcomes + grade_.hidden.outcomes] == fails
    assert grade_.score == pytest.approx(fails.count(False) / len(fails))


def test_feedback_names_the_case_expected_got_and_hint(graded):
    folder = graded["results"] / "students" / "partial" / "01"
    text = (folder / "feedback.md").read_text(encoding="utf-8")
    hint = get_exercise("01.windowed_mean").mistakes[0].hint
    assert "public case 2 (a last, partial window to leave out): expected shape (2,), got shape (3,)" in text
    assert hint in text
    hidden_lines = [line for line in text.splitlines() if line.startswith("- hidden case")]
    assert hidden_lines
    for line in hidden_lines:
        # Hidden cases show the shape of their inputs only: no data, no test code.
        assert re.match(r"- hidden case \d+ \(inputs \(ndarray\(\d+,\), int\)\): ", line), line
        assert "rng" not in line and "def " not in line


def test_expected_and_got_values(graded):
    text = (graded["results"] / "students" / "off_by_one" / "01" / "feedback.md").read_text(encoding="utf-8")
    # Case 1 is [1, 3, 5, 7] in windows of 2: means 2 and 6; the answer adds 1.
    assert (
        "public case 1 (a length that divides into windows): 2 of 2 values differ; first at index 0: expected 2, got 3"
        in text
    )


def test_edited_and_deleted_cells_are_flagged_and_ignored(graded):
    record = graded["records"]["edited"]
    assert record.score == record.max_score
    assert "edited cells: 1" in record.flags and "deleted cells: 1" in record.flags


def test_html_feedback(graded):
    page = (graded["results"] / "students" / "partial" / "01" / "feedback.html").read_text(encoding="utf-8")
    parser = html.parser.HTMLParser()
    parser.feed(page)
    assert "<h1>" in page and "a last, partial window to leave out" in page
    assert get_exercise("01.windowed_mean").mistakes[0].hint.replace("'", "&#x27;") in page


def test_gradescope_results(graded):
    for record in graded["run"].records:
        data = json.loads(
            (graded["results"] / "students" / record.student / "01" / "results.json").read_text(encoding="utf-8")
        )
        # Gradescope shows points to the cent: every score is the record's, rounded.
        assert data["score"] == pytest.approx(record.score, abs=0.005 * len(data["tests"]))
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
        assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(record.max_score)
        for test in data["tests"]:
            assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
            assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
            assert 0 <= test["score"] <= test["max_score"] + 1e-9
            # Rounded to cents, and an exercise's two tests add up to its points.
            assert test["max_score"] == round(test["max_score"], 2) and test["score"] == round(test["score"], 2)
        # The top-level output is always visible: with hidden tests it never shows the total.
        if "after_published" in {t["visibility"] for t in data["tests"]}:
            assert f"{record.score:g} / 2" not in data["output"] and "Public cases:" in data["output"]


def test_gradescope_output_names_the_public_points_only(graded):
    record = graded["records"]["partial"]
    data = json.loads((graded["results"] / "students" / "partial" / "01" / "results.json").read_text(encoding="utf-8"))
    public = [t for t in data["tests"] if t["visibility"] == "visible"]
    score, maximum = sum(t["score"] for t in public), sum(t["max_score"] for t in public)
    assert data["output"].startswith(f"Public cases: {score:g} / {maximum:g} points ({record.status}).")
    assert record.score < 2 and "hidden" in data["output"].lower()


def test_gradebook_csv(graded):
    with open(graded["results"] / "gradebook.csv", encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == [
        "student",
        "lesson",
        "01.windowed_mean",
        "01.labelled_fraction",
        "total",
        "max",
        "status",
        "flags",
        "seed",
        "submission",
        "late",
        "penalty",
        "final",
    ]
    by_student = {row["student"]: row for row in rows}
    assert set(by_student) == set(graded["records"])
    assert by_student["teacher"]["total"] == "2" and by_student["teacher"]["max"] == "2"
    assert by_student["half"]["01.windowed_mean"] == "1" and by_student["half"]["01.labelled_fraction"] == "0"
    assert by_student["untouched"]["status"] == "not attempted"
    assert {row["seed"] for row in rows} == {str(SEED)}
    for row in rows:
        assert float(row["total"]) == pytest.approx(float(row["01.windowed_mean"]) + float(row["01.labelled_fraction"]))
    data = json.loads((graded["results"] / "gradebook.json").read_text(encoding="utf-8"))
    assert data["seed"] == SEED and data["submissions_unchanged"] is True
    assert data["release"] == graded["release"].fingerprint


def test_class_summary(graded):
    results = graded["results"]
    assert (results / "score_distribution.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (results / "summary.md").read_text(encoding="utf-8")
    rows = exercise_statistics(graded["run"], "01")
    shares = [row["failed_share"] for row in rows]
    assert shares == sorted(shares, reverse=True)
    # windowed_mean fails for partial and off_by_one; labelled_fraction only where not attempted.
    full = {row["id"]: row["full_marks"] for row in rows}
    assert full == {
        exercise: sum(_grade(r, exercise).status == "passed" for r in graded["run"].records)
        for exercise in ("01.windowed_mean", "01.labelled_fraction")
    }
    assert text.index(f"| {rows[0]['id']} |") < text.index(f"| {rows[1]['id']} |")
    assert "<table>" in (results / "summary.html").read_text(encoding="utf-8")


def test_submissions_are_left_untouched(graded):
    assert hash_tree(graded["submissions"]) == graded["before"]


def test_rerun_skips_unchanged_submissions_and_keeps_the_seed(graded, tmp_path):
    submissions, results = graded["submissions"], graded["results"]
    again = grade(submissions, results, release=graded["release"], limits=LIMITS)
    assert again.seed == SEED
    assert again.reused == len(again.records)
    # A changed submission is graded again; the others are not.
    copy_dir = tmp_path / "submissions"
    _submissions(copy_dir, graded["release"])
    first = grade(copy_dir, tmp_path / "results", release=graded["release"], seed=SEED, limits=LIMITS)
    assert first.reused == 0
    write_notebook(copy_dir / "half.ipynb", solution_notebook())
    second = grade(copy_dir, tmp_path / "results", release=graded["release"], limits=LIMITS)
    assert second.reused == len(second.records) - 1
    assert next(r for r in second.records if r.student == "half").score == 2
    # The same seed gives the same grades and feedback; another seed, other hidden cases.
    assert [(r.student, r.score) for r in first.records] == [(r.student, r.score) for r in again.records]
    other = grade(
        copy_dir, tmp_path / "other-seed", release=graded["release"], seed=SEED + 1, limits=LIMITS, force=True
    )

    def labels(run):
        record = next(r for r in run.records if r.student == "partial")
        return [o.description for o in _grade(record, "01.windowed_mean").hidden.outcomes]

    assert labels(first) != labels(other)


def test_results_must_not_go_into_submissions(graded):
    with pytest.raises(ValueError, match="must not overlap"):
        grade(graded["submissions"], graded["submissions"] / "results", release=graded["release"])
    with pytest.raises(ValueError, match="workers"):
        grade(graded["submissions"], graded["base"] / "x", release=graded["release"], workers=0)
    with pytest.raises(ValueError, match="lesson"):
        grade(graded["submissions"], graded["base"] / "x", release=graded["release"], lesson="07")


def test_grade_command(graded, tmp_path, capsys):
    code = main(
        [
            "grade",
            str(graded["submissions"]),
            "--out",
            str(tmp_path / "results"),
            "--release",
            str(graded["base"] / "release"),
            "--seed",
            str(SEED),
            "--timeout",
            "20",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "teacher · lesson 01: 2/2 graded" in out
    assert (tmp_path / "results" / "gradebook.csv").read_text(encoding="utf-8") == (
        graded["results"] / "gradebook.csv"
    ).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# judging answers computed elsewhere


def test_judge_agrees_with_run_cases():
    exercise = get_exercise("01.windowed_mean")
    cases = exercise.public_cases()

    def partial(values, window):
        values = np.asarray(values, dtype=float)
        if len(values) % window:
            raise ValueError("uneven")
        return values.reshape(-1, window).mean(axis=1)

    answers = []
    for case in cases:
        try:
            answers.append(partial(*case.args))
        except ValueError as exc:
            answers.append(Raised("ValueError", str(exc)))
    assert judge(exercise, cases, answers) == run_cases(exercise, partial, cases)


def test_judge_checks_its_arguments():
    exercise = get_exercise("01.windowed_mean")
    with pytest.raises(ValueError, match="answers"):
        judge(exercise, exercise.public_cases(), [])


# ---------------------------------------------------------------------------------------------
# the answer wire format


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -(2**70),
        0.5,
        float("inf"),
        1 + 2j,
        "text",
        b"\x00\xff",
        (1, "a"),
        {1, 2},
        {"a": [1.0, None], 2: (3,)},
        np.arange(6, dtype=np.int16).reshape(2, 3),
        np.array([0.5, np.nan]),
        np.array(["a", "bc"]),
        np.array([True, False]),
        np.array(["2024-01-01"], dtype="datetime64[D]"),
        np.float32(1.5),
        np.int64(7),
        np.bool_(True),
    ],
    ids=repr,
)
def test_wire_round_trip(value):
    back = decode(json.loads(json.dumps(encode(value))))
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype
        np.testing.assert_array_equal(back, value)
    elif isinstance(value, np.generic):
        assert type(back) is type(value) and back == value
    else:
        assert back == value and type(back) is type(value)
    assert not (isinstance(value, float) and np.isnan(value))


def test_wire_round_trip_nan_and_records_and_pandas():
    assert np.isnan(decode(encode(float("nan"))))
    result = scipy.stats.ks_2samp([1.0, 2.0, 3.0], [1.5, 2.5, 9.0])
    back = decode(encode(result))
    assert (back.statistic, back.pvalue) == (result.statistic, result.pvalue)
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}, index=["r1", "r2"])
    pd.testing.assert_frame_equal(decode(encode(frame)), frame)
    series = pd.Series([1, 2, 3], name="s")
    pd.testing.assert_series_equal(decode(encode(series)), series)


def test_wire_refuses_unsafe_or_malformed_data():
    with pytest.raises(WireError, match="dtype"):
        decode({"$": "ndarray", "dtype": "|O", "shape": [1], "data": "AAAAAAAAAAA="})
    with pytest.raises(WireError, match="shape"):
        decode({"$": "ndarray", "dtype": "<f8", "shape": [4], "data": "AAAAAAAAAAA="})
    with pytest.raises(WireError, match="tag"):
        decode({"$": "pickle", "data": ""})
    with pytest.raises(WireError):
        decode({"$": "dict", "items": [[{"$": "set", "items": []}, 1]]})
    with pytest.raises(WireError, match="too large"):
        encode(np.zeros(1000), max_bytes=100)
    nested: list = []
    nested.append(nested)
    with pytest.raises(WireError, match="deeply"):
        encode(nested)


def test_unknown_objects_arrive_opaque_and_never_equal():
    back = decode(encode(object()))
    assert isinstance(back, Opaque) and back != back and "object" in repr(back)


# ---------------------------------------------------------------------------------------------
# static integrity checks


@pytest.mark.parametrize(
    "source",
    [
        "from course_lib.simulate import windowed_mean",
        "from course_lib.simulate import *",
        "import course_lib.simulate as s\ndef windowed_mean(v, w):\n    return s.windowed_mean(v, w)",
        "import course_lib\nf = course_lib.simulate.windowed_mean",
        "windowed_mean = answer_or_reference('01.windowed_mean', None)",
        "from course_lib.grading import get_exercise\nf = get_exercise('01.windowed_mean').reference_solution()",
        "from course_lib import simulate\nf = getattr(simulate, 'windowed_mean')",
    ],
)
def test_reference_use_is_detected(source):
    assert reference_use(source, get_exercise("01.windowed_mean")) is not None


@pytest.mark.parametrize(
    "source",
    [
        WINDOWED_MEAN_SOLUTION,
        "import scipy.stats\ndef windowed_mean(v, w):\n    return scipy.stats.windowed_mean(v, w)",
        "from course_lib.simulate import make_tabular",
        "def windowed_mean(v, w:",
    ],
)
def test_honest_cells_are_not_accused(source):
    assert reference_use(source, get_exercise("01.windowed_mean")) is None


def test_reference_through_a_setup_import_is_detected():
    source = "def windowed_mean(v, w):\n    return sim.windowed_mean(v, w)"
    exercise = get_exercise("01.windowed_mean")
    assert reference_use(source, exercise) is None
    assert reference_use(source, exercise, setup_sources=["import course_lib.simulate as sim"]) is not None


def test_tampering_findings():
    assert tampering(WINDOWED_MEAN_SOLUTION) == []
    found = tampering(
        "import course_lib.grading.compare as c\nc.compare = None\ncheck = print\nimport sys\nsys.modules['x'] = 1"
    )
    assert len(found) == 3


def test_cell_changes(tmp_path):
    released = build_release(write_course(tmp_path)).lessons["01"]
    notebook = student_version(solution_notebook())
    assert cell_changes(released, notebook) == type(cell_changes(released, notebook))()
    notebook["cells"][2]["source"] += "\nx = 1"
    del notebook["cells"][5]
    notebook["cells"].append({"cell_type": "code", "id": "new", "metadata": {}, "source": "print(1)", "outputs": []})
    notebook["cells"].append({"cell_type": "code", "id": "blank", "metadata": {}, "source": "  ", "outputs": []})
    changes = cell_changes(released, notebook)
    assert (changes.edited, changes.deleted, changes.added) == ((2,), (5,), 1)
    # Without cell ids, cells are matched by content.
    for cell in notebook["cells"]:
        cell.pop("id", None)
    changes = cell_changes(released, notebook)
    assert (changes.edited, changes.deleted, changes.added) == ((), (2, 5), 2)


# ---------------------------------------------------------------------------------------------
# the real lessons


REAL_LESSONS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def real_lessons(tmp_path_factory):
    assert REAL_LESSONS, "no lesson notebook in notebooks/solutions"
    base = tmp_path_factory.mktemp("real")
    release = build_release(ROOT / "notebooks" / "solutions")
    for path in REAL_LESSONS:
        number = path.name[:2]
        write_notebook(base / "submissions" / f"solution-{number}" / path.name, read_notebook(path))
        committed = ROOT / "notebooks" / path.name
        student = read_notebook(committed) if committed.exists() else student_version(read_notebook(path))
        write_notebook(base / "submissions" / f"student-{number}" / path.name, student)
    run = grade(
        base / "submissions",
        base / "results",
        release=release,
        seed=SEED,
        limits=Limits(exercise_seconds=120, submission_seconds=600),
    )
    return {record.student: record for record in run.records}


@pytest.mark.parametrize("path", REAL_LESSONS, ids=lambda p: p.name)
def test_real_lesson_solution_gets_full_marks(real_lessons, path):
    record = real_lessons[f"solution-{path.name[:2]}"]
    details = [(g.id, g.status, g.message) for g in record.exercises if g.status != "passed"]
    assert (record.status, record.score, details, record.flags) == ("graded", record.max_score, [], []), record.notes
    assert record.max_score > 0


@pytest.mark.parametrize("path", REAL_LESSONS, ids=lambda p: p.name)
def test_real_lesson_student_copy_gets_zero_not_attempted(real_lessons, path):
    record = real_lessons[f"student-{path.name[:2]}"]
    assert (record.status, record.score) == ("not attempted", 0)
    assert {g.status for g in record.exercises} == {"not attempted"}


def test_exit_codes_are_explained():
    assert "CPU time limit" in describe_exit(128 + signal.SIGXCPU)
    assert "CPU time limit" in describe_exit(-signal.SIGXCPU)
    assert "exit code 3" in describe_exit(3)


def test_a_sandbox_that_cannot_start_is_a_grader_error(graded, tmp_path, monkeypatch, capsys):
    from course_lib.grading import runner

    failure = {"status": "crashed", "error": "the grading process did not start: stopped early with exit code 1"}
    monkeypatch.setattr(
        runner, "execute", lambda *args, **kwargs: runner.Execution(results={"01.windowed_mean": failure})
    )
    code = main(
        ["grade", str(graded["submissions"]), "--out", str(tmp_path), "--release", str(graded["base"] / "release")]
    )
    assert code == 1
    rows = csv.DictReader((tmp_path / "gradebook.csv").read_text(encoding="utf-8").splitlines())
    statuses = {row["student"]: row["status"] for row in rows}
    # Nothing to run for an untouched notebook; every other one could not be graded.
    assert statuses.pop("untouched") == "not attempted"
    assert set(statuses.values()) == {"grader error"}


def test_a_grader_crash_keeps_its_traceback_for_the_instructor(graded, tmp_path, monkeypatch):
    from course_lib.grading import autograder

    def crash(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(autograder, "grade_plan", crash)
    run = grade(graded["submissions"], tmp_path, release=graded["release"], seed=SEED, limits=LIMITS)
    record = run.records[0]
    assert record.status == "grader error" and "secret internals" in record.log[0]
    feedback = (tmp_path / "students" / record.folder / "01" / "feedback.md").read_text(encoding="utf-8")
    assert "secret internals" not in feedback and "Traceback" not in feedback
    assert "The grader failed on this submission" in feedback

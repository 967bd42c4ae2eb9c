"""Instructors' own assignments: authored in a course folder, released without their answers,
self-checked from the release's frozen data, graded as lessons are.

The sample course is ``tests/fixtures/my-course`` (its ``conftest.py`` keeps pytest from
collecting its notebook and module): assignment 11, with
``11.windowed_median`` (a variant of the course's ``01.windowed_mean``) and ``11.alarm_policy``
(a decision, answered with a word). Its references live in its ``exercises.py`` only.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import runpy
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_lib.grading import get_exercise, run_cases
from course_lib.grading.__main__ import main
from course_lib.grading.assignments import (
    AssignmentError,
    answer_digest,
    check_exercise,
    find_leaks,
    freeze_exercise,
    graders_problems,
    load_course,
    scaffold,
    thaw_exercise,
)
from course_lib.grading.compare import compare
from course_lib.grading.notebooks import read_notebook, student_version, write_notebook
from course_lib.grading.registry import Case, Exercise, Mistake, exercise_ids, is_released_copy, lesson_numbers
from course_lib.grading.release import build_assignments_release, read_release, write_release
from course_lib.grading.selfcheck import AnswerNeeded, answer_or_reference

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "my-course"
NOTEBOOK = "11_windows_and_alarms.ipynb"
MODULE_TAIL = (FIXTURE / "exercises.py").read_text(encoding="utf-8")


def _course_copy(tmp_path: Path, name: str = "my-course") -> Path:
    folder = tmp_path / name
    shutil.copytree(FIXTURE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _release(tmp_path: Path, course: Path, *extra: str) -> int:
    return main(["release", "--assignments", str(course), "--out", str(tmp_path / "release"), "--no-wheel", *extra])


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    base = tmp_path_factory.mktemp("assignment")
    assert _release(base, FIXTURE) == 0
    return base / "release"


# --------------------------------------------------------------------------------------------
# authoring and releasing


def test_the_course_folder_registers_its_assignment():
    course = load_course(FIXTURE)
    assert course.exercise_ids == ("11.windowed_median", "11.alarm_policy")
    assert course.numbers == ("11",) and "11" in lesson_numbers()
    assert exercise_ids("11") == ["11.windowed_median", "11.alarm_policy"]
    # The course's own ids are untouched by it.
    assert not any(ident.startswith("11.") for ident in exercise_ids())
    assert load_course(FIXTURE) == course  # loading again reuses what is registered
    for exercise in course.exercises():
        assert check_exercise(exercise) == []


def test_release_writes_a_handout_and_keeps_the_manifest_apart(released):
    students, instructor = released / "students", released / "instructor"
    assert sorted(p.name for p in students.iterdir()) == [NOTEBOOK, "README.md", "selfcheck.json"]
    assert sorted(p.name for p in instructor.iterdir()) == ["manifest.json"]
    notebook = read_notebook(students / NOTEBOOK)
    assert notebook == student_version(read_notebook(FIXTURE / NOTEBOOK))
    manifest = json.loads((instructor / "manifest.json").read_text(encoding="utf-8"))
    (lesson,) = manifest["lessons"]
    assert lesson["lesson"] == "11" and lesson["title"] == "Windows and alarms" and lesson["max_points"] == 2
    assert [(e["id"], e["answer"]) for e in lesson["exercises"]] == [
        ("11.windowed_median", "windowed_median"),
        ("11.alarm_policy", "alarm_policy"),
    ]
    assert manifest["selfcheck"]["file"] == "selfcheck.json"
    readme = (students / "README.md").read_text(encoding="utf-8")
    assert NOTEBOOK in readme and "selfcheck.json" in readme


def test_the_release_holds_no_reference_no_hidden_generator_and_no_value_answer(released):
    course = load_course(FIXTURE)
    assert find_leaks(released, course.exercises()) == []
    text = "\n".join(path.read_text(encoding="utf-8") for path in released.rglob("*") if path.is_file())
    # The answer of the value exercise is frozen as a digest only: "ticket" is named no more
    # often than "ignore", another of the choices (in the exercise's text and among the choices).
    assert text.count("ticket") == text.count("ignore") > 0
    assert answer_digest("11.alarm_policy", 0, "ticket") in text
    # Nothing is pickled: the self-check data is plain JSON without NaN literals.
    data = json.loads((released / "students" / "selfcheck.json").read_text(encoding="utf-8"), parse_constant=_refuse)
    assert [spec["id"] for spec in data["exercises"]] == list(course.exercise_ids)
    assert "hidden" not in json.dumps(data)


def _refuse(name):
    raise AssertionError(f"selfcheck.json holds the non-JSON constant {name}")


def test_the_leak_scan_finds_a_reference_pasted_into_a_release(tmp_path, capsys):
    course = _course_copy(tmp_path)
    notebook = read_notebook(course / NOTEBOOK)
    # An instructor pastes the reference into the notes of the exercise's markdown cell.
    body = (FIXTURE / "exercises.py").read_text(encoding="utf-8").split("def windowed_median", 1)[1].split("\n\n\n")[0]
    notebook["cells"][3]["source"] += "\n\n```python\ndef windowed_median" + body + "\n```\n"
    write_notebook(notebook, course / NOTEBOOK)
    assert _release(tmp_path, course) == 1
    error = capsys.readouterr().err
    assert "leaks an answer" in error and f"students/{NOTEBOOK}" in error and "reference of 11.windowed_median" in error
    # The scan searches archives member by member.
    archive = tmp_path / "extra.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(course / "exercises.py", "inside/exercises.py")
    leaks = find_leaks(tmp_path / "release", [])
    assert leaks == []
    shutil.copy(archive, tmp_path / "release" / "students" / "extra.zip")
    found = find_leaks(tmp_path / "release", load_course(course).exercises())
    assert any("extra.zip!inside/exercises.py" in leak and "hidden cases of 11.windowed_median" in leak for leak in found)


def test_release_with_the_wheel_is_a_complete_handout(tmp_path):
    assert main(["release", "--assignments", str(FIXTURE), "--out", str(tmp_path / "release")]) == 0
    students = tmp_path / "release" / "students"
    (wheel,) = students.glob("course_lib-*-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "course_lib/grading/assignments.py" in names and not any("my-course" in name for name in names)
    assert f'pip install "{wheel.name}[observability]"' in (students / "README.md").read_text(encoding="utf-8")
    assert not list((tmp_path / "release").glob("*.whl"))  # built for the copy, kept only in students/
    assert find_leaks(tmp_path / "release", load_course(FIXTURE).exercises()) == []


# --------------------------------------------------------------------------------------------
# errors at release time, before any student sees the assignment


@pytest.mark.parametrize(
    "module, message",
    [
        ("def broken(:\n", r"exercises.py could not be loaded: SyntaxError.*\(line 1\)"),
        ("import numpy as np\nundefined_name(1)\n", r"NameError: name 'undefined_name'.*\(line 2\)"),
        ("x = 1\n", "registers no exercise"),
        (
            MODULE_TAIL.replace('id="11.alarm_policy"', 'id="02.alarm_policy"'),
            r"'02.alarm_policy': 02 is a lesson of the course",
        ),
        (
            MODULE_TAIL.replace('reference=f"{__name__}:alarm_policy"', 'reference="my_solutions:alarm_policy"'),
            r"its reference 'my_solutions:alarm_policy' cannot be found",
        ),
    ],
    ids=["syntax error", "error while loading", "no exercise", "a lesson's number", "reference not found"],
)
def test_a_malformed_exercises_module_is_refused_with_its_reason(tmp_path, capsys, module, message):
    course = _course_copy(tmp_path)
    (course / "exercises.py").write_text(module, encoding="utf-8")
    with pytest.raises(AssignmentError, match=message):
        load_course(course)
    assert _release(tmp_path, course) == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "release" / "students").exists()
    # A failed load leaves the registry as it was: lesson 02 has no stray exercise.
    assert "02.alarm_policy" not in exercise_ids("02")


def test_a_notebook_with_an_unregistered_exercise_id_is_refused(tmp_path, capsys):
    course = _course_copy(tmp_path, "unregistered")
    notebook = read_notebook(course / NOTEBOOK)
    notebook["cells"][8]["metadata"]["course"]["exercise"] = "11.alarm_polcy"
    write_notebook(notebook, course / NOTEBOOK)
    assert _release(tmp_path, course) == 2
    error = capsys.readouterr().err
    assert "'11.alarm_polcy', which is not a registered exercise of assignment 11" in error
    assert "11.alarm_policy" in error  # the registered ids are listed


def test_a_notebook_of_an_assignment_without_exercises_is_refused(tmp_path):
    course = _course_copy(tmp_path, "numbers")
    notebook = read_notebook(course / NOTEBOOK)
    notebook["metadata"]["course"]["lesson"] = "12"
    write_notebook(notebook, course / "12_other.ipynb")
    with pytest.raises(AssignmentError, match="assignment 12 has no exercise registered"):
        build_assignments_release(load_course(course))


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            'Case("a partial last window is left out", ([1.0, 3.0, 2.0, 8.0, 7.0], 2)),',
            'Case.with_expected("a partial last window is left out", [2.0, 5.0, 7.0], [1.0, 3.0, 2.0, 8.0, 7.0], 2),',
            r"the reference fails public case 3 \(a partial last window is left out\), whose expected value is given",
        ),
        (
            'Case("a length that divides into windows", ([1.0, 2.0, 9.0, 4.0, 5.0, 6.0], 3)),',
            'Case("a window of zero", ([1.0, 2.0], 0)),',
            r"the reference raises ZeroDivisionError: .* on public case 1 \(a window of zero\)",
        ),
        (
            'return "ticket"',
            'return "maybe"',
            "normalize refuses the reference's own answer",
        ),
        (
            "    return cases\n",
            "    return cases + [Case('an empty window', ([1.0], 0))]\n",
            r"the reference raises ZeroDivisionError: .* on hidden case 6",
        ),
    ],
    ids=["given expected value", "reference raises", "value of the wrong form", "hidden case"],
)
def test_a_case_the_reference_fails_is_refused(tmp_path, capsys, old, new, message):
    course = _course_copy(tmp_path, "failing")
    assert old in MODULE_TAIL
    (course / "exercises.py").write_text(MODULE_TAIL.replace(old, new), encoding="utf-8")
    with pytest.raises(AssignmentError, match=message):
        build_assignments_release(load_course(course))
    assert _release(tmp_path, course) == 2
    assert "error:" in capsys.readouterr().err


def test_a_changed_module_is_loaded_afresh(tmp_path):
    course = _course_copy(tmp_path, "changing")
    load_course(course)
    (course / "exercises.py").write_text(MODULE_TAIL.replace("What a PSI of 0.15", "What PSI 0.15"), encoding="utf-8")
    loaded = load_course(course)
    assert get_exercise("11.alarm_policy").title.startswith("What PSI 0.15")
    assert loaded.exercise_ids == ("11.windowed_median", "11.alarm_policy")
    load_course(FIXTURE)  # the sample course's entries again, for the other tests
    assert get_exercise("11.alarm_policy").title.startswith("What a PSI of 0.15")


# --------------------------------------------------------------------------------------------
# frozen data: JSON that round-trips arrays, frames, nan, tuples and dicts


def _frame_stats(frame, weights, labels):
    """A reference returning a DataFrame from a DataFrame, an array with nan and a dict."""
    out = frame.copy()
    out["weighted"] = frame["x"].to_numpy() * np.asarray(weights)
    out["label"] = [labels.get(int(key), "?") for key in frame["key"]]
    return out


def _frame_public():
    frame = pd.DataFrame({"x": [1.5, float("nan"), -0.0], "key": [1, 2, 3]}, index=["a", "b", "c"])
    return [
        Case("a frame with nan", (frame, np.array([np.inf, 2.0, 1.0])), {"labels": {1: "one", 3: "three"}}),
        Case("a tuple of weights", (frame.iloc[:2], (0.5, 0.25)), {"labels": {}}),
    ]


def test_freezing_round_trips_arrays_frames_nan_and_dicts():
    exercise = Exercise(
        id="19.frame_stats",
        title="t",
        kind="function",
        reference="test_assignments:_frame_stats",
        public_cases=_frame_public,
        returns="pandas.DataFrame",
        mistakes=(Mistake("you kept the wrong column", wrong=lambda frame, weights, labels: frame),),
    )
    assert check_exercise(exercise) == []
    text = json.dumps(freeze_exercise(exercise), allow_nan=False)
    thawed = thaw_exercise(json.loads(text))
    assert is_released_copy(thawed)
    for original, frozen in zip(exercise.public_cases(), thawed.public_cases(), strict=True):
        assert compare(list(original.args), list(frozen.args), rtol=0, atol=0).ok
        assert original.kwargs == frozen.kwargs  # integer keys stay integers
        assert type(frozen.args[0]) is pd.DataFrame and list(frozen.args[0].index) == ["a", "b", "c"][: len(frozen.args[0])]
        assert compare(exercise.expected_for(original), frozen.expected, rtol=0, atol=0).ok
    assert math.isnan(thawed.public_cases()[0].args[0]["x"].iloc[1])
    assert isinstance(thawed.public_cases()[1].args[1], tuple)
    # The thawed exercise checks answers as the original does, hints included.
    assert run_cases(thawed, _frame_stats, thawed.public_cases()).status == "passed"
    wrong = run_cases(thawed, lambda frame, weights, labels: frame, thawed.public_cases())
    assert wrong.status == "failed" and {o.hint for o in wrong.outcomes} == {"you kept the wrong column"}


def test_a_normalize_of_the_instructors_own_is_refused_at_release():
    exercise = Exercise(
        id="19.word", title="t", kind="value", reference="test_assignments:_word", public_cases=lambda: [Case("w")],
        normalize=lambda answer: str(answer).strip(),
    )
    with pytest.raises(AssignmentError, match="normalize .* is code of your course folder, which students do not get"):
        freeze_exercise(exercise)


def _word():
    return "yes"


def test_a_number_answer_of_a_value_exercise_is_a_warning():
    exercise = Exercise(id="19.threshold", title="t", kind="value", reference="test_assignments:_threshold",
                        public_cases=lambda: [Case("the threshold")])
    (warning,) = check_exercise(exercise)
    assert "holds in the clear" in warning


def _threshold():
    return 0.2


# --------------------------------------------------------------------------------------------
# the students' side: check() from the frozen data, in a kernel that never saw the module


STUDENT_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from course_lib.grading import answer_or_reference, check, get_exercise

    def windowed_median(values, window):
        values = np.asarray(values, dtype=float)
        full = len(values) // window * window
        return np.median(values[:full].reshape(-1, window), axis=1)

    def windowed_mean(values, window):
        values = np.asarray(values, dtype=float)
        full = len(values) // window * window
        return values[:full].reshape(-1, window).mean(axis=1)

    check("11.windowed_median", windowed_median)
    check("11.windowed_median", windowed_mean)
    check("11.alarm_policy", " Ticket")
    check("11.alarm_policy", "page")
    print(answer_or_reference("11.alarm_policy", "TICKET"))
    print(get_exercise("11.windowed_median").reference)
    try:
        answer_or_reference("11.windowed_median", None)
    except Exception as exc:
        print(type(exc).__name__, exc)
    """
)


def test_check_runs_from_the_frozen_data_without_the_instructors_module(released):
    done = subprocess.run(
        [sys.executable, "-c", STUDENT_SCRIPT],
        cwd=released / "students",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout
    assert "✔ 11.windowed_median: all 4 public cases pass." in lines
    assert "✘ 11.windowed_median: 2 of 4 public cases pass." in lines
    assert "hint: you averaged each window" in lines
    assert "✔ 11.alarm_policy: the public case passes." in lines
    assert "'page' is not the right answer" in lines and "hint: waking someone up" in lines
    assert "\nticket\n" in lines  # answer_or_reference passes the canonical answer on
    assert "course_lib.grading.assignments:withheld_reference" in lines
    assert "AnswerNeeded 11.windowed_median is not attempted yet, and this hand-out has no reference" in lines
    assert "ticket'" not in lines.replace("'page'", "")  # feedback never names the answer


def test_the_selfcheck_file_can_be_named_by_an_environment_variable(released, tmp_path):
    script = "from course_lib.grading import check\ncheck('11.alarm_policy', 'ignore')"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COURSE_LIB_SELFCHECK": str(released / "students" / "selfcheck.json")},
    )
    assert done.returncode == 0, done.stderr
    assert "✘ 11.alarm_policy: the public case fails." in done.stdout
    elsewhere = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert "not a known exercise" in elsewhere.stderr


def test_answer_or_reference_asks_for_the_answer_in_a_handout(released):
    spec = json.loads((released / "students" / "selfcheck.json").read_text(encoding="utf-8"))["exercises"][0]
    exercise = thaw_exercise(spec)
    from course_lib.grading import registry

    saved = registry._REGISTRY.get(exercise.id)
    registry._REGISTRY[exercise.id] = exercise
    try:
        with pytest.raises(AnswerNeeded, match="answer 11.windowed_median .* then run this cell again"):
            answer_or_reference("11.windowed_median", lambda values, window: np.zeros(1))
    finally:
        registry._REGISTRY[exercise.id] = saved


def _notebook_with(notebook: dict, answers: dict[str, str]) -> dict:
    result = copy.deepcopy(notebook)
    for cell in result["cells"]:
        ident = cell.get("metadata", {}).get("course", {}).get("exercise")
        if ident in answers:
            cell["source"] = answers[ident]
    return result


def _solution_of(ident: str) -> str:
    source = read_notebook(FIXTURE / NOTEBOOK)
    return next(
        "".join(c["source"]) for c in source["cells"] if c.get("metadata", {}).get("course", {}).get("exercise") == ident
    )


PARTIAL = {"11.windowed_median": _solution_of("11.windowed_median"), "11.alarm_policy": 'alarm_policy = "page"\n'}


def test_self_check_in_the_released_notebook(released):
    """The hand-out's notebook, executed by a Jupyter kernel in the students' folder."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    student = read_notebook(released / "students" / NOTEBOOK)
    # judy's mistake in an assignment: the exercise calls a helper from a cell of the student's own.
    own_helper = _notebook_with(
        student, {"11.windowed_median": "def windowed_median(values, window):\n    return my_median(values, window)\n"}
    )
    position = next(i for i, c in enumerate(own_helper["cells"]) if c.get("id") == "median-check") - 1
    helper = _solution_of("11.windowed_median").replace("def windowed_median", "def my_median")
    own_helper["cells"].insert(position, {"cell_type": "code", "id": "own-helper", "metadata": {}, "source": helper,
                                          "outputs": [], "execution_count": None})
    outputs = {}
    for name, notebook in (
        ("partial", _notebook_with(student, PARTIAL)), ("untouched", student), ("own helper", own_helper)
    ):
        node = nbformat.from_dict(notebook)
        nbclient.NotebookClient(
            node, timeout=120, kernel_name="python3", allow_errors=True,
            resources={"metadata": {"path": str(released / "students")}},
        ).execute()
        outputs[name] = {
            cell.id: "".join(o.get("text", "") or f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", []))
            for cell in node.cells
            if cell.cell_type == "code"
        }
    partial, untouched = outputs["partial"], outputs["untouched"]
    assert partial["median-check"].startswith("✔ 11.windowed_median: all 4 public cases pass.")
    assert "[ " in partial["median-use"]  # the answer was used by the next cell
    assert "✘ 11.alarm_policy: the public case fails." in partial["policy-check"]
    assert "hint: waking someone up" in partial["policy-check"]
    assert "not attempted yet" in untouched["median-check"] and "not attempted yet" in untouched["policy-check"]
    assert untouched["median-use"].startswith("AnswerNeeded: 11.windowed_median is not attempted yet")
    assert "⚠" not in partial["median-check"]
    helped = outputs["own helper"]["median-check"]
    assert helped.startswith("✔ 11.windowed_median") and "⚠ 11.windowed_median: this will score 0" in helped
    assert "`my_median`" in helped


# --------------------------------------------------------------------------------------------
# grading, exactly as lessons are graded


@pytest.fixture(scope="module")
def graded(released, tmp_path_factory):
    base = tmp_path_factory.mktemp("graded")
    submissions = base / "submissions"
    student = read_notebook(released / "students" / NOTEBOOK)
    write_notebook(read_notebook(FIXTURE / NOTEBOOK), submissions / "alice.ipynb")  # the solutions: correct
    write_notebook(_notebook_with(student, PARTIAL), submissions / "bob.ipynb")
    write_notebook(student, submissions / "carol.ipynb")  # handed in untouched
    results = base / "results"
    code = main(
        ["grade", str(submissions), "--assignments", str(FIXTURE), "--release", str(released), "--out", str(results),
         "--seed", "5"]
    )
    assert code == 0
    return results


def test_a_correct_a_partial_and_an_empty_submission_are_graded(graded):
    with open(graded / "gradebook.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert {name: (row["11.windowed_median"], row["11.alarm_policy"], row["total"], row["max"]) for name, row in rows.items()} == {
        "alice": ("1", "1", "2", "2"),
        "bob": ("1", "0", "1", "2"),
        "carol": ("0", "0", "0", "2"),
    }
    assert rows["carol"]["status"] == "not attempted" and rows["alice"]["status"] == "graded"
    record = json.loads((graded / "instructor" / "alice" / "11" / "record.json").read_text(encoding="utf-8"))
    median = record["exercises"][0]
    assert median["public"]["total"] == 4 and median["hidden"]["total"] == 5  # hidden cases were run
    assert record["isolation"]["mode"] in ("bubblewrap", "fallback", "namespaces")
    assert record["flags"] == []


def test_feedback_of_an_assignment_matches_the_notebooks_check(graded):
    feedback = (graded / "students" / "bob" / "11" / "feedback.md").read_text(encoding="utf-8")
    assert feedback.startswith("# Feedback for bob · Assignment 11")  # not a "Lesson 11"
    assert "11.alarm_policy" in feedback and "'page' is not the right answer" in feedback
    assert "waking someone up" in feedback and "ticket" not in feedback.lower()
    assert "all 5 hidden cases pass" in feedback


def test_grading_an_assignment_release_needs_its_course_folder(released, tmp_path, capsys):
    submissions = tmp_path / "submissions"
    write_notebook(read_notebook(released / "students" / NOTEBOOK), submissions / "dave.ipynb")
    # A new process, as an instructor's: it has not loaded the course folder.
    done = subprocess.run(
        [sys.executable, "-m", "course_lib.grading", "grade", str(submissions), "--release", str(released),
         "--out", str(tmp_path / "results")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2
    assert "11.windowed_median, 11.alarm_policy; pass --assignments FOLDER" in done.stderr
    assert not (tmp_path / "results").exists()


def test_a_module_changed_after_the_release_is_reported_when_grading(released, tmp_path):
    course = _course_copy(tmp_path, "edited-after-release")
    load_course(course)
    release = read_release(released)
    assert graders_problems(release) == []
    (course / "exercises.py").write_text(MODULE_TAIL.replace("[1.0, 3.0, 2.0, 8.0, 7.0], 2", "[1.0, 3.0, 2.0, 8.0, 7.0, 4.0, 1.0], 3"), encoding="utf-8")
    load_course(course)
    (warning,) = graders_problems(release)
    assert "public cases of 11.windowed_median changed since the release" in warning
    load_course(FIXTURE)


# --------------------------------------------------------------------------------------------
# scaffolding a variant of a lesson's exercise


def test_scaffold_starts_a_variant_that_can_be_released_and_tested(tmp_path, capsys):
    course = _course_copy(tmp_path, "scaffolded")
    code = main(["scaffold", "01.windowed_mean", "12.windowed_mean_daily", "--assignments", str(course),
                 "--root", str(ROOT), "--title", "Daily means"])
    assert code == 0
    out = capsys.readouterr().out
    assert "exercises.py" in out and "12_assignment.ipynb" in out and "test_12_windowed_mean_daily.py" in out
    loaded = load_course(course)
    assert "12.windowed_mean_daily" in loaded.exercise_ids
    exercise = get_exercise("12.windowed_mean_daily")
    base = get_exercise("01.windowed_mean")
    assert exercise.title == "Daily means" and exercise.public_cases == base.public_cases
    assert exercise.reference.endswith(":windowed_mean_daily") and exercise.reference != base.reference
    notebook = read_notebook(course / "12_assignment.ipynb")
    exercise_cell = next(c for c in notebook["cells"] if c["metadata"].get("course", {}).get("exercise") == "12.windowed_mean_daily")
    assert "# BEGIN SOLUTION" in "".join(exercise_cell["source"])
    assert any('check("12.windowed_mean_daily", windowed_mean)' in "".join(c["source"]) for c in notebook["cells"])
    # It releases with the rest of the course, and its generated test passes.
    release, warnings = build_assignments_release(loaded)
    assert sorted(release.lessons) == ["11", "12"]
    # Until the instructor writes the variant's own reference, the release says who holds it.
    assert warnings == [
        "12.windowed_mean_daily: its reference still calls a course exercise's reference (as scaffolded), "
        "which every student's course_lib holds; write your variant's own"
    ]
    namespace = runpy.run_path(str(course / "tests" / "test_12_windowed_mean_daily.py"))
    namespace["test_12_windowed_mean_daily_can_be_released"]()
    # A second variant goes into the same notebook; an existing id or a lesson's number is refused.
    assert main(["scaffold", "02.psi", "12.psi_weekly", "--assignments", str(course), "--root", str(ROOT)]) == 0
    assert "12.psi_weekly" in load_course(course).exercise_ids
    assert main(["scaffold", "02.psi", "12.psi_weekly", "--assignments", str(course), "--root", str(ROOT)]) == 2
    assert main(["scaffold", "02.psi", "03.psi_again", "--assignments", str(course), "--root", str(ROOT)]) == 2
    assert main(["scaffold", "99.nothing", "12.x", "--assignments", str(course), "--root", str(ROOT)]) == 2
    load_course(FIXTURE)


# --------------------------------------------------------------------------------------------
# the course's own lessons, released with their answers withheld

WITHHELD_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import course_lib
    from course_lib.grading import answer_or_reference, check

    def windowed_mean(values, window):
        values = np.asarray(values, dtype=float)
        return values[: len(values) // window * window].reshape(-1, window).mean(axis=1)

    def partial_kept(values, window):
        values = np.asarray(values, dtype=float)
        return np.array([values[i : i + window].mean() for i in range(0, len(values), window)])

    print(course_lib.__file__)
    check("01.windowed_mean", windowed_mean)
    check("01.windowed_mean", partial_kept)
    print(answer_or_reference("01.windowed_mean", windowed_mean) is windowed_mean)
    for call in (lambda: answer_or_reference("01.windowed_mean", None),
                 lambda: course_lib.simulate.windowed_mean([1.0, 2.0], 1)):
        try:
            call()
        except Exception as exc:
            print(type(exc).__name__, exc)
    """
)


def test_lessons_released_with_their_answers_withheld(tmp_path):
    out = tmp_path / "release"
    assert main(["release", "--root", str(ROOT), "--lesson", "01", "--answers-withheld", "--out", str(out)]) == 0
    students = out / "students"
    (wheel,) = students.glob("course_lib-*-py3-none-any.whl")
    package = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(package)
        names = archive.namelist()
    # The wheel's lesson 01 exercise module keeps no generator or mistake's code (only what a
    # normalize needs); no reference body is left (find_leaks below); the lesson's exercises
    # travel frozen inside it. Lesson 02, not released, is untouched.
    stripped = (package / "course_lib" / "grading" / "exercises" / "lesson01.py").read_text(encoding="utf-8")
    assert "withheld in this hand-out" in stripped and "np.convolve" not in stripped  # a mistake's code
    assert (package / "course_lib" / "grading" / "exercises" / "lesson02.py").read_bytes() == (
        ROOT / "course_lib" / "grading" / "exercises" / "lesson02.py"
    ).read_bytes()
    assert "course_lib/grading/released_exercises.py" in names
    lesson01 = [get_exercise(ident) for ident in exercise_ids("01")]
    assert find_leaks(out, lesson01) == []
    frozen = json.loads((students / "selfcheck.json").read_text(encoding="utf-8"))
    assert [spec["id"] for spec in frozen["exercises"]] == exercise_ids("01")
    assert read_release(out).selfcheck == frozen and graders_problems(read_release(out)) == []
    # A student's kernel with that course_lib: check() works, the reference is nowhere.
    done = subprocess.run(
        [sys.executable, "-c", WITHHELD_SCRIPT], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(package)},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(str(package))
    assert lines[1] == "✔ 01.windowed_mean: all 4 public cases pass."
    assert "hint: your last window is shorter than the others" in done.stdout
    assert "True" in lines
    assert "AnswerNeeded 01.windowed_mean is not attempted yet, and this hand-out has no reference" in done.stdout
    assert "AnswerWithheld course_lib.simulate.windowed_mean is the answer of an exercise of this course" in done.stdout


def test_every_lesson_exercise_survives_freezing_with_its_hints():
    """Frozen as an answers-withheld hand-out freezes them, every lesson exercise still passes its
    reference and shows each known mistake its own hint."""
    from course_lib.lessons import LESSONS

    for lesson in LESSONS:
        for ident in exercise_ids(lesson.number):
            exercise = get_exercise(ident)
            frozen = thaw_exercise(json.loads(json.dumps(freeze_exercise(exercise, from_lesson_module=True))))
            reference = exercise.reference_solution()
            answer = reference() if exercise.kind == "value" else reference
            assert run_cases(frozen, answer, frozen.public_cases()).status == "passed", ident
            for mistake in exercise.mistakes:
                result = run_cases(frozen, mistake.wrong() if exercise.kind == "value" else mistake.wrong,
                                   frozen.public_cases())
                assert mistake.hint in {o.hint for o in result.outcomes if not o.passed}, (ident, mistake.hint)


VALUES_SCRIPT = """
import json, sys
from course_lib.grading import get_exercise, wire
from course_lib.grading.registry import is_released_copy
from course_lib.grading.selfcheck import run_cases
for ident, value in json.loads(sys.stdin.read()).items():
    exercise = get_exercise(ident)
    assert is_released_copy(exercise), ident
    print(ident, run_cases(exercise, wire.decode(value), exercise.public_cases()).status)
"""


def test_every_lesson_can_be_handed_out_with_its_answers_withheld(tmp_path):
    from course_lib.grading import wire
    from course_lib.grading.assignments import withheld_handout
    from course_lib.lessons import LESSONS

    numbers = [lesson.number for lesson in LESSONS]
    copy = withheld_handout(tmp_path, numbers)
    exercises = [get_exercise(ident) for number in numbers for ident in exercise_ids(number)]
    assert find_leaks(copy, exercises) == []
    values = {e.id: wire.encode(e.reference_solution()()) for e in exercises if e.kind == "value"}
    done = subprocess.run(
        [sys.executable, "-c", VALUES_SCRIPT], input=json.dumps(values), cwd=tmp_path, capture_output=True,
        text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == sorted([*values, *["passed"] * len(values)])


def test_grading_in_the_fallback_sandbox_gives_the_same_grade(released, tmp_path):
    """Root's fallback sandbox (no bubblewrap) mounts the same course_lib copy, frozen specs included."""
    if os.geteuid() != 0:
        pytest.skip("the fallback sandbox shows the grader's course_lib copy only when run as root")
    submissions = tmp_path / "submissions"
    write_notebook(_notebook_with(read_notebook(released / "students" / NOTEBOOK), PARTIAL), submissions / "bob.ipynb")
    results = tmp_path / "results"
    argv = ["grade", str(submissions), "--assignments", str(FIXTURE), "--release", str(released), "--out", str(results),
            "--seed", "5", "--sandbox", "fallback"]
    assert main(argv) == 0
    with open(results / "gradebook.csv", newline="", encoding="utf-8") as handle:
        (row,) = csv.DictReader(handle)
    assert (row["11.windowed_median"], row["11.alarm_policy"], row["total"]) == ("1", "0", "1")


def test_the_sandbox_sees_exactly_the_release_being_graded(released):
    from course_lib.grading.assignments import share_with_sandbox
    from course_lib.grading.release import Release

    path = share_with_sandbox(read_release(released))
    assert path is not None and "11.windowed_median" in path.read_text(encoding="utf-8")
    # Nothing of the instructor's code is in the course_lib the sandbox sees: data only.
    assert find_leaks(path.parent.parent, load_course(FIXTURE).exercises()) == []
    # A release of the lessons next: the assignment's specs are gone from the sandbox's course_lib.
    assert share_with_sandbox(Release({})) is None and not path.exists()


def test_the_module_imported_under_another_name_first_is_loaded_all_the_same():
    """pytest's doctest collector imports tests/fixtures/my-course/exercises.py as ``exercises``
    before the tests load the course: its registrations give way to the course's."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("exercises_seen_by_a_collector", FIXTURE / "exercises.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        from course_lib.grading import registry

        for ident in ("11.windowed_median", "11.alarm_policy"):
            registry._REGISTRY.pop(ident, None)
        spec.loader.exec_module(module)
        assert get_exercise("11.alarm_policy").reference == "exercises_seen_by_a_collector:alarm_policy"
        from course_lib.grading import assignments

        assignments._LOADED.clear()
        course = load_course(FIXTURE)
        assert get_exercise("11.alarm_policy").reference == f"{course.module_name}:alarm_policy"
    finally:
        sys.modules.pop(spec.name, None)

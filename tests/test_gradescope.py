"""The Gradescope autograder zip: built from a release, unpacked into a folder laid out as
Gradescope lays out /autograder, its run_autograder run on a correct and a wrong submission, and
every results.json checked against Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from course_lib.grading.__main__ import main
from course_lib.grading.gradescope import build_autograder
from course_lib.grading.release import build_release, read_release, write_release
from course_lib.grading.sandbox import Limits

from grading_lesson import WINDOWED_MEAN_SOLUTION, solution_notebook, with_exercise, write_course, write_notebook

SEED = 777
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
OUTPUT_FORMATS = {"text", "html", "simple_format", "md", "ansi"}
TOP_KEYS = {
    "score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
    "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard",
}  # fmt: skip
TEST_KEYS = {
    "score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
    "visibility", "extra_data",
}  # fmt: skip


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_results(data: dict) -> None:
    """Raise AssertionError where ``data`` breaks Gradescope's results.json specification."""
    assert isinstance(data, dict), "results.json must hold a JSON object"
    assert set(data) <= TOP_KEYS, f"unknown top-level keys: {set(data) - TOP_KEYS}"
    tests = data.get("tests", [])
    assert isinstance(tests, list)
    # "score": optional, but required if not on each test case.
    assert "score" in data or (tests and all("score" in test for test in tests))
    if "score" in data:
        assert _is_number(data["score"])
    for key in ("execution_time",):
        if key in data:
            assert _is_number(data[key]) and data[key] >= 0
    for key in ("output",):
        if key in data:
            assert isinstance(data[key], str)
    for key in ("visibility", "stdout_visibility"):
        if key in data:
            assert data[key] in VISIBILITIES, (key, data[key])
    for key in ("output_format", "test_output_format"):
        if key in data:
            assert data[key] in OUTPUT_FORMATS
    if "extra_data" in data:
        assert isinstance(data["extra_data"], dict)
    for test in tests:
        assert isinstance(test, dict) and set(test) <= TEST_KEYS, set(test) - TEST_KEYS
        for key in ("score", "max_score"):
            if key in test:
                assert _is_number(test[key]), (key, test[key])
        if "status" in test:
            assert test["status"] in ("passed", "failed")
        for key in ("name", "number", "output"):
            if key in test:
                assert isinstance(test[key], str)
        if "visibility" in test:
            assert test["visibility"] in VISIBILITIES
        if "tags" in test:
            assert isinstance(test["tags"], list) and all(isinstance(tag, str) for tag in test["tags"])
        if "output_format" in test:
            assert test["output_format"] in OUTPUT_FORMATS


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    base = tmp_path_factory.mktemp("gradescope")
    write_release(build_release(write_course(base / "course")), base / "release")
    code = main(["gradescope", "--release", str(base / "release"), "--out", str(base / "autograder.zip")])
    assert code == 0
    return {"base": base, "zip": base / "autograder.zip", "release": read_release(base / "release")}


def _run(autograder, name: str, files: dict[str, dict | bytes]) -> tuple[dict, subprocess.CompletedProcess]:
    """Lay out /autograder as Gradescope does under a temporary root, then run run_autograder."""
    root = autograder["base"] / name
    source = root / "source"
    with zipfile.ZipFile(autograder["zip"]) as archive:
        archive.extractall(source)
    # Gradescope copies run_autograder to /autograder and runs it from there (zip modes are not
    # restored by extractall, so the executable bit is set as Gradescope's image build does).
    shutil.copy(source / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    for relpath, content in files.items():
        path = root / "submission" / relpath
        if isinstance(content, dict):
            write_notebook(path, content)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    (root / "results").mkdir()
    env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "AUTOGRADER_PYTHON": sys.executable,
        "PYTHONPATH": "",
    }
    done = subprocess.run(
        [str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8")), done


def test_the_zip_has_what_gradescope_needs(autograder):
    with zipfile.ZipFile(autograder["zip"]) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        config = json.loads(archive.read("autograder.json"))
        requirements = archive.read("requirements.txt").decode("utf-8").split()
    assert {"setup.sh", "run_autograder", "requirements.txt", "autograder.json"} <= names
    assert "course_lib/grading/autograder.py" in names and "course_lib/__init__.py" in names
    assert not any("__pycache__" in name for name in names)
    assert any(name.startswith("release/") and name.endswith("manifest.json") for name in names)
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert isinstance(config["seed"], int) and config["lesson"] is None
    assert any(line.startswith("numpy") for line in requirements)
    assert not any("pytest" in line for line in requirements)  # dev extras stay out
    for script in ("setup.sh", "run_autograder"):
        with zipfile.ZipFile(autograder["zip"]) as archive:
            text = archive.read(script).decode("utf-8")
        assert text.startswith("#!/usr/bin/env bash\n")
        assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0


def test_build_checks_its_arguments(autograder, tmp_path):
    release = autograder["release"]
    with pytest.raises(ValueError, match="lesson"):
        build_autograder(release, tmp_path / "a.zip", lesson="07")
    with pytest.raises(ValueError, match="seed"):
        build_autograder(release, tmp_path / "a.zip", seed=-1)
    with pytest.raises(TypeError, match="release"):
        build_autograder("release", tmp_path / "a.zip")
    with pytest.raises(TypeError, match="limits"):
        build_autograder(release, tmp_path / "a.zip", limits={"memory_mb": 1})
    assert not (tmp_path / "a.zip").exists()


def test_a_correct_submission_gets_full_marks(autograder):
    data, done = _run(autograder, "correct", {"01_synthetic.ipynb": solution_notebook()})
    validate_results(data)
    assert data["score"] == 2
    assert sum(test["max_score"] for test in data["tests"]) == 2
    assert {test["status"] for test in data["tests"]} == {"passed"}
    assert {test["visibility"] for test in data["tests"]} == {"visible", "after_published"}
    # The always-visible output gives the public cases' points, never the total with hidden ones.
    assert data["output"].startswith("Public cases: ") and "Score 2 / 2" not in data["output"]
    assert "01_synthetic.ipynb: lesson 01 2/2 graded" in done.stdout


def test_a_wrong_submission_gets_partial_credit(autograder):
    wrong = WINDOWED_MEAN_SOLUTION.replace("mean(axis=1)", "mean(axis=1) + 1")
    data, _ = _run(autograder, "wrong", {"lesson.ipynb": with_exercise(solution_notebook(), "01.windowed_mean", wrong)})
    validate_results(data)
    failed = [test for test in data["tests"] if test["status"] == "failed"]
    assert failed and all(test["name"].startswith("01.windowed_mean") for test in failed)
    assert data["score"] == pytest.approx(1.0)  # labelled_fraction is right, windowed_mean all wrong
    for test in data["tests"]:
        assert test["max_score"] == round(test["max_score"], 2) and 0 <= test["score"] <= test["max_score"]
    public = next(test for test in failed if test["visibility"] == "visible")
    assert "expected" in public["output"] and "hint:" in public["output"]


def test_no_notebook_in_the_submission(autograder):
    data, _ = _run(autograder, "empty", {"answers.py": b"print('hello')\n"})
    validate_results(data)
    assert data["score"] == 0 and "01_synthetic.ipynb" in data["output"]


def test_the_validator_catches_what_gradescope_refuses():
    with pytest.raises(AssertionError):
        validate_results({"tests": [{"name": "a", "max_score": 1}]})  # no score anywhere
    with pytest.raises(AssertionError):
        validate_results({"score": 1, "visibility": "later"})
    with pytest.raises(AssertionError):
        validate_results({"score": 1, "tests": [{"score": "1"}]})
    with pytest.raises(AssertionError):
        validate_results({"score": 1, "tests": [{"score": 1, "status": "ok"}]})


def test_an_instructors_own_assignment(autograder, tmp_path):
    """The zip of an assignment release carries its course folder; the references stay with the grader."""
    from course_lib.grading.notebooks import read_notebook

    fixture = Path(__file__).resolve().parent / "fixtures" / "my-course"
    args = ["gradescope", "--assignments", str(fixture), "--out", str(tmp_path / "own.zip"), "--seed", "3"]
    assert main(args) == 0
    with zipfile.ZipFile(tmp_path / "own.zip") as archive:
        names = set(archive.namelist())
        assert json.loads(archive.read("autograder.json"))["assignments"] == "assignments"
    assert "assignments/exercises.py" in names and not any("__pycache__" in name for name in names)
    data, _ = _run(
        {**autograder, "zip": tmp_path / "own.zip"},
        "own",
        {"answers.ipynb": read_notebook(fixture / "11_windows_and_alarms.ipynb")},
    )
    validate_results(data)
    assert data["tests"] and {test["status"] for test in data["tests"]} == {"passed"}
    assert data["score"] == pytest.approx(sum(test["max_score"] for test in data["tests"]))
    with pytest.raises(ValueError, match="exercises.py"):
        build_autograder(autograder["release"], tmp_path / "x.zip", assignments=tmp_path)

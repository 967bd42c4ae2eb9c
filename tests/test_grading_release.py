"""The instructor's release: student notebooks and the manifest the grader trusts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_lib.grading import exercise_ids, get_exercise
from course_lib.grading.__main__ import main
from course_lib.grading.notebooks import NotebookFormatError, exercise_id, read_notebook, student_version
from course_lib.grading.release import (
    answer_expression,
    build_release,
    cell_checksum,
    read_release,
    unreleased_exercises,
    write_release,
)

from grading_lesson import solution_notebook, write_course, write_notebook

ROOT = Path(__file__).resolve().parent.parent
REAL_LESSONS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))


def test_release_holds_the_student_copy_and_a_manifest(tmp_path):
    solutions = write_course(tmp_path)
    release = build_release(solutions)
    lesson = release.lessons["01"]
    assert lesson.notebook == student_version(solution_notebook())
    manifest = release.manifest()["lessons"][0]
    assert manifest["lesson"] == "01"
    assert [e["id"] for e in manifest["exercises"]] == ["01.windowed_mean", "01.labelled_fraction"]
    assert [e["points"] for e in manifest["exercises"]] == [
        get_exercise(i).points for i in ("01.windowed_mean", "01.labelled_fraction")
    ]
    assert manifest["max_points"] == sum(e["points"] for e in manifest["exercises"])
    assert [e["answer"] for e in manifest["exercises"]] == ["windowed_mean", "labelled_fraction"]


def test_manifest_has_a_checksum_of_every_non_exercise_cell(tmp_path):
    release = build_release(write_course(tmp_path))
    lesson = release.lessons["01"]
    cells = lesson.notebook["cells"]
    others = [i for i, cell in enumerate(cells) if exercise_id(cell) is None]
    assert [cell.index for cell in lesson.cells] == others
    assert [cell.cell_id for cell in lesson.cells] == [cells[i]["id"] for i in others]
    # Executing a notebook changes outputs, not sources: the checksums ignore outputs.
    executed = dict(cells[2], outputs=[{"output_type": "stream", "name": "stdout", "text": "hi"}], execution_count=3)
    assert cell_checksum(executed) == lesson.cells[others.index(2)].sha256
    assert cell_checksum(dict(cells[2], source="import numpy as np")) != lesson.cells[others.index(2)].sha256


def test_write_and_read_back(tmp_path):
    release = build_release(write_course(tmp_path / "course"))
    written = write_release(release, tmp_path / "release")
    # The hand-out (students/) and, apart from it, the grading manifest (instructor/).
    assert sorted(p.relative_to(tmp_path / "release").as_posix() for p in written) == [
        "instructor/manifest.json",
        "students/01_synthetic.ipynb",
        "students/README.md",
    ]
    again = read_release(tmp_path / "release")
    assert again.fingerprint == release.fingerprint
    assert again.lessons["01"].notebook == release.lessons["01"].notebook
    # The instructor folder alone names the release too.
    assert read_release(tmp_path / "release" / "instructor").fingerprint == release.fingerprint


def test_a_release_in_the_flat_layout_of_earlier_versions_is_still_read(tmp_path):
    release = build_release(write_course(tmp_path / "course"))
    write_release(release, tmp_path / "new")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "manifest.json").write_bytes((tmp_path / "new" / "instructor" / "manifest.json").read_bytes())
    (flat / "01_synthetic.ipynb").write_bytes((tmp_path / "new" / "students" / "01_synthetic.ipynb").read_bytes())
    assert read_release(flat).fingerprint == release.fingerprint


def test_students_readme_says_how_to_open_the_notebooks(tmp_path):
    release = build_release(write_course(tmp_path / "course"))
    wheel = tmp_path / "course_lib-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    written = write_release(release, tmp_path / "out", wheel=wheel, site="https://example.org/course/")
    students = tmp_path / "out" / "students"
    assert students / wheel.name in written and (students / wheel.name).read_bytes() == wheel.read_bytes()
    readme = (students / "README.md").read_text(encoding="utf-8")
    assert "https://example.org/course/" in readme
    assert f'pip install "{wheel.name}[observability]" jupyterlab' in readme
    # The extra named there is one the package declares (lessons 06 and 07 need its packages).
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert "observability" in pyproject["project"]["optional-dependencies"]
    assert "`01_synthetic.ipynb`" in readme and "Only the exercise cells" in readme
    # Nothing for the instructor in the students' folder.
    assert not list(students.rglob("manifest.json"))
    # A second release with another wheel replaces the first one.
    other = tmp_path / "course_lib-0.2.0-py3-none-any.whl"
    other.write_bytes(b"newer")
    write_release(release, tmp_path / "out", wheel=other)
    assert sorted(p.name for p in students.glob("*.whl")) == [other.name]


def test_read_release_refuses_an_edited_notebook(tmp_path):
    write_release(build_release(write_course(tmp_path / "course")), tmp_path / "release")
    path = tmp_path / "release" / "students" / "01_synthetic.ipynb"
    path.write_text(path.read_text(encoding="utf-8").replace("default_rng(0)", "default_rng(1)"), encoding="utf-8")
    with pytest.raises(ValueError, match="checksum"):
        read_release(tmp_path / "release")


def test_read_release_needs_a_manifest(tmp_path):
    with pytest.raises(ValueError, match="manifest.json"):
        read_release(tmp_path)
    # A manifest copied into the students' folder by hand does not make it a release either.
    write_release(build_release(write_course(tmp_path / "course")), tmp_path / "release")
    (tmp_path / "release" / "instructor" / "manifest.json").unlink()
    with pytest.raises(ValueError, match="manifest.json"):
        read_release(tmp_path / "release")


def test_unregistered_exercise_id_is_refused(tmp_path):
    notebook = solution_notebook()
    notebook["cells"][4]["metadata"]["course"]["exercise"] = "01.no_such_exercise"
    write_notebook(tmp_path / "notebooks" / "solutions" / "01_x.ipynb", notebook)
    with pytest.raises(NotebookFormatError, match="01.no_such_exercise"):
        build_release(tmp_path / "notebooks" / "solutions")


def test_empty_folder_and_unknown_lesson_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no lesson notebooks"):
        build_release(tmp_path)
    with pytest.raises(ValueError, match="must be a folder"):
        build_release(tmp_path / "missing")
    with pytest.raises(ValueError, match="02"):
        build_release(write_course(tmp_path / "course"), lessons=["02"])


def test_answer_expression_comes_from_the_check_cell():
    notebook = solution_notebook()
    notebook["cells"][5]["source"] = 'result = check("01.windowed_mean", means_of_windows)'
    assert answer_expression(notebook, "01.windowed_mean") == "means_of_windows"
    # Without a check cell, the last name the exercise cell defines.
    notebook["cells"][5]["source"] = "pass"
    assert answer_expression(notebook, "01.windowed_mean") == "windowed_mean"


def test_unreleased_exercises_are_listed(tmp_path):
    release = build_release(write_course(tmp_path))
    missing = unreleased_exercises(release)
    assert set(missing) == set(exercise_ids("01")) - {"01.windowed_mean", "01.labelled_fraction"}


def test_release_command(tmp_path, capsys):
    write_course(tmp_path / "course")
    assert main(["release", "--root", str(tmp_path / "course"), "--out", str(tmp_path / "out"), "--no-wheel"]) == 0
    manifest = json.loads((tmp_path / "out" / "instructor" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["lessons"][0]["notebook"] == "01_synthetic.ipynb"
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("path", REAL_LESSONS, ids=lambda p: p.name)
def test_real_lesson_releases(path, tmp_path):
    release = build_release(path.parent, lessons=[path.name[:2]])
    lesson = release.lessons[path.name[:2]]
    source = read_notebook(path)
    # The release is the student copy, and it carries every registered exercise of the lesson.
    assert lesson.notebook == student_version(source)
    assert [e.id for e in lesson.exercises] == [exercise_id(c) for c in source["cells"] if exercise_id(c)]
    assert unreleased_exercises(release) == []
    committed = ROOT / "notebooks" / path.name
    if committed.exists():
        assert lesson.notebook == read_notebook(committed)
    write_release(release, tmp_path)
    assert read_release(tmp_path).fingerprint == release.fingerprint
    # The course's own lessons need no frozen self-check data: course_lib holds their cases.
    assert not (tmp_path / "students" / "selfcheck.json").exists()

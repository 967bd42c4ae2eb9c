"""The package's promises: a light import, a pure-Python wheel, and conda/pip in step."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib

import yaml

from conftest import ROOT
from course_lib.grading.notebooks import read_notebook

HEAVY = ("numpy", "scipy", "pandas", "matplotlib", "seaborn", "sklearn")


def _modules_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_course_lib_is_light():
    loaded = _modules_after("import course_lib")
    assert not loaded & set(HEAVY), f"import course_lib pulled in {sorted(loaded & set(HEAVY))}"


def test_listing_exercise_ids_is_light():
    loaded = _modules_after(
        "import course_lib\nfrom course_lib.grading import exercise_ids\n"
        "from course_lib.lessons import LESSONS\n"
        "ids = [i for l in LESSONS for i in exercise_ids(l.number)]\nassert ids, 'no exercises'"
    )
    heavy = {name for name in loaded if name.split(".")[0] in HEAVY}
    assert not heavy, f"listing exercise ids imported {sorted(heavy)[:5]}"


def test_submodules_load_on_attribute_access():
    loaded = _modules_after("import course_lib\ncourse_lib.simulate")
    assert "course_lib.simulate" in loaded and "numpy" in loaded


def test_unknown_attribute_is_an_attribute_error():
    import course_lib

    try:
        course_lib.not_a_module  # noqa: B018
    except AttributeError as exc:
        assert "not_a_module" in str(exc)
    else:  # pragma: no cover - the assertion is the test
        raise AssertionError("expected AttributeError")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", requirement)
    assert match, requirement
    return _normalise(match[1]), match[2].replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return dict(_split(r) for r in requirements)


def _environment_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    found: dict[str, str] = {}
    for item in env["dependencies"]:
        entries = item["pip"] if isinstance(item, dict) else [item]
        for entry in entries:
            if entry.startswith("-e") or entry.split(">")[0].split("=")[0] in ("python", "pip"):
                continue
            name, spec = _split(entry)
            assert name not in found, f"environment.yml lists {name} twice"
            found[name] = spec
    return found


def test_environment_yml_matches_pyproject():
    pyproject = _pyproject_requirements()
    environment = _environment_requirements()
    assert sorted(environment) == sorted(pyproject), (
        f"only in pyproject: {sorted(set(pyproject) - set(environment))}; "
        f"only in environment.yml: {sorted(set(environment) - set(pyproject))}"
    )
    different = {name: (pyproject[name], environment[name]) for name in pyproject if pyproject[name] != environment[name]}
    assert not different, f"version constraints differ (pyproject, environment.yml): {different}"


def test_python_version_floor_is_the_same():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert project["requires-python"] == ">=3.11"
    assert "python>=3.11" in env["dependencies"]


def test_version_agrees_with_pyproject():
    import course_lib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert course_lib.__version__ == project["version"]


def test_readme_course_map_lists_every_lesson_in_order():
    from course_lib.lessons import LESSONS

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Course map") :].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if re.match(r"^\| \d\d \|", line)]
    assert [row[2:4] for row in rows] == [lesson.number for lesson in LESSONS]
    for row, lesson in zip(rows, LESSONS):
        if (ROOT / "notebooks" / lesson.notebook).exists():
            assert f"(notebooks/{lesson.notebook})" in row, f"link lesson {lesson.number} to its notebook"
        for module in lesson.modules:
            assert f"`{module}`" in row
        # The map's time is the lesson's own **Time** line (the site's welcome page reads it too).
        first_cell = "".join(read_notebook(ROOT / "notebooks" / lesson.notebook)["cells"][0]["source"])
        minutes = re.search(r"\*\*Time\*\*: about (\d+) min", first_cell)
        assert minutes, f"lesson {lesson.number}'s first cell must say **Time**: about N minutes"
        assert f"about {minutes[1]} min" in row, f"README map: lesson {lesson.number} takes about {minutes[1]} min"

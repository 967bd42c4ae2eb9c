"""The course in the browser: the JupyterLite site that `make site` builds.

The site is built once per test session, from the student notebooks in ``notebooks/``, into a
temporary folder. It is the variant with the Pyodide core bundled (``--bundle-pyodide``), so a
kernel starts on a machine without internet; packages Pyodide ships (numpy, pandas, ...) keep
their CDN addresses and are not loaded here.

- Packaging checks (no browser): the course_lib wheel is pure Python; every runtime dependency
  of course_lib is in the Pyodide distribution the kernel loads (its ``pyodide-lock.json``,
  from the npm package ``pyodide`` at the kernel's version); the site's own package index holds
  what the ``observability`` extra needs beyond that.
- ``test_course_lib_runs_on_the_kernels_python``: real Pyodide (Python 3.14) under Node, no
  browser: every course_lib source compiles, the modules a lesson needs import, the exercise
  ids and the doctests that need no numpy agree with CPython here.
- Site checks (no browser): the title is the README's; the storage name is JupyterLite's
  default (stable, with the site's path); the welcome page maps every lesson with its time and
  its as-released copy; served lessons equal the student notebooks but for the kernel metadata,
  which is what the Pyodide kernel reports; the Pages workflow uses the current action majors.
- ``test_site_opens_on_the_welcome_page``: the site's address opens the welcome page rendered,
  the file browser shows whole names and offers Download, the course map's links open lessons.
- ``test_saved_work_survives_an_update``: two courses on one host; a student edits and saves two
  lessons and opens a third; the course is rebuilt with two lessons changed; after a reload the
  edits are there under their names, the new version of an edited lesson is under
  ``releases/``, the unedited lesson shows its new text, and the other course sees none of it.
- ``test_lab_lists_and_renders_every_lesson``: a real Chromium opens the lab, the file browser
  lists every lesson in course order, and each lesson opens with its title and first markdown
  cells rendered; no request fails.
- ``test_kernel_installs_course_lib_from_the_site``: the Python (Pyodide) kernel starts, installs
  course_lib from the site's index and imports it; the version and the exercise ids it prints
  must equal what CPython here computes.
- ``test_every_lesson_runs_in_the_browser``: only with ``ONLINE=1`` (it needs the Pyodide CDN):
  runs every cell of every lesson in the browser, on the site students get.

A failed browser test saves a screenshot under ``_site_test/screenshots/`` and prints its path.
``COURSE_SITE_NOTEBOOKS=/some/folder`` builds the site from other student notebooks (for
trying these tests before the lessons exist).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version
from playwright.sync_api import expect

from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    PageWatcher,
    SiteServer,
    load_site_builder,
    screenshot_on_failure,
)
from conftest import require_tool

import course_lib
from course_lib.grading import exercise_ids
from course_lib.lessons import LESSONS

ONLINE = os.environ.get("ONLINE") == "1"
NOTEBOOKS = Path(os.environ.get("COURSE_SITE_NOTEBOOKS", ROOT / "notebooks"))
CHROMIUM_HINT = "apt-get install chromium (Debian's package; .ci/run installs it)"
NPM_HINT = "install Node.js and npm (apt-get install npm), used to fetch the Pyodide core"

builder = load_site_builder()


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def lesson_files() -> list[Path]:
    """The student notebooks the site is built from, in course order."""
    found = [NOTEBOOKS / item.notebook for item in LESSONS if (NOTEBOOKS / item.notebook).is_file()]
    assert found, f"no student notebooks in {NOTEBOOKS}: run `make student`"
    return found


@pytest.fixture(scope="session")
def offline_site(tmp_path_factory, lesson_files):
    """The site with the Pyodide core bundled, built once per session."""
    require_tool("npm", NPM_HINT)
    output = tmp_path_factory.mktemp("site") / "offline"
    report = builder.build(output, notebooks_dir=NOTEBOOKS, bundle_pyodide=True, log=lambda *_: None)
    print(report.summary())
    return report


@pytest.fixture(scope="session")
def pyodide_lock() -> dict:
    """The pyodide-lock.json of the Pyodide release the kernel loads."""
    require_tool("npm", NPM_HINT)
    return builder.read_pyodide_lock(builder.fetch_pyodide_core())


@pytest.fixture(scope="session")
def course_lib_wheel(offline_site) -> Path:
    wheels = sorted((offline_site.output / "pypi").glob("course_lib-*.whl"))
    assert len(wheels) == 1, f"expected one course_lib wheel in the site's index, found {wheels}"
    return wheels[0]


@pytest.fixture(scope="session")
def site_index(offline_site) -> dict:
    """The site's own package index: canonical name -> (version, wheel path)."""
    index = {}
    for wheel in (offline_site.output / "pypi").glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        index[canonicalize_name(name)] = (version, wheel)
    listing = json.loads((offline_site.output / "pypi" / "all.json").read_text())
    assert {canonicalize_name(name) for name in listing} == set(index), "pypi/all.json and the wheels disagree"
    return index


@pytest.fixture(scope="session")
def browser():
    require_tool("chromium", CHROMIUM_HINT)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def offline_server(offline_site, tmp_path_factory):
    with SiteServer(offline_site.output, tmp_path_factory.mktemp("server") / "requests.log") as server:
        yield server


@pytest.fixture
def page(browser):
    """A fresh browser context (empty storage) and page; closed after the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    yield context.new_page()
    context.close()


@contextlib.contextmanager
def screenshot_if_failing(page, name: str):
    """Re-raise any failure inside the block with the path of a screenshot of the page."""
    try:
        yield
    except Exception as error:
        path = screenshot_on_failure(page, name)
        raise AssertionError(f"{error}\nscreenshot: {path}") from error


# ---------------------------------------------------------------------------------------------
# Packaging: what the browser kernel can install


def _lock_versions(lock: dict) -> dict:
    return {canonicalize_name(name): Version(spec["version"]) for name, spec in lock["packages"].items()}


def _requires(wheel: Path, extra: str = "") -> list[Requirement]:
    markers = {**builder.PYODIDE_MARKERS, "extra": extra}
    requirements = []
    for line in builder.wheel_metadata(wheel).get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        if requirement.marker is None:
            applies = extra == ""
        else:
            applies = requirement.marker.evaluate(markers) and (
                extra == "" or not requirement.marker.evaluate({**markers, "extra": ""})
            )
        if applies:
            requirements.append(requirement)
    return requirements


def test_kernel_runs_the_python_the_markers_describe(pyodide_lock):
    python = pyodide_lock["info"]["python"]
    assert python.startswith(builder.PYODIDE_MARKERS["python_version"] + "."), (
        f"the kernel's Pyodide runs Python {python}; update PYODIDE_MARKERS in jupyter-lite/build.py"
    )


def test_course_lib_wheel_is_pure_python(course_lib_wheel):
    assert course_lib_wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(course_lib_wheel) as archive:
        names = archive.namelist()
        wheel_info = next(n for n in names if n.endswith(".dist-info/WHEEL"))
        text = archive.read(wheel_info).decode()
    assert "Root-Is-Purelib: true" in text
    assert re.findall(r"^Tag: (\S+)$", text, flags=re.M) == ["py3-none-any"]
    compiled = [n for n in names if n.endswith((".so", ".pyd", ".dylib", ".dll"))]
    assert not compiled, f"the course_lib wheel contains compiled files: {compiled}"
    assert "course_lib/grading/registry.py" in names


# Runtime dependencies that Pyodide does not ship and the site serves instead (pure Python).
# Keep this short: each one is a wheel the browser downloads from the site.
SERVED_RUNTIME_DEPENDENCIES = {"seaborn"}


def test_every_runtime_dependency_comes_with_the_kernel_or_the_site(course_lib_wheel, pyodide_lock, site_index):
    in_pyodide = _lock_versions(pyodide_lock)
    served = {name: version for name, (version, _) in site_index.items()}
    requirements = _requires(course_lib_wheel)
    assert requirements, "the course_lib wheel declares no dependencies: is it the right wheel?"
    problems = []
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        if name in SERVED_RUNTIME_DEPENDENCIES:
            versions, where = served, "the site's index"
        else:
            versions, where = in_pyodide, f"Pyodide {builder.PYODIDE_VERSION}"
        if name not in versions:
            problems.append(f"{requirement} is not in {where}")
        elif not requirement.specifier.contains(versions[name], prereleases=True):
            problems.append(f"{requirement}: {where} has {versions[name]}")
    assert not problems, "course_lib's runtime dependencies must all reach the browser without PyPI:\n" + "\n".join(problems)
    assert SERVED_RUNTIME_DEPENDENCIES.isdisjoint(in_pyodide), "Pyodide ships it now: drop it from the site"


def test_site_index_covers_the_observability_extra(course_lib_wheel, pyodide_lock, site_index):
    in_pyodide = _lock_versions(pyodide_lock)
    served = {name: version for name, (version, _) in site_index.items()}

    def provider(requirement: Requirement) -> str | None:
        name = canonicalize_name(requirement.name)
        for where, versions in (("Pyodide", in_pyodide), ("site", served)):
            if name in versions and requirement.specifier.contains(versions[name], prereleases=True):
                return where
        return None

    extra = _requires(course_lib_wheel, extra="observability")
    assert {canonicalize_name(r.name) for r in extra} >= {"prometheus-client", "opentelemetry-sdk", "cloudevents"}
    missing = [str(r) for r in extra if provider(r) is None]
    assert not missing, f"neither Pyodide nor the site's index provides: {missing}"
    # What the site serves must install without PyPI: its own dependencies are provided too.
    for name, (version, wheel) in site_index.items():
        assert wheel.name.endswith(builder.PURE_WHEEL_SUFFIXES), f"{wheel.name} is not pure Python"
        if name != "course-lib":
            unmet = [str(r) for r in _requires(wheel) if provider(r) is None]
            assert not unmet, f"{wheel.name} needs {unmet}, which neither Pyodide nor the site provides"
    duplicated = sorted(set(served) & set(in_pyodide))
    assert not duplicated, f"the site serves packages Pyodide ships already: {duplicated}"


def test_site_is_small(offline_site):
    output = offline_site.output
    assert not list(output.rglob("*.map")), "source maps were left in the site"
    for app in ("lab", "notebooks"):
        assert (output / app / "index.html").is_file(), f"the {app} app is missing"
    for app in ("tree", "repl", "consoles", "edit"):
        assert not (output / app).exists(), f"the unused {app} app was built"
    pyodide_parts = {output / "static" / "pyodide", output / "static" / "pyodide-lock"}
    size = sum(
        p.stat().st_size for p in output.rglob("*") if p.is_file() and not pyodide_parts & set(p.parents)
    )
    print(f"site without the bundled Pyodide: {size / 1e6:.1f} MB")
    assert size < 30e6, f"the site grew to {size / 1e6:.1f} MB (the published one has no bundled Pyodide)"


def _readme_heading() -> str:
    first = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("# "))
    return first.removeprefix("# ").strip()


def test_site_title_is_the_readmes(offline_site):
    config = json.loads((offline_site.output / "jupyter-lite.json").read_text())["jupyter-config-data"]
    assert config["appName"] == _readme_heading() == builder.readme_title()
    # One source: the title is not written a second time in the site's configuration.
    source = json.loads((builder.LITE_DIR / "jupyter-lite.json").read_text())["jupyter-config-data"]
    assert "appName" not in source


def test_storage_name_is_stable_and_per_site(offline_site):
    """Saved work lives under JupyterLite's default name, made of the site's path only."""
    config = json.loads((offline_site.output / "jupyter-lite.json").read_text())["jupyter-config-data"]
    assert "contentsStorageName" not in config, "a storage name set by the build changes with the build"
    assert not config.get("enableMemoryStorage", False)
    assert builder.storage_name("/a/") != builder.storage_name("/b/")
    # The default the build relies on is JupyterLite's own (the browser test checks it live).
    bundles = (offline_site.output / "build").glob("*.js")
    assert any("`JupyterLite Storage - ${" in path.read_text(errors="replace") for path in bundles), (
        "JupyterLite's default storage name changed: students would lose sight of their saved files; "
        "set contentsStorageName to the old default instead"
    )
    settings = json.loads((builder.LITE_DIR / "jupyter-lite.json").read_text())["jupyter-config-data"]
    with pytest.raises(builder.BuildError, match="contentsStorageName"):
        builder.site_settings({**settings, "contentsStorageName": "course 0.1.0 lessons 1a2b"})


def test_lesson_versions_change_exactly_with_the_lesson(tmp_path, lesson_files):
    copy = tmp_path / lesson_files[0].name
    copy.write_bytes(lesson_files[0].read_bytes())
    before = builder.released_name(copy)
    assert before.startswith(f"{builder.RELEASES_DIR}/{copy.stem}.version-") and before.endswith(".ipynb")
    assert builder.released_name(copy) == before
    notebook = json.loads(copy.read_text())
    notebook["cells"][0]["source"] = "".join(notebook["cells"][0]["source"]) + "\nOne more word."
    copy.write_text(json.dumps(notebook))
    assert builder.released_name(copy) != before


def test_served_lessons_are_the_student_notebooks(offline_site, lesson_files):
    files = offline_site.output / "files"
    for path in lesson_files:
        source = json.loads(path.read_text())
        served = json.loads((files / path.name).read_text())
        released = json.loads((files / builder.released_name(path)).read_text())
        assert served == released
        assert served["metadata"]["kernelspec"] == builder.PYODIDE_KERNELSPEC
        assert served["metadata"]["language_info"] == builder.PYODIDE_LANGUAGE_INFO
        assert served["cells"] == source["cells"]
        kernel_keys = {"kernelspec", "language_info"}
        assert {k: v for k, v in served["metadata"].items() if k not in kernel_keys} == {
            k: v for k, v in source["metadata"].items() if k not in kernel_keys
        }


def test_served_lessons_say_what_the_kernel_says():
    """The language_info the lessons carry is what this Pyodide kernel answers (its source)."""
    import sys

    share = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyterlite" / "pyodide-kernel-extension"
    scripts = [p.read_text(errors="replace") for p in share.rglob("*.js")]
    found = [m for text in scripts for m in re.findall(r"language_info:(\{.*?\}),protocol_version", text)]
    assert found, f"no kernel_info in the Pyodide kernel's scripts under {share}"
    as_json = json.loads(re.sub(r"([{,])(\w+):", r'\1"\2":', found[0]))
    assert as_json == builder.PYODIDE_LANGUAGE_INFO


def test_welcome_page_maps_the_course(offline_site, lesson_files):
    welcome = (offline_site.output / "files" / builder.WELCOME_PAGE).read_text()
    assert welcome.startswith(f"# {_readme_heading()}\n")
    for path in lesson_files:
        lesson = next(item for item in LESSONS if item.notebook == path.name)
        first_cell = "".join(json.loads(path.read_text())["cells"][0]["source"])
        minutes = re.search(r"\*\*Time\*\*: about (\d+) minutes", first_cell)
        assert minutes, f"{path.name} states no time in its first cell"
        row = next((line for line in welcome.splitlines() if line.startswith(f"| {lesson.number} |")), None)
        assert row is not None, f"the course map has no row for lesson {lesson.number}"
        assert f"[{lesson.title}]({path.name})" in row
        assert f"about {minutes.group(1)} min" in row
        assert f"]({builder.released_name(path)})" in row
        assert (offline_site.output / "files" / builder.released_name(path)).is_file()
    for needed in ("Start here", "Download", "Ctrl+S", "releases/"):
        assert needed in welcome, f"the welcome page does not mention {needed!r}"
    # JupyterLab refuses to render a page with a link or image to a file the site lacks.
    targets = re.findall(r"\]\(([^)]+)\)", welcome)
    missing = [t for t in targets if not re.match(r"[a-z]+:|#", t) and not (offline_site.output / "files" / t).is_file()]
    assert not missing, f"the welcome page links files the site does not serve: {missing}"
    root = (offline_site.output / "index.html").read_text()
    assert builder.WELCOME_URL in root and 'id="jupyter-config-data"' in root


PYODIDE_CHECK_SCRIPT = r"""
import doctest, importlib, io, json, pathlib, pkgutil, sys
import course_lib
from course_lib.grading import exercise_ids
from course_lib.lessons import LESSONS

# Packages course_lib may import that this bare core has not loaded: Pyodide ships the first
# ones, the site serves the observability extra's (jupyter-lite/browser-requirements.txt).
NOT_LOADED = {"numpy", "scipy", "pandas", "matplotlib", "seaborn", "sklearn",
              "prometheus_client", "opentelemetry", "cloudevents", "yaml", "jsonschema"}
result = {"python": list(sys.version_info[:2]), "compiled": 0, "import_errors": {},
          "doctests": {"attempted": 0, "failed": [], "skipped": []}}
for path in sorted(pathlib.Path(course_lib.__file__).parent.rglob("*.py")):
    compile(path.read_text(), str(path), "exec")
    result["compiled"] += 1
modules = []
for info in pkgutil.walk_packages(course_lib.__path__, "course_lib."):
    try:
        modules.append(importlib.import_module(info.name))
    except Exception as error:
        result["import_errors"][info.name] = [type(error).__name__, getattr(error, "name", None), str(error)]
result["exercise_ids"] = exercise_ids()
for module in modules:
    for test in doctest.DocTestFinder().find(module):
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        report = io.StringIO()
        runner.run(test, out=report.write)
        outcome = runner.summarize(verbose=False)
        if not outcome.failed:
            result["doctests"]["attempted"] += outcome.attempted
        elif any(f"No module named '{name}'" in report.getvalue() for name in NOT_LOADED):
            result["doctests"]["skipped"].append(test.name)
        else:
            result["doctests"]["failed"].append(report.getvalue()[-1500:])
json.dumps(result)
"""


def test_course_lib_runs_on_the_kernels_python(course_lib_wheel, pyodide_lock, tmp_path):
    """Real Pyodide (Python 3.14) under Node: the pure-Python parts of course_lib behave as here."""
    import subprocess

    node = require_tool("node", NPM_HINT)
    script = tmp_path / "check.py"
    script.write_text(PYODIDE_CHECK_SCRIPT)
    completed = subprocess.run(
        [node, str(ROOT / "tests" / "pyodide_node.mjs"), str(builder.fetch_pyodide_core()),
         str(course_lib_wheel), str(script)],
        capture_output=True, text=True, timeout=300,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert completed.returncode == 0 and lines, f"Pyodide under Node failed:\n{completed.stderr[-3000:]}"
    found = json.loads(lines[-1].removeprefix("RESULT "))

    assert found["python"] == [int(p) for p in pyodide_lock["info"]["python"].split(".")[:2]]
    assert found["compiled"] >= 5
    # A module may only fail to import for a missing module (numpy here, or a CPython-only part
    # of the standard library for the instructor's sandbox); anything else is a difference
    # between Python versions.
    other = {name: error for name, error in found["import_errors"].items() if error[0] != "ModuleNotFoundError"}
    assert not other, f"course_lib modules fail to import on Python 3.14: {other}"
    learner_facing = {"course_lib.lessons", "course_lib.grading", *(l.exercise_module for l in LESSONS)}
    broken = sorted(learner_facing & set(found["import_errors"]))
    assert not broken, f"modules a lesson needs do not import in Pyodide: {broken}"
    assert found["exercise_ids"] == exercise_ids()
    assert not found["doctests"]["failed"], "doctests fail on Python 3.14:\n" + "\n".join(found["doctests"]["failed"])
    assert found["doctests"]["attempted"] > 0


#: The current major version of each action the publishing workflow uses (late 2026: the
#: Node 24 releases; older majors run on Node 20, which GitHub runners dropped in September 2026).
CURRENT_ACTIONS = {
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "actions/upload-pages-artifact": "v5",
    "actions/deploy-pages": "v5",
}


def test_pages_workflow_uses_current_actions():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    used = {}
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                name, _, version = step["uses"].partition("@")
                used[name] = version
    assert used == CURRENT_ACTIONS


def test_pages_workflow_publishes_what_make_site_builds():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    commands = " ".join(step.get("run", "") for step in steps)
    assert "jupyter-lite/build.py --output _site" in commands
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_site"
    # Only the deploy job may write to Pages; every other job (pull requests') reads only.
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert any(step.get("uses", "").startswith("actions/deploy-pages") for step in deploy["steps"])


def test_pages_workflow_publishes_only_what_passed_the_tests_and_the_browser_run():
    """Deploy waits for `make test` and for the ONLINE=1 run of every lesson in the browser."""
    import shlex

    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    jobs = workflow["jobs"]

    def needs(name: str) -> list[str]:
        value = jobs[name].get("needs", [])
        return [value] if isinstance(value, str) else list(value)

    def upstream(name: str) -> set[str]:
        found, pending = set(), needs(name)
        while pending:
            job = pending.pop()
            assert job in jobs, f"{name} needs {job!r}, which is not a job of the workflow"
            if job not in found:
                found.add(job)
                pending.extend(needs(job))
        return found

    def runs(name: str) -> list[str]:
        return [step["run"] for step in jobs[name]["steps"] if "run" in step]

    for name in ("build", "deploy"):
        assert {"test", "online"} <= upstream(name), f"{name} must wait for the test and online jobs"
    for name in ("test", "online"):
        assert not jobs[name].get("continue-on-error") and not any(
            step.get("continue-on-error") for step in jobs[name]["steps"]
        ), f"with continue-on-error, a failing {name} job would not stop the deployment"

    # The test job runs `make test`, itself or through .ci/run (whose last command it is).
    test_commands = "\n".join(runs("test"))
    ci_run = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    ci_run = [line for line in ci_run if line and not line.startswith("#")]
    assert re.search(r"^\s*make test\s*$", test_commands, re.M) or (
        re.search(r"^\s*(bash\s+)?\.ci/run\s*$", test_commands, re.M) and ci_run[-1] == "make test"
    ), f"the test job does not run `make test`: {test_commands!r}"

    # The online job sets ONLINE=1 and runs the browser test over every lesson, in the venv.
    online_steps = [step for step in jobs["online"]["steps"] if "every_lesson_runs_in_the_browser" in step.get("run", "")]
    assert len(online_steps) == 1, "the online job must run test_every_lesson_runs_in_the_browser once"
    step = online_steps[0]
    words = shlex.split(step["run"])
    env = {**workflow.get("env", {}), **jobs["online"].get("env", {}), **step.get("env", {})}
    first = next(i for i, word in enumerate(words) if not re.match(r"[A-Za-z_]\w*=", word))
    env.update(word.split("=", 1) for word in words[:first])
    assert env.get("ONLINE") == "1", "without ONLINE=1 the browser test skips and proves nothing"
    command = words[first:]
    assert command[:4] == [".venv/bin/python", "-m", "pytest", "tests/test_site.py"], command
    assert command[command.index("-k") + 1] == "every_lesson_runs_in_the_browser", command
    assert "test_every_lesson_runs_in_the_browser" in globals(), "the workflow selects a test that is gone"
    earlier = runs("online")[: runs("online").index(step["run"])]
    assert any(re.search(r"^\s*make setup\s*$", run, re.M) for run in earlier), "the venv is made by make setup"

    # Pull requests are tested too; only a push (or manual run) on main publishes.
    triggers = workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as True
    assert "pull_request" in triggers, "pull requests must be tested too"
    assert triggers["push"]["branches"] == ["main"]
    for name in ("test", "online"):
        assert "if" not in jobs[name], f"the {name} job must run on every event"
    for name in ("build", "deploy"):
        condition = jobs[name].get("if", "")
        assert "github.event_name != 'pull_request'" in condition and "github.ref == 'refs/heads/main'" in condition, (
            f"{name} must run only for main, never for a pull request: if: {condition!r}"
        )

    # Every lesson is in the browser run: the student notebook of each lesson exists.
    missing = [item.notebook for item in LESSONS if not (ROOT / "notebooks" / item.notebook).is_file()]
    assert not missing, f"lessons the online job would not run: {missing} (run `make student`)"


def test_build_without_lessons_says_what_to_run(tmp_path):
    (tmp_path / "notebooks").mkdir()
    with pytest.raises(builder.BuildError, match="make student"):
        builder.build(tmp_path / "out", notebooks_dir=tmp_path / "notebooks")


# ---------------------------------------------------------------------------------------------
# In a real browser


def _first_markdown_cells(path: Path, count: int = 2) -> list[str]:
    notebook = json.loads(path.read_text())
    cells = [c for c in notebook["cells"] if c["cell_type"] == "markdown"]
    return ["".join(c["source"]) for c in cells[:count]]


def _heading(markdown: str) -> str | None:
    match = re.search(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.M)
    return match.group(1) if match else None


@pytest.mark.browser
@pytest.mark.slow
def test_lab_lists_and_renders_every_lesson(page, offline_server, lesson_files):
    watcher = PageWatcher(page)
    with screenshot_if_failing(page, "lab-lessons"):
        page.goto(offline_server.url + "lab/index.html")
        page.wait_for_selector(".jp-DirListing-item", timeout=60_000)
        listed = page.locator(".jp-DirListing-itemName").all_inner_texts()
        expected = [builder.RELEASES_DIR, *(p.name for p in lesson_files), builder.WELCOME_PAGE]
        if (NOTEBOOKS / "data").is_dir():
            expected = ["data", *expected]
        assert listed == expected, "the file browser does not list the lessons in course order"

        for path in lesson_files:
            lesson = next(item for item in LESSONS if item.notebook == path.name)
            # Tabs stay open: closing one while its kernel starts makes JupyterLab throw.
            page.locator(".jp-DirListing-item", has_text=path.name).dblclick()
            page.locator(".lm-TabBar-tab.lm-mod-current", has_text=path.name).wait_for(timeout=30_000)
            panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
            # The lesson picks the Pyodide kernel by itself (a "Select Kernel" dialog would
            # stop a student: the notebook's metadata must name a python kernel and language).
            kernel_name = panel.locator(".jp-Toolbar-kernelName", has_text="Python (Pyodide)")
            dialog = page.locator(".jp-Dialog")
            kernel_name.or_(dialog).first.wait_for(timeout=60_000)
            assert not dialog.is_visible(), f"opening {path.name} asks which kernel to use"
            rendered = panel.locator(".jp-MarkdownCell .jp-RenderedMarkdown")
            rendered.first.wait_for(timeout=30_000)
            title = panel.locator(".jp-MarkdownCell h1").first.inner_text()
            assert lesson.title in title, f"{path.name}: title {title!r} does not name {lesson.title!r}"
            for number, markdown in enumerate(_first_markdown_cells(path)):
                cell = rendered.nth(number)
                # JupyterLab renders cells below the fold only once they are scrolled to.
                cell.scroll_into_view_if_needed(timeout=30_000)
                heading = _heading(markdown)
                if heading:
                    plain = re.sub(r"[*_`]", "", heading)
                    expect(cell, f"{path.name}: markdown cell {number} does not show {plain!r}").to_contain_text(
                        plain, timeout=30_000
                    )
                text = cell.inner_text()
                assert not text.lstrip().startswith("#"), f"{path.name}: markdown cell {number} is not rendered"

        page.wait_for_timeout(500)
        assert not watcher.page_errors, f"uncaught errors in the page: {watcher.page_errors}"
        assert not watcher.failed, f"requests failed: {watcher.failed}"
        assert not offline_server.failed_requests(), f"the server answered errors: {offline_server.failed_requests()}"


# The app's own API (window.jupyterapp, in sites built with expose_app()): what a student sees
# when they open a path, through the same drive (their saved copy first, else the site's file).
_APP_READY = "() => !!(window.jupyterapp && window.jupyterapp.serviceManager && document.querySelector('.jp-DirListing-item'))"
_READ_FILE = """async (path) => {
    const model = await window.jupyterapp.serviceManager.contents.get(path, {content: true});
    return typeof model.content === 'string' ? model.content : JSON.stringify(model.content);
}"""
_LIST_DIR = """async (path) => (await window.jupyterapp.serviceManager.contents.get(path, {content: true})).content.map(item => item.name)"""
_CLOSE_ALL = """async () => {
    await window.jupyterapp.commands.execute('application:close-all');
    await window.jupyterapp.serviceManager.sessions.shutdownAll();
}"""
_DATABASES = "async () => (await indexedDB.databases()).map(d => d.name).sort()"
_SAVED_PATHS = """async (name) => await new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
        const db = request.result;
        const keys = db.transaction('files', 'readonly').objectStore('files').getAllKeys();
        keys.onsuccess = () => { db.close(); resolve(keys.result.sort()); };
        keys.onerror = () => reject(keys.error);
    };
})"""


def expose_app(site: Path) -> None:
    """Let the tests reach a built site's app as ``window.jupyterapp`` (JupyterLite's option)."""
    path = site / "jupyter-lite.json"
    config = json.loads(path.read_text())
    config["jupyter-config-data"]["exposeAppInBrowser"] = "true"
    path.write_text(json.dumps(config))


def _wait_for_welcome(page, *, app: bool = False) -> None:
    page.wait_for_url(re.compile(r"/lab/index\.html"), timeout=30_000)  # the root page redirects
    page.locator(".jp-DirListing-item").first.wait_for(timeout=90_000)
    if app:
        page.wait_for_function(_APP_READY, timeout=60_000, polling=250)
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text=builder.WELCOME_PAGE).wait_for(timeout=60_000)


def _open_notebook(page, path: str, *, wait_for_kernel: bool = False):
    page.evaluate("async (path) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }", path)
    tab_name = path.rsplit("/", 1)[-1]
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text=tab_name).wait_for(timeout=60_000)
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Cell").first.wait_for(timeout=60_000)
    if wait_for_kernel:
        panel.locator(".jp-Toolbar-kernelName", has_text="Python (Pyodide)").wait_for(timeout=90_000)
        panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=150_000)
    return panel


@pytest.mark.browser
@pytest.mark.slow
def test_site_opens_on_the_welcome_page(page, offline_server, lesson_files):
    watcher = PageWatcher(page)
    with screenshot_if_failing(page, "welcome"):
        page.goto(offline_server.url)
        _wait_for_welcome(page)
        assert _readme_heading() in page.title()
        preview = page.locator(".jp-MarkdownViewer:not(.lm-mod-hidden) .jp-RenderedMarkdown")
        expect(preview.get_by_role("heading", level=1, name=_readme_heading(), exact=True)).to_be_visible(timeout=30_000)
        expect(preview).to_contain_text("Saving your work")
        expect(preview).to_contain_text("Download")
        for path in lesson_files:
            lesson = next(item for item in LESSONS if item.notebook == path.name)
            expect(preview.locator("a", has_text=lesson.title).first).to_be_visible()

        # Every name in the file browser is shown whole.
        names = page.locator(".jp-DirListing-itemName")
        listed = names.all_inner_texts()
        assert [p.name for p in lesson_files] == [n for n in listed if n.endswith(".ipynb")]
        cut = page.evaluate("""() => Array.from(document.querySelectorAll('.jp-DirListing-itemName'))
            .filter(e => e.scrollWidth > e.clientWidth).map(e => e.innerText)""")
        assert not cut, f"the file browser cuts these names: {cut}"

        # A student can download a lesson from the file browser.
        page.locator(".jp-DirListing-item", has_text=lesson_files[0].name).click(button="right")
        expect(page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Download$")).first).to_be_visible()
        page.keyboard.press("Escape")

        # The course map's links open the lessons.
        preview.locator("a", has_text=LESSONS[0].title).first.click()
        page.locator(".lm-TabBar-tab.lm-mod-current", has_text=lesson_files[0].name).wait_for(timeout=60_000)
        assert not watcher.page_errors, f"uncaught errors in the page: {watcher.page_errors}"
        assert not watcher.failed, f"requests failed: {watcher.failed}"


def _changed_lesson(source: Path, target: Path, marker: str) -> None:
    notebook = json.loads(source.read_text())
    first = notebook["cells"][0]
    first["source"] = "".join(first["source"]) + f"\n\n{marker}\n"
    target.write_text(json.dumps(notebook, indent=1))


@pytest.mark.browser
@pytest.mark.slow
def test_saved_work_survives_an_update(browser, lesson_files, tmp_path):
    """Edit and save lessons, republish with changed lessons, reload: nothing is lost or hidden.

    Two courses are served from one host (/course/ and /other-course/), as on owner.github.io.
    """
    import shutil

    require_tool("npm", NPM_HINT)
    assert len(lesson_files) >= 3, "the test needs three lessons"
    first, second, third = lesson_files[:3]
    www = tmp_path / "www"
    site = www / "course"
    quiet = {"log": lambda *_: None, "bundle_pyodide": True}
    builder.build(site, notebooks_dir=NOTEBOOKS, **quiet)
    expose_app(site)
    shutil.copytree(site, www / "other-course")
    shutil.copy2(site / "favicon.ico", www / "favicon.ico")
    edits = {first.name: "STUDENT-EDIT-ONE-5d1f", second.name: "STUDENT-EDIT-TWO-8a2c"}
    updates = {second.name: "UPDATED-LESSON-TWO-31b7", third.name: "UPDATED-LESSON-THREE-c94e"}

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        with SiteServer(www, tmp_path / "requests.log") as server, screenshot_if_failing(page, "update"):
            course = server.url + "course/"
            page.goto(course)
            _wait_for_welcome(page, app=True)
            for name, marker in edits.items():
                panel = _open_notebook(page, name)
                panel.locator(".jp-CodeCell .cm-content").first.click()
                page.keyboard.press("Control+Home")
                page.keyboard.insert_text(f"# {marker}\n")
                page.keyboard.press("Control+s")
                tab = page.locator(".lm-TabBar-tab.lm-mod-current", has_text=name)
                expect(tab).not_to_have_class(re.compile(r"jp-mod-dirty"), timeout=30_000)
                page.evaluate(_CLOSE_ALL)  # one kernel at a time: this machine may be slow
            # Opened, its kernel started, never edited: the browser must not keep a copy of it.
            _open_notebook(page, third.name, wait_for_kernel=True)
            page.wait_for_timeout(2_000)
            tab = page.locator(".lm-TabBar-tab.lm-mod-current", has_text=third.name)
            expect(tab).not_to_have_class(re.compile(r"jp-mod-dirty"))
            store = builder.storage_name("/course/")
            assert page.evaluate(_DATABASES) == [store]
            assert page.evaluate(_SAVED_PATHS, store) == sorted(edits)
            page.evaluate(_CLOSE_ALL)

            # The next release: lessons 2 and 3 change.
            release_b = tmp_path / "notebooks-b"
            release_b.mkdir()
            for path in lesson_files:
                if path.name in updates:
                    _changed_lesson(path, release_b / path.name, updates[path.name])
                else:
                    shutil.copy2(path, release_b / path.name)
            builder.build(site, notebooks_dir=release_b, **quiet)
            expose_app(site)
            new_second = builder.released_name(release_b / second.name)
            assert new_second != builder.released_name(second)

            page.goto(course)
            _wait_for_welcome(page, app=True)
            read = lambda path: page.evaluate(_READ_FILE, path)  # noqa: E731
            assert edits[first.name] in read(first.name), "the saved edit of lesson 1 is gone"
            mine = read(second.name)
            assert edits[second.name] in mine, "the saved edit of lesson 2 is gone or hidden"
            assert updates[second.name] not in mine, "the update replaced the student's copy"
            assert updates[second.name] in read(new_second), "the new lesson 2 is not reachable"
            assert updates[third.name] in read(third.name), "an unsaved lesson did not update"
            released = page.evaluate(_LIST_DIR, builder.RELEASES_DIR)
            assert new_second.split("/")[-1] in released
            welcome = page.locator(".jp-MarkdownViewer:not(.lm-mod-hidden) .jp-RenderedMarkdown")
            expect(welcome.locator("a", has_text=new_second.split("/")[-1])).to_be_visible(timeout=30_000)

            # As a student sees it: their lesson 2, and the new one beside it.
            panel = _open_notebook(page, second.name)
            expect(panel).to_contain_text(edits[second.name], timeout=30_000)
            panel = _open_notebook(page, new_second)
            expect(panel).to_contain_text(updates[second.name], timeout=30_000)
            assert page.evaluate(_SAVED_PATHS, store) == sorted(edits)

            # Another course on the same host has its own store and none of this student's edits.
            page.evaluate(_CLOSE_ALL)
            page.goto(server.url + "other-course/")
            _wait_for_welcome(page, app=True)
            assert edits[first.name] not in page.evaluate(_READ_FILE, first.name)
            assert page.evaluate(_DATABASES) == sorted([store, builder.storage_name("/other-course/")])
            # Closing a notebook while its kernel starts makes JupyterLab throw these (harmless).
            closing = re.compile(r"^[0-9a-f-]{36} was disposed$|reading 'insertWidget'")
            errors = [error for error in errors if not closing.search(error)]
            assert not errors, f"uncaught errors in the page: {errors}"
            failed = [(path, status) for path, status in server.failed_requests()]
            assert not failed, f"the server answered errors: {failed}"
    finally:
        context.close()


KERNEL_CHECK_CELL = """\
import json, sys
import piplite
# deps=False: numpy & co. are on the Pyodide CDN, out of reach of a machine without internet,
# and listing exercise ids needs none of them.
await piplite.install("course-lib", deps=False)
import course_lib
from course_lib.grading import exercise_ids
heavy = sorted(m for m in ("numpy", "scipy", "pandas", "matplotlib") if m in sys.modules)
print("KERNEL-CHECK " + json.dumps({"python": list(sys.version_info[:2]), "version": course_lib.__version__, "ids": exercise_ids("01"), "heavy": heavy}))"""


@pytest.mark.browser
@pytest.mark.slow
def test_kernel_installs_course_lib_from_the_site(page, offline_server, pyodide_lock):
    watcher = PageWatcher(page)
    with screenshot_if_failing(page, "kernel"):
        page.goto(offline_server.url + "lab/index.html")
        page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click(timeout=60_000)
        # The kernel is ready when the toolbar names it and its execution indicator is idle.
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        panel.locator(".jp-Toolbar-kernelName", has_text="Python (Pyodide)").wait_for(timeout=60_000)
        panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=120_000)
        editor = panel.locator(".jp-Cell .cm-content").first
        editor.click(timeout=30_000)
        page.keyboard.insert_text(KERNEL_CHECK_CELL)
        page.keyboard.press("Shift+Enter")
        output = page.locator(".jp-OutputArea-output", has_text="KERNEL-CHECK").first
        output.wait_for(timeout=150_000)
        line = next(l for l in output.inner_text().splitlines() if l.startswith("KERNEL-CHECK "))
        found = json.loads(line.removeprefix("KERNEL-CHECK "))

        python = [int(part) for part in pyodide_lock["info"]["python"].split(".")[:2]]
        assert found == {"python": python, "version": course_lib.__version__,
                         "ids": exercise_ids("01"), "heavy": []}
        served = [path for path, status in offline_server.requests() if status == 200]
        assert any(re.match(r"/pypi/course_lib-[^/]+-py3-none-any\.whl", p) for p in served), (
            "course_lib was not installed from the site's own index"
        )
        assert not watcher.page_errors, f"uncaught errors in the page: {watcher.page_errors}"
        assert not watcher.failed, f"requests failed: {watcher.failed}"
        assert not offline_server.failed_requests(), f"the server answered errors: {offline_server.failed_requests()}"


PROGRESS_CELL = """\
import json, os
import piplite
await piplite.install("course-lib", deps=False)
from course_lib.grading.selfcheck import CheckResult
from course_lib.grading.progress import record
record(CheckResult("01.windowed_mean", "passed", 4, 4))
print("PROGRESS-CHECK " + json.dumps({"cwd": os.getcwd(), "here": sorted(os.listdir("."))}))"""


@pytest.mark.browser
@pytest.mark.slow
def test_progress_written_by_the_kernel_lands_in_the_sites_storage(page, offline_server):
    """check() records progress in the kernel's working folder; in JupyterLite that folder must be
    the browser's storage for the site (a learner's progress survives a reload), not Pyodide's
    in-memory file system."""
    with screenshot_if_failing(page, "progress"):
        page.goto(offline_server.url + "lab/index.html")
        page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click(timeout=60_000)
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        panel.locator(".jp-Toolbar-kernelName", has_text="Python (Pyodide)").wait_for(timeout=60_000)
        panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=120_000)
        panel.locator(".jp-Cell .cm-content").first.click(timeout=30_000)
        page.keyboard.insert_text(PROGRESS_CELL)
        page.keyboard.press("Shift+Enter")
        output = page.locator(".jp-OutputArea-output", has_text="PROGRESS-CHECK").first
        output.wait_for(timeout=150_000)
        line = next(l for l in output.inner_text().splitlines() if l.startswith("PROGRESS-CHECK "))
        found = json.loads(line.removeprefix("PROGRESS-CHECK "))
        assert "course-progress.json" in found["here"], found
        store = builder.storage_name("/")
        saved: list[str] = []
        for _ in range(30):  # the drive writes through to the browser's storage asynchronously
            saved = page.evaluate(_SAVED_PATHS, store) if store in page.evaluate(_DATABASES) else []
            if "course-progress.json" in saved:
                break
            page.wait_for_timeout(1_000)
        assert "course-progress.json" in saved, f"kernel folder {found['cwd']}; the site's storage holds {saved}"


HANDOUT_CHECK_CELL = """\
import piplite
await piplite.install("course-lib", deps=False)
from course_lib.grading import check
check("11.alarm_policy", "page")
check("11.alarm_policy", "Ticket ")"""


@pytest.mark.browser
@pytest.mark.slow
def test_an_assignment_self_checks_in_the_browser_from_its_uploaded_selfcheck_json(page, offline_server, tmp_path):
    """An instructor's own assignment (issue 15): the student uploads the hand-out's selfcheck.json
    next to the notebook, and check() runs from it in the browser, with no reference at hand."""
    from course_lib.grading.assignments import load_course
    from course_lib.grading.release import build_assignments_release, write_release

    release, _ = build_assignments_release(load_course(ROOT / "tests" / "fixtures" / "my-course"))
    write_release(release, tmp_path / "release")
    selfcheck = tmp_path / "release" / "students" / "selfcheck.json"
    with screenshot_if_failing(page, "handout"):
        page.goto(offline_server.url + "lab/index.html")
        page.locator('.jp-LauncherCard[data-category="Notebook"]').first.wait_for(timeout=60_000)
        with page.expect_file_chooser() as chooser:
            page.locator('.jp-FileBrowser-toolbar [data-command="filebrowser:upload"], '
                         '.jp-FileBrowser-toolbar .jp-id-upload').first.click(timeout=30_000)
        chooser.value.set_files(str(selfcheck))
        page.locator(".jp-DirListing-item", has_text="selfcheck.json").first.wait_for(timeout=30_000)
        # JupyterLab opens an uploaded file in a tab of its own; go back to the Launcher.
        page.locator(".lm-TabBar-tab", has_text="Launcher").first.click(timeout=30_000)
        page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click(timeout=60_000)
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        panel.locator(".jp-Toolbar-kernelName", has_text="Python (Pyodide)").wait_for(timeout=60_000)
        panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=120_000)
        panel.locator(".jp-Cell .cm-content").first.click(timeout=30_000)
        page.keyboard.insert_text(HANDOUT_CHECK_CELL)
        page.keyboard.press("Shift+Enter")
        output = page.locator(".jp-OutputArea-output", has_text="11.alarm_policy: the public case passes").first
        output.wait_for(timeout=150_000)
        text = output.inner_text()
        assert "✘ 11.alarm_policy: the public case fails." in text
        assert "hint: waking someone up" in text  # the known mistake's own hint, from the frozen data
        assert "✔ 11.alarm_policy: the public case passes." in text


# ---------------------------------------------------------------------------------------------
# ONLINE=1: every lesson, every cell, with the CDN


@pytest.fixture(scope="session")
def cdn_site(tmp_path_factory, lesson_files):
    """The site exactly as published: the Pyodide core and scientific packages from the CDN."""
    output = tmp_path_factory.mktemp("site") / "published"
    return builder.build(output, notebooks_dir=NOTEBOOKS, log=lambda *_: None)


_CELL_STATE = """() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')).map(p => p.innerText.trim())"""


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not ONLINE, reason="needs the Pyodide CDN: run with ONLINE=1 on a machine with internet")
def test_every_lesson_runs_in_the_browser(browser, cdn_site, lesson_files, tmp_path):
    with SiteServer(cdn_site.output, tmp_path / "requests.log") as server:
        for path in lesson_files:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            try:
                page = context.new_page()
                with screenshot_if_failing(page, f"online-{path.stem}"):
                    page.goto(f"{server.url}lab/index.html?path={path.name}")
                    page.locator(".jp-NotebookPanel .jp-CodeCell").first.wait_for(timeout=60_000)
                    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
                    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
                    # Done when no cell is queued or running ([*]) and the first one has run; after an
                    # error, JupyterLab clears the prompts of the cells it did not run.
                    page.wait_for_function(
                        f"""() => {{ const s = ({_CELL_STATE})();
                            return s.length > 0 && !s.some(p => p.includes('*')) && /\\[\\d+\\]/.test(s[0]); }}""",
                        timeout=600_000, polling=1000,
                    )
                    prompts = page.evaluate(_CELL_STATE)
                    not_run = [n for n, p in enumerate(prompts) if not re.search(r"\[\d+\]", p)]
                    errors = page.locator(
                        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
                        has_text=re.compile(r"Traceback|^\w+(Error|Exception)\b", re.M),
                    ).all_inner_texts()
                    assert not errors, f"{path.name} raised in the browser:\n{errors[0][:2000]}"
                    assert not not_run, f"{path.name}: code cells {not_run} did not run"
            finally:
                context.close()

"""A Gradescope autograder built from a release: ``python -m course_lib.grading gradescope``.

:func:`build_autograder` writes the zip Gradescope's "Configure Autograder" page takes (modelled
on otter-grader's ``otter generate``). At the root of the archive:

- ``setup.sh``: run once when Gradescope builds the image; makes a virtual environment in
  ``/autograder/venv`` and installs ``requirements.txt`` and the bundled course_lib into it;
- ``run_autograder``: run for every submission, from ``/autograder``; grades the notebooks in
  ``/autograder/submission`` and writes ``/autograder/results/results.json``;
- ``requirements.txt``: course_lib's runtime dependencies;
- ``course_lib/``: the course_lib source the grader runs (the version the release was made with);
- ``release/``: the release the submissions are graded against (its manifest and notebooks);
- ``assignments/``: for an instructor's own assignments (``--assignments``), their course folder
  (``exercises.py`` holds the references, so it is loaded by the grader, never by a sandbox);
- ``autograder.json``: the grading seed of the hidden cases, the lesson, the limits.

Every submission is graded with the same seed (fixed when the zip is built, and never shown to
students), so resubmitting does not draw new hidden cases. :func:`run` is what ``run_autograder``
calls; ``AUTOGRADER_ROOT`` (or ``--root``) moves ``/autograder`` elsewhere, as the tests do, and
``AUTOGRADER_PYTHON`` chooses the interpreter.

References
----------
Gradescope autograder specifications, https://gradescope-autograders.readthedocs.io/en/latest/specs/
otter-grader, ``otter generate``, https://otter-grader.readthedocs.io/en/latest/otter_generate/
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

CONFIG_NAME = "autograder.json"

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# course_lib needs Python 3.11 or newer: choose an Ubuntu 24.04 base image on Gradescope.
set -euo pipefail
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv python3-pip
python3 - <<'EOF'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"course_lib needs Python 3.11 or newer; this image has {sys.version.split()[0]}: choose an Ubuntu 24.04 base image")
EOF
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --upgrade pip
/autograder/venv/bin/python -m pip install -r /autograder/source/requirements.txt
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission, from /autograder. It grades the notebooks in
# $ROOT/submission and writes $ROOT/results/results.json.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
export PYTHONPATH="$ROOT/source${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg
exec "$PYTHON" -m course_lib.grading.gradescope run --root "$ROOT"
"""


def _requirements() -> list[str]:
    """course_lib's runtime requirements (no extras), from its installed metadata."""
    from importlib import metadata

    try:
        requires = metadata.requires("course-lib") or []
    except metadata.PackageNotFoundError:
        requires = []
    found = [item for item in requires if "extra ==" not in item and "extra==" not in item]
    return found or ["numpy>=1.26", "scipy>=1.11", "pandas>=2.1", "matplotlib>=3.8", "scikit-learn>=1.3"]


def _course_lib_files() -> list[tuple[Path, str]]:
    """(file, name in the archive) of every file of the course_lib package, caches left out."""
    import course_lib

    package = Path(course_lib.__file__).resolve().parent
    files = []
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            files.append((path, "course_lib/" + path.relative_to(package).as_posix()))
    return files


def _course_folder_files(folder: str | Path) -> list[tuple[Path, str]]:
    """(file, name under the folder) of an instructor's course folder: hidden files and caches left out.

    Raises
    ------
    ValueError
        If ``folder`` has no ``exercises.py``.
    """
    root = Path(folder)
    if not (root / "exercises.py").is_file():
        raise ValueError(f"assignments must be a course folder with an exercises.py, got {str(root)!r}")
    files = []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if any(part.startswith(".") or part == "__pycache__" for part in parts) or path.is_symlink():
            continue
        if path.is_file():
            files.append((path, "/".join(parts)))
    return files


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16
    archive.writestr(info, data)


def build_autograder(
    release: Any,
    out: str | Path,
    *,
    seed: int | None = None,
    lesson: str | None = None,
    limits: Any | None = None,
    assignments: str | Path | None = None,
) -> Path:
    """Write a Gradescope autograder zip for ``release`` to ``out``; return its path.

    Parameters
    ----------
    release : Release
        The release the submissions are graded against.
    out : path
        The zip to write (its folder is created).
    seed : int, optional
        Grading seed of the hidden cases; by default a random one, recorded in the zip.
    lesson : str, optional
        Grade only this lesson (a Gradescope assignment is usually one lesson); notebooks of
        other lessons score 0 with the status "wrong lesson".
    limits : Limits, optional
        Time and memory limits of the grader (:class:`course_lib.grading.sandbox.Limits`).
    assignments : path, optional
        The course folder of an instructor's own assignments the release was built from
        (:func:`course_lib.grading.assignments.load_course`); it goes into the zip.

    Raises
    ------
    TypeError, ValueError
        If ``release`` is not a Release, ``seed`` is not a non-negative integer, or ``lesson`` is
        not a released lesson.
    """
    from course_lib import __version__
    from course_lib.grading.release import Release, write_release
    from course_lib.grading.sandbox import Limits

    if not isinstance(release, Release):
        raise TypeError(f"release must be a Release, got {type(release).__name__}")
    if seed is None:
        seed = secrets.randbelow(2**31)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if lesson is not None and lesson not in release.lessons:
        raise ValueError(
            f"lesson must be one of the released lessons ({', '.join(sorted(release.lessons))}), got {lesson!r}"
        )
    limits = limits or Limits()
    if not isinstance(limits, Limits):
        raise TypeError(f"limits must be a Limits, got {type(limits).__name__}")
    course_files = _course_folder_files(assignments) if assignments is not None else []
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    config = {
        "seed": seed,
        "lesson": lesson,
        "limits": asdict(limits),
        "course_lib": __version__,
        "assignments": "assignments" if assignments is not None else None,
    }
    with tempfile.TemporaryDirectory(prefix="gradescope-release-") as folder:
        released = Path(folder) / "release"
        write_release(release, released)
        release_files = sorted(path for path in released.rglob("*") if path.is_file())
        temporary = out.with_name(f".{out.name}.tmp")
        with zipfile.ZipFile(temporary, "w") as archive:
            _add(archive, "setup.sh", SETUP_SH.encode("utf-8"), executable=True)
            _add(archive, "run_autograder", RUN_AUTOGRADER.encode("utf-8"), executable=True)
            _add(archive, "requirements.txt", ("\n".join(_requirements()) + "\n").encode("utf-8"))
            _add(archive, CONFIG_NAME, (json.dumps(config, indent=1) + "\n").encode("utf-8"))
            for path, name in _course_lib_files():
                _add(archive, name, path.read_bytes())
            for path in release_files:
                _add(archive, "release/" + path.relative_to(released).as_posix(), path.read_bytes())
            for path, name in course_files:
                _add(archive, "assignments/" + name, path.read_bytes())
        os.replace(temporary, out)
    return out


# --------------------------------------------------------------------------------------------
# inside Gradescope


def _bwrap_works() -> bool:
    """Whether bubblewrap can start a sandbox here (it cannot in many containers)."""
    program = shutil.which("bwrap")
    if program is None:
        return False
    try:
        done = subprocess.run(
            [program, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "true"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _failure(output: str, started: float) -> dict[str, Any]:
    return {
        "score": 0.0,
        "execution_time": round(time.monotonic() - started, 3),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def results_for(records: list[Any], lesson: str | None) -> dict[str, Any] | None:
    """The ``results.json`` of a Gradescope submission from its graded records (None if none).

    A submission of several notebooks is graded on the best one of the assignment's lesson;
    the output names the others.
    """
    from course_lib.grading.feedback import gradescope_results

    if not records:
        return None
    wanted = [r for r in records if r.status != "wrong lesson"] or records
    if lesson is not None:
        wanted = [r for r in wanted if r.lesson == lesson] or wanted
    best = max(wanted, key=lambda r: (r.score, r.status == "graded", r.submission))
    data = gradescope_results(best)
    others = [r.submission for r in records if r is not best]
    if others:
        data["output"] += "\nGraded " + best.submission + "; not graded: " + ", ".join(sorted(others)) + "."
    return data


def run(root: str | Path) -> Path:
    """Grade ``root/submission`` and write ``root/results/results.json`` (``root`` is ``/autograder``).

    Never raises for a bad submission or a grader failure: the results then say what happened
    (and the traceback goes to the instructor-only stdout).
    """
    from course_lib.grading.atomic import write_text_atomic

    started = time.monotonic()
    root = Path(root)
    results_path = root / "results" / "results.json"
    try:
        from course_lib.grading.release import read_release

        source = root / "source"
        config = json.loads((source / CONFIG_NAME).read_text(encoding="utf-8"))
        if config.get("assignments"):
            from course_lib.grading.assignments import load_course

            load_course(source / config["assignments"])
        release = read_release(source / "release")
        limits = dict(config.get("limits") or {})
        if limits.get("sandbox", "auto") == "auto" and not _bwrap_works():
            limits["sandbox"] = "fallback"
        submission = root / "submission"
        if not submission.is_dir():
            submission.mkdir(parents=True)
        data = None
        if any(path.suffix.lower() == ".ipynb" for path in submission.rglob("*")):
            data = results_for(_grade_submission(submission, release, config, limits), config.get("lesson"))
        if data is None:
            lessons = sorted(release.lessons.values(), key=lambda item: item.number)
            names = ", ".join(item.notebook_name for item in lessons)
            data = _failure(f"No Jupyter notebook (.ipynb) was found in your submission. Upload {names}.", started)
    except Exception:  # noqa: BLE001 - Gradescope must get a results.json whatever happens
        traceback.print_exc()
        data = _failure(
            "The autograder failed on this submission (not because of your code, as far as it can tell); "
            "your instructor can see the details. Please tell them.",
            started,
        )
    write_text_atomic(results_path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return results_path


def _grade_submission(submission: Path, release: Any, config: dict[str, Any], limits: dict[str, Any]) -> list[Any]:
    """Grade the notebooks of one Gradescope submission; print what the instructor sees."""
    from course_lib.grading.autograder import grade
    from course_lib.grading.sandbox import Limits

    with tempfile.TemporaryDirectory(prefix="grading-") as work:
        graded = grade(
            submission,
            Path(work) / "results",
            release=release,
            seed=int(config["seed"]),
            limits=Limits(**limits),
            workers=1,
            lesson=config.get("lesson"),
        )
    for record in graded.records:
        print(f"{record.submission}: lesson {record.lesson} {record.score:g}/{record.max_score:g} {record.status}")
        for line in record.flags + record.log:
            print(f"  {line}")
    return graded.records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.grading.gradescope")
    commands = parser.add_subparsers(dest="command", required=True)
    running = commands.add_parser("run", help="grade a Gradescope submission (what run_autograder calls)")
    running.add_argument(
        "--root",
        type=Path,
        default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")),
        help="Gradescope's /autograder folder (default: $AUTOGRADER_ROOT, else /autograder)",
    )
    args = parser.parse_args(argv)
    path = run(args.root)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

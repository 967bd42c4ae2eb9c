"""Shared test helpers.

``require_tool`` is how a test says it needs a program that is not a Python package. On a
learner's laptop a missing tool skips the test with a message saying how to install it; in CI
(``CI=true``) it fails, because CI installs every tool and a skip there would hide a gap.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# check() remembers each verdict in course-progress.json in the working folder (course_lib.progress).
# The tests' check() calls, and the kernels nbval and nbclient start (they inherit this
# environment), must not write one into the repository: recording is off for the whole run.
# tests/test_progress.py turns it back on where it tests it.
os.environ["COURSE_PROGRESS_FILE"] = "off"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str, install_hint: str) -> str:
    """Return the path of program ``name``, or skip (laptop) / fail (CI) the calling test."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed: {install_hint}"
    if in_ci():
        pytest.fail(message + " (CI=true, so this is a failure, not a skip)")
    pytest.skip(message)


def require_root(what: str) -> None:
    """Skip (laptop) or fail (CI) a test whose isolation needs root, as ``require_tool`` does."""
    if os.geteuid() == 0:
        return
    message = f"{what} needs root; run the grading tests as root or in a container (see the README)"
    if in_ci():
        pytest.fail(message + " (CI=true, so this is a failure, not a skip)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


# The sample instructor course is data for the assignment and Gradescope tests, not a test suite:
# nbval would run its notebook, and the doctest collector would import its exercises.py.
collect_ignore_glob = ["fixtures/*"]

"""The README's commands: `make lab` serves the course, set-up is idempotent, and tools that pip
cannot install skip on a laptop but fail in CI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, require_tool


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_lab_serves_the_student_notebooks():
    port, token = _free_port(), "course-test-token"
    process = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS=--port={port} --IdentityProvider.token={token}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "DISPLAY": ""},
    )
    try:
        listing, deadline = None, time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=2) as reply:
                    listing = json.load(reply)
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, f"JupyterLab did not answer on port {port}"
        names = {item["name"] for item in listing["content"]}
        expected = {path.name for path in (ROOT / "notebooks").glob("*.ipynb")}
        assert expected and expected <= names
        assert "solutions" not in names, "students must see the lessons only (course authors use make author)"
        assert "AUTHORING.md" not in names, "the authors' guide is for course authors (make author)"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/lab" in output, "make lab must print the URL to open"


def _fake_setup(tmp_path: Path) -> Path:
    """A copy of the Makefile whose .venv python only logs how it was called."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    fake = tmp_path / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "calls.log"}\n')
    fake.chmod(0o755)
    return tmp_path / "calls.log"


def _setup(tmp_path: Path) -> None:
    subprocess.run(["make", "--no-print-directory", "setup", f"PYTHON={sys.executable}"], cwd=tmp_path, check=True, capture_output=True)


def test_setup_runs_once_and_again_only_when_pyproject_changes(tmp_path):
    log = _fake_setup(tmp_path)
    _setup(tmp_path)
    first = log.read_text().splitlines()
    assert any("pip install" in line and '-e .[dev,observability]' in line for line in first)
    _setup(tmp_path)
    assert log.read_text().splitlines() == first, "a second make setup must not reinstall"
    later = time.time() + 5
    os.utime(tmp_path / "pyproject.toml", (later, later))
    _setup(tmp_path)
    assert len(log.read_text().splitlines()) == 2 * len(first), "a changed pyproject.toml must reinstall"


def test_setup_refuses_an_old_python(tmp_path):
    _fake_setup(tmp_path)
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\necho 'Python 3.11 or newer is needed' >&2\nexit 1\n")
    old.chmod(0o755)
    result = subprocess.run(["make", "setup", f"PYTHON={old}"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0 and "3.11 or newer" in result.stderr


def test_a_missing_tool_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-such-tool-xyz is not installed: apt-get install xyz"):
        require_tool("no-such-tool-xyz", "apt-get install xyz")


def test_a_missing_tool_skips_on_a_laptop(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install xyz"):
        require_tool("no-such-tool-xyz", "apt-get install xyz")


def test_a_present_tool_is_found():
    assert require_tool("sh", "it is always there") == shutil.which("sh")


def test_ci_script_calls_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "\nmake test\n" in ci

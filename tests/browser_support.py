"""Helpers for the site tests: the site's build module, a local server and a real Chromium.

Chromium is Debian's (``/usr/bin/chromium``) driven by Playwright for Python; Playwright's own
browser download is not used. The server is ``jupyter-lite/build.py --serve`` in a subprocess on
127.0.0.1 and a free port, stopped by its pid; it logs every request, so a test can list the
ones that failed, including requests made by web workers that the page does not see.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Screenshots of failed browser tests go here (git-ignored).
ARTIFACTS = ROOT / "_site_test" / "screenshots"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

_REQUEST_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


def load_site_builder():
    """Import ``jupyter-lite/build.py`` (it is a script, not a package module)."""
    path = ROOT / "jupyter-lite" / "build.py"
    spec = importlib.util.spec_from_file_location("course_site_build", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class SiteServer:
    """``build.py --serve`` on 127.0.0.1 and a port the OS picks; use as a context manager."""

    def __init__(self, output: Path, log_path: Path):
        self.output = output
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> "SiteServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        env = {**os.environ, "COURSE_SITE_VERBOSE": "1"}
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "jupyter-lite" / "build.py"), "--serve", "--no-build",
             "--output", str(self.output), "--port", "0"],
            stdout=subprocess.PIPE, stderr=log, text=True, env=env,
        )
        log.close()
        first_line = self.process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", first_line)
        if not match:
            self.stop()
            raise RuntimeError(f"the site server did not start: {first_line!r} {self.log_path.read_text()}")
        self.url = match.group(0)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def requests(self) -> list[tuple[str, int]]:
        """Every (path, status) the server answered so far."""
        found = []
        for line in self.log_path.read_text().splitlines():
            match = _REQUEST_LINE.search(line)
            if match:
                found.append((match["path"], int(match["status"])))
        return found

    def failed_requests(self) -> list[tuple[str, int]]:
        return [(path, status) for path, status in self.requests() if status >= 400]


class PageWatcher:
    """Collects what went wrong while a page ran: failed requests and uncaught errors."""

    def __init__(self, page):
        self.failed: list[str] = []
        self.page_errors: list[str] = []
        # On the context, so that requests of the kernel's web worker are seen too.
        page.context.on("requestfailed", lambda request: self.failed.append(f"{request.url} ({request.failure})"))
        page.context.on("response", self._on_response)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url} (HTTP {response.status})")


def screenshot_on_failure(page, name: str) -> str:
    """Save a screenshot of ``page`` under ARTIFACTS and return its path (for the failure message)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception as error:  # the page may be gone; the original failure matters more
        return f"(no screenshot: {error})"
    return str(path)

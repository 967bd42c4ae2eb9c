"""Build the course's JupyterLite site, and optionally serve it on 127.0.0.1.

    python jupyter-lite/build.py                       # build into _site/
    python jupyter-lite/build.py --serve --port 8000   # build if needed, then serve
    python jupyter-lite/build.py --bundle-pyodide --output _site_offline

The site holds the student notebooks of ``notebooks/`` (every lesson of
``course_lib.lessons.LESSONS`` that exists there, plus ``notebooks/data/`` if present) and a
package index of its own with the course_lib wheel and the pure-Python wheels listed in
``jupyter-lite/browser-requirements.txt``, so the lessons' setup cell
(``await piplite.install(["course-lib", ...])``) takes them from the site, not from PyPI.

The site opens on a welcome page (``welcome.md``, made from ``jupyter-lite/welcome.md``): what
the course is, the course map with each lesson's time, where to start, how saving and
downloading work. Its title, and the site's, is the README's first heading.

No update may hide or lose a student's work, and updates must still reach students:

* the browser keeps a student's saved files under one name for the life of the site:
  JupyterLite's default, ``JupyterLite Storage - <the site's path>``, so two courses on one
  ``owner.github.io`` do not share storage and a new release opens the same store;
* a saved file wins over the site's copy of the same name, so a lesson the student saved keeps
  its name and contents after an update; every lesson is also served as released under a name
  that says its version (``releases/02_drift_statistics.version-<hash>.ipynb``, the hash of
  that lesson's contents), which an update of that lesson changes; lessons the student never
  saved always open in their newest version;
* the served lessons carry the browser kernel's spec and language_info in their metadata, as the
  kernel reports them, so that starting the kernel does not modify a lesson: an unmodified
  notebook is never saved (autosave skips it), so merely opening a lesson never hides a later
  version.

Only the lab and notebooks apps are built, without source maps.

The kernel loads Pyodide itself from its CDN. ``--bundle-pyodide`` copies the Pyodide core
(the npm package ``pyodide`` at the kernel's version, fetched with ``npm pack``) into the site
and writes a ``pyodide-lock.json`` in which the kernel's own pure-Python needs are served by the
site too; packages that are not bundled (numpy, scipy, pandas, ...) keep their CDN addresses.
With it, a kernel starts, and course_lib installs, on a machine without internet; the browser
tests use it.

Downloads (wheels, the npm package) are cached in ``jupyter-lite/.cache/``.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from functools import partial
from pathlib import Path

LITE_DIR = Path(__file__).resolve().parent
ROOT = LITE_DIR.parent
CACHE_DIR = LITE_DIR / ".cache"
DEFAULT_OUTPUT = ROOT / "_site"
DEFAULT_NOTEBOOKS = ROOT / "notebooks"
BROWSER_REQUIREMENTS = LITE_DIR / "browser-requirements.txt"
README = ROOT / "README.md"
#: The welcome page's source; build.py fills in the title, the course map and the versions.
WELCOME_TEMPLATE = LITE_DIR / "welcome.md"
#: Name of the welcome page in the site; the site's address opens it.
WELCOME_PAGE = "welcome.md"
#: Folder of the site holding every lesson as released, under a name that says its version.
RELEASES_DIR = "releases"
#: JupyterLite's own configuration, kept in jupyter-lite/: the build options and the site's
#: settings (jupyter-lite.json).
LITE_CONFIG_FILES = ("jupyter_lite_config.json", "jupyter-lite.json")
#: The name under which JupyterLite (0.8) stores a student's files in the browser (IndexedDB)
#: when ``contentsStorageName`` is not set; ``base_url`` is the site's path, e.g. ``/repo/``.
#: The build leaves it unset, so the name is stable across releases and differs between sites.
DEFAULT_STORAGE_NAME = "JupyterLite Storage - {base_url}"
#: The kernel the served lessons name: the Pyodide kernel's own spec, so that JupyterLab does
#: not rewrite (and so modify) a lesson's metadata when its kernel starts.
PYODIDE_KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
#: What the Pyodide kernel (jupyterlite-pyodide-kernel 0.8) answers in its kernel_info (its
#: version field is fixed at "3.8"); JupyterLab writes it into a notebook whose metadata differ.
PYODIDE_LANGUAGE_INFO = {
    "codemirror_mode": {"name": "python", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": "3.8",
}
#: Written into the output folder; a rebuild with the same inputs is skipped.
BUILD_INFO = "course-build.json"

if str(ROOT) not in sys.path:  # so that `python jupyter-lite/build.py` finds course_lib
    sys.path.insert(0, str(ROOT))

from course_lib import __version__ as COURSE_LIB_VERSION  # noqa: E402
from course_lib.lessons import LESSONS  # noqa: E402
from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION  # noqa: E402

#: The marker environment of the Pyodide kernel, for reading wheels' Requires-Dist.
PYODIDE_MARKERS = {
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "sys_platform": "emscripten",
    "platform_system": "Emscripten",
    "platform_machine": "wasm32",
    "python_version": "3.14",
    "python_full_version": "3.14.2",
    "extra": "",
}
#: What the kernel installs into Pyodide when it starts (besides the kernel's own wheels).
KERNEL_ROOT_REQUIREMENTS = ("comm", "ipython", "micropip")
PURE_WHEEL_SUFFIXES = ("-py3-none-any.whl", "-py2.py3-none-any.whl")


class BuildError(RuntimeError):
    """The site cannot be built; the message says why and what to do."""


@dataclass
class BuildReport:
    """What a build produced."""

    output: Path
    lessons: list[str]
    wheels: list[str]
    storage_name: str
    bundled_pyodide: bool
    skipped: bool = False
    seconds: float = 0.0
    size_bytes: int = 0
    file_count: int = 0

    def summary(self) -> str:
        if self.skipped:
            return f"site up to date: {self.output} ({self.size_bytes / 1e6:.1f} MB)"
        state = f"built in {self.seconds:.1f} s"
        lines = [
            f"site {state}: {self.output}",
            f"  size: {self.size_bytes / 1e6:.1f} MB in {self.file_count} files",
            f"  lessons: {', '.join(self.lessons)}",
            f"  package index: {', '.join(self.wheels)}",
            f"  browser storage name: {self.storage_name!r}",
            f"  Pyodide core: {'bundled' if self.bundled_pyodide else 'from the CDN'}",
        ]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Inputs


def lesson_notebooks(notebooks_dir: Path) -> list[Path]:
    """The lesson notebooks present in ``notebooks_dir``, in course order."""
    found = [notebooks_dir / item.notebook for item in LESSONS]
    found = [path for path in found if path.is_file()]
    if not found:
        raise BuildError(
            f"no lesson notebooks in {notebooks_dir} (expected names such as "
            f"{LESSONS[0].notebook}); run `make student` to generate them"
        )
    return found


def site_contents(notebooks_dir: Path) -> list[Path]:
    """Every file the site shows: the lessons in course order, then ``data/`` if present."""
    data_dir = notebooks_dir / "data"
    data_files = sorted(p for p in data_dir.rglob("*") if p.is_file()) if data_dir.is_dir() else []
    return [*lesson_notebooks(notebooks_dir), *data_files]


def read_browser_requirements(path: Path = BROWSER_REQUIREMENTS) -> list[str]:
    """The pinned requirements (``name==version``) of the site's package index."""
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    requirements = [line for line in lines if line]
    for line in requirements:
        if "==" not in line:
            raise BuildError(f"{path}: every line must pin an exact version (name==version): {line!r}")
    return requirements


def files_digest(paths: list[Path], root: Path) -> str:
    """A hash of these files' relative names and contents."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def course_lib_sources() -> list[Path]:
    files = [ROOT / "pyproject.toml"]
    for path in (ROOT / "course_lib").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append(path)
    return files


def storage_name(base_url: str) -> str:
    """The name under which the browser stores a student's files for the site at ``base_url``.

    It does not change between releases, so an update never hides saved work, and it holds
    the site's path, so two courses on one host keep their files apart.

    Examples
    --------
    >>> storage_name("/ml-course/")
    'JupyterLite Storage - /ml-course/'
    """
    return DEFAULT_STORAGE_NAME.format(base_url=base_url)


def readme_title(readme: Path = README) -> str:
    """The course's title: the first level-1 heading of the README (the site uses it too)."""
    match = re.search(r"^# +(.+?) *$", readme.read_text(encoding="utf-8"), flags=re.M)
    if match is None:
        raise BuildError(f"{readme} has no level-1 heading ('# Title') to name the site after")
    return match.group(1)


#: A markdown link or image whose target is a path in the repository (not served by the site).
_REPO_LINK = re.compile(r"!?\[[^\]]*\]\((?![a-z][a-z0-9+.-]*:|#)[^)]*\)", flags=re.I)


def readme_intro(readme: Path = README) -> str:
    """What the course is: the README's prose paragraphs between its title and first section.

    Tables, and paragraphs that link or show files of the repository (which the site does not
    serve), are left out.
    """
    text = readme.read_text(encoding="utf-8")
    after_title = re.split(r"^# .*$", text, maxsplit=1, flags=re.M)[-1]
    head = re.split(r"^## ", after_title, maxsplit=1, flags=re.M)[0]
    paragraphs = [block.strip() for block in re.split(r"\n\s*\n", head) if block.strip()]
    return "\n\n".join(
        block for block in paragraphs
        if not block.startswith(("|", "<", "!")) and not _REPO_LINK.search(block)
    )


def lesson_minutes(lesson, notebook: Path) -> int | None:
    """How long a lesson takes: ``Lesson.minutes`` if the course map has it, else the
    ``**Time**: about N minutes`` line of the lesson's first cell."""
    minutes = getattr(lesson, "minutes", None)
    if minutes:
        return int(minutes)
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    first = "".join(cells[0]["source"]) if cells else ""
    match = re.search(r"\*\*Time\*\*:?\*{0,2}\s*(?:about\s+)?(\d+)\s*min", first, flags=re.I)
    return int(match.group(1)) if match else None


def lesson_version(notebook: Path) -> str:
    """A short label of a lesson's contents: it changes exactly when the lesson changes."""
    return hashlib.sha256(notebook.read_bytes()).hexdigest()[:10]


def released_name(notebook: Path) -> str:
    """Where the site serves this lesson as released: a name with the lesson's version."""
    return f"{RELEASES_DIR}/{notebook.stem}.version-{lesson_version(notebook)}{notebook.suffix}"


def release_label(lessons: list[Path]) -> str:
    """A short label of the whole release (course_lib's version and the lessons' contents)."""
    digest = hashlib.sha256("".join(lesson_version(p) for p in lessons).encode()).hexdigest()
    return f"course_lib {COURSE_LIB_VERSION}, lessons {digest[:8]}"


def welcome_page(lessons: list[Path], template: Path = WELCOME_TEMPLATE, readme: Path = README) -> str:
    """The site's welcome page (markdown): the course, its map with times, where to start."""
    by_notebook = {item.notebook: item for item in LESSONS}
    rows = []
    for path in lessons:
        lesson = by_notebook[path.name]
        minutes = lesson_minutes(lesson, path)
        time_text = f"about {minutes} min" if minutes else "—"
        released = released_name(path)
        rows.append(
            f"| {lesson.number} | [{lesson.title}]({path.name}) | {time_text} | "
            f"[{Path(released).name}]({released}) |"
        )
    first = by_notebook[lessons[0].name]
    return template.read_text(encoding="utf-8").format(
        title=readme_title(readme),
        intro=readme_intro(readme),
        first_title=f"Lesson {first.number}: {first.title}",
        first_notebook=lessons[0].name,
        course_map="\n".join(rows),
        release=release_label(lessons),
    )


def served_notebook(path: Path) -> str:
    """A lesson as the site serves it: the student notebook naming the browser's kernel."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    metadata = notebook.setdefault("metadata", {})
    metadata["kernelspec"] = dict(PYODIDE_KERNELSPEC)
    metadata["language_info"] = json.loads(json.dumps(PYODIDE_LANGUAGE_INFO))
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------
# Wheels


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise BuildError(
            f"command failed ({result.returncode}): {' '.join(map(str, command))}\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def build_course_lib_wheel(cache_dir: Path = CACHE_DIR) -> Path:
    """Build (or reuse) the course_lib wheel for the current sources.

    The sources are copied to a temporary folder first, so the build leaves nothing in the
    work tree. The wheel must be pure Python (``py3-none-any``): it runs in Pyodide.
    """
    key = files_digest(course_lib_sources(), ROOT)[:16]
    target_dir = cache_dir / "course-lib" / key
    wheels = sorted(target_dir.glob("*.whl"))
    if wheels:
        return wheels[0]
    with tempfile.TemporaryDirectory(prefix="course-lib-wheel-") as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        shutil.copy2(ROOT / "pyproject.toml", source)
        readme = ROOT / "README.md"
        if readme.is_file():
            shutil.copy2(readme, source)
        else:  # pyproject names README.md as the long description
            (source / "README.md").write_text("course_lib\n")
        shutil.copytree(ROOT / "course_lib", source / "course_lib",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        out = Path(tmp) / "dist"
        run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)])
        built = sorted(out.glob("course_lib-*.whl"))
        if len(built) != 1:
            raise BuildError(f"expected one course_lib wheel, found {[p.name for p in built]}")
        if not built[0].name.endswith("-py3-none-any.whl"):
            raise BuildError(f"course_lib must build a pure-Python py3-none-any wheel, got {built[0].name}")
        return install_into_cache(built[0], target_dir)


def install_into_cache(file: Path, folder: Path) -> Path:
    """Move ``file`` into the cache ``folder`` atomically (builds may run side by side)."""
    folder.mkdir(parents=True, exist_ok=True)
    partial_copy = Path(tempfile.mkstemp(dir=folder, prefix=".partial-")[1])
    shutil.copy2(file, partial_copy)
    os.replace(partial_copy, folder / file.name)
    return folder / file.name


def wheel_metadata(wheel: Path):
    """The parsed METADATA of a wheel (an email.message.Message)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return HeaderParser().parsestr(archive.read(name).decode())


def wheel_requirements(wheel: Path, markers: dict = PYODIDE_MARKERS) -> list:
    """The wheel's Requires-Dist that apply under ``markers`` (packaging Requirements)."""
    from packaging.requirements import Requirement

    requirements = []
    for line in wheel_metadata(wheel).get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(markers):
            requirements.append(requirement)
    return requirements


def pip_download(requirements: list[str], dest: Path) -> None:
    """``pip download`` pure-Python wheels for Python 3.14, without dependencies."""
    run([
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary", ":all:", "--platform", "any", "--implementation", "py",
        "--abi", "none", "--python-version", "3.14", "--dest", str(dest), *requirements,
    ])


def download_pure_wheels(requirements: list[str], dest: Path) -> list[Path]:
    """Download pinned pure-Python wheels (no dependencies) from PyPI into ``dest``, cached.

    A requirement whose wheel is already in ``dest`` is not downloaded again.
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename

    dest.mkdir(parents=True, exist_ok=True)

    def present() -> dict:
        wheels = {}
        for wheel in dest.glob("*.whl"):
            name, version, _, _ = parse_wheel_filename(wheel.name)
            wheels[(name, str(version))] = wheel
        return wheels

    def pinned(spec: str) -> tuple:
        requirement = Requirement(spec)
        version = str(next(iter(requirement.specifier)).version)
        return canonicalize_name(requirement.name), version

    missing = [spec for spec in requirements if pinned(spec) not in present()]
    if missing:
        with tempfile.TemporaryDirectory() as tmp:
            pip_download(missing, Path(tmp))
            for wheel in Path(tmp).glob("*.whl"):
                install_into_cache(wheel, dest)
    by_pin = present()
    wheels = []
    for spec in requirements:
        wheel = by_pin.get(pinned(spec))
        if wheel is None:
            raise BuildError(f"pip did not download a wheel for {spec} into {dest}")
        if not wheel.name.endswith(PURE_WHEEL_SUFFIXES):
            raise BuildError(f"{wheel.name} is not a pure-Python wheel; Pyodide cannot use it")
        wheels.append(wheel)
    return wheels


# ---------------------------------------------------------------------------------------------
# Pyodide


def fetch_pyodide_core(version: str = PYODIDE_VERSION, cache_dir: Path = CACHE_DIR) -> Path:
    """The npm package ``pyodide@version`` unpacked (cached); returns its ``package`` folder.

    It holds the Pyodide core (pyodide.mjs, the wasm, the standard library) and the
    ``pyodide-lock.json`` that lists every package of that Pyodide distribution.
    """
    folder = cache_dir / f"npm-pyodide-{version}"
    package = folder / "package"
    if (package / "pyodide-lock.json").is_file():
        return package
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm (from Node.js) is needed to fetch the Pyodide core from the npm registry; "
            "install Node.js (e.g. `apt-get install npm`)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".partial-") as tmp:
        run([npm, "pack", f"pyodide@{version}", "--pack-destination", tmp, "--silent"], cwd=tmp)
        tarball = Path(tmp) / f"pyodide-{version}.tgz"
        if not tarball.is_file():
            raise BuildError(f"npm pack did not write {tarball.name}")
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        try:
            (Path(tmp) / "package").rename(package)
        except OSError:  # another build unpacked it first
            if not (package / "pyodide-lock.json").is_file():
                raise
    return package


def read_pyodide_lock(package: Path) -> dict:
    return json.loads((package / "pyodide-lock.json").read_text())


def kernel_wheel_requirements(lock: dict, wheel_dir: Path | None = None) -> list[str]:
    """Pinned requirements of the pure-Python packages the kernel installs when it starts.

    Starting from :data:`KERNEL_ROOT_REQUIREMENTS`, follow the wheels' Requires-Dist (as
    Pyodide evaluates their markers), one level per pip call. A package in the Pyodide lock
    is pinned to the lock's version; one that is not (``comm``, ``jedi``) to the newest pure
    wheel on PyPI, remembered in the cache so that rebuilds need no network.
    """
    from packaging.utils import canonicalize_name, parse_wheel_filename

    wheel_dir = wheel_dir or CACHE_DIR / f"kernel-wheels-{PYODIDE_VERSION}"
    wheel_dir.mkdir(parents=True, exist_ok=True)
    in_lock = {canonicalize_name(name): spec["version"] for name, spec in lock["packages"].items()}
    pins: dict[str, str] = {}
    level = [canonicalize_name(name) for name in KERNEL_ROOT_REQUIREMENTS]
    while level:
        level = sorted(set(level) - set(pins))
        for name in level:
            memo = wheel_dir / f"{name}.newest"
            if name in in_lock:
                pins[name] = f"{name}=={in_lock[name]}"
            elif memo.is_file():
                pins[name] = f"{name}=={memo.read_text().strip()}"
        unpinned = [name for name in level if name not in pins]
        if unpinned:
            with tempfile.TemporaryDirectory() as tmp:
                pip_download(unpinned, Path(tmp))
                for wheel in Path(tmp).glob("*.whl"):
                    name, version, _, _ = parse_wheel_filename(wheel.name)
                    install_into_cache(wheel, wheel_dir)
                    memo = Path(tmp) / f"{name}.newest"
                    memo.write_text(str(version))
                    install_into_cache(memo, wheel_dir)
                    pins[name] = f"{name}=={version}"
        wheels = download_pure_wheels([pins[name] for name in level], wheel_dir)
        level = [canonicalize_name(req.name) for wheel in wheels for req in wheel_requirements(wheel)]
    return sorted(pins.values())


def stage_pyodide(lite_dir: Path, config: dict) -> None:
    """Put the npm Pyodide core and the kernel's wheels into a staged ``lite_dir``."""
    package = fetch_pyodide_core()
    lock = read_pyodide_lock(package)
    kernel_wheels = download_pure_wheels(kernel_wheel_requirements(lock),
                                         CACHE_DIR / f"kernel-wheels-{PYODIDE_VERSION}")
    static = lite_dir / "static" / "pyodide"
    static.mkdir(parents=True)
    for item in package.iterdir():
        # Only the core: no source maps, docs or the demo consoles.
        if item.suffix in (".map", ".md", ".html", ".ts") or item.name == "package.json":
            continue
        shutil.copy2(item, static / item.name)
    # pyodide-lock refuses the npm package's lock unless info.version names the release.
    lock["info"]["version"] = PYODIDE_VERSION
    (static / "pyodide-lock.json").write_text(json.dumps(lock))
    wheels = lite_dir / "kernel-wheels"
    wheels.mkdir()
    for wheel in kernel_wheels:
        shutil.copy2(wheel, wheels / wheel.name)
    config["PyodideLockAddon"] = {"enabled": True, "wheels": ["kernel-wheels"]}


# ---------------------------------------------------------------------------------------------
# Build


def build(
    output: Path = DEFAULT_OUTPUT,
    *,
    notebooks_dir: Path = DEFAULT_NOTEBOOKS,
    bundle_pyodide: bool = False,
    force: bool = False,
    log=print,
) -> BuildReport:
    """Build the site into ``output``; skip the work if the inputs have not changed.

    Parameters
    ----------
    output : Path
        The folder to write (it is replaced).
    notebooks_dir : Path
        Where the student notebooks are (``notebooks/``).
    bundle_pyodide : bool
        Serve the Pyodide core and the kernel's wheels from the site (see the module docs).
    force : bool
        Build even if the output is up to date.
    """
    started = time.monotonic()
    output = Path(output).resolve()
    notebooks_dir = Path(notebooks_dir).resolve()
    content_files = site_contents(notebooks_dir)
    lessons = [p for p in content_files if p.parent == notebooks_dir]
    data_dir = notebooks_dir / "data"
    contents_digest = files_digest(content_files, notebooks_dir)
    name = storage_name("<the site's path>")
    requirements = read_browser_requirements()

    config_files = [*(LITE_DIR / file_name for file_name in LITE_CONFIG_FILES), BROWSER_REQUIREMENTS,
                    WELCOME_TEMPLATE, README, Path(__file__).resolve()]
    fingerprint = {
        "contents": contents_digest,
        "course_lib": files_digest(course_lib_sources(), ROOT),
        "config": files_digest(config_files, ROOT),
        "bundle_pyodide": bundle_pyodide,
        "pyodide": PYODIDE_VERSION,
    }
    report = BuildReport(output=output, lessons=[p.name for p in lessons], wheels=[],
                         storage_name=name, bundled_pyodide=bundle_pyodide)
    info_path = output / BUILD_INFO
    if not force and info_path.is_file():
        previous = json.loads(info_path.read_text())
        if previous.get("fingerprint") == fingerprint:
            report.wheels = previous["wheels"]
            report.skipped = True
            _measure(report)
            return report

    log(f"building the site into {output} ...")
    course_wheel = build_course_lib_wheel()
    index_wheels = [course_wheel, *download_pure_wheels(requirements, CACHE_DIR / "index-wheels")]
    report.wheels = [wheel.name for wheel in index_wheels]

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_DIR, prefix="stage-") as tmp:
        _build_staged(Path(tmp), output, lessons,
                      data_dir if len(content_files) > len(lessons) else None,
                      index_wheels, bundle_pyodide)
    report.seconds = time.monotonic() - started
    info_path.write_text(json.dumps({"fingerprint": fingerprint, "wheels": report.wheels,
                                     "storage_name": name, "lessons": report.lessons}, indent=2))
    _measure(report)
    return report


def site_settings(settings: dict) -> dict:
    """The ``jupyter-config-data`` of jupyter-lite/jupyter-lite.json as the site gets it.

    The title is the README's. A ``contentsStorageName`` is refused: JupyterLite's default
    (:data:`DEFAULT_STORAGE_NAME`) is stable across releases and holds the site's path.
    """
    if "contentsStorageName" in settings:
        raise BuildError(
            "jupyter-lite/jupyter-lite.json sets contentsStorageName: leave it unset, so that the "
            "browser keeps a student's files under one name per site across releases"
        )
    return {**settings, "appName": readme_title()}


def _build_staged(stage: Path, output: Path, lessons: list[Path],
                  data_dir: Path | None, index_wheels: list[Path], bundle_pyodide: bool) -> None:
    """Lay out a lite_dir and the contents in ``stage``, then run ``jupyter lite build``."""
    lite_dir = stage / "lite"
    contents = stage / "contents"
    lite_dir.mkdir(parents=True)
    (contents / RELEASES_DIR).mkdir(parents=True)
    for path in lessons:
        served = served_notebook(path)
        (contents / path.name).write_text(served, encoding="utf-8")
        (contents / released_name(path)).write_text(served, encoding="utf-8")
    (contents / WELCOME_PAGE).write_text(welcome_page(lessons), encoding="utf-8")
    if data_dir is not None:
        shutil.copytree(data_dir, contents / "data")
    pypi = lite_dir / "pypi"
    pypi.mkdir()
    for wheel in index_wheels:
        shutil.copy2(wheel, pypi / wheel.name)

    config = json.loads((LITE_DIR / "jupyter_lite_config.json").read_text())
    lite_json = json.loads((LITE_DIR / "jupyter-lite.json").read_text())
    lite_json["jupyter-config-data"] = site_settings(lite_json["jupyter-config-data"])
    if bundle_pyodide:
        stage_pyodide(lite_dir, config)
    (lite_dir / "jupyter_lite_config.json").write_text(json.dumps(config, indent=2))
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(lite_json, indent=2))

    shutil.rmtree(output, ignore_errors=True)
    command = [
        sys.executable, "-m", "jupyterlite_core", "build",
        "--lite-dir", str(lite_dir),
        "--output-dir", str(output),
        "--contents", str(contents),
    ]
    # uv (used by the pyodide-lock step) would otherwise try to download a Python 3.14.
    env = {"UV_PYTHON_DOWNLOADS": "never", **os.environ}
    result = subprocess.run(command, cwd=lite_dir, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise BuildError(f"jupyter lite build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
    favicon = output / "lab" / "favicon.ico"
    if favicon.is_file():  # browsers ask for /favicon.ico before the app sets its own
        shutil.copy2(favicon, output / "favicon.ico")
    open_welcome_page_first(output)
    check_output(output, [wheel.name for wheel in index_wheels], bundle_pyodide)


#: The site's address opens the lab with the welcome page (relative, so any site path works).
WELCOME_URL = f"lab/index.html?path={WELCOME_PAGE}"
_ROOT_REDIRECT = re.compile(r"<script type=\"module\">\s*await import\('\./config-utils\.js'\);\s*</script>")


def open_welcome_page_first(output: Path) -> None:
    """Make the site's root page open the lab on the welcome page.

    JupyterLite's root ``index.html`` sends the browser to ``lab/index.html``, where a new
    student would see a bare launcher. Its configuration block stays (the apps read it).
    """
    index = output / "index.html"
    text = index.read_text(encoding="utf-8")
    redirect = (
        f'<meta http-equiv="refresh" content="0; url={html.escape(WELCOME_URL)}">\n'
        f'    <script>window.location.replace({json.dumps(WELCOME_URL)});</script>'
    )
    text, count = _ROOT_REDIRECT.subn(lambda _: redirect, text)
    if count != 1:
        raise BuildError(f"{index}: JupyterLite's redirect script was not found; cannot open the welcome page first")
    index.write_text(text, encoding="utf-8")


def check_output(output: Path, wheels: list[str], bundle_pyodide: bool) -> None:
    """Fail loudly if the build is missing something the lessons rely on."""
    config = json.loads((output / "jupyter-lite.json").read_text())["jupyter-config-data"]
    if "contentsStorageName" in config:
        raise BuildError(f"contentsStorageName is set in {output / 'jupyter-lite.json'}")
    if config.get("appName") != readme_title():
        raise BuildError(f"the site's appName is not the README's title in {output / 'jupyter-lite.json'}")
    contents = json.loads((output / "api" / "contents" / "all.json").read_text())
    if WELCOME_PAGE not in {item["name"] for item in contents["content"]}:
        raise BuildError(f"the welcome page {WELCOME_PAGE} is missing from the site's contents")
    index = json.loads((output / "pypi" / "all.json").read_text())
    from packaging.utils import canonicalize_name, parse_wheel_filename

    for wheel in wheels:
        project = canonicalize_name(parse_wheel_filename(wheel)[0])
        if project not in {canonicalize_name(key) for key in index}:
            raise BuildError(f"{wheel} is missing from the site's package index pypi/all.json")
    maps = [p for p in output.rglob("*.map")]
    if maps:
        raise BuildError(f"source maps left in the site, e.g. {maps[0]}")
    if bundle_pyodide and not (output / "static" / "pyodide-lock" / "pyodide-lock.json").is_file():
        raise BuildError("--bundle-pyodide: the customised pyodide-lock.json was not written")


def _measure(report: BuildReport) -> None:
    files = [p for p in report.output.rglob("*") if p.is_file()]
    report.file_count = len(files)
    report.size_bytes = sum(p.stat().st_size for p in files)


# ---------------------------------------------------------------------------------------------
# Serve


class SiteRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the MIME types JupyterLite needs, never cached, quiet."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
        ".ipynb": "application/json",
        ".whl": "application/octet-stream",
        ".zip": "application/zip",
    }

    def end_headers(self) -> None:
        # A local server is for trying edits: always serve the current build.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the stdlib's name)
        if os.environ.get("COURSE_SITE_VERBOSE"):
            super().log_message(format, *args)


def serve(output: Path, port: int) -> None:
    """Serve ``output`` on 127.0.0.1:``port`` (0 picks a free port) until interrupted."""
    handler = partial(SiteRequestHandler, directory=str(output))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        print(f"Serving {output} at {url}", flush=True)
        print(f"Open {url} (it opens the course's welcome page; Ctrl+C stops the server)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="output folder (default _site/)")
    parser.add_argument("--notebooks", type=Path, default=DEFAULT_NOTEBOOKS, help="student notebooks folder")
    parser.add_argument("--bundle-pyodide", action="store_true",
                        help="serve the Pyodide core and the kernel's wheels from the site (needs npm)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the output is up to date")
    parser.add_argument("--serve", action="store_true", help="serve the site on 127.0.0.1 after building")
    parser.add_argument("--no-build", action="store_true", help="with --serve: serve the existing output")
    parser.add_argument("--port", type=int, default=8000, help="port for --serve (0: any free port)")
    args = parser.parse_args(argv)
    try:
        if not args.no_build:
            report = build(args.output, notebooks_dir=args.notebooks,
                           bundle_pyodide=args.bundle_pyodide, force=args.force)
            print(report.summary(), flush=True)
        if args.serve:
            # A folder holding sites in subfolders is served too (a site at /course/, as on
            # GitHub Pages).
            if not (args.output / "index.html").is_file() and not list(args.output.glob("*/index.html")):
                raise BuildError(f"nothing to serve in {args.output}: build the site first")
            serve(args.output.resolve(), args.port)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

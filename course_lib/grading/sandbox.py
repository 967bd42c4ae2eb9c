"""The process a submission runs in: isolation, limits, and the cells and cases it executes.

The grader (:mod:`course_lib.grading.autograder`) starts one such process per submission from a
warm fork server that has numpy, pandas, matplotlib and IPython already imported. The process:

1. isolates itself before it runs any submitted code (:func:`enter_sandbox`). As root on Linux:
   new network, mount, IPC and PID namespaces (no network; a private empty ``/tmp``, ``/var/tmp``,
   ``/dev/shm``; its processes die with it), then it drops to the ``nobody`` user, so it cannot
   write the instructor's files. Otherwise, best effort: a new user and network namespace if the
   kernel allows unprivileged ones, and a fresh temporary working directory.
2. sets resource limits: address space, CPU time (per cell and in total), file size, processes;
3. runs the released notebook's code cells in an IPython shell (so top-level ``await``, magics
   and ``display`` behave as in Jupyter) with the submission's exercise cells in place of the
   released ones, and after each exercise cell calls the answer on the exercise's public and
   hidden cases;
4. sends back, as JSON messages, only what the answers returned (:mod:`course_lib.grading.wire`),
   never a verdict: the grader compares them with expected values it computes itself.

Printed output is kept up to a cap and otherwise discarded; the process's own stdout and stderr
go to ``/dev/null``.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import json
import math
import os
import resource
import signal
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from course_lib.grading import wire

NOBODY = 65534

_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38

#: World-writable places a submission could otherwise use to leave files behind.
_PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


@dataclass(frozen=True)
class Limits:
    """Resource limits of a submission.

    Parameters
    ----------
    exercise_seconds : float
        Wall-clock and CPU time for one exercise (its cell and its cases), and for any other cell.
    submission_seconds : float
        Wall-clock and CPU time for the whole submission.
    memory_mb : int
        Address space the submission may add to what the grader's own libraries take.
    output_bytes : int
        Printed output kept for the instructor's log; the rest is discarded.
    file_mb : int
        Largest file the submission may write (in its working directory).
    tmp_mb : int
        Size of the private ``/tmp`` (when namespaces are available).
    processes : int
        Processes the submission's user may run (effective when it runs as ``nobody``).
    isolate : bool
        Use namespaces and drop privileges when possible. Tests turn it off only to compare.
    """

    exercise_seconds: float = 60.0
    submission_seconds: float = 600.0
    memory_mb: int = 2048
    output_bytes: int = 64 * 1024
    file_mb: int = 64
    tmp_mb: int = 256
    processes: int = 64
    isolate: bool = True

    def __post_init__(self) -> None:
        for name in ("exercise_seconds", "submission_seconds"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        for name in ("memory_mb", "output_bytes", "file_mb", "tmp_mb", "processes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class JobCell:
    """One code cell to run: the released source, or a submission's exercise cell."""

    index: int
    source: str
    exercise: str | None = None
    collect: bool = False
    missing: bool = False


@dataclass(frozen=True)
class Job:
    """What a sandboxed process runs for one submission (sent by the grader, trusted)."""

    lesson: str
    cells: tuple[JobCell, ...]
    answers: dict[str, str]
    seeds: dict[str, int]
    limits: Limits = field(default_factory=Limits)


# --------------------------------------------------------------------------------------------
# isolation


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _traversable_by_others(path: str) -> bool:
    """Whether a user with no relation to the owner can reach and read ``path``."""
    parts = os.path.abspath(path).split(os.sep)
    current = os.sep
    for part in parts[1:]:
        mode = os.stat(current).st_mode
        if not mode & stat.S_IXOTH:
            return False
        current = os.path.join(current, part)
    return bool(os.stat(current).st_mode & stat.S_IROTH)


def _python_paths() -> list[str]:
    """Folders the interpreter reads code from: the standard library, site-packages, course_lib."""
    import course_lib

    prefixes = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix}
    candidates = set(prefixes)
    # Only the folders that hold code: not the checkout around course_lib (its solution notebooks
    # stay out of reach) and not the caller's working folder, which may be private (mode 700).
    candidates |= {
        entry
        for entry in sys.path
        if entry
        and os.path.isdir(entry)
        and (
            "site-packages" in entry
            or "dist-packages" in entry
            or any(os.path.realpath(entry).startswith(os.path.realpath(p) + os.sep) for p in prefixes)
        )
    }
    candidates.add(os.path.dirname(os.path.abspath(course_lib.__file__)))
    real = sorted({os.path.realpath(path) for path in candidates if os.path.isdir(path)})
    # Keep only the outermost folders: a bind mount of a folder brings its subfolders.
    return [path for path in real if not any(path != other and path.startswith(other + os.sep) for other in real)]


def _hidden_ancestor(path: str) -> str | None:
    current = os.sep
    for part in os.path.abspath(path).split(os.sep)[1:]:
        if not os.stat(current).st_mode & stat.S_IXOTH:
            return current
        current = os.path.join(current, part)
    return None


def _expose(libc: ctypes.CDLL, paths: list[str]) -> None:
    """Make ``paths`` reachable by ``nobody`` inside this mount namespace.

    A Python installed under a private home (``/root/.pyenv``) is unreadable once privileges are
    dropped. Over each such private ancestor this mounts an empty tmpfs and binds back only the
    interpreter's folders, opened beforehand; the rest of the private folder stays hidden.
    """
    groups: dict[str, list[str]] = {}
    for path in paths:
        ancestor = _hidden_ancestor(path)
        if ancestor is not None and ancestor != os.sep:
            groups.setdefault(ancestor, []).append(path)
    for ancestor, inside in groups.items():
        handles = _open_folders(inside)
        _check(
            libc.mount(b"tmpfs", ancestor.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"mode=755,size=1m"),
            f"tmpfs on {ancestor}",
        )
        _bind_back(libc, handles)


def _open_folders(paths: list[str]) -> list[tuple[str, int]]:
    """Handles on folders that a mount is about to cover, for :func:`_bind_back`."""
    return [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in paths]


def _bind_back(libc: ctypes.CDLL, handles: list[tuple[str, int]]) -> None:
    """Bind each folder, through its handle, back at its old place under a new mount."""
    for path, handle in handles:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _check(
            libc.mount(f"/proc/self/fd/{handle}".encode(), path.encode(), None, _MS_BIND | _MS_REC, None),
            f"bind {path}",
        )
        os.close(handle)


def _supervise(pid: int) -> None:
    """Wait for ``pid`` and exit with its status (a signal ``n`` becomes exit code 128 + n)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def enter_sandbox(limits: Limits) -> dict[str, Any]:
    """Isolate the current process (see the module docstring); return what was achieved.

    As root with namespaces this forks twice: the caller's process and the namespace's first
    process stay behind as supervisors that exit with the worker's status, and only the worker
    returns from this function.
    """
    report: dict[str, Any] = {
        "network": "shared",
        "filesystem": "shared",
        "processes": "process group",
        "user": os.geteuid(),
    }
    try:
        os.setsid()
    except PermissionError:  # already a session leader
        pass
    libc = _libc()
    namespaces = False
    if limits.isolate and os.geteuid() == 0:
        try:
            _check(libc.unshare(_CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWPID | _CLONE_NEWIPC), "unshare")
            namespaces = True
        except OSError as exc:
            report["namespaces_error"] = str(exc)
    elif limits.isolate:
        try:
            _check(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET), "unshare")
            report["network"] = "none (new network namespace)"
        except OSError as exc:
            report["namespaces_error"] = str(exc)

    workdir = home = None
    if namespaces:
        _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
        python_paths = _python_paths()
        _expose(libc, python_paths)
        # A checkout (and its .venv) may itself live under /tmp, as in CI: keep it reachable
        # through the private /tmp, or the worker could not import course_lib.
        under_tmp = _open_folders(
            [path for path in python_paths if any(path.startswith(os.path.realpath(p) + os.sep) for p in _PRIVATE_TMP)]
        )
        size = f"mode=1777,size={limits.tmp_mb}m".encode()
        for place in _PRIVATE_TMP:
            if os.path.isdir(place) and not os.path.islink(place):
                _check(
                    libc.mount(b"tmpfs", place.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, size), f"tmpfs on {place}"
                )
        _bind_back(libc, under_tmp)
        workdir, home = "/tmp/work", "/tmp/home"
        for folder in (workdir, home):
            os.mkdir(folder, 0o700)
            os.chown(folder, NOBODY, NOBODY)
        pid = os.fork()
        if pid:
            _supervise(pid)
        # Now process 1 of the new PID namespace: when it dies, the kernel kills every process
        # the submission started. It dies with its parent, which the grader kills on timeout.
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        pid = os.fork()
        if pid:
            _supervise(pid)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        report.update(
            network="none (new network namespace)",
            filesystem="cannot write the grader's files (runs as nobody); private " + ", ".join(_PRIVATE_TMP),
            processes="new PID namespace: all die with the submission",
            user=NOBODY,
        )
    elif limits.isolate and os.geteuid() == 0 and all(_traversable_by_others(p) for p in _python_paths()):
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        report.update(filesystem="can write only where any user can (runs as nobody)", user=NOBODY)
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if workdir is None or home is None:
        # Without a private /tmp: a fresh folder, which the grader deletes afterwards.
        scratch = tempfile.mkdtemp(prefix="course-grade-")
        workdir, home = os.path.join(scratch, "work"), os.path.join(scratch, "home")
        os.mkdir(workdir, 0o700)
        os.mkdir(home, 0o700)
        report["scratch"] = scratch
    os.chdir(workdir)
    report["workdir"] = workdir
    # The grader's environment may hold secrets a submission could echo into its feedback: keep
    # only what programs need. HOME is elsewhere, so the working directory stays empty of
    # IPython's and matplotlib's files.
    kept = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "TZ") if key in os.environ}
    os.environ.clear()
    os.environ.update(kept)
    os.environ.update(
        HOME=home,
        TMPDIR="/tmp" if namespaces else home,
        MPLBACKEND="Agg",
        MPLCONFIGDIR=os.path.join(home, ".matplotlib"),
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONHASHSEED="0",
    )
    return report


def _limit(which: int, soft: int, hard: int | None = None) -> None:
    _, current_hard = resource.getrlimit(which)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
        soft = min(soft, hard)
    resource.setrlimit(which, (soft, hard))


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as stream:
        for line in stream:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def apply_limits(limits: Limits) -> None:
    """Set the process's resource limits (the submission cannot raise them back)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails, it does not kill
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, limits.file_mb * 2**20)
    _limit(resource.RLIMIT_NPROC, limits.processes)
    _limit(resource.RLIMIT_AS, _address_space() + limits.memory_mb * 2**20)
    total = math.ceil(_cpu_used() + limits.submission_seconds)
    _limit(resource.RLIMIT_CPU, total, total + 1)


def _cell_cpu_limit(limits: Limits) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    wanted = math.ceil(_cpu_used() + limits.exercise_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (min(wanted, hard - 1) if hard != resource.RLIM_INFINITY else wanted, hard))


# --------------------------------------------------------------------------------------------
# running the notebook


class CappedOutput:
    """A text stream that keeps the first ``limit`` characters written and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, text: Any) -> int:
        text = str(text)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        return "utf-8"

    def getvalue(self) -> str:
        return "".join(self.parts)


class ReferenceTripwire:
    """Counts calls to an exercise's reference solution while that exercise is being graded."""

    def __init__(self) -> None:
        self.active: str | None = None
        self.calls: dict[str, int] = {}

    def install(self, exercise_id: str, reference: str) -> None:
        import functools
        import importlib

        module_name, _, attribute = reference.partition(":")
        owner: Any = importlib.import_module(module_name)
        parts = attribute.split(".")
        for part in parts[:-1]:
            owner = getattr(owner, part)
        original = getattr(owner, parts[-1])
        if not callable(original):
            return
        tripwire = self

        @functools.wraps(original)
        def watched(*args: Any, **kwargs: Any) -> Any:
            # check() in an exercise cell computes expected values through the registry: that
            # call is the self-check's, not the answer's.
            caller = sys._getframe(1).f_globals.get("__name__")
            if tripwire.active == exercise_id and caller != "course_lib.grading.registry":
                tripwire.calls[exercise_id] = tripwire.calls.get(exercise_id, 0) + 1
            return original(*args, **kwargs)

        setattr(owner, parts[-1], watched)


def _raised(exc: BaseException) -> dict[str, Any]:
    message = str(exc)
    return {"raised": [type(exc).__name__, message if len(message) <= 500 else message[:497] + "..."]}


def _error_text(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 500 else text[:497] + "..."


class _NotAttempted(Exception):
    pass


#: What the answers of one exercise may take on the channel (the grader reads 16 MB at most).
ANSWER_BYTES = 12 * 2**20


def _answers(exercise: Any, answer: Any, cases: list, tripwire: ReferenceTripwire) -> list[dict[str, Any]]:
    results = []
    budget = ANSWER_BYTES // max(1, len(cases)) // 2
    for case in cases:
        if exercise.kind == "value":
            got: Any = answer
        else:
            try:
                got = answer(*copy.deepcopy(case.args), **copy.deepcopy(dict(case.kwargs)))
            except NotImplementedError as exc:
                raise _NotAttempted from exc
            except BaseException as exc:  # noqa: BLE001 - SystemExit included: it is the answer's error
                results.append(_raised(exc))
                continue
        try:
            results.append({"value": wire.encode(got, max_bytes=budget)})
        except wire.WireError as exc:
            results.append({"raised": ["AnswerNotGradable", str(exc)]})
        except Exception as exc:  # noqa: BLE001 - an object that breaks while being read
            results.append({"raised": ["AnswerNotGradable", f"could not read the answer ({type(exc).__name__})"]})
    return results


def _grade_exercise(
    job: Job, cell: JobCell, shell: Any, cases: dict, tripwire: ReferenceTripwire, cell_error: str | None
) -> dict[str, Any]:
    from course_lib.grading.registry import get_exercise
    from course_lib.grading.selfcheck import is_stub

    exercise = get_exercise(cell.exercise)
    result: dict[str, Any] = {"event": "exercise", "id": cell.exercise, "cell_error": cell_error}
    if cell.missing:
        return {**result, "status": "missing"}
    try:
        answer = eval(job.answers[cell.exercise], shell.user_ns)  # noqa: S307 - trusted text from the release
    except BaseException as exc:  # noqa: BLE001
        return {**result, "status": "no answer", "error": _error_text(exc)}
    if is_stub(answer):
        return {**result, "status": "not attempted"}
    if exercise.kind == "function" and not callable(answer):
        return {**result, "status": "not a function", "error": f"expected a function, got {wire.type_name(answer)}"}
    public, hidden = cases[cell.exercise]
    try:
        public_answers = _answers(exercise, answer, public, tripwire)
        hidden_answers = _answers(exercise, answer, hidden, tripwire)
    except _NotAttempted:
        return {**result, "status": "not attempted"}
    return {**result, "status": "ran", "public": public_answers, "hidden": hidden_answers}


def _send(conn: Any, message: dict[str, Any]) -> None:
    conn.send_bytes(json.dumps(message, allow_nan=False).encode("utf-8"))


def run_job(job: Job, conn: Any) -> None:
    """Entry point of the sandboxed process (a ``multiprocessing`` target)."""
    report = enter_sandbox(job.limits)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    output = CappedOutput(job.limits.output_bytes)
    sys.stdout = sys.stderr = output  # type: ignore[assignment]

    from course_lib.grading.registry import get_exercise

    # Everything the submission must not influence is prepared before any of its code runs.
    collected = [cell.exercise for cell in job.cells if cell.exercise and cell.collect]
    cases = {}
    tripwire = ReferenceTripwire()
    for ident in collected:
        exercise = get_exercise(ident)
        hidden = exercise.draw_hidden_cases(job.seeds[ident]) if exercise.hidden_cases else []
        cases[ident] = (list(exercise.public_cases()), hidden)
        try:
            tripwire.install(ident, exercise.reference)
        except (ImportError, AttributeError):
            pass
    shell = _make_shell()
    apply_limits(job.limits)
    _send(conn, {"event": "ready", "isolation": report})

    cell_errors = []
    for cell in job.cells:
        _send(conn, {"event": "cell", "index": cell.index, "exercise": cell.exercise})
        _cell_cpu_limit(job.limits)
        if cell.exercise and cell.collect:
            tripwire.active = cell.exercise
            outcome = shell.run_cell(cell.source, store_history=False, silent=True)
            error = _error_text(outcome.error_before_exec or outcome.error_in_exec)
            message = _grade_exercise(job, cell, shell, cases, tripwire, error)
            tripwire.active = None
            message["reference_calls"] = tripwire.calls.get(cell.exercise, 0)
            _send(conn, message)
        else:
            outcome = shell.run_cell(cell.source, store_history=False, silent=True)
            error = _error_text(outcome.error_before_exec or outcome.error_in_exec)
            if error and not cell.exercise:
                cell_errors.append({"index": cell.index, "error": error})
    _send(
        conn,
        {"event": "done", "cell_errors": cell_errors, "output": output.getvalue(), "output_dropped": output.dropped},
    )
    conn.close()
    os._exit(0)


def _make_shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    config.InteractiveShell.autocall = 0
    shell = InteractiveShell(config=config)
    shell.user_ns["__name__"] = "__main__"
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
    except ImportError:
        pass
    return shell


#: Modules the fork server imports once, so each submission starts warm (the IPython and asyncio
#: modules are those a shell's first cell would otherwise import).
PRELOAD = (
    "numpy",
    "pandas",
    "scipy.stats",
    "matplotlib.pyplot",
    "matplotlib.backends.backend_agg",
    "asyncio",
    "IPython.core.interactiveshell",
    "IPython.core.application",
    "IPython.core.completer",
    "IPython.core.completerlib",
    "IPython.core.magics",
    "IPython.core.oinspect",
    "traitlets.config",
    "course_lib.grading.sandbox",
    "course_lib.grading.registry",
    "course_lib.grading.selfcheck",
)

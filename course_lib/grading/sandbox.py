"""The process a submission runs in: isolation, limits, and the cells and cases it executes.

The grader (:mod:`course_lib.grading.autograder`) starts one such process per submission from a
warm process that has numpy, pandas, matplotlib and IPython already imported: where bubblewrap
runs (as root, or as an ordinary user if the kernel allows unprivileged user namespaces), a zygote
per grading worker inside ``bwrap`` (:func:`bwrap_command`, :func:`zygote_main`), which shows only
``/usr``, the interpreter, its packages and a course_lib without the exercises' answers; otherwise
(root only, unless asked for) multiprocessing's fork server. The process:

0. closes every descriptor it inherited but its own channel (:func:`close_inherited`);
1. isolates itself before it runs any submitted code (:func:`enter_sandbox`). As root on Linux,
   or inside bubblewrap: new mount, IPC and PID namespaces (and network, unless bubblewrap made
   one), a ``/proc`` of its own, a private empty ``/tmp`` and ``/dev/shm``; its processes die with
   it; then, as root, it becomes the grading worker's own user, so it cannot write the
   instructor's files and its processes never count against another submission's limit (an
   ordinary user's bubblewrap has a user namespace per worker, which keeps the counts apart), and
   it drops every capability. Otherwise (an ordinary user without bubblewrap, only when asked
   for), best effort: a new user and network namespace if the kernel allows unprivileged ones,
   and a fresh temporary working directory.
2. sets resource limits: address space, CPU time (per cell and in total), file size, processes;
3. runs the released notebook's code cells in an IPython shell (so top-level ``await``, magics
   and ``display`` behave as in Jupyter) with the submission's exercise cells in place of the
   released ones, and after each exercise cell calls the answer on the exercise's public and
   hidden cases;
4. sends back, as JSON messages, only what the answers returned (:mod:`course_lib.grading.wire`),
   never a verdict: the grader compares them with expected values it computes itself. A call to
   a withheld course_lib function goes to the grader (:func:`call_reference`), which counts it.

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
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
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
    sandbox : {"auto", "bwrap", "fallback"}
        "bwrap": run submissions in bubblewrap (an error if it cannot run: ``bwrap`` missing,
        or an ordinary user on a kernel without unprivileged user namespaces); "fallback": the
        namespaces this module sets up by itself (as an ordinary user: hardly any isolation);
        "auto": bwrap where it runs, else the fallback as root, else an error
        (:func:`course_lib.grading.runner.sandbox_mode`).
    """

    exercise_seconds: float = 60.0
    submission_seconds: float = 600.0
    memory_mb: int = 2048
    output_bytes: int = 64 * 1024
    file_mb: int = 64
    tmp_mb: int = 256
    processes: int = 64
    isolate: bool = True
    sandbox: str = "auto"

    def __post_init__(self) -> None:
        if self.sandbox not in ("auto", "bwrap", "fallback"):
            raise ValueError(f"sandbox must be 'auto', 'bwrap' or 'fallback', got {self.sandbox!r}")
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
    #: Exercise id -> (public cases, hidden cases), drawn by the grader: the sandbox never holds
    #: a seed from which hidden cases could be drawn again. The grader keeps them: the job it
    #: sends has none, and the sandbox gets an exercise's cases only when that exercise is graded
    #: (:func:`_request_cases`), so no code of the submission can see them earlier.
    cases: dict[str, tuple[list, list]]
    limits: Limits = field(default_factory=Limits)
    uid: int = NOBODY
    inside_bwrap: bool = False
    #: ``module:function`` names withheld from this sandbox, withheld constants, and the copy of
    #: course_lib without them (see :func:`course_lib.grading.integrity.withheld_course_lib`).
    withheld: tuple[str, ...] = ()
    withheld_data: tuple[str, ...] = ()
    withheld_folder: str | None = None


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


_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    """Give up every capability, for good (bounding, ambient, permitted, effective, inheritable).

    Inside an ordinary user's bubblewrap the process keeps its uid and holds capabilities in
    bubblewrap's user namespace, which a program it runs would otherwise inherit.
    """
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for capability in range(64):
        libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)  # fails harmlessly past the last one
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (x2), all empty
    _check(libc.capset(header, data), "capset")


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


def enter_sandbox(
    limits: Limits, *, uid: int = NOBODY, inside_bwrap: bool = False, course_lib_copy: str | None = None
) -> dict[str, Any]:
    """Isolate the current process (see the module docstring); return what was achieved.

    As root with namespaces this forks twice: the caller's process and the namespace's first
    process stay behind as supervisors that exit with the worker's status, and only the worker
    returns from this function.

    Parameters
    ----------
    limits : Limits
    uid : int
        The user the submission runs as: as root, one per grading worker, so that one
        submission's processes never count against another's ``RLIMIT_NPROC``; for an ordinary
        user, that user (then each worker's bubblewrap user namespace keeps the counts apart).
    inside_bwrap : bool
        The process already runs in a bubblewrap sandbox that shows only the interpreter, its
        packages and course_lib, with no network (:func:`bwrap_command`): it still gets its own
        PID, mount and IPC namespaces, a fresh ``/proc``, ``/tmp`` and ``/dev/shm``, and the
        worker's user.
    """
    report: dict[str, Any] = {
        "mode": "bubblewrap" if inside_bwrap else "fallback",
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
    # Inside bubblewrap the process holds the capabilities it needs in bubblewrap's namespaces,
    # also when the grader is an ordinary user (then bubblewrap made a user namespace).
    if limits.isolate and (os.geteuid() == 0 or inside_bwrap):
        try:
            network = 0 if inside_bwrap else _CLONE_NEWNET  # bubblewrap made the network namespace
            _check(libc.unshare(_CLONE_NEWNS | network | _CLONE_NEWPID | _CLONE_NEWIPC), "unshare")
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
        if not inside_bwrap:  # bubblewrap's view already holds only these paths, all reachable
            _expose(libc, python_paths)
            if course_lib_copy:
                # The course_lib on disk becomes the copy without the answers.
                import course_lib

                here = os.path.dirname(os.path.abspath(course_lib.__file__))
                _check(
                    libc.mount(course_lib_copy.encode(), here.encode(), None, _MS_BIND | _MS_REC, None),
                    "bind the withheld course_lib",
                )
                report["course_lib"] = "answers withheld"
        # A checkout (and its .venv) may itself live under /tmp, as in CI: keep it reachable
        # through the private /tmp, or the worker could not import course_lib.
        under_tmp = _open_folders(
            [path for path in python_paths if any(path.startswith(os.path.realpath(p) + os.sep) for p in _PRIVATE_TMP)]
        )
        size = f"mode=1777,size={limits.tmp_mb}m".encode()
        private = [place for place in _PRIVATE_TMP if os.path.isdir(place) and not os.path.islink(place)]
        for place in private:
            _check(libc.mount(b"tmpfs", place.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, size), f"tmpfs on {place}")
        _bind_back(libc, under_tmp)
        workdir, home = "/tmp/work", "/tmp/home"
        for folder in (workdir, home):
            os.mkdir(folder, 0o700)
            if uid != os.geteuid():
                os.chown(folder, uid, uid)
        pid = os.fork()
        if pid:
            _supervise(pid)
        # Now process 1 of the new PID namespace: when it dies, the kernel kills every process
        # the submission started. It dies with its parent, which the grader kills on timeout.
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # A /proc of this PID namespace only: the grader's processes and command lines vanish.
        proc = libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None)
        pid = os.fork()
        if pid:
            _supervise(pid)
        if uid != os.geteuid():
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        # An ordinary user's bubblewrap keeps the same uid: the capabilities go explicitly.
        _drop_capabilities(libc)
        report.update(
            network="none (new network namespace)",
            filesystem=(
                "sees only the interpreter, its packages and course_lib (bubblewrap), read-only"
                if inside_bwrap
                else "cannot write the grader's files (runs as an unprivileged user); reads what any user can"
            )
            + "; private "
            + ", ".join(private),
            processes="new PID namespace: all die with the submission"
            + ("; its own /proc" if proc == 0 else "; host /proc visible"),
            user=uid,
        )
    elif limits.isolate and os.geteuid() == 0 and all(_traversable_by_others(p) for p in _python_paths()):
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        report.update(filesystem="can write only where any user can (runs as an unprivileged user)", user=uid)
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


def _answers(exercise: Any, answer: Any, cases: list) -> list[dict[str, Any]]:
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


def _grade_exercise(job: Job, cell: JobCell, shell: Any, cell_error: str | None) -> dict[str, Any]:
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
    public, hidden = _request_cases(cell.exercise)
    try:
        public_answers = _answers(exercise, answer, public)
        hidden_answers = _answers(exercise, answer, hidden)
    except _NotAttempted:
        return {**result, "status": "not attempted"}
    return {**result, "status": "ran", "public": public_answers, "hidden": hidden_answers}


def _send(conn: Any, message: dict[str, Any]) -> None:
    conn.send_bytes(json.dumps(message, allow_nan=False).encode("utf-8"))


#: The job's channel and the descriptor the grader's replies arrive on (set by :func:`run_job`).
_reference_channel: tuple[Any, int] | None = None
#: Largest request for a withheld function, and largest reply read.
REFERENCE_REQUEST_BYTES = 20 * 2**20
REFERENCE_REPLY_BYTES = 32 * 2**20


def _read_exactly_fd(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the grader closed the reply channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_reply(replies: int, what: str) -> bytes:
    size = int.from_bytes(_read_exactly_fd(replies, 8), "big")
    if size > REFERENCE_REPLY_BYTES:
        raise RuntimeError(f"{what}: the grader's reply is too large")
    return _read_exactly_fd(replies, size)


def _request_cases(exercise_id: str) -> tuple[list, list]:
    """The public and hidden cases of the exercise being graded, from the grader.

    The grader sends them only now, once the exercise's cell has run, and only for that exercise:
    until then no code of the submission (a hook in a released cell included) can find them in
    memory and have the reference compute their answers.
    """
    import pickle

    if _reference_channel is None:
        raise RuntimeError("no channel to the grader")
    conn, replies = _reference_channel
    _send(conn, {"event": "cases", "id": exercise_id})
    return pickle.loads(_read_reply(replies, exercise_id))  # noqa: S301 - sent by the grader, trusted


def call_reference(name: str, args: tuple, kwargs: dict) -> Any:
    """Run a withheld course_lib function in the grader and return its result.

    In the sandbox the answers of the graded exercises are not there (see
    :func:`course_lib.grading.integrity.withheld_course_lib`); their functions call this, so the
    lesson's own cells still work. The grader runs the real function on the arguments (plain
    data only) and counts the call: a call to an exercise's reference before that exercise was
    graded scores it 0.
    """
    if _reference_channel is None:
        raise RuntimeError(f"{name} is withheld in the grading sandbox")
    conn, replies = _reference_channel
    try:
        request = {
            "event": "reference",
            "name": name,
            "args": wire.encode(list(args), max_bytes=REFERENCE_REQUEST_BYTES),
            "kwargs": wire.encode(dict(kwargs), max_bytes=REFERENCE_REQUEST_BYTES),
        }
    except wire.WireError as exc:
        raise ValueError(f"{name}: {exc} (the grader runs it on plain data only)") from None
    _send(conn, request)
    reply = json.loads(_read_reply(replies, name).decode("utf-8"))
    if "value" in reply:
        return wire.decode(reply["value"])
    kind, message = reply.get("raised", ["RuntimeError", "no result"])
    error = {"ValueError": ValueError, "TypeError": TypeError, "KeyError": KeyError}.get(kind, RuntimeError)
    raise error(message)


def withhold_in_memory(
    names: tuple[str, ...], constants: tuple[str, ...], folder: str | None, *, import_first: bool = False
) -> None:
    """Give already imported course_lib functions the bodies of the withheld copy in ``folder``.

    The fallback sandbox is forked from a server that imported course_lib itself: the code of
    each withheld function is swapped in place (every alias shares the function object), and
    withheld constants become None. ``import_first`` imports the modules not imported yet (when
    the copy cannot be mounted over course_lib, a later import would read the real one).
    """
    import importlib

    import ast

    trees: dict[str, Any] = {}
    for name in names:
        module_name, _, attribute = name.partition(":")
        module = sys.modules.get(module_name)
        if module is None and import_first:
            try:
                module = importlib.import_module(module_name)
            except Exception:  # noqa: BLE001 - a module that cannot load here cannot leak either
                module = None
        original = getattr(module, attribute, None) if module is not None else None
        if original is None or not hasattr(original, "__code__") or original.__code__.co_freevars:
            continue
        if folder is None:
            continue
        if module_name not in trees:
            relative = module_name.split(".")[1:]
            path = os.path.join(folder, *relative) + ".py"
            with open(path, encoding="utf-8") as stream:
                trees[module_name] = ast.parse(stream.read())
        node = next(n for n in trees[module_name].body if getattr(n, "name", None) == attribute)
        node.decorator_list = []
        namespace: dict[str, Any] = {}
        exec(compile(ast.Module([node], []), f"<withheld {name}>", "exec"), original.__globals__, namespace)  # noqa: S102
        original.__code__ = namespace[attribute].__code__
    for name in constants:
        module_name, _, attribute = name.partition(":")
        module = sys.modules.get(module_name)
        if module is not None:  # a module imported later comes from the copy, without them
            setattr(module, attribute, None)


def close_inherited(keep: tuple[int, ...]) -> None:
    """Close every descriptor but 0, 1, 2 and ``keep``, and forget multiprocessing's helpers.

    A process forked from multiprocessing's fork server inherits the server's pipes and the
    pipe of the resource tracker, a helper that runs as the grader's user and deletes the shared
    memory segments registered through it when the grader exits: a submission that writes to it
    can make it delete any file in ``/dev/shm``. The submission keeps only its own channel.
    """
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker
    tracker._fd = None  # a later use starts a new tracker, inside the sandbox
    tracker._pid = None
    start = 3
    for fd in sorted(set(keep)):
        if fd >= start:
            os.closerange(start, fd)
            start = fd + 1
    os.closerange(start, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def _quiet_self_check() -> None:
    """Make the notebook's ``check()`` a no-op in the sandbox.

    Its feedback is for the learner, not the grader; and it computes expected values with the
    reference, whose calls would count against the learner who runs ``check()`` in the exercise
    cell itself, as the notebook invites.
    """
    import course_lib.grading as grading
    from course_lib.grading import selfcheck

    def check(exercise_id: str, answer: Any, *args: Any, **kwargs: Any) -> None:
        return None

    selfcheck.check = check
    grading.check = check


def run_job(job: Job, conn: Any, replies: int) -> None:
    """Entry point of the sandboxed process (a ``multiprocessing`` target, or a zygote's child).

    ``conn`` carries messages to the grader; ``replies`` is the descriptor of the grader's
    replies to :func:`call_reference`.
    """
    global _reference_channel
    close_inherited((conn.fileno(), replies))
    if not job.inside_bwrap:
        mounted = job.limits.isolate and os.geteuid() == 0  # then the copy replaces course_lib on disk
        withhold_in_memory(job.withheld, job.withheld_data, job.withheld_folder, import_first=not mounted)
    report = enter_sandbox(job.limits, uid=job.uid, inside_bwrap=job.inside_bwrap, course_lib_copy=job.withheld_folder)
    _reference_channel = (conn, replies)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    output = CappedOutput(job.limits.output_bytes)
    sys.stdout = sys.stderr = output  # type: ignore[assignment]

    from course_lib.grading.registry import get_exercise

    # Everything the submission must not influence is prepared before any of its code runs.
    for cell in job.cells:
        if cell.exercise and cell.collect:
            get_exercise(cell.exercise)
    _quiet_self_check()
    shell = _make_shell()
    apply_limits(job.limits)
    _send(conn, {"event": "ready", "isolation": report})

    cell_errors = []
    for cell in job.cells:
        _send(conn, {"event": "cell", "index": cell.index, "exercise": cell.exercise})
        _cell_cpu_limit(job.limits)
        if cell.exercise and cell.collect:
            outcome = shell.run_cell(cell.source, store_history=False, silent=True)
            error = _error_text(outcome.error_before_exec or outcome.error_in_exec)
            _send(conn, _grade_exercise(job, cell, shell, error))
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


# --------------------------------------------------------------------------------------------
# bubblewrap: a warm zygote per grading worker, inside a sandbox that shows only what it needs

#: First user id of the grading workers in bubblewrap mode (worker k runs as BASE + k): users
#: of their own, so one worker's processes never count against another's ``RLIMIT_NPROC``.
WORKER_UID_BASE = 2_147_400_000
_ZYGOTE_CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_SETPCAP")


def bwrap_program() -> str | None:
    """The ``bwrap`` program, if installed (Debian and Ubuntu: ``apt-get install bubblewrap``)."""
    import shutil

    return shutil.which("bwrap")


def _ancestors(path: str) -> list[str]:
    parts = path.strip(os.sep).split(os.sep)
    return [os.sep + os.sep.join(parts[:i]) for i in range(1, len(parts))]


def bwrap_command(program: str, paths: list[str], *, replace: dict[str, str] | None = None) -> list[str]:
    """The bubblewrap command line of a grading worker's zygote.

    The sandbox has no network, its own PID, IPC, UTS and cgroup namespaces, and a file system
    made of ``/usr`` (system libraries and programs, read-only, without ``/usr/local``), an empty
    ``/tmp``, a minimal ``/dev``, a ``/proc`` of its own, and ``paths`` read-only: no ``/etc``,
    ``/home``, ``/root``, ``/run``, ``/var`` or ``/srv``, so no copy of the course and no socket
    of the host. The zygote keeps the capabilities it needs to give each submission its own
    namespaces and user (:func:`enter_sandbox`); the submission has none.

    Parameters
    ----------
    program : str
        The ``bwrap`` executable.
    paths : list of str
        Folders to show read-only at the same place (the interpreter, its packages, course_lib).
    replace : dict, optional
        Folder shown -> folder whose content is shown there instead (a course_lib without the
        answers, :mod:`course_lib.grading.withheld`).
    """
    argv = [program]
    if os.geteuid() != 0:
        # An ordinary user: bubblewrap makes a user namespace in which the zygote holds the
        # capabilities below (and only there); the user's own uid is the only one mapped.
        argv += ["--unshare-user"]
    argv += [
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/usr",
        "/usr",
        "--tmpfs",
        "/usr/local",
    ]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = os.path.join(os.sep, name)
        if os.path.islink(host):
            argv += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            argv += ["--ro-bind", host, host]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    made: set[str] = set()
    replace = replace or {}
    for path in sorted(paths):
        for folder in _ancestors(path):
            if folder not in made and folder not in ("/usr", "/tmp"):
                argv += ["--perms", "0755", "--dir", folder]
                made.add(folder)
        argv += ["--ro-bind", replace.get(path, path), path]
        made.add(path)
    for target, source in replace.items():
        if target not in paths:
            argv += ["--ro-bind", source, target]
    argv += ["--cap-drop", "ALL"]
    for cap in _ZYGOTE_CAPS:
        argv += ["--cap-add", cap]
    return argv + ["--chdir", "/", "--"]


def zygote_environment(course_lib_parent: str | None = None) -> dict[str, str]:
    """The whole environment of a zygote (none of the grader's variables).

    ``course_lib_parent`` is the folder the grader imported course_lib from: the zygote imports
    it from the same place (inside bubblewrap that folder holds course_lib only), whether it was
    installed, installed in editable mode or found on the grader's ``PYTHONPATH``.
    """
    extra = {"PYTHONPATH": course_lib_parent} if course_lib_parent else {}
    return {
        **extra,
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/tmp",
        "USER": "student",
        "LOGNAME": "student",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _read_exactly(sock: Any, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the grader closed the control socket")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def zygote_main(control_fd: int, preload: list[str]) -> None:
    """The warm process of one grading worker, inside bubblewrap (``python -m ... zygote``).

    It imports the heavy libraries once, then for every job the grader sends (a pickled
    :class:`Job` and the write end of the job's own channel) forks a child that isolates itself
    further and runs the job, and reports the child's exit code. The grader may ask it to kill
    the running child (``b"K"``). Only the grader holds the other end of the control socket,
    and the child closes its copy before anything else.
    """
    import importlib
    import pickle
    import select
    import socket
    import struct
    from multiprocessing.connection import Connection

    control = socket.socket(fileno=control_fd)
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that fails here fails again, visibly, in the job
            pass
    libc = _libc()
    libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no process of the same user may read its memory
    control.sendall(b"R")
    while True:
        header, channel, replies = b"", None, None
        while len(header) < 9:
            try:
                data, fds, _, _ = socket.recv_fds(control, 9 - len(header), 2)
            except OSError:
                os._exit(0)
            if not data:
                os._exit(0)
            if len(fds) == 2:
                channel, replies = fds
            # A kill request that crossed the end of the last job is stale: skip it.
            header = (header + data) if header else (header + data).lstrip(b"K")
        if not header.startswith(b"J") or channel is None or replies is None:
            os._exit(0)
        (size,) = struct.unpack("!Q", header[1:])
        job = pickle.loads(_read_exactly(control, size))  # noqa: S301 - sent by the grader, trusted
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                run_job(job, Connection(channel, readable=False), replies)
            finally:
                os._exit(70)
        os.close(channel)
        os.close(replies)
        pidfd = os.pidfd_open(pid)
        while True:
            ready, _, _ = select.select([control, pidfd], [], [])
            if pidfd in ready:
                break
            command = control.recv(1)
            if command in (b"K", b""):
                os.kill(pid, signal.SIGKILL)
                if command == b"":
                    os.waitpid(pid, 0)
                    os._exit(0)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        control.sendall(b"E" + struct.pack("!i", os.waitstatus_to_exitcode(status)))


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "zygote":
    from course_lib.grading.sandbox import zygote_main as _main  # the module proper, as jobs pickle it

    _main(int(sys.argv[2]), json.loads(sys.argv[3]))

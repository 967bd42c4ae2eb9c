"""Run one submission in a sandboxed process, enforce its wall clock, and survive its crashes.

:func:`execute` builds the job (the released notebook's code cells with the submission's
exercise cells in place), starts :func:`course_lib.grading.sandbox.run_job` from a warm fork
server and reads its JSON messages. A cell or exercise that runs past its time limit gets the
process killed (with every process it started); a process that dies (``os._exit``, a signal, the
CPU limit) ends only the exercise it was in. The grader then starts a new process in which the
exercises up to that point are replaced by their released stubs (so later cells fall back on the
reference, as in the notebook) and goes on with the rest.

Nothing a sandboxed process sends is trusted beyond being data: messages are bounded in size,
parsed as JSON, and checked against what the grader expects at that point.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import multiprocessing.connection
import os
import pickle
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from course_lib.grading.notebooks import cell_source
from course_lib.grading.release import ReleasedLesson, exercise_id_of
from course_lib.grading.sandbox import (
    PRELOAD,
    REFERENCE_REQUEST_BYTES,
    WORKER_UID_BASE,
    Job,
    JobCell,
    Limits,
    _python_paths,
    bwrap_command,
    bwrap_program,
    run_job,
    zygote_environment,
)

#: Largest message a sandbox may send, and largest total per attempt: everything a submission
#: sends is bounded where it is received.
MAX_MESSAGE_BYTES = 16 * 2**20
MAX_ATTEMPT_BYTES = 64 * 2**20
#: A request for a withheld function may be larger (a released cell's statistic on 10**6 values);
#: it is bounded on its own and not counted in the attempt's total.
MAX_REQUEST_BYTES = 48 * 2**20
#: Keys and size of the sandbox's report on its isolation that the grader keeps.
_ISOLATION_KEYS = ("mode", "network", "filesystem", "processes", "user", "namespaces_error", "scratch", "workdir")
_SIGNALS = {
    signal.SIGXCPU: "went over the CPU time limit",
    signal.SIGKILL: "was killed (out of memory, or over a limit)",
    signal.SIGSEGV: "crashed (segmentation fault)",
    signal.SIGABRT: "aborted (often a failed memory allocation in compiled code)",
    signal.SIGBUS: "crashed (bus error)",
}

_server_lock = threading.Lock()
_start_lock = threading.Lock()
_server_ready = False


def fork_context(preload: tuple[str, ...] = ()) -> multiprocessing.context.BaseContext:
    """The ``forkserver`` context, its server started once with the heavy libraries imported.

    Parameters
    ----------
    preload : tuple of str
        More modules to import in the server (the lessons' course_lib modules), if it is not
        running yet.
    """
    global _server_ready
    context = multiprocessing.get_context("forkserver")
    with _server_lock:
        if not _server_ready:
            context.set_forkserver_preload([*PRELOAD, *preload])
            # The server inherits this environment when it starts; thread counts must be set
            # before numpy loads its BLAS, and the plotting backend before pyplot is imported.
            wanted = {"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            saved = {key: os.environ.get(key) for key in wanted}
            os.environ.update(wanted)
            try:
                from multiprocessing import forkserver

                forkserver.ensure_running()
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
            _server_ready = True
    return context


@dataclass
class Execution:
    """What running a submission produced.

    Attributes
    ----------
    results : dict
        Exercise id -> the sandbox's message for it (``status`` "ran", "not attempted", ...), or
        a failure written by the grader (``status`` "timed out" or "crashed", with ``error``).
    cell_errors : list of dict
        Released cells that raised (their index and error), from the last attempt.
    output : str
        The start of what the submission printed (for the instructor's log).
    isolation : dict
        What the sandbox achieved (network, filesystem, processes, user).
    attempts : int
        Processes started (more than one after a timeout or crash).
    """

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""
    output_dropped: int = 0
    isolation: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    seconds: float = 0.0
    #: Exercise id -> calls to its reference that the grader served before it was graded.
    reference_calls: dict[str, int] = field(default_factory=dict)


def build_job(
    released: ReleasedLesson,
    sources: dict[str, str],
    cases: dict[str, tuple[list, list]],
    limits: Limits,
    *,
    stubbed: set[str] = frozenset(),  # type: ignore[assignment]
    collect: set[str] | None = None,
    uid: int = WORKER_UID_BASE,
    inside_bwrap: bool = False,
) -> Job:
    """The code cells to run: released cells up to the last exercise, the submission's exercises.

    Parameters
    ----------
    sources : dict
        Exercise id -> the submission's cell source; exercises absent here are "missing".
    stubbed : set of str
        Exercises to run with their released stub instead (after a crash in an earlier attempt).
    collect : set of str, optional
        Exercises whose answers to report (default: all).
    """
    exercise_positions = [item.cell_index for item in released.exercises]
    last = max(exercise_positions, default=-1)
    cells = []
    for index, cell in enumerate(released.notebook.get("cells", [])):
        if index > last:
            break
        if cell.get("cell_type") != "code":
            continue
        ident = exercise_id_of(cell)
        if ident is None:
            cells.append(JobCell(index, cell_source(cell)))
            continue
        missing = ident not in sources
        source = cell_source(cell) if missing or ident in stubbed else sources[ident]
        wanted = collect is None or ident in collect
        cells.append(JobCell(index, source, ident, collect=wanted, missing=missing))
    answers = {item.id: item.answer for item in released.exercises}
    wanted = {cell.exercise for cell in cells if cell.exercise and cell.collect}
    copy = withheld()
    return Job(
        released.number,
        tuple(cells),
        answers,
        {ident: cases[ident] for ident in wanted},
        limits,
        uid=uid,
        inside_bwrap=inside_bwrap,
        withheld=tuple(sorted(copy.functions)),
        withheld_data=tuple(sorted(copy.data)),
        withheld_folder=copy.folder,
    )


def describe_exit(code: int | None) -> str:
    """Explain a sandbox's exit code (a signal ``n`` arrives as ``-n`` or ``128 + n``)."""
    if code is None:
        return "did not finish"
    number = -code if code < 0 else code - 128 if code > 128 else None
    if number is not None:
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"{_SIGNALS.get(number, 'was stopped by a signal')} ({name})"
    return f"stopped early with exit code {code} (sys.exit or os._exit in the submission?)"


@dataclass
class _Attempt:
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    done: dict[str, Any] | None = None
    isolation: dict[str, Any] = field(default_factory=dict)
    position: int = -1
    current: str | None = None
    failure: str | None = None
    scratch: str | None = None
    received: int = 0
    last_size: int = 0
    #: Exercise id -> calls to its reference served before it was graded.
    reference_calls: dict[str, int] = field(default_factory=dict)
    #: The "ready" message arrived; the next cell expected (a position in the job's cells);
    #: exercises whose cases were sent.
    ready: bool = False
    next_cell: int = 0
    cases_sent: set[str] = field(default_factory=set)


def _kill(process: multiprocessing.process.BaseProcess) -> None:
    if process.pid is not None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if process.is_alive():
        process.kill()
    process.join(10)


def _parse(data: bytes) -> dict[str, Any]:
    try:
        message = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(message, dict) or not isinstance(message.get("event"), str):
        raise ValueError("not a message")
    return message


def _receive(reader: Any, attempt: "_Attempt") -> bytes:
    """One message, within the size bounds per message and per attempt (else ``OSError``)."""
    data = reader.recv_bytes(MAX_REQUEST_BYTES)
    attempt.last_size = len(data)
    if len(data) > MAX_MESSAGE_BYTES and not data.startswith(b'{"event": "reference"'):
        raise OSError("the sandbox sent a message larger than the grader reads")
    if not data.startswith(b'{"event": "reference"'):
        attempt.received += len(data)
    if attempt.received > MAX_ATTEMPT_BYTES:
        raise OSError("the sandbox sent more than the grader reads")
    return data


class SandboxUnavailable(RuntimeError):
    """The sandbox asked for cannot run on this machine (``bwrap`` missing, not root...)."""


_bwrap_works: dict[str, bool] = {}


def bwrap_usable() -> bool:
    """Whether the bubblewrap sandbox can run here.

    It needs the ``bwrap`` program and the right to make namespaces: an ordinary user's
    bubblewrap needs the kernel to allow unprivileged user namespaces (some distributions switch
    them off), and root may lack the capability in a container. That is tried once, with a
    sandbox like the grader's.
    """
    program = bwrap_program()
    if program is None:
        return False
    if program not in _bwrap_works:
        argv = bwrap_command(program, []) + ["/bin/sh", "-c", "exit 0"]
        try:
            done = subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=zygote_environment(), timeout=30, check=False,
            )
            _bwrap_works[program] = done.returncode == 0
        except (OSError, subprocess.SubprocessError):
            _bwrap_works[program] = False
    return _bwrap_works[program]


def sandbox_mode(limits: Limits) -> str:
    """"bwrap" or "fallback": what ``limits.sandbox`` means on this machine (see :class:`Limits`).

    "auto" is bubblewrap wherever it runs, else the fallback as root. An ordinary user without a
    working bubblewrap gets an error rather than submissions that run with the user's own rights
    (the fallback then isolates nothing but the network, if that): ``sandbox="fallback"`` asks
    for it explicitly.

    Raises
    ------
    SandboxUnavailable
        If bubblewrap is asked for and cannot be used, or "auto" finds nothing safe.

    Warns
    -----
    RuntimeWarning
        When an ordinary user asks for the fallback: it says what that means.
    """
    if limits.isolate and limits.sandbox == "fallback" and os.geteuid() != 0:
        import warnings

        warnings.warn(
            "grading as an ordinary user without bubblewrap: submissions run with your rights and"
            " can read and change your files (--sandbox fallback was asked for)",
            RuntimeWarning,
            stacklevel=2,
        )
    if not limits.isolate or limits.sandbox == "fallback":
        return "fallback"
    if bwrap_usable():
        return "bwrap"
    if limits.sandbox == "bwrap":
        raise SandboxUnavailable(
            "the bubblewrap sandbox needs the bwrap program (apt-get install bubblewrap) and the right"
            " to make namespaces (for an ordinary user, a kernel that allows unprivileged user"
            " namespaces; in a container, root with CAP_SYS_ADMIN)"
        )
    if os.geteuid() == 0:
        return "fallback"
    raise SandboxUnavailable(
        "as an ordinary user the grader isolates submissions only with bubblewrap, which cannot run"
        " here (apt-get install bubblewrap; some systems also need unprivileged user namespaces,"
        " sysctl kernel.unprivileged_userns_clone=1). Without it a submission would run with your"
        " rights and could read or change your files: grade as root (the fallback sandbox), or"
        " pass --sandbox fallback to grade without isolation anyway"
    )


class _Slots:
    """Numbers of the grading workers running now (worker k runs submissions as user BASE + k)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[int] = set()

    def acquire(self) -> int:
        with self._lock:
            slot = next(n for n in range(len(self._busy) + 1) if n not in self._busy)
            self._busy.add(slot)
            return slot

    def release(self, slot: int) -> None:
        with self._lock:
            self._busy.discard(slot)


_slots = _Slots()


def _course_lib_parent() -> str:
    import course_lib

    return os.path.dirname(os.path.dirname(os.path.realpath(course_lib.__file__)))


class Zygote:
    """A warm process inside bubblewrap that forks one sandboxed child per job (grader side).

    See :func:`course_lib.grading.sandbox.zygote_main`. A zygote serves one grading worker, one
    job at a time; it is restarted when it dies or stops answering.
    """

    def __init__(self, preload: tuple[str, ...], replace: dict[str, str] | None = None) -> None:
        program = bwrap_program()
        if program is None:
            raise SandboxUnavailable("bwrap is not installed (apt-get install bubblewrap)")
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.errors = tempfile.TemporaryFile()
        argv = bwrap_command(program, _python_paths(), replace=replace) + [
            sys.executable,
            "-m",
            "course_lib.grading.sandbox",
            "zygote",
            str(theirs.fileno()),
            json.dumps(list(preload)),
        ]
        self.process = subprocess.Popen(
            argv,
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.errors,
            env=zygote_environment(course_lib_parent=_course_lib_parent()),
            start_new_session=True,
        )
        theirs.close()
        self.control.settimeout(120)
        try:
            ready = self.control.recv(1)
        except OSError:
            ready = b""
        self.control.settimeout(None)
        if ready != b"R":
            self.process.kill()
            self.process.wait(10)
            self.errors.seek(0)
            detail = self.errors.read(2000).decode("utf-8", errors="replace").strip()
            self.close()
            raise SandboxUnavailable(f"the bubblewrap sandbox did not start: {detail or 'no message'}")

    def alive(self) -> bool:
        if self.process.poll() is not None:
            return False
        ready = multiprocessing.connection.wait([self.control], timeout=0)
        return not ready  # an idle zygote sends nothing; readable means closed

    def start(self, job: Job) -> tuple[multiprocessing.connection.Connection, int]:
        """Send a job; return its channel and the descriptor the grader's replies go to."""
        reader, writer = os.pipe()
        replies_read, replies_write = os.pipe()
        body = pickle.dumps(job)
        try:
            socket.send_fds(self.control, [b"J" + struct.pack("!Q", len(body))], [writer, replies_read])
            self.control.sendall(body)
        except OSError:
            os.close(reader)
            os.close(replies_write)
            raise
        finally:
            os.close(writer)
            os.close(replies_read)
        return multiprocessing.connection.Connection(reader, writable=False), replies_write

    def kill_job(self) -> None:
        try:
            self.control.sendall(b"K")
        except OSError:
            pass

    def exit_code(self, timeout: float) -> int | None:
        """The job's exit code, once the zygote reports it (None if it does not in time)."""
        self.control.settimeout(timeout)
        try:
            data = b""
            while len(data) < 5:
                chunk = self.control.recv(5 - len(data))
                if not chunk:
                    return None
                data += chunk
        except OSError:
            return None
        finally:
            self.control.settimeout(None)
        return struct.unpack("!i", data[1:])[0] if data[:1] == b"E" else None

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.kill()
        self.process.wait(10)
        self.control.close()
        self.errors.close()


_zygotes: dict[int, Zygote] = {}
_zygote_lock = threading.Lock()
_preload: tuple[str, ...] = ()
_replace: dict[str, str] = {}


_withheld_lock = threading.Lock()
_withheld_copy: Any = None


def withheld() -> Any:
    """The course_lib without the answers of every registered exercise, written once per process.

    Returns a :class:`course_lib.grading.integrity.WithheldCourseLib`; the folder is deleted
    when the grader exits.
    """
    global _withheld_copy
    with _withheld_lock:
        if _withheld_copy is None:
            import atexit

            from course_lib.grading.integrity import withheld_course_lib
            from course_lib.grading.registry import exercise_ids, get_exercise

            folder = tempfile.mkdtemp(prefix="course-grader-withheld-")
            atexit.register(shutil.rmtree, folder, True)
            os.chmod(folder, 0o755)
            _withheld_copy = withheld_course_lib(folder, [get_exercise(i).reference for i in exercise_ids()])
        return _withheld_copy


def configure_zygotes(preload: tuple[str, ...] = (), replace: dict[str, str] | None = None) -> None:
    """What new zygotes import, and which folders they see replaced; running ones are stopped."""
    global _preload, _replace
    with _zygote_lock:
        wanted = tuple(dict.fromkeys([*PRELOAD, *_preload, *preload])), dict(replace or {})
        if wanted == (_preload, _replace):
            return
        _preload, _replace = wanted
        for zygote in _zygotes.values():
            zygote.close()
        _zygotes.clear()


#: Zygotes are started from this one long-lived thread: bubblewrap's --die-with-parent ties a
#: zygote's life to the thread that started it, and grading threads end with each batch.
_launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="course-grader-zygotes")


def _zygote(slot: int) -> Zygote:
    with _zygote_lock:
        zygote = _zygotes.get(slot)
        if zygote is not None and not zygote.alive():
            zygote.close()
            zygote = None
        if zygote is None:
            if not _replace:
                import course_lib

                here = os.path.dirname(os.path.realpath(course_lib.__file__))
                configure = {here: withheld().folder}
            else:
                configure = _replace
            zygote = _zygotes[slot] = _launcher.submit(Zygote, _preload or PRELOAD, configure).result()
        return zygote


def _retire_zygote(slot: int) -> None:
    with _zygote_lock:
        zygote = _zygotes.pop(slot, None)
    if zygote is not None:
        zygote.close()


class _Handle:
    """A running job: its channel, something to wait on for its end, and how to stop it."""

    reader: multiprocessing.connection.Connection
    sentinel: Any
    replies: int  # the grader's end of the replies to call_reference (non-blocking)

    def exit_code(self) -> int | None:
        raise NotImplementedError

    def stop(self, finished: bool) -> None:
        raise NotImplementedError


class _ForkServerHandle(_Handle):
    def __init__(self, job: Job) -> None:
        context = fork_context()
        self.reader, writer = context.Pipe(duplex=False)
        replies_read, self._replies = context.Pipe(duplex=False)
        self.process = context.Process(target=_run_forked, args=(job, writer, replies_read), daemon=True)
        with _start_lock:  # multiprocessing's bookkeeping of children is not documented thread-safe
            self.process.start()
        writer.close()
        replies_read.close()
        self.replies = self._replies.fileno()
        self.sentinel = self.process.sentinel

    def exit_code(self) -> int | None:
        self.process.join(5)
        return self.process.exitcode

    def stop(self, finished: bool) -> None:
        if finished:
            self.process.join(5)
        _kill(self.process)
        self._replies.close()


def _run_forked(job: Job, conn: Any, replies: Any) -> None:
    """The fork server's target: the replies' Connection stays referenced while the job runs."""
    _run_forked.keep = replies  # type: ignore[attr-defined]
    run_job(job, conn, replies.fileno())


class _ZygoteHandle(_Handle):
    def __init__(self, job: Job, slot: int) -> None:
        self.slot = slot
        self.zygote = _zygote(slot)
        try:
            self.reader, self.replies = self.zygote.start(job)
        except OSError:  # it died between the check and the job: once more with a fresh one
            _retire_zygote(slot)
            self.zygote = _zygote(slot)
            self.reader, self.replies = self.zygote.start(job)
        self.sentinel = self.zygote.control
        self.code: int | None = None
        self.reported = False

    def exit_code(self) -> int | None:
        if not self.reported:
            self.code = self.zygote.exit_code(10)
            self.reported = True
        return self.code

    def stop(self, finished: bool) -> None:
        os.close(self.replies)
        if not self.reported:
            if not finished:
                self.zygote.kill_job()
            self.exit_code()
            if self.code is None:  # the zygote did not answer: start a fresh one next time
                _retire_zygote(self.slot)


def _attempt(job: Job, deadline: float, slot: int = 0) -> _Attempt:
    sent = dataclasses.replace(job, cases={})  # the cases go out one exercise at a time
    handle: _Handle = _ZygoteHandle(sent, slot) if job.inside_bwrap else _ForkServerHandle(sent)
    reader = handle.reader
    os.set_blocking(handle.replies, False)
    attempt = _Attempt()
    collect = {cell.exercise for cell in job.cells if cell.exercise and cell.collect}
    cell_deadline = None
    try:
        while True:
            limit = deadline if cell_deadline is None else min(deadline, cell_deadline)
            ready = multiprocessing.connection.wait(
                [reader, handle.sentinel], timeout=max(0.0, limit - time.monotonic())
            )
            if not ready:
                if cell_deadline is not None and cell_deadline <= deadline:
                    what = "exercise" if attempt.current else "cell"
                    attempt.failure = f"took longer than the {job.limits.exercise_seconds:g} s limit per {what}"
                else:
                    attempt.failure = f"ran out of the {job.limits.submission_seconds:g} s limit per submission"
                return attempt
            if reader not in ready:
                # The process ended; read what it sent before dying, then stop.
                while reader.poll(0):
                    try:
                        message = _parse(_receive(reader, attempt))
                    except (EOFError, OSError, ValueError):
                        break
                    cell_deadline = _handle(message, attempt, collect, job, cell_deadline)
                    if attempt.done is not None:
                        return attempt
                attempt.failure = describe_exit(handle.exit_code())
                return attempt
            try:
                message = _parse(_receive(reader, attempt))
            except EOFError:
                attempt.failure = describe_exit(handle.exit_code())
                return attempt
            except (OSError, ValueError, UnicodeDecodeError):
                attempt.failure = "sent data the grader could not read"
                return attempt
            if message["event"] in ("reference", "cases"):
                serve = _serve_reference if message["event"] == "reference" else _serve_cases
                serve(message, attempt, job, collect, handle.replies, deadline)
                if attempt.failure:
                    return attempt
                continue
            cell_deadline = _handle(message, attempt, collect, job, cell_deadline)
            if attempt.done is not None:
                return attempt
            if attempt.failure:
                return attempt
    finally:
        handle.stop(finished=attempt.done is not None)
        reader.close()
        _remove_scratch(attempt.scratch)


#: Largest integer argument of a withheld function the grader runs (sizes of simulations).
MAX_REFERENCE_INT = 10**6
REFERENCE_REPLY_BYTES = 16 * 2**20


def _check_arguments(value: Any, depth: int = 0) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and abs(value) > MAX_REFERENCE_INT:
        raise ValueError(f"an integer argument above {MAX_REFERENCE_INT} is refused in the grading sandbox")
    if isinstance(value, (list, tuple, set)):
        for item in value:
            _check_arguments(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_arguments(key, depth + 1)
            _check_arguments(item, depth + 1)


def _write_reply(fd: int, data: bytes, deadline: float) -> bool:
    """Write a reply without ever blocking the grader past ``deadline`` (False if it could not)."""
    import select

    view = memoryview(len(data).to_bytes(8, "big") + data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        _, writable, _ = select.select([], [fd], [], remaining)
        if not writable:
            return False
        try:
            written = os.write(fd, view[: 1 << 16])
        except BlockingIOError:
            continue
        except OSError:
            return False
        view = view[written:]
    return True


def _serve_reference(
    message: dict[str, Any], attempt: _Attempt, job: Job, collect: set[str], replies: int, deadline: float
) -> None:
    """Run a withheld function for the sandbox, and count the call if it is an ungraded answer."""
    import importlib

    from course_lib.grading import wire
    from course_lib.grading.registry import get_exercise

    name = message.get("name")
    if not isinstance(name, str) or name not in job.withheld or not attempt.ready:
        attempt.failure = "sent a request the grader does not serve"
        return
    # Counted, for an exercise not graded yet: every call to its reference made while one of the
    # submission's exercise cells (or an exercise's cases) runs; and for a value exercise, whose
    # reference returns the answer itself, every call wherever it comes from (a hook the
    # submission set in a released cell included; no released cell calls one). A released cell
    # may call a function exercise's reference (a drift report that uses a statistic before its
    # exercise): such a call cannot help the submission, which sees no case of an exercise
    # before that exercise is graded (_serve_cases).
    for ident in collect:
        if ident in attempt.results:
            continue
        exercise = get_exercise(ident)
        if exercise.reference == name and (attempt.current is not None or exercise.kind == "value"):
            attempt.reference_calls[ident] = attempt.reference_calls.get(ident, 0) + 1
    try:
        if attempt.last_size > REFERENCE_REQUEST_BYTES:
            raise ValueError("the arguments are too large for the grader")
        args, kwargs = wire.decode(message.get("args")), wire.decode(message.get("kwargs"))
        if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise TypeError("malformed arguments")
        _check_arguments(args)
        _check_arguments(kwargs)
        module_name, _, attribute = name.partition(":")
        function = getattr(importlib.import_module(module_name), attribute)
        reply: dict[str, Any] = {"value": wire.encode(function(*args, **kwargs), max_bytes=REFERENCE_REPLY_BYTES)}
    except Exception as exc:  # noqa: BLE001 - the sandbox's arguments, the sandbox's error
        reply = {"raised": [type(exc).__name__, str(exc)[:500]]}
    if not _write_reply(replies, json.dumps(reply, allow_nan=False).encode("utf-8"), deadline):
        attempt.failure = "did not read the grader's replies"


def _serve_cases(
    message: dict[str, Any], attempt: _Attempt, job: Job, collect: set[str], replies: int, deadline: float
) -> None:
    """Send the cases of the exercise being graded (once, and only for that exercise).

    Without their expected values: the grader computes those itself.
    """
    ident = message.get("id")
    if not attempt.ready or ident is None or ident != attempt.current or ident in attempt.cases_sent:
        attempt.failure = "sent a request the grader does not serve"
        return
    attempt.cases_sent.add(ident)
    public, hidden = job.cases[ident]
    bare = tuple(
        [dataclasses.replace(case, expected=None, has_expected=False) for case in cases] for cases in (public, hidden)
    )
    if not _write_reply(replies, pickle.dumps(bare), deadline):
        attempt.failure = "did not read the grader's replies"


def _handle(
    message: dict[str, Any], attempt: _Attempt, collect: set[str], job: Job, cell_deadline: float | None
) -> float | None:
    """Take one message of the sandbox, which must come in the order of the job's cells.

    The submission holds the channel and can send messages of its own: one that does not fit
    the order (a cell announced early or twice, a result for an exercise not being graded, an
    early "done") ends the attempt, so a forged message can never make the grader believe that
    a released cell runs while the submission's own code does, or take back a result.
    """
    event = message["event"]
    if event == "ready" and not attempt.ready:
        attempt.ready = True
        report = message.get("isolation") if isinstance(message.get("isolation"), dict) else {}
        attempt.isolation = {
            key: report[key] if isinstance(report[key], int) else str(report[key])[:300]
            for key in _ISOLATION_KEYS
            if key in report and isinstance(report[key], (str, int))
        } or {"mode": "unknown"}
        scratch = attempt.isolation.get("scratch")
        attempt.scratch = scratch if isinstance(scratch, str) else None
        return cell_deadline
    expected = job.cells[attempt.next_cell] if attempt.next_cell < len(job.cells) else None
    if (
        event == "cell"
        and attempt.ready
        and attempt.current is None
        and expected is not None
        and message.get("index") == expected.index
        and message.get("exercise") == expected.exercise
    ):
        attempt.next_cell += 1
        attempt.position = expected.index
        ident = expected.exercise
        attempt.current = ident if expected.collect and ident in collect and ident not in attempt.results else None
        return time.monotonic() + job.limits.exercise_seconds
    if event == "exercise" and message.get("id") == attempt.current and attempt.current is not None:
        attempt.results[attempt.current] = message
        attempt.current = None
        return cell_deadline
    if event == "done" and attempt.ready and attempt.current is None and expected is None:
        attempt.done = message
        return cell_deadline
    attempt.failure = "sent a message out of order"
    return cell_deadline


def _remove_scratch(path: str | None) -> None:
    """Delete the folder a sandbox without namespaces made with mkdtemp (namespaced ones vanish)."""
    if not path or not os.path.basename(path).startswith("course-grade-"):
        return
    parent = os.path.realpath(os.path.dirname(path))
    if parent != os.path.realpath(tempfile.gettempdir()) or not os.path.isdir(path) or os.path.islink(path):
        return
    shutil.rmtree(path, ignore_errors=True)


def draw_cases(released: ReleasedLesson, seeds: dict[str, int]) -> dict[str, tuple[list, list]]:
    """Public and hidden cases of a lesson's exercises, hidden ones drawn with ``seeds``."""
    from course_lib.grading.registry import get_exercise

    cases = {}
    for item in released.exercises:
        exercise = get_exercise(item.id)
        hidden = exercise.draw_hidden_cases(seeds[item.id]) if exercise.hidden_cases else []
        cases[item.id] = (list(exercise.public_cases()), list(hidden))
    return cases


def execute(
    released: ReleasedLesson,
    sources: dict[str, str],
    seeds: dict[str, int] | None,
    limits: Limits,
    *,
    cases: dict[str, tuple[list, list]] | None = None,
) -> Execution:
    """Run a submission's exercise cells inside the released notebook; see the module docstring.

    Parameters
    ----------
    seeds : dict, optional
        Exercise id -> seed of its hidden cases, used when ``cases`` is not given.
    cases : dict, optional
        Exercise id -> (public cases, hidden cases), as the grader drew them.
    """
    if cases is None:
        cases = draw_cases(released, seeds or {})
    mode = sandbox_mode(limits)
    slot = _slots.acquire()
    try:
        return _execute(released, sources, cases, limits, mode, slot)
    finally:
        _slots.release(slot)


def _execute(
    released: ReleasedLesson,
    sources: dict[str, str],
    cases: dict[str, tuple[list, list]],
    limits: Limits,
    mode: str,
    slot: int,
) -> Execution:
    start = time.monotonic()
    deadline = start + limits.submission_seconds
    execution = Execution()
    wanted = [item.id for item in released.exercises]
    positions = {item.id: item.cell_index for item in released.exercises}
    stubbed: set[str] = set()
    while True:
        pending = {ident for ident in wanted if ident not in execution.results}
        if not pending:
            break
        if time.monotonic() >= deadline:
            for ident in pending:
                execution.results[ident] = {
                    "status": "timed out",
                    "error": f"not reached within the {limits.submission_seconds:g} s limit per submission",
                }
            break
        job = build_job(
            released,
            sources,
            cases,
            limits,
            stubbed=stubbed,
            collect=pending,
            # As root, a user of its own per worker; an ordinary user has only its own uid, and
            # each worker's bubblewrap user namespace keeps the process counts apart.
            uid=WORKER_UID_BASE + slot if os.geteuid() == 0 else os.geteuid(),
            inside_bwrap=mode == "bwrap",
        )
        try:
            attempt = _attempt(job, deadline, slot)
        except SandboxUnavailable as exc:
            attempt = _Attempt(failure=str(exc))
        execution.attempts += 1
        execution.results.update(attempt.results)
        for ident, calls in attempt.reference_calls.items():
            execution.reference_calls[ident] = execution.reference_calls.get(ident, 0) + calls
        execution.isolation = execution.isolation or attempt.isolation
        if attempt.done is not None:
            errors = attempt.done.get("cell_errors")
            execution.cell_errors = [
                {"index": e.get("index"), "error": str(e.get("error"))[:500]}
                for e in (errors if isinstance(errors, list) else [])[: len(job.cells)]
                if isinstance(e, dict)
            ]
            output = attempt.done.get("output")
            execution.output = output[: limits.output_bytes] if isinstance(output, str) else ""
            dropped = attempt.done.get("output_dropped")
            execution.output_dropped = dropped if isinstance(dropped, int) and not isinstance(dropped, bool) else 0
            for ident in wanted:
                execution.results.setdefault(ident, {"status": "crashed", "error": "no result was reported"})
            break
        failure = attempt.failure or "stopped"
        if attempt.current is not None:
            status = "timed out" if failure.startswith(("took longer", "ran out", "went over the CPU")) else "crashed"
            execution.results[attempt.current] = {"status": status, "error": failure}
        newly = {ident for ident in wanted if positions[ident] <= attempt.position} - stubbed
        if not newly and not attempt.results and attempt.current is None:
            # No progress possible: the failure is in a released cell before any exercise, or
            # the sandbox itself could not start.
            where = (
                f"the notebook stopped at cell {attempt.position}"
                if attempt.position >= 0
                else "the grading process did not start"
            )
            for ident in wanted:
                execution.results.setdefault(ident, {"status": "crashed", "error": f"{where}: {failure}"})
            break
        stubbed |= newly
    execution.seconds = time.monotonic() - start
    return execution

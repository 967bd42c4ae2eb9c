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

import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from course_lib.grading.notebooks import cell_source
from course_lib.grading.release import ReleasedLesson, exercise_id_of
from course_lib.grading.sandbox import PRELOAD, Job, JobCell, Limits, run_job

#: Largest message a sandbox may send, and largest total per attempt: everything a submission
#: sends is bounded where it is received.
MAX_MESSAGE_BYTES = 16 * 2**20
MAX_ATTEMPT_BYTES = 64 * 2**20
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


def build_job(
    released: ReleasedLesson,
    sources: dict[str, str],
    seeds: dict[str, int],
    limits: Limits,
    *,
    stubbed: set[str] = frozenset(),  # type: ignore[assignment]
    collect: set[str] | None = None,
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
    return Job(released.number, tuple(cells), answers, dict(seeds), limits)


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
    data = reader.recv_bytes(MAX_MESSAGE_BYTES)
    attempt.received += len(data)
    if attempt.received > MAX_ATTEMPT_BYTES:
        raise OSError("the sandbox sent more than the grader reads")
    return data


def _attempt(job: Job, deadline: float) -> _Attempt:
    context = fork_context()
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(target=run_job, args=(job, writer), daemon=True)
    with _start_lock:  # multiprocessing's bookkeeping of children is not documented thread-safe
        process.start()
    writer.close()
    attempt = _Attempt()
    collect = {cell.exercise for cell in job.cells if cell.exercise and cell.collect}
    cell_deadline = None
    try:
        while True:
            limit = deadline if cell_deadline is None else min(deadline, cell_deadline)
            ready = multiprocessing.connection.wait(
                [reader, process.sentinel], timeout=max(0.0, limit - time.monotonic())
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
                process.join(5)
                attempt.failure = describe_exit(process.exitcode)
                return attempt
            try:
                message = _parse(_receive(reader, attempt))
            except EOFError:
                process.join(5)
                attempt.failure = describe_exit(process.exitcode)
                return attempt
            except (OSError, ValueError, UnicodeDecodeError):
                attempt.failure = "sent data the grader could not read"
                return attempt
            cell_deadline = _handle(message, attempt, collect, job, cell_deadline)
            if attempt.done is not None:
                return attempt
            if attempt.failure:
                return attempt
    finally:
        if attempt.done is not None:
            process.join(5)
        _kill(process)
        reader.close()
        _remove_scratch(attempt.scratch)


def _handle(
    message: dict[str, Any], attempt: _Attempt, collect: set[str], job: Job, cell_deadline: float | None
) -> float | None:
    event = message["event"]
    if event == "ready" and not attempt.isolation:
        report = message.get("isolation") if isinstance(message.get("isolation"), dict) else {}
        attempt.isolation = {
            key: report[key] if isinstance(report[key], int) else str(report[key])[:300]
            for key in _ISOLATION_KEYS
            if key in report and isinstance(report[key], (str, int))
        } or {"mode": "unknown"}
        scratch = attempt.isolation.get("scratch")
        attempt.scratch = scratch if isinstance(scratch, str) else None
        return cell_deadline
    if event == "cell" and isinstance(message.get("index"), int):
        attempt.position = message["index"]
        ident = message.get("exercise")
        attempt.current = ident if ident in collect and ident not in attempt.results else None
        return time.monotonic() + job.limits.exercise_seconds
    if event == "exercise" and message.get("id") == attempt.current and attempt.current is not None:
        attempt.results[attempt.current] = message
        attempt.current = None
        return cell_deadline
    if event == "done":
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


def execute(
    released: ReleasedLesson,
    sources: dict[str, str],
    seeds: dict[str, int],
    limits: Limits,
) -> Execution:
    """Run a submission's exercise cells inside the released notebook; see the module docstring."""
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
        job = build_job(released, sources, seeds, limits, stubbed=stubbed, collect=pending)
        attempt = _attempt(job, deadline)
        execution.attempts += 1
        execution.results.update(attempt.results)
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

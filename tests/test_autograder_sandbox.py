"""The sandbox of issue 9: what a submission inherits, sees and shares with the other worker.

Run as root with bubblewrap installed (CI does both); on a laptop without them these tests skip,
in CI they fail.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from course_lib.grading.autograder import grade
from course_lib.grading.release import build_release
from course_lib.grading.runner import execute
from course_lib.grading.sandbox import WORKER_UID_BASE, Limits
from course_lib.grading.wire import decode

from conftest import require_root, require_tool
from grading_lesson import LABELLED_FRACTION_SOLUTION, solution_notebook, write_course, with_exercise, write_notebook

ROOT = Path(__file__).resolve().parent.parent
SEEDS = {"01.windowed_mean": 1, "01.labelled_fraction": 2}


def _needs_bwrap() -> None:
    require_root("the bubblewrap sandbox")
    require_tool("bwrap", "apt-get install bubblewrap")


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    return build_release(write_course(tmp_path_factory.mktemp("sandbox") / "course")).lessons["01"]


def _probe(lesson, body: str, sandbox: str) -> dict:
    """Run ``body`` (which sets ``facts``) as the answer of 01.windowed_mean; return ``facts``."""
    source = "def windowed_mean(values, window):\n    facts = {}\n" + textwrap.indent(body, "    ") + "    return facts\n"
    execution = execute(lesson, {"01.windowed_mean": source}, SEEDS, Limits(exercise_seconds=30, sandbox=sandbox))
    result = execution.results["01.windowed_mean"]
    assert result["status"] == "ran", result
    return decode(result["public"][0]["value"])


def test_the_sandbox_option(monkeypatch, tmp_path, capsys):
    from course_lib.grading import runner
    from course_lib.grading.__main__ import main

    with pytest.raises(ValueError, match="sandbox must be"):
        Limits(sandbox="docker")
    assert runner.sandbox_mode(Limits(sandbox="fallback")) == "fallback"
    monkeypatch.setattr(runner, "bwrap_program", lambda: None)
    if os.geteuid() == 0:
        assert runner.sandbox_mode(Limits()) == "fallback"  # auto: the fallback's namespaces, as root
    else:  # an ordinary user without bubblewrap: auto refuses rather than isolate nothing
        with pytest.raises(runner.SandboxUnavailable, match="--sandbox fallback"):
            runner.sandbox_mode(Limits())
    with pytest.raises(runner.SandboxUnavailable, match="bubblewrap"):
        runner.sandbox_mode(Limits(sandbox="bwrap"))
    # Installed but unable to make its namespaces (a kernel without unprivileged user namespaces,
    # a container): found by trying once, and treated as missing.
    monkeypatch.setattr(runner, "bwrap_program", lambda: "/bin/false")
    monkeypatch.setattr(runner, "_bwrap_works", {})
    assert not runner.bwrap_usable()
    with pytest.raises(runner.SandboxUnavailable, match="namespaces"):
        runner.sandbox_mode(Limits(sandbox="bwrap"))
    monkeypatch.setattr(runner, "bwrap_program", lambda: None)
    write_course(tmp_path / "course")
    release = build_release(tmp_path / "course" / "notebooks" / "solutions")
    write_notebook(
        tmp_path / "submissions" / "a.ipynb", with_exercise(release.lessons["01"].notebook, "01.windowed_mean", "x = 1")
    )
    code = main(["grade", str(tmp_path / "submissions"), "--out", str(tmp_path / "out"), "--root",
                 str(tmp_path / "course"), "--sandbox", "bwrap"])
    assert code == 2 and "bubblewrap" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# (4) descriptors

DESCRIPTORS = """\
import os, socket
from multiprocessing import resource_tracker
pipes, named = 0, []
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue
    if target.startswith("pipe:"):
        pipes += 1
    elif target.startswith("socket:"):
        with socket.socket(fileno=os.dup(int(fd))) as s:
            if s.family == socket.AF_UNIX and s.getsockname():
                named.append(s.getsockname())
facts["pipes"] = pipes
facts["named_sockets"] = named
try:
    os.write(resource_tracker._resource_tracker._fd, b"REGISTER:/rt_victim_probe:shared_memory\\n")
    facts["tracker"] = "written"
except Exception as error:
    facts["tracker"] = type(error).__name__
"""


@pytest.mark.parametrize("sandbox", ["fallback", "bwrap"])
def test_a_submission_inherits_only_its_channel(lesson, sandbox):
    if sandbox == "bwrap":
        _needs_bwrap()
    facts = _probe(lesson, DESCRIPTORS, sandbox)
    # Its own channel and the grader's replies are the only pipes; no fork-server listener; the
    # tracker's pipe is gone.
    assert facts == {"pipes": 2, "named_sockets": [], "tracker": "TypeError"}


ATTACK = """\
import os
from multiprocessing import resource_tracker
try:
    os.write(resource_tracker._resource_tracker._fd, b"REGISTER:/VICTIM:shared_memory\\n")
except Exception:
    pass
""" + """\
def windowed_mean(values, window):
    values = np.asarray(values, dtype=float)
    full = len(values) // window * window
    return values[:full].reshape(-1, window).mean(axis=1)
"""


def test_the_resource_tracker_deletes_no_host_file(tmp_path):
    """The issue's attack, end to end: the grader exits, the host file survives."""
    require_root("a grader that runs as root")
    victim = Path("/dev/shm") / f"rt_victim_{os.getpid()}"
    victim.write_text("host data")
    release = build_release(write_course(tmp_path / "course"))
    write_notebook(
        tmp_path / "submissions" / "attacker.ipynb",
        with_exercise(release.lessons["01"].notebook, "01.windowed_mean", ATTACK.replace("VICTIM", victim.name)),
    )
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from course_lib.grading.autograder import grade
        from course_lib.grading.release import build_release
        from course_lib.grading.sandbox import Limits
        if __name__ == "__main__":
            release = build_release({str(tmp_path / "course" / "notebooks" / "solutions")!r})
            for mode in ("fallback", "auto"):
                run = grade({str(tmp_path / "submissions")!r}, {str(tmp_path)!r} + "/results-" + mode,
                            release=release, limits=Limits(exercise_seconds=30, sandbox=mode))
                assert run.records[0].score == 1.0, run.records[0]
        """
    )
    try:
        subprocess.run([sys.executable, "-c", script], check=True, timeout=600, cwd=tmp_path)
        assert victim.read_text() == "host data"
    finally:
        victim.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# (5) what the bubblewrap sandbox shows


VIEW = """\
import os, socket
facts["root"] = sorted(os.listdir("/"))
facts["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
facts["cmdlines"] = sorted(open(f"/proc/{p}/cmdline", "rb").read().split(b"\\0")[0].decode()[-40:] for p in facts["processes"])
facts["seen"] = {path: os.path.exists(path) for path in PATHS}
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(SOCKET)
    facts["unix_socket"] = "connected"
except OSError as error:
    facts["unix_socket"] = type(error).__name__
finally:
    s.close()
facts["uid"] = os.getuid()
"""


def test_the_sandbox_shows_only_the_interpreter_its_packages_and_course_lib(lesson, tmp_path):
    _needs_bwrap()
    import course_lib

    copy = Path("/var/tmp") / f"course-copy-{os.getpid()}" / "notebooks" / "solutions"
    copy.mkdir(parents=True)
    (copy / "01_drift_theory.ipynb").write_text("{}")
    socket_path = f"/run/course-grader-probe-{os.getpid()}.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(socket_path)
    listener.listen()
    paths = [
        str(copy),
        str(ROOT / "notebooks"),
        str(ROOT / "tests"),
        "/etc/passwd",
        "/home",
        "/run",
        "/var",
        "/srv",
        "/root/.bashrc",
        str(Path(course_lib.__file__).parent / "simulate.py"),
    ]
    body = VIEW.replace("PATHS", repr(paths)).replace("SOCKET", repr(socket_path))
    try:
        facts = _probe(lesson, body, "bwrap")
    finally:
        listener.close()
        os.unlink(socket_path)
        copy.unlink() if copy.is_file() else None
        for path in sorted(copy.parent.parent.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        copy.parent.parent.rmdir()
    assert set(facts["root"]) <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "dev", "proc", "tmp"} | {
        Path(p).parts[1] for p in (sys.prefix, sys.base_prefix, course_lib.__file__)
    }
    assert facts["seen"] == {path: path.endswith("simulate.py") for path in paths}
    # Its own PID namespace: a supervisor and itself, no grader command line.
    assert facts["processes"] == [1, 2]
    assert not any("pytest" in line or "grading" in line for line in facts["cmdlines"])
    assert facts["unix_socket"] == "FileNotFoundError"
    assert WORKER_UID_BASE <= facts["uid"] < WORKER_UID_BASE + 100


# ---------------------------------------------------------------------------------------------
# (5) one worker's fork bomb does not change the other's grade

FORK_BOMB = """\
import os, time
children = 0
while children < 100_000:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children += 1
time.sleep(20)  # hold every process while the other submission is graded
"""

HONEST_WITH_SUBPROCESSES = """\
import subprocess, time
time.sleep(8)  # let the bomb go off first (forking a large process 64 times takes seconds)

def windowed_mean(values, window):
    subprocess.run(["/usr/bin/true"], check=True)
    values = np.asarray(values, dtype=float)
    full = len(values) // window * window
    return values[:full].reshape(-1, window).mean(axis=1)
"""


@pytest.mark.parametrize("sandbox", ["bwrap", "fallback"])
def test_a_fork_bomb_beside_an_honest_submission(tmp_path, sandbox):
    if sandbox == "bwrap":
        _needs_bwrap()
    else:
        require_root("users of their own per worker")
    release = build_release(write_course(tmp_path / "course"))
    student = with_exercise(release.lessons["01"].notebook, "01.labelled_fraction", LABELLED_FRACTION_SOLUTION)
    write_notebook(tmp_path / "submissions" / "bomb.ipynb", with_exercise(student, "01.windowed_mean", FORK_BOMB))
    write_notebook(
        tmp_path / "submissions" / "honest.ipynb", with_exercise(student, "01.windowed_mean", HONEST_WITH_SUBPROCESSES)
    )
    limits = Limits(exercise_seconds=40, submission_seconds=120, sandbox=sandbox)
    # Warm both workers first (each busy long enough for the other to start), so that the two
    # submissions below run at the same time.
    for name in ("warm1", "warm2"):
        write_notebook(
            tmp_path / "warm" / f"{name}.ipynb",
            with_exercise(student, "01.windowed_mean", "import time\ntime.sleep(4)"),
        )
    grade(tmp_path / "warm", tmp_path / "warm-results", release=release, workers=2, limits=limits)
    run = grade(tmp_path / "submissions", tmp_path / "results", release=release, workers=2, limits=limits)
    records = {record.student: record for record in run.records}
    honest = records["honest"]
    assert [(g.id, g.score, g.status) for g in honest.exercises] == [
        ("01.windowed_mean", 1.0, "passed"),
        ("01.labelled_fraction", 1.0, "passed"),
    ], (honest.notes, honest.log, [g.details for g in honest.exercises])
    assert records["bomb"].isolation["user"] != honest.isolation["user"]


# ---------------------------------------------------------------------------------------------
# (6) reference use that cannot be switched off

USES_REFERENCE = "    values = np.asarray(values, dtype=float)\n    return _ref(values, window)\n"
REFERENCE_ATTACKS = {
    # The issue's tricks, on lesson 01's windowed_mean (reference course_lib.simulate:windowed_mean).
    "getattr": "import course_lib.simulate as s\n_ref = getattr(s, 'windowed' + '_mean')\n",
    "registry_name": (
        "__name__ = 'course_lib.grading.registry'\n"
        "import course_lib.simulate as s\n_ref = getattr(s, 'windowed' + '_mean')\n"
    ),
    "patched_json": (
        "import json\n_dumps = json.dumps\n"
        "json.dumps = lambda o, **k: _dumps({**o, 'reference_calls': 0} if isinstance(o, dict) else o, **k)\n"
        "import course_lib.simulate as s\n_ref = getattr(s, 'windowed' + '_mean')\n"
    ),
    "gc_original": (
        "import gc, types\nimport course_lib.simulate\n"
        "_ref = next(f for f in gc.get_objects() if isinstance(f, types.FunctionType)"
        " and f.__module__ == 'course_lib.simulate' and f.__name__ == 'windowed' + '_mean')\n"
    ),
    "reload": (
        "import importlib, sys\nimport course_lib.simulate\n"
        "_m = importlib.reload(sys.modules['course_lib.simulate'])\n_ref = getattr(_m, 'windowed' + '_mean')\n"
    ),
    "exec_source": (
        "import course_lib.simulate as s\n_ns = dict(vars(s))\n"
        "exec(compile(open(s.__file__).read(), s.__file__, 'exec'), _ns)\n_ref = _ns['windowed' + '_mean']\n"
    ),
}
# Calls the next exercise's reference early, to keep its results for later (a stash).
STASH = """\
import course_lib.simulate as s
_stash = getattr(s, 'labelled' + '_fraction')([0.0, 1.0], [0.5, 5.0], 2.0)
def windowed_mean(values, window):
    values = np.asarray(values, dtype=float)
    full = len(values) // window * window
    return values[:full].reshape(-1, window).mean(axis=1)
"""
ANSWER_KEYS = """\
import importlib, sys, os
import course_lib.simulate as s
_m = importlib.reload(s)
def windowed_mean(values, window):
    return {"shifts": repr(_m._MYSTERY_SHIFTS), "source_has_keys": "_MYSTERY_SHIFTS = None" not in open(_m.__file__).read(),
            "notebooks": os.path.exists(os.path.join(os.path.dirname(os.path.dirname(_m.__file__)), "notebooks"))}
"""


# Hooks a released cell into calling references for the submission (issue 9, left open before):
# windowed_mean, which the released cell after its exercise calls, looks in memory for the cases
# of 01.labelled_fraction and has the reference answer them, and asks for the answer of the value
# exercise 01.shift_kind; the later cells hand the stash back.
ORACLE_IN_RELEASED_CELL = """\
import builtins, gc, importlib, sys
import course_lib.simulate as _s
def windowed_mean(values, window):
    stash = builtins.__dict__.setdefault("_stash", {})
    # Only when a released cell calls it (not while the grader runs its cases, where it counts).
    released = "grading/sandbox" not in sys._getframe(1).f_code.co_filename
    for obj in gc.get_objects() if released else ():
        if type(obj).__name__ == "Case":
            try:
                names = ("prediction_times", "label_delays", "now")
                values = tuple(obj.args) + tuple(obj.kwargs[k] for k in names[len(obj.args):])
                stash[repr(values)] = getattr(_s, "labelled" + "_fraction")(*values)
            except Exception:
                pass
    try:
        if released:
            answers = importlib.import_module("course_lib.grading.exercises.lesson01")
            stash["shift_kind"] = getattr(answers, "shift_kind" + "_answer")()
    except Exception:
        pass
    values = np.asarray(values, dtype=float)
    full = len(values) // window * window
    return values[:full].reshape(-1, window).mean(axis=1)
"""
FROM_THE_STASH = """\
import builtins
def labelled_fraction(prediction_times, label_delays, now):
    return builtins._stash.get(repr((prediction_times, label_delays, now)))
"""
# Forges the grader's view of which cell runs: "a released cell" around each reference call.
FORGED_CELL_EVENTS = """\
import gc, json
from multiprocessing.connection import Connection
import course_lib.simulate as _s
_conn = next(o for o in gc.get_objects() if isinstance(o, Connection) and o.writable)
def _say(index, exercise):
    _conn.send_bytes(json.dumps({"event": "cell", "index": index, "exercise": exercise}).encode())
def labelled_fraction(prediction_times, label_delays, now):
    _say(CHECK_CELL, None)
    result = getattr(_s, "labelled" + "_fraction")(prediction_times, label_delays, now)
    _say(EXERCISE_CELL, "01.labelled_fraction")
    return result
"""


def _with_value_exercise(notebook: dict) -> dict:
    """The synthetic lesson with lesson 01's value exercise 01.shift_kind at its end."""
    from course_lib.grading.exercises.lesson01 import shift_kind_answer

    result = json.loads(json.dumps(notebook))
    solution = f"shift_kind = None\n# BEGIN SOLUTION\nshift_kind = {shift_kind_answer()!r}\n# END SOLUTION\n"
    result["cells"] += [
        {"cell_type": "markdown", "id": "ex3-text", "metadata": {},
         "source": "### Exercise 01.shift_kind: which shift"},
        {"cell_type": "code", "id": "ex3", "metadata": {"course": {"exercise": "01.shift_kind"}}, "source": solution,
         "outputs": [], "execution_count": None},
        {"cell_type": "code", "id": "ex3-check", "metadata": {}, "source": 'check("01.shift_kind", shift_kind)',
         "outputs": [], "execution_count": None},
    ]
    return result


@pytest.fixture(scope="module", params=["bwrap", "fallback"])
def reference_batch(request, tmp_path_factory):
    if request.param == "bwrap":
        _needs_bwrap()
    base = tmp_path_factory.mktemp(f"reference-{request.param}")
    solutions = base / "course" / "notebooks" / "solutions"
    write_notebook(solutions / "01_synthetic.ipynb", _with_value_exercise(solution_notebook()))
    release = build_release(solutions)
    student = with_exercise(release.lessons["01"].notebook, "01.labelled_fraction", LABELLED_FRACTION_SOLUTION)
    for name, setup in REFERENCE_ATTACKS.items():
        source = setup + "def windowed_mean(values, window):\n" + USES_REFERENCE
        write_notebook(base / "submissions" / f"{name}.ipynb", with_exercise(student, "01.windowed_mean", source))
    write_notebook(base / "submissions" / "stash.ipynb", with_exercise(student, "01.windowed_mean", STASH))
    oracle = with_exercise(student, "01.windowed_mean", ORACLE_IN_RELEASED_CELL)
    oracle = with_exercise(oracle, "01.labelled_fraction", FROM_THE_STASH)
    oracle = with_exercise(oracle, "01.shift_kind", "import builtins\nshift_kind = builtins._stash['shift_kind']\n")
    write_notebook(base / "submissions" / "oracle.ipynb", oracle)
    cells = {cell.get("id"): index for index, cell in enumerate(student["cells"])}
    forged = FORGED_CELL_EVENTS.replace("CHECK_CELL", str(cells["ex2-check"]))
    forged = forged.replace("EXERCISE_CELL", str(cells["ex2"]))
    write_notebook(base / "submissions" / "forged.ipynb", with_exercise(student, "01.labelled_fraction", forged))
    write_notebook(base / "submissions" / "honest.ipynb", _with_value_exercise(solution_notebook()))
    limits = Limits(exercise_seconds=30, submission_seconds=120, sandbox=request.param)
    run = grade(base / "submissions", base / "results", release=release, limits=limits)
    lesson = release.lessons["01"]
    execution = execute(lesson, {"01.windowed_mean": ANSWER_KEYS}, SEEDS, limits)
    keys = decode(execution.results["01.windowed_mean"]["public"][0]["value"])
    return {"records": {r.student: r for r in run.records}, "keys": keys, "mode": request.param}


@pytest.mark.parametrize("student", sorted(REFERENCE_ATTACKS))
def test_reference_use_is_caught_however_it_is_reached(reference_batch, student):
    record = reference_batch["records"][student]
    scores = {g.id: (g.score, g.status) for g in record.exercises}
    assert scores["01.windowed_mean"] == (0.0, "reference used"), record.exercises[0].message
    assert scores["01.labelled_fraction"] == (1.0, "passed")
    assert "reference used: 01.windowed_mean" in record.flags


def test_a_reference_called_before_its_exercise_is_caught(reference_batch):
    record = reference_batch["records"]["stash"]
    scores = {g.id: (g.score, g.status) for g in record.exercises}
    assert scores == {
        "01.windowed_mean": (1.0, "passed"),
        "01.labelled_fraction": (0.0, "reference used"),
        "01.shift_kind": (0.0, "not attempted"),
    }


def test_the_honest_submission_is_not_flagged(reference_batch):
    record = reference_batch["records"]["honest"]
    assert {g.id: (g.score, g.status) for g in record.exercises} == {
        "01.windowed_mean": (1.0, "passed"),
        "01.labelled_fraction": (1.0, "passed"),
        "01.shift_kind": (1.0, "passed"),
    }
    assert not record.flags


def test_a_hook_in_a_released_cell_gains_nothing(reference_batch):
    """No case is in the sandbox before its exercise is graded, and a value answer asked for
    anywhere before its exercise counts as reference use."""
    record = reference_batch["records"]["oracle"]
    grades = {g.id: g for g in record.exercises}
    assert grades["01.windowed_mean"].status == "passed"
    # Public cases are public (check() shows them); the hidden ones were nowhere to be found.
    hidden = grades["01.labelled_fraction"].hidden
    assert hidden is not None and hidden.passed == 0, grades["01.labelled_fraction"]
    assert grades["01.labelled_fraction"].score < 1.0
    assert grades["01.shift_kind"].status == "reference used"
    assert grades["01.shift_kind"].score == 0.0


def test_forged_messages_end_the_attempt(reference_batch):
    record = reference_batch["records"]["forged"]
    grades = {g.id: g for g in record.exercises}
    assert grades["01.labelled_fraction"].score == 0.0
    assert grades["01.labelled_fraction"].status in ("crashed", "reference used"), grades["01.labelled_fraction"]


def test_the_sandbox_has_no_answer_keys(reference_batch):
    keys = reference_batch["keys"]
    assert keys["shifts"] == "None" and keys["source_has_keys"] is False
    if reference_batch["mode"] == "bwrap":
        assert keys["notebooks"] is False


def test_every_reference_is_withheld_from_the_sandbox():
    """References that are classes or methods would stay in the sandbox's course_lib (only the
    look at the cell's source would find their use). None exists: a new one must come with
    withholding, and this test says so."""
    from course_lib.grading.registry import exercise_ids, get_exercise
    from course_lib.grading.runner import withheld

    copy = withheld()
    assert copy.kept == (), f"not withheld (a class or method?): {copy.kept}"
    assert {get_exercise(ident).reference for ident in exercise_ids()} <= copy.functions

"""Hostile and broken submissions: each is graded correctly and none stops the batch.

One batch holds every case below, graded once with low limits (3 s per exercise, 512 MB). In
each hostile notebook only exercise 01.windowed_mean misbehaves; 01.labelled_fraction holds a
correct answer, so the tests can also check that the rest of that notebook was still graded.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from course_lib.grading.autograder import grade, hash_tree
from course_lib.grading.release import build_release
from course_lib.grading.runner import execute
from course_lib.grading.sandbox import WORKER_UID_BASE, Limits
from course_lib.grading.wire import decode

from grading_lesson import LABELLED_FRACTION_SOLUTION, solution_notebook, with_exercise, write_course, write_notebook
from conftest import require_root

CORRECT = """\
def windowed_mean(values, window):
    values = np.asarray(values, dtype=float)
    full = len(values) // window * window
    return values[:full].reshape(-1, window).mean(axis=1)
"""


def hostile_cells(canary: Path, submissions: Path, port: int) -> dict[str, str]:
    """Student name -> the code of their 01.windowed_mean cell."""
    return {
        "infinite_loop": "def windowed_mean(values, window):\n    while True:\n        pass\n",
        "loop_at_top_level": "while True:\n    pass\n",
        "memory_bomb": "hog = []\nwhile True:\n    hog.append(bytearray(50 * 2**20))\n" + CORRECT,
        "memory_bomb_in_answer": "def windowed_mean(values, window):\n    return np.ones(2**40)\n",
        "sys_exit": "import sys\nsys.exit(3)\n" + CORRECT,
        "sys_exit_in_answer": "import sys\ndef windowed_mean(values, window):\n    sys.exit(0)\n",
        "os_exit": "import os\ndef windowed_mean(values, window):\n    os._exit(0)\n",
        "files_outside": (
            "import os, pathlib\n"
            f"for target in [{str(canary / 'canary.txt')!r}, {str(submissions / 'files_outside.ipynb')!r}]:\n"
            "    try:\n        os.remove(target)\n    except OSError:\n        pass\n"
            f"for target in [{str(canary / 'planted.txt')!r}, {str(submissions / 'planted.ipynb')!r}]:\n"
            "    try:\n        pathlib.Path(target).write_text('gotcha')\n    except OSError:\n        pass\n" + CORRECT
        ),
        "socket": (
            "import socket\n"
            "def windowed_mean(values, window):\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
            "    values = np.asarray(values, dtype=float)\n"
            "    full = len(values) // window * window\n"
            "    return values[:full].reshape(-1, window).mean(axis=1)\n"
        ),
        "prints_100mb": "print('x' * 100_000_000)\nimport os\nos.write(1, b'y' * 10_000_000)\n" + CORRECT,
        "patches_checker": (
            "import course_lib.grading.compare as compare_module\n"
            "import course_lib.grading.selfcheck as selfcheck\n"
            "compare_module.compare = lambda *a, **k: compare_module.Comparison(True)\n"
            "selfcheck.judge = lambda *a, **k: None\n"
            "def windowed_mean(values, window):\n    return [0.0]\n"
        ),
        "patches_reference": (
            "import course_lib.simulate\n"
            "course_lib.simulate.windowed_mean = lambda values, window: [0.0]\n"
            "def windowed_mean(values, window):\n    return [0.0]\n"
        ),
        "imports_reference": "from course_lib.simulate import windowed_mean\n",
        "hides_reference": (
            "import importlib\n"
            "_m = importlib.import_module('course_lib.' + 'sim' + 'ulate')\n"
            "_f = getattr(_m, 'windowed' + '_mean')\n"
            "def windowed_mean(values, window):\n    return _f(values, window)\n"
        ),
        "syntax_error": "def windowed_mean(values window):\n    return values\n",
        "background_process": (
            "import subprocess\nsubprocess.Popen(['sleep', '987.654'], start_new_session=True)\n" + CORRECT
        ),
    }


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    solutions = write_course(base / "course")
    release = build_release(solutions)
    student = release.lessons["01"].notebook
    good = with_exercise(student, "01.labelled_fraction", LABELLED_FRACTION_SOLUTION)
    submissions = base / "submissions"
    canary = base / "canary"
    canary.mkdir()
    (canary / "canary.txt").write_text("still here")

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    connections = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connections.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    for name, source in hostile_cells(canary, submissions, listener.getsockname()[1]).items():
        write_notebook(submissions / f"{name}.ipynb", with_exercise(good, "01.windowed_mean", source))
    write_notebook(submissions / "teacher.ipynb", solution_notebook())
    write_notebook(submissions / "untouched.ipynb", student)
    (submissions / "malformed.ipynb").write_text('{"cells": [', encoding="utf-8")
    (submissions / "zero_bytes.ipynb").write_bytes(b"")
    write_notebook(
        submissions / "empty_notebook.ipynb", {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    )
    (submissions / "deep_json.ipynb").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    weird = solution_notebook()
    weird["metadata"] = ["not", "a", "dict"]
    weird["cells"][0] = {"cell_type": 5, "metadata": [], "source": {"a": 1}}
    weird["cells"][2]["metadata"] = {"course": {"exercise": ["01.windowed_mean"]}}
    write_notebook(submissions / "weird_structure.ipynb", weird)
    other = solution_notebook()
    other["metadata"]["course"]["lesson"] = "02"
    write_notebook(submissions / "other_lesson.ipynb", other)
    missing = dict(
        good, cells=[c for c in good["cells"] if c["metadata"].get("course", {}).get("exercise") != "01.windowed_mean"]
    )
    write_notebook(submissions / "missing_cell.ipynb", missing)
    older = write_notebook(submissions / "dup" / "first_try.ipynb", student)
    newer = write_notebook(submissions / "dup" / "final.ipynb", solution_notebook())
    os.utime(older, (1_700_000_000, 1_700_000_000))
    os.utime(newer, (1_700_000_100, 1_700_000_100))
    write_notebook(submissions / "Zoë Ñúñez.ipynb", solution_notebook())

    before = hash_tree(submissions)
    limits = Limits(exercise_seconds=3, submission_seconds=40, memory_mb=512)
    started = time.monotonic()
    run = grade(submissions, base / "results", release=release, seed=11, limits=limits, lesson="01")
    elapsed = time.monotonic() - started
    stop.set()
    thread.join(2)
    listener.close()
    records = {record.student: record for record in run.records}
    yield {
        "run": run,
        "records": records,
        "before": before,
        "after": hash_tree(submissions),
        "canary": canary,
        "connections": connections,
        "results": base / "results",
        "elapsed": elapsed,
        "release": release,
    }
    for conn in connections:
        conn.close()


def _exercise(record, exercise_id):
    return next(grade for grade in record.exercises if grade.id == exercise_id)


def _scores(record):
    return {grade.id: grade.score for grade in record.exercises}


HOSTILE = [
    "infinite_loop",
    "loop_at_top_level",
    "memory_bomb_in_answer",
    "sys_exit_in_answer",
    "os_exit",
    "socket",
    "patches_checker",
    "patches_reference",
    "imports_reference",
    "hides_reference",
    "syntax_error",
]


@pytest.mark.parametrize("student", HOSTILE)
def test_hostile_exercise_scores_zero_and_the_rest_is_graded(batch, student):
    record = batch["records"][student]
    assert record.status == "graded"
    assert _scores(record) == {"01.windowed_mean": 0.0, "01.labelled_fraction": 1.0}


@pytest.mark.parametrize("student", ["infinite_loop", "loop_at_top_level"])
def test_infinite_loops_time_out(batch, student):
    record = batch["records"][student]
    grade = _exercise(record, "01.windowed_mean")
    assert grade.status == "timed out"
    assert "timed out: 01.windowed_mean" in record.flags
    assert record.attempts == 2  # one process killed, a second one graded the next exercise


def test_memory_bombs_hit_the_memory_limit(batch):
    in_answer = _exercise(batch["records"]["memory_bomb_in_answer"], "01.windowed_mean")
    assert in_answer.public is not None
    assert all("MemoryError" in outcome.detail for outcome in in_answer.public.outcomes)
    # A bomb at the top of the cell raises MemoryError; the function defined below it never is.
    record = batch["records"]["memory_bomb"]
    assert _scores(record) == {"01.windowed_mean": 0.0, "01.labelled_fraction": 1.0}
    # On a loaded machine filling 512 MB can outlast the 3 s limit: stopped either way.
    message = _exercise(record, "01.windowed_mean").message
    assert "MemoryError" in message or "limit per exercise" in message


def test_exception_messages_stay_with_the_instructor(batch):
    # A message could carry the hidden inputs out: feedback shows the type, the record the message.
    grade = _exercise(batch["records"]["sys_exit_in_answer"], "01.windowed_mean")
    assert {o.detail for o in grade.hidden.outcomes} == {"raised SystemExit"}
    assert {o.detail for o in grade.public.outcomes} == {"raised SystemExit"}
    assert any(detail.endswith("raised SystemExit: 0") for detail in grade.details)


def test_sys_exit_is_an_error_not_an_exit(batch):
    # sys.exit at the top of the cell stops that cell only, as in Jupyter.
    assert _exercise(batch["records"]["sys_exit"], "01.windowed_mean").status == "no answer"
    grade = _exercise(batch["records"]["sys_exit_in_answer"], "01.windowed_mean")
    assert grade.public.outcomes[0].detail.startswith("raised SystemExit")


def test_os_exit_ends_only_its_exercise(batch):
    record = batch["records"]["os_exit"]
    grade = _exercise(record, "01.windowed_mean")
    assert grade.status == "crashed"
    assert "exit code 0" in grade.message
    assert "crashed: 01.windowed_mean" in record.flags


def test_files_outside_the_working_directory_are_untouched(batch):
    require_root("filesystem isolation")
    assert (batch["canary"] / "canary.txt").read_text() == "still here"
    assert not (batch["canary"] / "planted.txt").exists()
    # The answer itself is fine and is graded in full.
    assert _scores(batch["records"]["files_outside"]) == {"01.windowed_mean": 1.0, "01.labelled_fraction": 1.0}


def test_the_grader_never_writes_into_submissions(batch):
    assert batch["after"] == batch["before"]
    assert batch["run"].submissions_unchanged


def test_no_network(batch):
    require_root("a new network namespace")
    grade = _exercise(batch["records"]["socket"], "01.windowed_mean")
    assert all("OSError" in outcome.detail or "Error" in outcome.detail for outcome in grade.public.outcomes)
    assert batch["connections"] == []


def test_background_processes_die_with_the_submission(batch):
    require_root("a PID namespace")
    assert _scores(batch["records"]["background_process"]) == {"01.windowed_mean": 1.0, "01.labelled_fraction": 1.0}
    leftovers = []
    for entry in Path("/proc").iterdir():
        try:
            if b"987.654" in (entry / "cmdline").read_bytes():
                leftovers.append(entry.name)
        except OSError:
            continue
    assert leftovers == []


def test_huge_output_is_capped(batch):
    record = batch["records"]["prints_100mb"]
    assert _scores(record) == {"01.windowed_mean": 1.0, "01.labelled_fraction": 1.0}
    assert len(record.output) <= batch["run"].limits.output_bytes
    assert any("dropped" in note for note in record.notes)


def test_tampering_is_flagged_and_changes_nothing(batch):
    assert "modifies course_lib: 01.windowed_mean" in batch["records"]["patches_checker"].flags
    grade = _exercise(batch["records"]["patches_checker"], "01.windowed_mean")
    assert grade.status == "failed"


@pytest.mark.parametrize("student", ["imports_reference", "hides_reference", "patches_reference"])
def test_reference_use_scores_zero_and_is_flagged(batch, student):
    record = batch["records"][student]
    assert _exercise(record, "01.windowed_mean").status == "reference used"
    assert "reference used: 01.windowed_mean" in record.flags


def test_hidden_reference_use_is_caught_at_run_time(batch):
    grade = _exercise(batch["records"]["hides_reference"], "01.windowed_mean")
    assert "called the reference" in grade.message


def test_syntax_error_is_reported(batch):
    grade = _exercise(batch["records"]["syntax_error"], "01.windowed_mean")
    assert grade.status == "no answer"
    assert "SyntaxError" in grade.message


def test_odd_structures_are_read_defensively(batch):
    # Wrong types where the format expects dicts and strings are ignored; the answers are graded.
    record = batch["records"]["weird_structure"]
    assert (record.status, record.score) == ("graded", 2.0)


@pytest.mark.parametrize("student", ["malformed", "zero_bytes", "deep_json"])
def test_unreadable_files_get_a_row(batch, student):
    record = batch["records"][student]
    assert (record.status, record.score) == ("unreadable", 0.0)


def test_empty_notebook_is_not_attempted(batch):
    record = batch["records"]["empty_notebook"]
    assert (record.status, record.score) == ("not attempted", 0.0)
    assert {grade.status for grade in record.exercises} == {"missing"}


def test_notebook_of_another_lesson(batch):
    record = batch["records"]["other_lesson"]
    assert (record.status, record.lesson, record.score) == ("wrong lesson", "01", 0.0)


def test_missing_exercise_cell(batch):
    record = batch["records"]["missing_cell"]
    assert _exercise(record, "01.windowed_mean").status == "missing"
    assert _scores(record) == {"01.windowed_mean": 0.0, "01.labelled_fraction": 1.0}


def test_duplicate_submissions_grade_the_newest(batch):
    rows = [record for record in batch["run"].records if record.student == "dup"]
    assert len(rows) == 1
    assert rows[0].submission == "dup/final.ipynb"
    assert rows[0].score == rows[0].max_score == 2
    assert "duplicate submissions: 2" in rows[0].flags


def test_non_ascii_file_name(batch):
    record = batch["records"]["Zoë Ñúñez"]
    assert record.score == record.max_score == 2
    folder = batch["results"] / "students" / "Zoë Ñúñez" / "01"
    assert json.loads((folder / "results.json").read_text(encoding="utf-8"))["score"] == 2
    assert "Zoë Ñúñez" in (batch["results"] / "gradebook.csv").read_text(encoding="utf-8")


def test_controls(batch):
    teacher, untouched = batch["records"]["teacher"], batch["records"]["untouched"]
    assert (teacher.status, teacher.score, teacher.flags) == ("graded", 2.0, [])
    assert (untouched.status, untouched.score) == ("not attempted", 0.0)


def test_every_submission_has_a_row(batch):
    expected = set(hostile_cells(Path("c"), Path("s"), 1)) | {
        "teacher",
        "untouched",
        "malformed",
        "zero_bytes",
        "empty_notebook",
        "other_lesson",
        "missing_cell",
        "dup",
        "Zoë Ñúñez",
        "deep_json",
        "weird_structure",
    }
    assert set(batch["records"]) == expected
    assert not any(record.status == "grader error" for record in batch["run"].records)


PROBE = """\
def windowed_mean(values, window):
    import os, resource, socket
    facts = {"uid": os.getuid(), "pid": os.getpid()}
    facts.update(cwd_files=sorted(os.listdir(".")), tmp=sorted(os.listdir("/tmp")))
    try:
        socket.create_connection(("127.0.0.1", %d), timeout=1).close()
        facts["network"] = "connected"
    except OSError as error:
        facts["network"] = type(error).__name__
    try:
        open(%r, "w").close()
        facts["write"] = "written"
    except OSError as error:
        facts["write"] = type(error).__name__
    facts["memory_limited"] = resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY
    return facts
"""


def _checkout_under_tmp() -> list[str]:
    """The top folder of this checkout under /tmp, if it is there (the sandbox binds it back)."""
    root = Path(__file__).resolve().parent.parent
    parts = root.relative_to("/tmp").parts if root.is_relative_to("/tmp") else ()
    return list(parts[:1])


def test_what_a_submission_sees_of_its_sandbox(batch, tmp_path):
    require_root("namespaces and the nobody user")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    # A folder the grader's user can write to but others cannot, outside /tmp.
    target = Path(__file__).resolve().parent / f".sandbox-probe-{os.getpid()}"
    try:
        source = PROBE % (listener.getsockname()[1], str(target))
        lesson = batch["release"].lessons["01"]
        execution = execute(
            lesson,
            {"01.windowed_mean": source},
            {"01.windowed_mean": 1, "01.labelled_fraction": 2},
            Limits(exercise_seconds=10),
        )
        facts = decode(execution.results["01.windowed_mean"]["public"][0]["value"])
        assert not target.exists()
    finally:
        listener.close()
        target.unlink(missing_ok=True)
    # No route (a network namespace without interfaces) or refused by the sandbox's own loopback.
    assert facts.pop("network") in ("OSError", "ConnectionRefusedError")
    assert facts == {
        "uid": execution.isolation["user"],
        "pid": 2,  # the second process of its own PID namespace
        "cwd_files": [],
        "tmp": sorted(["home", "work", *_checkout_under_tmp()]),
        # Out of reach either way: the checkout is not mounted in the sandbox at all (only
        # course_lib's own folder is) or, where it is, nobody may write there.
        "write": facts["write"] if facts["write"] in ("FileNotFoundError", "PermissionError") else "PermissionError",
        "memory_limited": True,
    }
    # A user of the grading worker's own, never root, never shared with the other worker.
    assert execution.isolation["user"] in (WORKER_UID_BASE, WORKER_UID_BASE + 1)

"""The grader run by an ordinary user, as instructors do (issue 9).

When the tests run as root, the grader's command line runs as ``nobody`` (uid 65534) in a
world-readable copy of what it needs: a temporary folder with course_lib (copied, modes 644/755),
the synthetic course, the submissions and the results, all owned as an instructor would own
them. The interpreter and its packages may live in a private folder (``/root/.pyenv``, mode 700,
as here and in CI): the launcher then gives the grader its own mount namespace in which only those
folders are reachable through a tmpfs laid over the private folder (the host is not changed).
When the tests run as an ordinary user, the grader runs as that user directly.

Each hostile submission turns a successful attack into a wrong answer, so the marks say whether
it worked; the files around RESULTS are hashed before and after.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from course_lib.grading.autograder import hash_tree

from conftest import in_ci, require_tool
from grading_lesson import LABELLED_FRACTION_SOLUTION, solution_notebook, with_exercise, write_course, write_notebook

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534
MARKER = f"course-grader-unprivileged-{os.getpid()}"

CORRECT = """\
def windowed_mean(values, window):
    if ATTACK_WORKED:
        return "the attack worked: " + repr(ATTACK_WORKED)[:200]
    values = np.asarray(values, dtype=float)
    full = len(values) // window * window
    return values[:full].reshape(-1, window).mean(axis=1)
"""


def _attack(body: str) -> str:
    """An exercise cell that runs ``body`` (which appends to ``worked`` what succeeded)."""
    return "worked = []\n" + body + "ATTACK_WORKED = worked\n" + CORRECT


def hostile_cells(env: dict) -> dict[str, str]:
    """Student name -> the code of their 01.windowed_mean cell."""
    writes = [
        env["canary"] / "canary.txt",
        env["canary"] / "planted.txt",
        env["results"] / "planted.txt",
        env["results"] / "students" / "honest" / "01" / "feedback.md",
        env["submissions"] / "honest.ipynb",
        env["submissions"] / "planted.ipynb",
        env["home"] / "planted.txt",
    ]
    # Private to the sandbox (a tmpfs each): writing there works, and must not reach the host.
    private = [Path("/tmp") / MARKER, Path("/dev/shm") / MARKER]
    reads = [
        env["submissions"] / "honest.ipynb",
        env["course"] / "notebooks" / "solutions" / "01_synthetic.ipynb",
        env["canary"] / "canary.txt",
        env["home"],
    ]
    return {
        "writes_outside": _attack(
            f"for target in {[str(p) for p in writes]!r}:\n"
            "    try:\n"
            "        with open(target, 'a') as stream:\n"
            "            stream.write('gotcha')\n"
            "        worked.append(target)\n"
            "    except OSError:\n"
            "        pass\n"
            f"for target in {[str(p) for p in private]!r}:\n"
            "    open(target, 'w').write('gotcha')\n"
        ),
        "reads_others": _attack(
            "import os\n"
            f"for target in {[str(p) for p in reads]!r}:\n"
            "    try:\n"
            "        os.listdir(target) if os.path.isdir(target) else open(target).read()\n"
            "        worked.append(target)\n"
            "    except OSError:\n"
            "        pass\n"
        ),
        "kills_everything": _attack(
            "import os, signal\n"
            "for pid in [os.getppid(), *(int(p) for p in os.listdir('/proc') if p.isdigit())]:\n"
            "    if pid != os.getpid():\n"
            "        try:\n"
            "            os.kill(pid, signal.SIGKILL)\n"
            "        except OSError:\n"
            "            pass\n"
            "try:\n"
            "    os.kill(-1, signal.SIGKILL)\n"
            "except OSError:\n"
            "    pass\n"
        ),
        "sees_processes": _attack(
            "import os\n"
            "for pid in (p for p in os.listdir('/proc') if p.isdigit()):\n"
            "    try:\n"
            "        line = open(f'/proc/{pid}/cmdline', 'rb').read()\n"
            "        if b'\\0grade\\0' in line or b'pytest' in line:  # the grader or the tests\n"
            "            worked.append(pid)\n"
            "    except OSError:\n"
            "        pass\n"
        ),
        "keeps_capabilities": _attack(
            "for line in open('/proc/self/status'):\n"
            "    if line.startswith(('CapEff', 'CapPrm', 'CapAmb', 'CapInh')) and int(line.split()[1], 16):\n"
            "        worked.append(line.strip())\n"
        ),
    }


FORK_BOMB = _attack(
    "import os, time\n"
    "children = 0\n"
    "while children < 100_000:\n"
    "    try:\n"
    "        pid = os.fork()\n"
    "    except OSError:\n"
    "        break\n"
    "    if pid == 0:\n"
    "        time.sleep(30)\n"
    "        os._exit(0)\n"
    "    children += 1\n"
    "time.sleep(20)  # hold every process while the other submission is graded\n"
)

HONEST_WITH_SUBPROCESSES = _attack(
    "import subprocess, time\n"
    "time.sleep(8)  # let the bomb go off first\n"
    "for _ in range(5):\n"
    "    subprocess.run(['/bin/sh', '-c', 'exit 0'], check=True)\n"
)

# The launcher, run as root: a mount namespace in which the interpreter's private folders are
# reachable (a tmpfs over the private ancestor, the folders bound back), then the grader as nobody.
LAUNCHER = """\
import json, os, sys
spec = json.loads(sys.argv[1])
from course_lib.grading import sandbox
hidden = [path for path in spec["expose"] if sandbox._hidden_ancestor(path)]
if hidden:
    libc = sandbox._libc()
    sandbox._check(libc.unshare(sandbox._CLONE_NEWNS), "unshare a mount namespace")
    sandbox._check(libc.mount(None, b"/", None, sandbox._MS_REC | sandbox._MS_PRIVATE, None), "make / private")
    sandbox._expose(libc, hidden)
os.setgroups([])
os.setgid(spec["uid"])
os.setuid(spec["uid"])
os.chdir(spec["cwd"])
os.execve(spec["python"], [spec["python"], "-m", "course_lib.grading", *spec["args"]], spec["env"])
"""


def _readable_by_others(path: str) -> bool:
    return bool(os.stat(path).st_mode & stat.S_IROTH)


@pytest.fixture(scope="module")
def env():
    """The world-readable environment, and a function that runs the grader CLI in it."""
    as_root = os.geteuid() == 0
    if as_root and sys.platform != "linux":
        pytest.skip("running the grader as another user is tested on Linux")
    base = Path(tempfile.mkdtemp(prefix="course-grader-unprivileged-"))
    try:
        os.chmod(base, 0o755)
        lib = base / "lib"
        import course_lib

        shutil.copytree(
            Path(course_lib.__file__).resolve().parent,
            lib / "course_lib",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        write_course(base / "course")
        for folder in ("submissions", "canary", "home", "cwd"):
            (base / folder).mkdir()
        (base / "canary" / "canary.txt").write_text("still here")
        for folder, _, files in os.walk(base):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        uid = NOBODY if as_root else os.geteuid()
        if as_root:
            # The instructor owns the submissions, the results and their home: all of it is
            # writable by the grader's user, so only the sandbox keeps a submission out.
            for path in ("submissions", "canary", "canary/canary.txt", "home", "cwd"):
                os.chown(base / path, uid, uid)
            from course_lib.grading import sandbox

            for path in (os.path.realpath(sys.executable), os.__file__):
                if not _readable_by_others(path):
                    pytest.fail(f"{path} is not readable by other users: the test cannot run the grader as nobody")
            expose = sandbox._python_paths()
        env = {
            "base": base,
            "course": base / "course",
            "submissions": base / "submissions",
            "canary": base / "canary",
            "home": base / "home",
            "results": base / "results",
            "uid": uid,
        }

        def run(args: list[str], *, path: str = "/usr/bin:/bin", timeout: float = 600) -> subprocess.CompletedProcess:
            variables = {
                "PATH": path,
                "HOME": str(base / "home"),
                "PYTHONPATH": str(lib),
                "LANG": "C.UTF-8",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
            if as_root:
                spec = {
                    "uid": uid,
                    "cwd": str(base / "cwd"),
                    "python": sys.executable,
                    "args": args,
                    "env": variables,
                    "expose": expose,
                }
                argv = [sys.executable, "-c", LAUNCHER, json.dumps(spec)]
                launcher_env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(lib), "PYTHONDONTWRITEBYTECODE": "1"}
                return subprocess.run(argv, env=launcher_env, capture_output=True, text=True, timeout=timeout)
            argv = [sys.executable, "-m", "course_lib.grading", *args]
            return subprocess.run(
                argv, env=variables, cwd=base / "cwd", capture_output=True, text=True, timeout=timeout
            )

        env["run"] = run
        yield env
    finally:
        shutil.rmtree(base, ignore_errors=True)
        for leftover in (Path("/tmp") / MARKER, Path("/dev/shm") / MARKER):
            leftover.unlink(missing_ok=True)


def _grade(env: dict, submissions: Path, results: Path, *extra: str, path: str = "/usr/bin:/bin"):
    args = ["grade", str(submissions), "--out", str(results), "--root", str(env["course"]), "--seed", "5",
            "--lesson", "01", "--timeout", "40", "--submission-timeout", "120", *extra]
    return env["run"](args, path=path)


def _outside_results(env: dict) -> dict:
    """Hashes of everything in the environment but the results folders and the grader's home."""
    return {name: hash_tree(env["base"] / name) for name in ("lib", "course", "submissions", "canary", "cwd")}


def _records(results: Path) -> dict[str, dict]:
    gradebook = json.loads((results / "gradebook.json").read_text())
    return {row["student"]: row for row in gradebook["records"]}, gradebook


def _scores(row: dict) -> dict[str, tuple[float, str]]:
    return {item["id"]: (item["score"], item["status"]) for item in row["exercises"]}


@pytest.fixture(scope="module")
def hostile_batch(env):
    require_tool("bwrap", "apt-get install bubblewrap")
    student = with_exercise(
        json.loads((env["course"] / "notebooks" / "solutions" / "01_synthetic.ipynb").read_text()),
        "01.labelled_fraction",
        LABELLED_FRACTION_SOLUTION,
    )
    submissions = env["submissions"]
    write_notebook(submissions / "honest.ipynb", solution_notebook())
    for name, source in hostile_cells(env).items():
        write_notebook(submissions / f"{name}.ipynb", with_exercise(student, "01.windowed_mean", source))
    for path in submissions.iterdir():
        os.chmod(path, 0o644)
    env["results"].mkdir()
    if os.geteuid() == 0:
        os.chown(env["results"], env["uid"], env["uid"])
    before = _outside_results(env)
    done = _grade(env, submissions, env["results"], "--workers", "2")
    if done.returncode == 2 and "bubblewrap" in done.stderr:
        message = "bubblewrap cannot run as an ordinary user here (unprivileged user namespaces are off)"
        if in_ci():
            pytest.fail(message + " (CI=true, so this is a failure, not a skip): " + done.stderr)
        pytest.skip(message)
    assert done.returncode == 0, (done.stdout, done.stderr)
    records, gradebook = _records(env["results"])
    return {"records": records, "gradebook": gradebook, "before": before, "after": _outside_results(env), "done": done}


def test_auto_picks_bubblewrap_and_says_so(hostile_batch):
    isolation = hostile_batch["gradebook"]["isolation"]
    assert isolation["mode"] == "bubblewrap", isolation
    assert "new PID namespace" in isolation["processes"] and "its own /proc" in isolation["processes"]


def test_the_honest_submission_gets_full_marks(hostile_batch):
    row = hostile_batch["records"]["honest"]
    assert _scores(row) == {"01.windowed_mean": (1.0, "passed"), "01.labelled_fraction": (1.0, "passed")}, row


@pytest.mark.parametrize("student", ["writes_outside", "reads_others", "sees_processes", "keeps_capabilities"])
def test_the_attack_fails_and_the_submission_is_graded(hostile_batch, student):
    row = hostile_batch["records"][student]
    assert _scores(row) == {"01.windowed_mean": (1.0, "passed"), "01.labelled_fraction": (1.0, "passed")}, row


def test_killing_everything_it_sees_ends_only_its_own_exercise(hostile_batch, env):
    records = hostile_batch["records"]
    assert set(records) == {"honest", *hostile_cells(env)}
    # Whatever it managed to kill was its own: the batch went on and the rest of it was graded.
    assert records["kills_everything"]["status"] == "graded"
    assert _scores(records["kills_everything"])["01.labelled_fraction"] == (1.0, "passed")


def test_nothing_outside_results_changed(hostile_batch, env):
    assert hostile_batch["after"] == hostile_batch["before"]
    assert (env["canary"] / "canary.txt").read_text() == "still here"
    for path in (env["canary"] / "planted.txt", env["results"] / "planted.txt", env["home"] / "planted.txt",
                 env["submissions"] / "planted.ipynb", Path("/tmp") / MARKER, Path("/dev/shm") / MARKER):
        assert not path.exists(), path
    feedback = (env["results"] / "students" / "honest" / "01" / "feedback.md").read_text()
    assert "gotcha" not in feedback


def test_a_fork_bomb_beside_an_honest_submission(env, hostile_batch):
    student = with_exercise(
        json.loads((env["course"] / "notebooks" / "solutions" / "01_synthetic.ipynb").read_text()),
        "01.labelled_fraction",
        LABELLED_FRACTION_SOLUTION,
    )
    submissions = env["base"] / "bomb-submissions"
    write_notebook(submissions / "bomb.ipynb", with_exercise(student, "01.windowed_mean", FORK_BOMB))
    write_notebook(submissions / "honest.ipynb", with_exercise(student, "01.windowed_mean", HONEST_WITH_SUBPROCESSES))
    for folder, _, files in os.walk(submissions):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    results = env["base"] / "bomb-results"
    results.mkdir()
    if os.geteuid() == 0:
        os.chown(results, env["uid"], env["uid"])
    done = _grade(env, submissions, results, "--workers", "2")
    assert done.returncode == 0, (done.stdout, done.stderr)
    records, _ = _records(results)
    assert _scores(records["honest"]) == {"01.windowed_mean": (1.0, "passed"), "01.labelled_fraction": (1.0, "passed")}


def test_without_bubblewrap_auto_refuses_and_fallback_must_be_asked_for(env, hostile_batch):
    submissions = env["base"] / "plain-submissions"
    write_notebook(submissions / "honest.ipynb", solution_notebook())
    os.chmod(submissions, 0o755)
    os.chmod(submissions / "honest.ipynb", 0o644)
    results = env["base"] / "plain-results"
    results.mkdir()
    if os.geteuid() == 0:
        os.chown(results, env["uid"], env["uid"])
    no_bwrap = str(env["base"] / "cwd")  # a PATH without bwrap
    refused = _grade(env, submissions, results, path=no_bwrap)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert "bubblewrap" in refused.stderr and "--sandbox fallback" in refused.stderr
    assert not (results / "gradebook.json").exists()
    asked = _grade(env, submissions, results, "--sandbox", "fallback", path=no_bwrap)
    assert asked.returncode == 0, (asked.stdout, asked.stderr)
    assert "submissions run with your rights" in asked.stderr  # said, when asked for
    records, gradebook = _records(results)
    assert gradebook["isolation"]["mode"] == "fallback"
    assert _scores(records["honest"]) == {"01.windowed_mean": (1.0, "passed"), "01.labelled_fraction": (1.0, "passed")}

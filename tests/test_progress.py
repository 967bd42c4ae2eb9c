"""course_lib.progress(): what check() remembers, and how a learner sees it.

The file is the learner's only record, so the tests are about not losing or mangling it: the
latest check wins, a foreign file is moved aside (never overwritten), a folder that cannot be
written never breaks check(), and the whole path works in a real kernel as in a notebook.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import subprocess
import sys
import warnings
from datetime import datetime, timedelta, timezone

import matplotlib
import nbformat
import pytest
from nbclient import NotebookClient

import course_lib
from course_lib.grading import check, exercise_ids
from course_lib.grading import progress as progress_module
from course_lib.grading.progress import (
    ENVIRONMENT_VARIABLE,
    FILE_NAME,
    Progress,
    ProgressFileError,
    ProgressWarning,
    progress,
    progress_path,
    read_progress,
    record,
    remember,
)
from course_lib.grading.selfcheck import CheckResult
from course_lib.lessons import LESSONS

matplotlib.use("Agg")

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)


def _passing_windowed_mean(values, window):
    import numpy as np

    usable = len(values) // window * window
    return np.asarray(values[:usable], dtype=float).reshape(-1, window).mean(axis=1)


def _status(report: Progress, exercise_id: str) -> str:
    return report.table.set_index("exercise").loc[exercise_id, "status"]


@pytest.fixture
def path(tmp_path):
    return tmp_path / FILE_NAME


# --- recording and reading back ---------------------------------------------------------------


def test_a_recorded_check_reads_back_with_its_counts_and_time(path):
    assert record(CheckResult("02.psi", "failed", 3, 5), path=path, checked_at=T0) == path
    assert read_progress(path) == {
        "02.psi": {"status": "failed", "passed": 3, "total": 5, "checked_at": "2026-03-01T09:30:00+00:00"}
    }
    data = json.loads(path.read_text())
    assert (data["format"], data["version"]) == ("course_lib progress", 1)
    row = progress(path=path).table.set_index("exercise").loc["02.psi"]
    assert (row["lesson"], row["status"], row["cases"]) == ("02", "failed", "3/5")
    assert row["last_checked"] == T0
    assert row["title"] == course_lib.grading.get_exercise("02.psi").title


def test_every_status_appears_and_only_attempts_are_recorded(path):
    record(CheckResult("01.windowed_mean", "passed", 4, 4), path=path)
    record(CheckResult("01.shift_kind", "failed", 1, 3), path=path)
    # An untouched exercise cell, and the autograder's hidden cases, leave no trace.
    assert record(CheckResult("01.drift_pattern", "not attempted", 0, 3), path=path) is None
    assert record(CheckResult("01.prior_correction", "passed", 3, 3, hidden=True), path=path) is None
    assert set(read_progress(path)) == {"01.windowed_mean", "01.shift_kind"}
    report = progress(lesson="01", path=path)
    statuses = dict(zip(report.table["exercise"], report.table["status"]))
    assert statuses == {
        "01.windowed_mean": "passed",
        "01.prior_correction": "not attempted",
        "01.shift_kind": "failed",
        "01.drift_pattern": "not attempted",
        "01.labelled_fraction": "not attempted",
    }
    not_attempted = report.table[report.table["status"] == "not attempted"]
    assert (not_attempted["cases"] == "").all() and not_attempted["last_checked"].isna().all()
    assert repr(report) == "Progress(lesson='01', passed=1, failed=1, not_attempted=3)"
    assert report.counts().loc["01"].to_dict() == {"passed": 1, "failed": 1, "not attempted": 3}


def test_not_attempted_never_erases_an_earlier_verdict(path):
    # A fresh copy of the lesson run top to bottom checks every untouched cell.
    record(CheckResult("01.windowed_mean", "passed", 4, 4), path=path)
    record(CheckResult("01.windowed_mean", "not attempted", 0, 4), path=path)
    assert read_progress(path)["01.windowed_mean"]["status"] == "passed"


@pytest.mark.parametrize(
    "sequence, shown",
    [(["passed", "failed"], "failed"), (["failed", "passed"], "passed"), (["passed", "failed", "passed"], "passed")],
)
def test_the_latest_check_wins(path, sequence, shown):
    for minutes, status in enumerate(sequence):
        passed = 4 if status == "passed" else 2
        record(CheckResult("01.windowed_mean", status, passed, 4), path=path, checked_at=T0 + timedelta(minutes=minutes))
    row = progress(lesson="01", path=path).table.iloc[0]
    assert row["status"] == shown
    assert row["last_checked"] == T0 + timedelta(minutes=len(sequence) - 1)
    assert len(read_progress(path)) == 1


def test_rows_follow_the_course_whatever_the_order_of_the_checks(path):
    every_id = [exercise_id for lesson in LESSONS for exercise_id in exercise_ids(lesson.number)]
    for exercise_id in reversed(every_id[::3]):
        record(CheckResult(exercise_id, "passed", 1, 1), path=path)
    report = progress(path=path)
    assert report.table["exercise"].tolist() == every_id
    assert report.table["lesson"].tolist() == [exercise_id[:2] for exercise_id in every_id]
    assert (report.table["status"] == "passed").sum() == len(every_id[::3])
    assert list(report.counts().index) == [lesson.number for lesson in LESSONS]
    # The file itself is sorted too, so two saves of the same record are the same bytes.
    assert list(read_progress(path)) == sorted(every_id[::3])


def test_a_lesson_filter_shows_that_lesson_only(path):
    record(CheckResult("01.windowed_mean", "passed", 4, 4), path=path)
    record(CheckResult("02.psi", "passed", 5, 5), path=path)
    report = progress(lesson="02", path=path)
    assert report.table["exercise"].tolist() == exercise_ids("02")
    assert report.lesson == "02" and "lesson 02" in report.summary()
    assert report.summary().startswith(f"Of the {len(exercise_ids('02'))} exercises of lesson 02, 1 pass, 0 fail")


def test_exercises_recorded_but_no_longer_in_the_course_are_kept_but_not_shown(path):
    record(CheckResult("02.retired_exercise", "passed", 1, 1), path=path)
    record(CheckResult("02.psi", "passed", 5, 5), path=path)
    assert "02.retired_exercise" not in set(progress(path=path).table["exercise"])
    assert "02.retired_exercise" in read_progress(path)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda p: progress(lesson="99", path=p), ValueError, "number must be one of 01"),
        (lambda p: progress(lesson=2, path=p), TypeError, "two-digit string"),
        (lambda p: progress(path=3), TypeError, "path must be a file path"),
        (lambda p: record({"exercise_id": "02.psi"}, path=p), TypeError, "result must be the CheckResult"),
        (lambda p: record(CheckResult("02.psi", "passed", 1, 1), path=p, checked_at=datetime(2026, 1, 1)), TypeError, "timezone-aware"),
    ],
)
def test_bad_arguments_are_refused_clearly(path, call, error, words):
    with pytest.raises(error, match=words):
        call(path)


# --- a file that is not ours ------------------------------------------------------------------

FOREIGN = {
    "not JSON": "{this is not json",
    "another program's JSON": json.dumps({"theme": "dark"}),
    "a JSON list": "[1, 2]",
    "a newer version": json.dumps({"format": "course_lib progress", "version": 2, "exercises": {}}),
    "a damaged entry": json.dumps(
        {"format": "course_lib progress", "version": 1, "exercises": {"02.psi": {"status": "great", "passed": 1, "total": 1, "checked_at": "2026-01-01T00:00:00+00:00"}}}
    ),
    "a damaged time": json.dumps(
        {"format": "course_lib progress", "version": 1, "exercises": {"02.psi": {"status": "passed", "passed": 1, "total": 1, "checked_at": "yesterday"}}}
    ),
    "a time without its zone": json.dumps(
        {"format": "course_lib progress", "version": 1, "exercises": {"02.psi": {"status": "passed", "passed": 1, "total": 1, "checked_at": "2026-01-01T10:00:00"}}}
    ),
    "a negative count": json.dumps(
        {"format": "course_lib progress", "version": 1, "exercises": {"02.psi": {"status": "passed", "passed": -1, "total": 1, "checked_at": "2026-01-01T10:00:00+00:00"}}}
    ),
}


@pytest.mark.parametrize("content", FOREIGN.values(), ids=FOREIGN.keys())
def test_a_foreign_file_is_refused_by_progress_and_left_untouched(path, content):
    path.write_text(content)
    with pytest.raises(ProgressFileError, match="is not a progress file written by course_lib") as raised:
        progress(path=path)
    assert str(path) in str(raised.value) and f"{FILE_NAME}.bak" in str(raised.value)
    assert path.read_text() == content


@pytest.mark.parametrize("content", FOREIGN.values(), ids=FOREIGN.keys())
def test_a_check_moves_a_foreign_file_aside_before_starting_a_new_record(path, content):
    path.write_text(content)
    with pytest.warns(ProgressWarning, match=rf"moved to {re.escape(FILE_NAME)}\.bak, and a new record starts with 02\.psi"):
        record(CheckResult("02.psi", "passed", 5, 5), path=path)
    assert (path.parent / f"{FILE_NAME}.bak").read_text() == content
    assert set(read_progress(path)) == {"02.psi"}


def test_an_earlier_backup_is_never_overwritten(path):
    (path.parent / f"{FILE_NAME}.bak").write_text("first")
    path.write_text("second")
    with pytest.warns(ProgressWarning, match=r"\.bak\.1"):
        record(CheckResult("02.psi", "passed", 5, 5), path=path)
    assert (path.parent / f"{FILE_NAME}.bak").read_text() == "first"
    assert (path.parent / f"{FILE_NAME}.bak.1").read_text() == "second"


def test_a_file_that_is_not_text_is_foreign_too(path):
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ProgressFileError, match="not UTF-8"):
        read_progress(path)


# --- check() and places that cannot be written -------------------------------------------------


def test_check_records_its_verdict(monkeypatch, path, capsys):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(path))
    check("01.windowed_mean", _passing_windowed_mean)
    check("01.prior_correction", lambda *args, **kwargs: -1.5)
    check("01.shift_kind", None)
    assert "✔ 01.windowed_mean" in capsys.readouterr().out
    recorded = read_progress(path)
    assert {key: entry["status"] for key, entry in recorded.items()} == {"01.windowed_mean": "passed", "01.prior_correction": "failed"}
    assert recorded["01.windowed_mean"]["passed"] == recorded["01.windowed_mean"]["total"] == 4
    checked = datetime.fromisoformat(recorded["01.windowed_mean"]["checked_at"])
    assert abs(datetime.now(timezone.utc) - checked) < timedelta(minutes=5)


def test_a_folder_that_cannot_be_written_never_breaks_check(monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # A path under a regular file cannot be created, even by root (which ignores chmod).
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(blocker / FILE_NAME))
    with pytest.warns(ProgressWarning, match="your progress could not be saved .*the check above is unaffected"):
        result = check("01.windowed_mean", _passing_windowed_mean)
    assert result.status == "passed"
    assert "✔ 01.windowed_mean: all 4 public cases pass." in capsys.readouterr().out


def test_remember_swallows_any_failure_of_record(monkeypatch):
    def broken(result):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(progress_module, "record", broken)
    with pytest.warns(ProgressWarning, match="RuntimeError: disk on fire"):
        remember(CheckResult("02.psi", "passed", 5, 5))


# --- where the file is -------------------------------------------------------------------------


def test_the_file_is_in_the_working_folder_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    monkeypatch.chdir(tmp_path)
    assert progress_path() == tmp_path / FILE_NAME
    check("01.windowed_mean", _passing_windowed_mean, quiet=True)
    assert read_progress(tmp_path / FILE_NAME)["01.windowed_mean"]["status"] == "passed"
    assert _status(progress(), "01.windowed_mean") == "passed"
    assert f"Remembered in {FILE_NAME} in {tmp_path}, on this machine only." in progress().summary()


def test_the_environment_variable_relocates_the_file(monkeypatch, tmp_path):
    elsewhere = tmp_path / "sub" / "mine.json"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(elsewhere))
    monkeypatch.chdir(tmp_path)
    check("01.windowed_mean", _passing_windowed_mean, quiet=True)
    assert elsewhere.exists() and not (tmp_path / FILE_NAME).exists()
    assert _status(progress(), "01.windowed_mean") == "passed"


def test_off_records_nothing_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "OFF")
    monkeypatch.chdir(tmp_path)
    check("01.windowed_mean", _passing_windowed_mean, quiet=True)
    assert list(tmp_path.iterdir()) == []
    report = progress()
    assert report.path is None and set(report.table["status"]) == {"not attempted"}
    assert "Recording is off" in report.summary()


def test_in_the_browser_a_file_outside_the_drive_is_said_to_be_lost_at_reload(monkeypatch, path):
    monkeypatch.setattr(sys, "platform", "emscripten")
    assert "lost when the page reloads" in progress(path=path).summary()
    monkeypatch.setattr(sys, "platform", "linux")
    assert "reload" not in progress(path=path).summary()


# --- what the learner sees ---------------------------------------------------------------------


def test_the_figure_has_a_bar_per_lesson_split_by_status(path):
    record(CheckResult("01.windowed_mean", "passed", 4, 4), path=path)
    record(CheckResult("01.shift_kind", "failed", 1, 3), path=path)
    record(CheckResult("03.ph_threshold", "passed", 2, 2), path=path)
    report = progress(path=path)
    ax = report.plot()
    try:
        assert ax.get_title() and ax.get_xlabel() == "exercises"
        assert [text.get_text() for text in ax.get_legend().get_texts()] == ["passed", "failed", "not attempted"]
        assert [label.get_text() for label in ax.get_yticklabels()] == [f"lesson {lesson.number}" for lesson in LESSONS]
        # One bar segment per lesson and status, and the segments of a lesson add up to its exercises.
        widths: dict[float, float] = {}
        for patch in ax.patches:
            widths[round(patch.get_y(), 6)] = widths.get(round(patch.get_y(), 6), 0) + patch.get_width()
        assert sorted(widths.values()) == sorted(len(exercise_ids(lesson.number)) for lesson in LESSONS)
        lesson_01 = [patch.get_width() for patch in ax.patches if abs(patch.get_y() + patch.get_height() / 2) < 1e-9]
        assert lesson_01 == [1, 1, len(exercise_ids("01")) - 2]
        assert ax.figure.dpi == 72
    finally:
        matplotlib.pyplot.close(ax.figure)


def test_the_notebook_display_holds_the_sentence_the_figure_and_the_table(path):
    record(CheckResult("02.psi", "failed", 3, 5), path=path, checked_at=T0)
    html = progress(lesson="02", path=path)._repr_html_()
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1))
    assert png.startswith(b"\x89PNG") and len(png) < 60_000
    assert "<table" in html and "02.psi" in html and "2026-03-01 09:30 UTC" in html and "3/5" in html
    assert html.startswith("<p>Of the ")
    text = str(progress(lesson="02", path=path))
    assert text.startswith("Of the ") and "02.psi" in text


def test_the_plot_refuses_something_that_is_not_axes(path):
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        progress(path=path).plot(ax="top left")


# --- the package's promises --------------------------------------------------------------------


def _run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_course_lib_progress_is_the_function_whatever_was_imported_first():
    out = _run_python(
        "import sys\n"
        "import course_lib.grading.progress\n"
        "print('pandas' in sys.modules, 'matplotlib' in sys.modules)\n"
        "import course_lib\n"
        "print(course_lib.progress is course_lib.grading.progress.progress)\n"
        "print('progress' in dir(course_lib))\n"
    )
    assert out.split() == ["False", "False", "True", "True"]


# --- in a real kernel --------------------------------------------------------------------------


def test_two_checks_in_a_notebook_then_progress(monkeypatch, tmp_path):
    # The kernel inherits the environment: without the variable it uses its working folder,
    # the notebook's, as in JupyterLab.
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(source)
        for source in (
            "import numpy as np\nimport course_lib\nfrom course_lib.grading import check",
            "def windowed_mean(values, window):\n"
            "    usable = len(values) // window * window\n"
            "    return np.asarray(values[:usable], dtype=float).reshape(-1, window).mean(axis=1)",
            'check("01.windowed_mean", windowed_mean)',
            "prior_correction = lambda *args, **kwargs: -1.5",
            'check("01.prior_correction", prior_correction)',
            'report = course_lib.progress(lesson="01")\n'
            'print(dict(zip(report.table["exercise"], report.table["status"])))',
            "report",
        )
    ]
    node = copy.deepcopy(notebook)
    NotebookClient(node, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(out.get("text", "") for out in node.cells[5].outputs if out.output_type == "stream")
    assert eval(printed) == {  # noqa: S307 - a dict printed by our own cell
        "01.windowed_mean": "passed",
        "01.prior_correction": "failed",
        "01.shift_kind": "not attempted",
        "01.drift_pattern": "not attempted",
        "01.labelled_fraction": "not attempted",
    }
    display = node.cells[6].outputs[0]["data"]
    assert display["text/plain"] == "Progress(lesson='01', passed=1, failed=1, not_attempted=3)"
    assert "data:image/png;base64," in display["text/html"]
    assert set(read_progress(tmp_path / FILE_NAME)) == {"01.windowed_mean", "01.prior_correction"}
    # No warning about saving in any cell.
    assert not any(out.get("name") == "stderr" for cell in node.cells for out in cell.outputs)

"""Command line for course authors and instructors: ``python -m course_lib.grading COMMAND``.

Commands
--------
student   regenerate the student notebooks from notebooks/solutions/ (``make student``);
          ``--check`` only reports stale ones and exits 1 if any.
release   write the hand-out (student notebooks, a README, the course_lib wheel) into OUT/students
          and the grading manifest into OUT/instructor (``make release``); ``--assignments
          FOLDER`` releases an instructor's own assignments (docs/instructor-assignments.md).
scaffold  start an assignment's exercise as a variant of a lesson's (registry entry, notebook
          cells, a test) in an instructor's course folder.
grade     grade every notebook under a folder of submissions into a results folder: gradebook,
          per-student feedback, Gradescope results.json, class summary (``make grade``);
          ``--roster``, ``--adjustments``, ``--due``, ``--late-penalty`` for the term.
gradescope  build a Gradescope autograder zip from a release.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _student(args: argparse.Namespace) -> int:
    from course_lib.grading.notebooks import stale_student_notebooks, write_student_notebooks

    if args.check:
        stale = stale_student_notebooks(args.root)
        for path in stale:
            print(f"stale: {path} (run `make student`)")
        return 1 if stale else 0
    changed = write_student_notebooks(args.root)
    for path in changed:
        print(f"wrote {path}")
    if not changed:
        print("student notebooks are up to date")
    return 0


def _release(args: argparse.Namespace) -> int:
    from course_lib.grading.assignments import AssignmentError, find_leaks, load_course
    from course_lib.grading.notebooks import NotebookFormatError
    from course_lib.grading.release import (
        build_assignments_release,
        build_release,
        build_wheel,
        unreleased_exercises,
        write_release,
    )

    try:
        if args.assignments:
            course = load_course(args.assignments)
            release, warnings = build_assignments_release(course)
            secrets = course.exercises()
        else:
            release = build_release(args.root / "notebooks" / "solutions", args.lesson or None)
            warnings = [
                f"exercise {ident} is registered but no notebook cell carries it"
                for ident in unreleased_exercises(release)
            ]
            secrets = []
        withheld = None
        if args.answers_withheld and not args.assignments:
            release, withheld, secrets = _withhold_answers(release, args)
        wheel = args.wheel
        if wheel is None and not args.no_wheel:
            args.out.mkdir(parents=True, exist_ok=True)
            wheel = build_wheel(args.out, package=withheld)
    except (AssignmentError, NotebookFormatError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        written = write_release(release, args.out, wheel=wheel, site=args.site)
    finally:
        if wheel is not None and args.wheel is None:
            wheel.unlink(missing_ok=True)  # built into OUT for the copy; it lives in OUT/students
    for path in written:
        print(f"wrote {path}")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    leaks = find_leaks(args.out, secrets)
    for leak in leaks:
        print(f"error: the release leaks an answer: {leak}", file=sys.stderr)
    return 1 if leaks else 0


def _withhold_answers(release, args: argparse.Namespace):
    """The lessons' release with their exercises frozen, the course_lib copy without their
    answers (for the wheel), and the exercises whose code must not leak."""
    import atexit
    import shutil
    import tempfile

    from course_lib.grading.assignments import selfcheck_data, withheld_handout
    from course_lib.grading.registry import get_exercise
    from course_lib.grading.release import Release

    folder = tempfile.mkdtemp(prefix="course-lib-handout-")
    atexit.register(shutil.rmtree, folder, True)
    copy = withheld_handout(folder, sorted(release.lessons))
    exercises = [get_exercise(item.id) for lesson in release.lessons.values() for item in lesson.exercises]
    return Release(release.lessons, selfcheck_data(exercises, from_lesson_module=True)), copy, exercises


def _scaffold(args: argparse.Namespace) -> int:
    from course_lib.grading.assignments import scaffold

    try:
        written = scaffold(args.source, args.new, args.assignments, root=args.root, title=args.title)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


def _load_assignments(args: argparse.Namespace) -> int | None:
    """Load ``--assignments`` for grading; an exit code when it cannot be loaded."""
    from course_lib.grading.assignments import AssignmentError, load_course

    try:
        load_course(args.assignments)
    except AssignmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return None


def _default_release(args: argparse.Namespace):
    """The release to grade against when no ``--release`` is given: rebuilt from the sources."""
    from course_lib.grading.release import build_assignments_release, build_release

    if getattr(args, "assignments", None):
        from course_lib.grading.assignments import load_course

        return build_assignments_release(load_course(args.assignments))[0]
    return build_release(args.root / "notebooks" / "solutions")


def _grade(args: argparse.Namespace) -> int:
    from course_lib.grading.autograder import grade
    from course_lib.grading.release import read_release
    from course_lib.grading.sandbox import Limits

    from course_lib.grading.roster import Adjustments, Roster, Term, parse_due

    if args.assignments and (failed := _load_assignments(args)) is not None:
        return failed
    release = read_release(args.release) if args.release else _default_release(args)
    from course_lib.grading.assignments import AssignmentError, graders_problems

    try:
        for warning in graders_problems(release):
            print(f"warning: {warning}", file=sys.stderr)
    except AssignmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        term = Term(
            roster=Roster.read(args.roster) if args.roster else None,
            adjustments=Adjustments.read(
                args.adjustments, [item.id for lesson in release.lessons.values() for item in lesson.exercises]
            )
            if args.adjustments
            else Adjustments(),
            due=parse_due(args.due) if args.due else None,
            late_penalty=args.late_penalty,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    limits = Limits(
        exercise_seconds=args.timeout,
        submission_seconds=args.submission_timeout,
        memory_mb=args.memory_mb,
        sandbox=args.sandbox,
    )

    def progress(record, reused: bool) -> None:
        note = " (unchanged, reused)" if reused else ""
        flags = f" [{'; '.join(record.flags)}]" if record.flags else ""
        score = f"{record.final_score:g}/{record.max_score:g}"
        if record.late:
            flags += " (late)"
        print(f"{record.student} · lesson {record.lesson}: {score} {record.status}{flags}{note}", flush=True)

    from course_lib.grading.runner import SandboxUnavailable

    try:
        run = grade(
            args.submissions,
            args.out,
            release=release,
            seed=args.seed,
            limits=limits,
            workers=args.workers,
            force=args.force,
            lesson=args.lesson,
            progress=progress,
            term=term,
        )
    except SandboxUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"graded {len(run.records)} submissions with seed {run.seed} in {run.seconds:.1f} s; results in {args.out}")
    from course_lib.grading.roster import unmatched_adjustments

    for item in unmatched_adjustments(term, run.records):
        print(
            f"warning: the adjustment of {item.exercise} for {item.student!r} was not applied: no submission "
            "and not on the roster (a typo in the student id?)",
            file=sys.stderr,
        )
    if not run.submissions_unchanged:
        print("error: the submissions folder changed during grading", file=sys.stderr)
        return 1
    return 1 if any(record.status == "grader error" for record in run.records) else 0


def _gradescope(args: argparse.Namespace) -> int:
    from course_lib.grading.gradescope import build_autograder
    from course_lib.grading.release import read_release
    from course_lib.grading.sandbox import Limits

    if args.assignments and (failed := _load_assignments(args)) is not None:
        return failed
    release = read_release(args.release) if args.release else _default_release(args)
    limits = Limits(exercise_seconds=args.timeout, submission_seconds=args.submission_timeout, memory_mb=args.memory_mb)
    try:
        path = build_autograder(
            release, args.out, seed=args.seed, lesson=args.lesson, limits=limits, assignments=args.assignments
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}: upload it on Gradescope's Configure Autograder page (Ubuntu 24.04 base image)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_lib.grading", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="regenerate the student notebooks")
    student.add_argument("--root", type=Path, default=Path("."), help="the course repository (default: .)")
    student.add_argument("--check", action="store_true", help="report stale notebooks and exit 1 if any")
    student.set_defaults(run=_student)

    release = commands.add_parser("release", help="write the student notebooks and the grading manifest")
    release.add_argument("--out", type=Path, required=True, help="folder to write the release into")
    release.add_argument("--root", type=Path, default=Path("."), help="the course repository (default: .)")
    release.add_argument("--lesson", action="append", help="release only this lesson (repeatable), e.g. 02")
    release.add_argument(
        "--assignments", type=Path, help="release the assignments of this course folder (exercises.py, NN_*.ipynb)"
    )
    release.add_argument("--wheel", type=Path, help="the course_lib wheel to include (default: build it)")
    release.add_argument("--no-wheel", action="store_true", help="include no course_lib wheel")
    release.add_argument("--site", help="the address of the course site, for the students' README")
    release.add_argument(
        "--answers-withheld",
        action="store_true",
        help="for the course's lessons: a hand-out whose course_lib wheel lacks the lessons' answers "
        "(an instructor's assignments never ship theirs)",
    )
    release.set_defaults(run=_release)

    scaffolding = commands.add_parser(
        "scaffold", help="start an assignment's exercise as a variant of a lesson's exercise"
    )
    scaffolding.add_argument("source", help="the lesson's exercise to start from, e.g. 02.psi")
    scaffolding.add_argument("new", help="the new exercise's id, e.g. 11.psi_deciles (11 and up: not a lesson)")
    scaffolding.add_argument("--assignments", type=Path, required=True, help="the course folder to write into")
    scaffolding.add_argument("--title", help="the new exercise's title (default: the lesson's, marked a variant)")
    scaffolding.add_argument(
        "--root", type=Path, default=Path("."), help="the course repository, for the lesson's cells (default: .)"
    )
    scaffolding.set_defaults(run=_scaffold)

    grading = commands.add_parser("grade", help="grade a folder of submitted notebooks")
    grading.add_argument(
        "submissions", type=Path, help="folder of .ipynb files (one per student, or one folder per student)"
    )
    grading.add_argument("--out", type=Path, required=True, help="results folder (must not be inside SUBMISSIONS)")
    grading.add_argument("--release", type=Path, help="a folder written by `release` (default: release from --root)")
    grading.add_argument(
        "--assignments", type=Path, help="the course folder of the released assignments (their references)"
    )
    grading.add_argument("--root", type=Path, default=Path("."), help="the course repository (default: .)")
    grading.add_argument(
        "--seed", type=int, help="grading seed of the hidden cases (default: the last run's, else random)"
    )
    grading.add_argument(
        "--lesson", help="grade only this lesson; notebooks of other lessons are marked 'wrong lesson'"
    )
    grading.add_argument("--force", action="store_true", help="regrade submissions that have not changed")
    grading.add_argument("--workers", type=int, default=2, help="submissions graded at once (default: 2)")
    grading.add_argument("--timeout", type=float, default=60.0, help="seconds per exercise or cell (default: 60)")
    grading.add_argument(
        "--submission-timeout", type=float, default=600.0, help="seconds per submission (default: 600)"
    )
    grading.add_argument(
        "--memory-mb", type=int, default=2048, help="MB of memory per submission beyond the libraries (default: 2048)"
    )
    grading.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "fallback"),
        default="auto",
        help=(
            "bwrap: bubblewrap (fails if it cannot run); fallback: without it (as an ordinary user: limits "
            "only); auto (default): bwrap where it runs, else the fallback as root, else an error"
        ),
    )
    grading.add_argument(
        "--roster",
        type=Path,
        help="CSV of the class: student_id, name, lms_id, match (a file-name pattern or folder of the student)",
    )
    grading.add_argument(
        "--adjustments",
        type=Path,
        help="CSV of manual adjustments: student, exercise, points (new score) or delta (change), comment",
    )
    grading.add_argument(
        "--due",
        help="due time (ISO 8601, e.g. 2026-10-05T23:59-04:00): files modified after it are late "
        "(Canvas downloads: Canvas's LATE marker decides)",
    )
    grading.add_argument(
        "--late-penalty",
        type=float,
        default=0.0,
        help="fraction of a late submission's score taken off (default: 0, late work is only flagged)",
    )
    grading.set_defaults(run=_grade)

    gradescope = commands.add_parser("gradescope", help="build a Gradescope autograder zip from a release")
    gradescope.add_argument("--out", type=Path, required=True, help="the zip to write, e.g. autograder.zip")
    gradescope.add_argument("--release", type=Path, help="a folder written by `release` (default: release from --root)")
    gradescope.add_argument("--root", type=Path, default=Path("."), help="the course repository (default: .)")
    gradescope.add_argument("--lesson", help="the lesson of the Gradescope assignment, e.g. 02")
    gradescope.add_argument(
        "--assignments", type=Path, help="the course folder of an instructor's own assignments (exercises.py, NN_*.ipynb)"
    )
    gradescope.add_argument("--seed", type=int, help="grading seed of the hidden cases (default: random, kept in the zip)")
    gradescope.add_argument("--timeout", type=float, default=60.0, help="seconds per exercise or cell (default: 60)")
    gradescope.add_argument(
        "--submission-timeout", type=float, default=600.0, help="seconds per submission (default: 600)"
    )
    gradescope.add_argument("--memory-mb", type=int, default=2048, help="MB of memory per submission (default: 2048)")
    gradescope.set_defaults(run=_gradescope)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

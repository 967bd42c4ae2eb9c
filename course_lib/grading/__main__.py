"""Command line for course authors and instructors: ``python -m course_lib.grading COMMAND``.

Commands
--------
student   regenerate the student notebooks from notebooks/solutions/ (``make student``);
          ``--check`` only reports stale ones and exits 1 if any.
release   write the student notebooks and a manifest (exercise ids, points, checksums of the
          other cells) for the instructor to hand out (``make release``).
grade     grade every notebook under a folder of submissions into a results folder: gradebook,
          per-student feedback, Gradescope results.json, class summary (``make grade``).
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
    from course_lib.grading.release import build_release, unreleased_exercises, write_release

    release = build_release(args.root / "notebooks" / "solutions", args.lesson or None)
    for path in write_release(release, args.out):
        print(f"wrote {path}")
    for ident in unreleased_exercises(release):
        print(f"warning: exercise {ident} is registered but no notebook cell carries it", file=sys.stderr)
    return 0


def _grade(args: argparse.Namespace) -> int:
    from course_lib.grading.autograder import grade
    from course_lib.grading.release import build_release, read_release
    from course_lib.grading.sandbox import Limits

    release = read_release(args.release) if args.release else build_release(args.root / "notebooks" / "solutions")
    limits = Limits(
        exercise_seconds=args.timeout,
        submission_seconds=args.submission_timeout,
        memory_mb=args.memory_mb,
        sandbox=args.sandbox,
    )

    def progress(record, reused: bool) -> None:
        note = " (unchanged, reused)" if reused else ""
        flags = f" [{'; '.join(record.flags)}]" if record.flags else ""
        score = f"{record.score:g}/{record.max_score:g}"
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
        )
    except SandboxUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"graded {len(run.records)} submissions with seed {run.seed} in {run.seconds:.1f} s; results in {args.out}")
    if not run.submissions_unchanged:
        print("error: the submissions folder changed during grading", file=sys.stderr)
        return 1
    return 1 if any(record.status == "grader error" for record in run.records) else 0


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
    release.set_defaults(run=_release)

    grading = commands.add_parser("grade", help="grade a folder of submitted notebooks")
    grading.add_argument(
        "submissions", type=Path, help="folder of .ipynb files (one per student, or one folder per student)"
    )
    grading.add_argument("--out", type=Path, required=True, help="results folder (must not be inside SUBMISSIONS)")
    grading.add_argument("--release", type=Path, help="a folder written by `release` (default: release from --root)")
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
        help="bwrap: bubblewrap (root; fails if missing); fallback: without it; auto (default): bwrap when possible",
    )
    grading.set_defaults(run=_grade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

"""Command line for course authors and instructors: ``python -m course_lib.grading COMMAND``.

Commands
--------
student   regenerate the student notebooks from notebooks/solutions/ (``make student``);
          ``--check`` only reports stale ones and exits 1 if any.
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_lib.grading", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="regenerate the student notebooks")
    student.add_argument("--root", type=Path, default=Path("."), help="the course repository (default: .)")
    student.add_argument("--check", action="store_true", help="report stale notebooks and exit 1 if any")
    student.set_defaults(run=_student)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

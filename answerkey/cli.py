"""The `answerkey` command: build keys, list assignments, make terms, grade answers."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from . import fastpath
from .errors import AnswerkeyError, EnvironmentProblem, UsageError, environment_problem, printable

# The build pipeline, the grader and the terms import SymPy (slow): they are
# imported where used, so a no-op build can answer without them (`fastpath`).


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="answerkey", description="Verified answer keys for pen-and-paper exercises.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    b = sub.add_parser("build", help="verify and write keys and handouts")
    b.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    b.add_argument(
        "--format", default=None, help="comma-separated: tex,md,html,pdf,json (default: all)"
    )
    b.add_argument(
        "--term", default="default", help="term name (terms/NAME.toml); default: default"
    )
    b.add_argument("--out", default="build", type=Path, help="output root (default: build)")
    b.add_argument(
        "--variants", type=int, default=0, metavar="N", help="N per-student variants too"
    )
    b.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    b.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also why each directory is rebuilt, per-part times and proofs from the cache",
    )
    b.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes (default: cores)",
    )
    w = sub.add_parser("watch", help="build, then rebuild whenever a source file changes")
    w.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    w.add_argument("--term", default="default", help="term name (terms/NAME.toml)")
    w.add_argument("--format", default=None, help="comma-separated formats (default: all)")
    w.add_argument("--out", default="build", type=Path, help="output root (default: build)")
    w.add_argument("-j", "--jobs", type=int, default=None, metavar="N", help="worker processes")
    pb = sub.add_parser(
        "publish", help="build a term and write the students' tree and zip (handouts only)"
    )
    pb.add_argument("term", metavar="TERM", help="term name (terms/NAME.toml) or default")
    pb.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    _roster_options(pb)
    pb.add_argument("--shard", metavar="K/N", help="build only the K-th of N slices")
    pb.add_argument(
        "--merge", action="store_true", help="build nothing: gather the shards' directories"
    )
    pb.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    sv = sub.add_parser(
        "show-variant", help="rebuild exactly what one student of a roster was handed"
    )
    sv.add_argument("term", metavar="TERM")
    sv.add_argument("student", metavar="STUDENT", help="the student's id in the roster")
    _roster_options(sv, required=True)
    sv.add_argument(
        "--to", type=Path, metavar="DIR", help="where (default: <out>/show-variant/...)"
    )
    sub.add_parser("list", help="list assignments and their part ids")
    cl = sub.add_parser(
        "clean", help="remove the output root (build/), refused while a build runs there"
    )
    cl.add_argument("--out", default="build", type=Path, help="output root (default: build)")
    c = sub.add_parser("check", help="grade a claimed answer (LaTeX) against the key")
    c.add_argument("assignment", nargs="?", metavar="ASSIGNMENT")
    c.add_argument("part", nargs="?", metavar="PART")
    c.add_argument(
        "--answer", metavar="LATEX", help="the claimed answer, e.g. '-tW(1-\\sigma(Wx))'"
    )
    c.add_argument(
        "--quantity", metavar="LATEX", help="which of the part's answers, e.g. '\\frac{dL}{dw_1}'"
    )
    c.add_argument(
        "--update",
        type=int,
        metavar="K",
        help="with --quantity naming a trace's number: which update (from 1)",
    )
    c.add_argument("--claims", type=Path, metavar="FILE.toml", help="check a list of claims")
    c.add_argument(
        "-j", "--jobs", type=int, default=None, metavar="N", help="with --claims: worker processes"
    )
    c.add_argument("--term", default="default")
    c.add_argument("--variant", type=int, default=0, metavar="K")
    g = sub.add_parser(
        "grade", help="grade a class's answers: points, feedback per student, a grades CSV"
    )
    g.add_argument("assignment", metavar="ASSIGNMENT")
    g.add_argument(
        "answers",
        type=Path,
        metavar="ANSWERS",
        help="a directory of claims files (<student>.toml) or one CSV (student, part, answer)",
    )
    g.add_argument(
        "--out", type=Path, default=None, help="output directory (default: build/grades/ASSIGNMENT)"
    )
    g.add_argument("--term", default="default")
    g.add_argument("--variant", type=int, default=0, metavar="K")
    g.add_argument(
        "--layout",
        choices=("accept", "refuse"),
        default=None,
        help="override the assignment's policy for answers equal up to layout",
    )
    g.add_argument("-j", "--jobs", type=int, default=None, metavar="N", help="worker processes")
    x = sub.add_parser("export", help="a built term's numeric answers as Moodle XML or QTI 2.1")
    x.add_argument("term", metavar="TERM")
    x.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    x.add_argument("--format", required=True, choices=("moodle", "qti"), dest="lms_format")
    x.add_argument("--out", required=True, type=Path, metavar="FILE", help=".xml or .zip")
    x.add_argument("--root", default="build", type=Path, help="the build's root (default: build)")
    nt = sub.add_parser("new-term", help="write terms/NAME.toml with fresh numbers from a seed")
    nt.add_argument("name")
    nt.add_argument("--seed", type=int, required=True)
    nt.add_argument("--course", default="")
    nt.add_argument("--label", default=None)
    nt.add_argument("--force", action="store_true", help="replace an existing file")
    ne = sub.add_parser(
        "new-exercise", help="write solutions/NAME.py (a working exercise to edit) and its test"
    )
    ne.add_argument("name", metavar="NAME")
    k = sub.add_parser(
        "cache", help="the build's cache (build/.cache): its size; --prune or --clear it"
    )
    what = k.add_mutually_exclusive_group()
    what.add_argument(
        "--prune",
        action="store_true",
        help="evict the least recently used entries down to the bound ($ANSWERKEY_CACHE_MB)",
    )
    what.add_argument("--clear", action="store_true", help="remove every entry")
    k.add_argument("--max-mb", type=float, default=None, metavar="MB", help="bound for --prune")
    k.add_argument("--out", default="build", type=Path, help="output root (default: build)")
    return p


def _roster_options(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument(
        "--roster", type=Path, required=required, metavar="FILE.csv", help="students, one a row"
    )
    p.add_argument(
        "--columns",
        default=None,
        metavar="ROLE=NAME,...",
        help="the roster's column names (default: id=id,name=name,email=email,variant=variant)",
    )
    p.add_argument(
        "--variants",
        type=int,
        default=0,
        metavar="N",
        help="N variants (with a roster: the pool students are spread over; the term "
        "file's `pool` if it has one, else default 40)",
    )
    p.add_argument("--format", default=None, help="comma-separated formats (default: all)")
    p.add_argument("--out", default="build", type=Path, help="output root (default: build)")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N", help="worker processes")


def _publish(args: argparse.Namespace) -> int:
    """`answerkey publish` and `answerkey show-variant` (students.py)."""
    from . import build as pipeline
    from . import students
    from .roster import parse_columns

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    formats = pipeline.parse_formats(args.format)
    columns = parse_columns(args.columns)
    _writable_out(args.out)
    if args.command == "show-variant":
        _, differ = students.show_variant(
            args.term,
            args.student,
            args.roster,
            columns=columns,
            variants=args.variants,
            formats=formats,
            out_root=args.out,
            to=args.to,
            report=_progress,
            workers=args.jobs,
        )
        if differ:
            print(f"differs from what the roster index records as handed out: {' '.join(differ)}")
            return 1
        return 0
    students.publish_term(
        args.term,
        args.assignments,
        formats,
        args.out,
        roster=args.roster,
        columns=columns,
        variants=args.variants,
        shard=students.parse_shard(args.shard),
        merge=args.merge,
        report=(lambda _m: None) if args.quiet else _progress,
        workers=args.jobs,
    )
    return 0


def _progress(message: str) -> None:
    print(message, flush=True)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends a build like Ctrl-C: temporary files are removed on the way out."""
    raise KeyboardInterrupt


def _join_answer(argv: list[str]) -> list[str]:
    """`--answer -tW` as `--answer=-tW`: an answer may start with a minus sign."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in ("--answer", "--quantity") and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def _check(args: argparse.Namespace) -> int:
    """exit 0 correct, 1 incorrect (with a counterexample), 2 unreadable or bad usage."""
    if args.claims is not None:
        if args.answer is not None or args.part is not None:
            raise UsageError("--claims checks a whole file: give no PART or --answer with it")
        from . import check, gradebook

        if args.jobs is not None and args.jobs < 1:
            raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
        rows = gradebook.grade_claims_file(
            args.claims, args.assignment, args.term, args.variant, args.jobs
        )
        print(check.table(rows))
        # 2 when any claim is unreadable, else 1 when any is incorrect, else 0 (README)
        return max((v.exit_code for _, v in rows), default=0)
    if args.assignment is None or args.part is None or args.answer is None:
        raise UsageError(
            "usage: answerkey check ASSIGNMENT PART --answer 'LATEX' (or --claims FILE)"
        )
    from . import check

    if args.update is not None and args.update < 1:
        raise UsageError(f"--update must be >= 1, got {args.update}")
    verdict = check.grade_one(
        args.assignment,
        args.part,
        args.answer,
        args.term,
        args.variant,
        args.quantity,
        args.update,
    )
    print("\n".join(verdict.lines()))
    return verdict.exit_code


def _grade(args: argparse.Namespace) -> int:
    """Grade a class: exit 0 when everything was graded (whatever the verdicts)."""
    from . import feedback, gradebook
    from .submissions import load_submissions

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    out = args.out or Path("build") / "grades" / args.assignment
    _writable_out(out)
    submissions = load_submissions(args.answers)
    book = gradebook.grade_class(
        args.assignment, submissions, args.term, args.variant, args.jobs, args.layout
    )
    feedback.write(book, out)
    rate = book.distinct / book.seconds if book.seconds > 0 else float("inf")
    print(
        f"graded {book.answers} answers ({book.distinct} distinct) of "
        f"{len(book.students)} students in {book.seconds:.1f} s ({rate:.0f} distinct answers/s)"
    )
    print(f"wrote {out / 'grades.csv'}, {out / 'verdicts.csv'} and {out / 'feedback'}/")
    return 0


def _writable_out(out: Path) -> None:
    """Refuse an output root that cannot be written before computing anything (a
    read-only disk, a file such as /etc/passwd, a name the system refuses), without
    creating anything yet."""
    at = out.absolute()
    while not at.exists():  # ENAMETOOLONG surfaces here as an OSError (exit 3)
        at = at.parent
    if not at.is_dir():
        raise EnvironmentProblem(f"--out {out}: {at} is not a directory")
    if not os.access(at, os.W_OK):
        raise EnvironmentProblem(f"--out {out}: {at} is not writable (read-only or no permission)")


def _watch(args: argparse.Namespace) -> int:
    """Build, then rebuild on every change to a module, template, term or claims file."""
    from . import watch

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    build_args = [*args.assignments, "--term", args.term, "--out", str(args.out)]
    if args.format:
        build_args += ["--format", args.format]
    if args.jobs:
        build_args += ["--jobs", str(args.jobs)]
    return watch.watch(build_args, args.term, Path("terms"), report=_progress)


def _cache(args: argparse.Namespace) -> int:
    from . import store

    root = args.out / ".cache"
    if args.max_mb is not None and not (args.prune and 0 <= args.max_mb < 1e9):
        raise UsageError("--max-mb takes a size in MB (at least 0), with --prune")
    if args.clear:
        store.clear(root)
        print(f"cache: {root} cleared")
        return 0
    bound = store.limit() if args.max_mb is None else int(args.max_mb * 1024 * 1024)
    if args.prune:
        print(store.prune(root, bound).describe())
        return 0
    print(store.usage(root).describe(bound))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; every error is one line on stderr and an exit code (README).
    Called in a program's main thread, it handles SIGTERM and SIGINT while it runs and
    gives the program its own handlers back when it returns."""
    argv = sys.argv[1:] if argv is None else argv
    if threading.current_thread() is not threading.main_thread():
        return _run(argv)
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C interrupts even when the caller left SIGINT ignored (a POSIX shell starts
    # background commands so when job control is off), as the README promises
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _run(argv)
    finally:
        for sig, handler in before.items():
            if handler is not None:  # None: set from C, cannot be put back from Python
                signal.signal(sig, handler)


def _run(argv: list[str]) -> int:
    parsed = False
    try:
        args = parser().parse_args(_join_answer(argv))
        parsed = True
        if args.command == "list":
            return _list(argv)
        if args.command == "build":
            if args.quiet and args.verbose:
                raise UsageError("--quiet and --verbose exclude each other")
            if args.jobs is not None and args.jobs < 1:
                raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
            report = (lambda _m: None) if args.quiet else _progress
            _writable_out(args.out)
            request = {
                "assignments": sorted(args.assignments),
                "formats": args.format or "",
                "term": args.term,
                "variants": args.variants,
                "out": str(args.out.resolve()),
            }
            terms_dir = Path("terms")
            # the inputs as the build starts: what its outputs are recorded as built from
            inputs = fastpath.fingerprint(request, terms_dir)
            if not args.verbose and fastpath.up_to_date(
                request, args.out, terms_dir, report, inputs
            ):
                return 0
            if not args.format or "pdf" in args.format:
                from . import pdf

                pdf.start_tex_format(args.out / ".cache" / "tex")
            from . import build as pipeline

            formats = pipeline.parse_formats(args.format)

            def remember() -> None:
                path_like = "/" in args.term or args.term.endswith(".toml")
                if path_like:
                    from .terms import term_name_of

                    term_name = term_name_of(Path(args.term), terms_dir)
                else:
                    term_name = args.term
                fastpath.remember(request, args.out, terms_dir, term_name, inputs)

            pipeline.build(
                args.assignments,
                formats,
                args.term,
                args.out,
                report,
                variants=args.variants,
                verbose=_progress if args.verbose else None,
                workers=args.jobs,
                on_published=remember,
            )
            return 0
        if args.command == "watch":
            return _watch(args)
        if args.command == "cache":
            return _cache(args)
        if args.command == "clean":
            from .publish import clean

            if clean(args.out):
                print(f"removed {args.out}/")
            return 0
        if args.command in ("publish", "show-variant"):
            return _publish(args)
        if args.command == "check":
            return _check(args)
        if args.command == "grade":
            return _grade(args)
        if args.command == "export":
            from . import lms

            _writable_out(args.out.parent)
            n, q = lms.export(args.root / args.term, args.assignments, args.lms_format, args.out)
            print(f"wrote {args.out}: {q} questions ({n} answers)")
            return 0
        if args.command == "new-exercise":
            from .kit.scaffold import new_exercise, project_root

            for path in new_exercise(args.name, project_root()):
                print(f"wrote {path}")
            return 0
        if args.command == "new-term":
            from .errors import ModuleError
            from .registry import broken, discover
            from .terms import new_term

            found = discover()
            if broken(found):  # a term with every assignment, or none
                raise ModuleError("\n".join(str(e) for e in broken(found)))
            path = new_term(
                args.name,
                args.seed,
                found,
                course=args.course,
                label=args.label,
                overwrite=args.force,
            )
            print(f"wrote {path}")
            return 0
    except AnswerkeyError as exc:
        return _fail(exc.exit_code, str(exc), argv, trace=False)
    except OSError as exc:
        return _fail(3, str(environment_problem(exc)), argv)
    except RecursionError:
        return _fail(2, "input nested too deeply to read", argv)
    except SystemExit as exc:
        if not parsed:  # argparse: --help
            raise
        # past parsing only an exercise's code exits (sandbox.guarded catches it where
        # it knows the module): never the tool's own outcome, "correct" least of all
        message = (
            f"a solution module called sys.exit({exc.code!r}); a solution module must not exit"
        )
        return _fail(1, message, argv, trace=False)
    except MemoryError:
        return _fail(3, "out of memory", argv)
    except KeyboardInterrupt:
        print("answerkey: interrupted; no partial output was left", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, the traceback with --verbose
        return _fail(1, f"internal error: {type(exc).__name__}: {exc}", argv)
    return 0


def _fail(code: int, message: str, argv: list[str], trace: bool = True) -> int:
    """Print the error (control characters escaped); the traceback only with --verbose."""
    if trace and "--verbose" in argv:
        import traceback

        traceback.print_exc()
    elif code == 1 and message.startswith("internal error"):
        message += " (run with --verbose for the traceback)"
    for line in message.split("\n") or [""]:
        print(f"answerkey: error: {printable(line)}", file=sys.stderr)
    return code


def _list(argv: list[str]) -> int:
    """Each assignment and its part ids; a broken module is one error line (exit 1) and
    does not hide the others."""
    from .registry import broken, discover

    found = discover()
    errors: list[AnswerkeyError] = list(broken(found))
    for module in found.values():
        try:
            assignment = module.build(module.parameters)
        except AnswerkeyError as exc:
            errors.append(exc)
            continue
        ids = " ".join(p.id for p in assignment.parts())
        print(f"{module.id}: {module.title} — parts {ids}", flush=True)
    for error in errors:
        _fail(error.exit_code, str(error), argv, trace=False)
    return max((error.exit_code for error in errors), default=0)


def run() -> None:
    """The `answerkey` command: main(), then exit at once.

    Everything is written and every worker joined when main() returns, so the
    interpreter's teardown (freeing SymPy's caches, a tenth of a second or more
    after a build) would only delay the prompt."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":
    run()

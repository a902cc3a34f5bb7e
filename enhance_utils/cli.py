"""The ``enhance`` command line.

Each subcommand is a thin wrapper over a function of the package:

``enhance fetch [--verify] [PATH ...]``, ``enhance fetch --chapter NN [--profile P]``
    download (and unpack) the registry's files, or only what one chapter reads, or check an
    existing tree;
``enhance annotations --out DIR``
    the long table, per-lesion scores, problem report and Table 2 counts as CSV;
``enhance abc --dataset {isic2017,ph2} --feature {A,B,C} --mode {published,described} --out FILE``
    the automated ABC scores of chapter 03, one row per lesion;
``enhance stats --out DIR [--resamples N] [--seed S]``
    correlation with the label (Table 3), agreement between sources (Fig. 5) and
    within-source reliability as CSV;
``enhance train --profile smoke|cpu|paper|lite|lite-cv [--arch ...] [--targets ...] [--splits ...]``
    train the grid of baseline and multi-task models; finished runs are skipped; ``--jobs N``
    runs side by side on this machine (default: as many as its CPUs hold),
    ``--executor ray [--address ADDR]`` trains on a Ray cluster, ``--list-runs`` and
    ``--run KEY`` split the grid over a batch system's jobs (``--run`` exits with
    :data:`EXIT_CLAIMED` when another trainer holds that run, naming it);
``enhance report [--profile smoke|cpu|paper] --out DIR``
    Tables 5 and 4 with ensembles, and paired comparisons, from the experiment store of a
    profile (default: the committed ``cpu`` store the book shows);
``enhance book [--profile smoke|cpu|paper]``
    execute every chapter with papermill and render the HTML.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

from . import __version__, options
from .profiles import PROFILES


class _Lazy:
    """A module of this package, imported on first use: ``enhance --help`` and ``--version``
    then start without pandas or SciPy (see ``benchmarks/bench_cli_startup.py``)."""

    def __init__(self, name: str):
        self._name = f"{__package__}.{name}"

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


agreement, annotations, bootstrap, paths, correlation, fetch, registry = (
    _Lazy(name) for name in ("stats.agreement", "data.annotations", "stats.bootstrap",
                             "data.paths", "stats.correlation", "data.fetch", "data.registry"))


#: exit code of ``enhance train --run KEY`` that trained nothing because another trainer holds
#: the run (EX_TEMPFAIL: try again later)
EXIT_CLAIMED = 75


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch system's time limit, ``kill``), raised like Ctrl-C's
    KeyboardInterrupt so that every claim and temporary folder is released on the way out."""


@contextlib.contextmanager
def terminate_as_interrupt():
    """While in this block, SIGTERM raises :class:`Terminated` in the main thread (the handler
    before it is restored at the end); in another thread, which cannot set signal handlers,
    nothing changes."""
    def raise_terminated(signum, frame):
        raise Terminated(f"signal {signum}")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def profile_choices() -> tuple[str, ...]:
    """The ``--profile`` choices of every command: :data:`enhance_utils.profiles.PROFILES`
    as it is when the parser is built (tests add profiles of their own)."""
    return tuple(PROFILES)


def input_errors() -> tuple[type[Exception], ...]:
    """Errors of a command's input (files, arguments, downloads) that end it with one
    ``error:`` line and exit code 2 (:mod:`~enhance_utils.data.fetch` is imported only here)."""
    return (fetch.FetchError, OSError, ValueError)


def _refuse(err: Exception) -> int:
    """Print ``error: <message>`` on stderr (no traceback) and return exit code 2."""
    print(f"error: {err}", file=sys.stderr)
    return 2


def _cmd_fetch(args) -> int:
    if args.verify:
        try:
            report = registry.verify()
        except input_errors() as err:
            return _refuse(err)
        bad = [r for r in report if r["status"] != "ok"]
        for row in bad:
            print(f"{row['status']:8s} {row['path']}  {row['detail']}")
        print(f"{len(report) - len(bad)} of {len(report)} files with a known checksum are ok "
              f"under {paths.data_dir()}")
        return 1 if bad else 0
    try:
        if args.chapter:
            from .book import chapter_data

            from .book import manifest

            root = chapter_data.ensure(manifest.chapter_stem(args.chapter), args.profile)
        else:
            root = fetch.fetch(args.paths or None)
    except input_errors() as err:
        return _refuse(err)
    print(f"data ready under {root}")
    return 0


def _cmd_annotations(args) -> int:
    start = time.perf_counter()
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        ann = annotations.load()
    except input_errors() as err:
        return _refuse(err)
    scores = annotations.per_lesion(ann.long, student_rule=args.student_rule)
    ann.long.to_csv(out / "annotations_long.csv", index=False)
    ann.problems.to_csv(out / "annotation_problems.csv", index=False)
    scores.to_csv(out / "annotations_per_lesion.csv", index=False)
    annotations.table2(scores).to_csv(out / "table2_counts.csv", index=False)
    print(f"{len(ann.long)} annotations, {len(scores)} per-lesion scores, "
          f"{len(ann.problems)} problems reported; wrote {out} in "
          f"{time.perf_counter() - start:.2f} s")
    return 0


def _cmd_stats(args) -> int:
    start = time.perf_counter()
    out = Path(args.out)
    try:
        bootstrap.check_resamples(args.resamples)
        out.mkdir(parents=True, exist_ok=True)
        long = annotations.load().long
        variants = correlation.variants(long, resamples=args.resamples, seed=args.seed)
    except input_errors() as err:
        return _refuse(err)
    paper = variants[variants.variant == "paper"][correlation.TABLE3_COLUMNS]
    paper.to_csv(out / "table3.csv", index=False)
    variants.to_csv(out / "table3_variants.csv", index=False)
    scores = annotations.per_lesion(long)
    agreement.between_sources(scores, args.resamples, args.seed).to_csv(
        out / "agreement.csv", index=False)
    agreement.reliability(long).to_csv(out / "reliability.csv", index=False)
    print(f"correlations, agreement and reliability with {args.resamples} bootstrap resamples "
          f"(seed {args.seed}); wrote {out} in {time.perf_counter() - start:.2f} s")
    return 0


def _cmd_train(args) -> int:
    from . import start_tensorflow_quietly
    from .profiles import get_profile

    # its start-up notes are not this command's output; its pools are the runs' (here)
    start_tensorflow_quietly(get_profile(args.profile).training.threads)
    from .learning import training as experiments, store  # TensorFlow is only imported here

    grid = dict(archs=args.arch, targets=args.targets, seeds=args.splits, kfold=args.kfold,
                results=args.results)
    try:
        if args.list_runs:
            for spec in experiments.missing_runs(args.profile, **grid):
                print(spec.run_id)
            return 0
        runs = experiments.run_grid(args.profile, executor=args.executor, address=args.address,
                                    cpus_per_run=args.cpus_per_run, jobs=args.jobs,
                                    runs=[args.run] if args.run else None, **grid)
    except (ValueError, FileNotFoundError, ImportError, store.StoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except experiments.RunClaimed as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CLAIMED
    summary = runs.groupby(["arch", "model"]).auc.agg(["mean", "std", "count"]).round(3)
    print(summary.to_string())
    return 0


def _cmd_report(args) -> int:
    from .learning import report  # reads the store only: no TensorFlow

    from .learning.store import StoreError

    start = time.perf_counter()
    try:
        tables = report.report(args.profile, args.out, results=args.results)
    except (StoreError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    missing = tables["missing_runs"]
    for row in missing.itertuples():
        print(f"no {row.model} for {row.arch} {row.split}: missing {row.missing}")
    print(f"{len(tables['table5'])} rows in table5, {len(tables['table4'])} in table4, "
          f"{len(tables['paired']) + len(tables['controls'])} paired comparisons (Holm-adjusted "
          f"over each architecture's family), {len(missing)} ensemble splits left out "
          f"for missing runs; wrote {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


def _list(text: str) -> list[str]:
    """Comma-separated items; an empty list is refused (argparse reports it, exit 2)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"{text!r} names nothing")
    return items


def _targets(text: str) -> list[str]:
    """Comma-separated targets or groups (``real``, ``random``/``uniform``, ``permuted``,
    ``joint``, ``baselines``), checked here so that a typo is refused before any training."""
    from .learning import targets

    try:
        return [t.spec for t in targets.expand(_list(text))]
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _positive(text: str) -> int:
    """A whole number of at least 1 (``--workers``, ``--limit``, ``--jobs``); argparse refuses
    others."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _archs(text: str) -> list[str]:
    """Comma-separated architectures, checked here (pandas only): an unknown one is refused
    before TensorFlow is imported, whose start-up lines would precede the error."""
    from .learning.variants import ALL_ARCHS

    archs = _list(text)
    unknown = [a for a in archs if a not in ALL_ARCHS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown architecture(s) {', '.join(unknown)}; "
                                         f"choose from {', '.join(ALL_ARCHS)}")
    return archs


def _run_key(text: str) -> str:
    """A run of the grid as ``arch/target/split``, its form and architecture checked before
    TensorFlow is imported (whether the grid holds it is checked when the grid is built)."""
    parts = text.split("/")
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not arch/target/split, e.g. "
                                         "small/crowd-A/seed1970")
    _archs(parts[0])
    return text


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in _list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"split seeds are integers, got {text!r}") from None


#: the modules of the ``book`` extra that ``enhance book`` imports or runs
BOOK_MODULES = ("nbformat", "nbclient", "papermill", "ipykernel", "yaml", "jupyter_book",
                "sphinx_exercise")


def missing_book_modules() -> list[str]:
    """The modules of :data:`BOOK_MODULES` that cannot be imported here."""
    from importlib.util import find_spec

    return [name for name in BOOK_MODULES if find_spec(name) is None]


def _cmd_book(args) -> int:
    missing = missing_book_modules()
    if missing:
        return _refuse(f"building the book needs the book extra, which lacks "
                       f"{', '.join(missing)} here: pip install \"enhance-utils[book]\", or "
                       "python3 dev.py book in a checkout (it installs everything)")
    from .book import build as book  # papermill and jupyter-book are only needed here

    try:
        training = args.training_profile or book.default_training_profile(args.profile)
        only = [book.manifest.chapter_stem(name) for name in args.only or ()]
        html = book.build(args.profile, out=args.out, only=only or None, training=training,
                          solutions=not args.no_solutions)
    except book.ChapterFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"book ready: {html / 'index.html'}")
    return 0


def _cmd_abc(args) -> int:
    from .abc import runner

    start = time.perf_counter()
    try:
        ids = runner.read_ids(args.ids) if args.ids else None
        frame = runner.compute(args.dataset, args.feature, args.mode, ids=ids,
                               limit=args.limit, workers=args.workers,
                               cache=not args.no_cache)
    except input_errors() as err:
        return _refuse(err)
    runner.to_csv(frame, args.out)
    counts = frame.status.value_counts().to_dict()
    print(f"{len(frame)} lesions ({', '.join(f'{k}: {v}' for k, v in counts.items())}); "
          f"wrote {args.out} in {time.perf_counter() - start:.1f} s")
    failed = frame[frame.status == "error"]
    if len(failed) and not args.allow_failures:
        first = failed.iloc[0]
        print(f"error: {len(failed)} of {len(frame)} rows failed (e.g. {first.lesion_id}: "
              f"{first.reason}); see the status and reason columns of {args.out}, or pass "
              "--allow-failures to accept them", file=sys.stderr)
        return 1
    return 0


def _last_run_seconds(chapter: str, profile: str) -> float | None:
    """Seconds of the newest execution of ``chapter`` in ``profile`` kept by the book build."""
    import json

    project = paths.project_dir()
    kept = sorted((project / "_build" / "executed").glob(f"{chapter}-*.ipynb") if project else [],
                  key=lambda p: p.stat().st_mtime, reverse=True)
    for path in kept:
        record = json.loads(path.read_text())["metadata"].get("papermill", {})
        if record.get("parameters", {}).get("profile") == profile:
            return record.get("duration")
    return None


def _run_time(chapter: str, profile: str) -> str:
    """The last build's seconds of ``chapter`` in ``profile``, else the manifest's measured
    ones (:func:`enhance_utils.book.manifest.measured_seconds`), saying which."""
    from .book import manifest

    seconds = _last_run_seconds(chapter, profile)
    if seconds is not None:
        return f"{seconds:.0f} s (last build)"
    measured = manifest.measured_seconds(chapter, profile)
    if not measured:
        return "not run yet, not measured"
    return ", ".join(f"{s} s {how}" for how, s in measured) + " (measured)"


def _cmd_chapters(args) -> int:
    """One line per chapter: the ISIC files it reads in the profile and its run time."""
    from .book import chapter_data

    root = paths.data_dir()
    print(f"{'chapter':18s} {'images':>6s} {'masks':>6s}  run time ({args.profile}); every "
          "chapter also reads the annotations and the ISIC and PH2 tables")
    for chapter in chapter_data.CHAPTERS:
        needs = chapter_data.needs(chapter, args.profile, root)
        print(f"{chapter:18s} {needs.n_images:6d} {needs.n_masks:6d}  "
              f"{_run_time(chapter, args.profile)}")
    print("last build: kept in this checkout's _build/executed; measured: the manifest's "
          "times on 2 shared cores (enhance_utils/book/manifest.py), the data already there")
    return 0


def _cmd_scorecard(args) -> int:
    from .book import scorecard

    card = scorecard.build(args.profile, resamples=args.resamples)
    path = scorecard.write(card, args.out)
    print(f"{path}: " + ", ".join(f"{n} {kind}" for kind, n in scorecard.counts(card).items()))
    return 0


#: the ``--profile`` help of the commands that read a store (``report``, ``scorecard``)
STORE_HELP = ("whose experiment store to read, the folder PROFILE of --results (default: "
              "%(default)s, the committed store that the book shows in chapters 06-09)")
#: the program's description in ``enhance --help``: plain text (the module docstring is
#: reStructuredText for the API page)
DESCRIPTION = ("The enhance command line: the ENHANCE paper's data, analyses, models and book, "
               "one subcommand each.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="enhance", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("chapters", help="list the chapters, what each reads and its run time")
    p.add_argument("--profile", default="smoke", choices=profile_choices(),
                   help="profile whose data and run times to show (default: %(default)s)")
    p.set_defaults(func=_cmd_chapters)

    p = sub.add_parser("fetch", help="download the data, or verify ENHANCE_DATA_DIR")
    p.add_argument("paths", nargs="*", help="registry paths to fetch (default: all)")
    p.add_argument("--verify", action="store_true", help="check checksums, download nothing")
    p.add_argument("--chapter", help="only the files this chapter reads: its number or "
                                      "stem, e.g. 06 or 06_multitask")
    p.add_argument("--profile", default="smoke", choices=profile_choices(),
                   help="the chapter's profile (default: %(default)s)")
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser("annotations", help="write the annotation tables as CSV")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--student-rule", default="first_group", choices=options.STUDENT_RULES,
                   help="lesions annotated by several student groups (default: the paper's)")
    p.set_defaults(func=_cmd_annotations)

    p = sub.add_parser("stats", help="write correlation, agreement and reliability tables as CSV")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--resamples", type=int, default=options.DEFAULT_RESAMPLES,
                   help="bootstrap resamples per confidence interval (default: %(default)s)")
    p.add_argument("--seed", type=int, default=options.DEFAULT_SEED,
                   help="seed of the bootstrap (default: %(default)s)")
    p.set_defaults(func=_cmd_stats)
    p = sub.add_parser("train", help="train baseline and multi-task models (resumable)")
    p.add_argument("--profile", default="smoke", choices=profile_choices(),
                   help="which grid to train (default: %(default)s)")
    p.add_argument("--arch", type=_archs, default=None, help="e.g. small or vgg16,resnet50")
    p.add_argument("--targets", type=_targets, default=None,
                   help="e.g. baseline,crowd:A,crowd:ABC,random:student:C,permuted:crowd:B; "
                        "groups: 'real' = baseline and the nine annotations, 'random' (or "
                        "'uniform') and 'permuted' = their nine controls, 'joint' = one "
                        "A+B+C model per source, 'baselines' = three baseline seeds "
                        "(default: the profile's grid)")
    p.add_argument("--splits", type=_seeds, default=None,
                   help="split seeds, e.g. 1970,1972 (default: the profile's); in a "
                        "k-fold profile (lite-cv) one repetition of k folds per seed")
    p.add_argument("--kfold", action="store_true",
                   help="stratified 5-fold instead of the paper's splits (a profile such as "
                        "lite-cv has repeated k-fold as its design)")
    p.add_argument("--results", default=None, help="experiment store (default: results/)")
    p.add_argument("--executor", default="local", choices=("local", "ray"),
                   help="local: on this machine (default); ray: one Ray task per run, one GPU "
                        "each where the cluster has GPUs")
    p.add_argument("--jobs", type=_positive, default=None,
                   help="local: runs side by side, each in a process of its own (default: as "
                        "many as the CPUs hold at the profile's threads per run: two lite runs "
                        "on two CPUs, one small-CNN run)")
    p.add_argument("--address", default=None,
                   help="ray: the cluster to join (e.g. 10.0.0.1:6379 or auto); default: "
                        "start one on this machine")
    p.add_argument("--cpus-per-run", type=float, default=None,
                   help="ray: CPUs each run asks for (default 1)")
    one = p.add_mutually_exclusive_group()
    one.add_argument("--list-runs", action="store_true",
                     help="print the grid's missing runs, one arch/target/split per line, and "
                          "train nothing (for a batch system's array job)")
    one.add_argument("--run", metavar="KEY", type=_run_key, default=None,
                     help="train only this run of the grid, e.g. small/crowd-A/seed1970")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("report", help="write Tables 5 and 4 and paired comparisons from the store")
    p.add_argument("--profile", default=options.COMMITTED_STORE, choices=profile_choices(),
                   help=STORE_HELP)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--results", default=None, help="experiment store (default: results/)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("book", help="execute the chapters and render the book")
    p.add_argument("--profile", default="smoke", choices=profile_choices(),
                   help="how much work (default: %(default)s)")
    p.add_argument("--out", default=None, help="build folder (default: _build)")
    p.add_argument("--only", nargs="*",
                   help="chapters to execute, by number or stem, e.g. 01 03_automated_abc")
    p.add_argument("--training-profile", default=None, choices=profile_choices(),
                   help="profile of the deep-learning chapters 06-09; default: "
                        f"{options.COMMITTED_STORE} for a smoke book (the committed "
                        f"{options.COMMITTED_STORE} store: nothing trained but the few runs "
                        "chapter 09 explains), else the book's profile (its grid is trained)")
    p.add_argument("--no-solutions", action="store_true",
                   help="leave the exercises' solutions out of the site (a graded course)")
    p.set_defaults(func=_cmd_book)

    p = sub.add_parser("abc", help="compute the automated ABC scores (chapter 03) as CSV")
    p.add_argument("--dataset", required=True, choices=options.DATASETS,
                   help="whose lesions to score")
    p.add_argument("--feature", required=True, choices=[*options.FEATURES, "AB"],
                   help="AB: asymmetry and border in one pass over the masks")
    p.add_argument("--mode", default="published", choices=options.ABC_MODES,
                   help="as the published code computes them, or as the paper describes "
                        "them (default: %(default)s)")
    p.add_argument("--limit", type=_positive, default=None, help="only the first N lesions")
    p.add_argument("--ids", default=None, help="file with one lesion id per line")
    p.add_argument("--workers", type=_positive, default=2, help="processes (default 2)")
    p.add_argument("--no-cache", action="store_true",
                   help="recompute every lesion and replace its cached result")
    p.add_argument("--allow-failures", action="store_true",
                   help="exit 0 even when some rows have status error")
    p.add_argument("--out", required=True, help="output CSV file")
    p.set_defaults(func=_cmd_abc)

    p = sub.add_parser("scorecard", help="write scorecard.csv: the paper's numbers, the book's "
                                         "and a verdict per number")
    p.add_argument("--out", required=True, help="folder for scorecard.csv")
    p.add_argument("--profile", default=options.COMMITTED_STORE, choices=profile_choices(),
                   help=STORE_HELP)
    p.add_argument("--resamples", type=int, default=options.SCORECARD_RESAMPLES,
                   help="bootstrap resamples of the correlation intervals (default: %(default)s)")
    p.set_defaults(func=_cmd_scorecard)
    return parser


#: the options that name where a command writes, with the words that name them in a refusal
OUTPUT_OPTIONS = {"results": "results folder", "out": "--out"}


def refuse_outputs_in_data(args) -> None:
    """A ValueError when an option of :data:`OUTPUT_OPTIONS` names a path inside
    ``ENHANCE_DATA_DIR``, also through a link
    (:func:`enhance_utils.data.paths.refuse_inside_data`): checked before the command reads
    or writes anything, so that no input is ever overwritten."""
    for name, what in OUTPUT_OPTIONS.items():
        value = getattr(args, name, None)
        if value:
            paths.refuse_inside_data(Path(value), what)


#: the commands that read the published tables, which are checked against the registry first
READS_PUBLISHED = ("annotations", "stats", "abc", "train", "report", "scorecard")


def verify_published(args, env=os.environ) -> None:
    """A ValueError (:func:`enhance_utils.book.chapter_data.verify_files`) naming every
    published table under the data folder whose sha256 differs from the registry's (a file
    cut at a line boundary reads as a shorter, valid file), for a command of
    :data:`READS_PUBLISHED`; absent tables are left to the command, which names them. The
    tables are small (53 files, 0.7 MB: milliseconds). ``ENHANCE_VERIFY_DATA=0`` skips the
    check, for a data tree of one's own in the official layout (the tests' small
    trees)."""
    if getattr(args, "command", None) not in READS_PUBLISHED or env.get(
            "ENHANCE_VERIFY_DATA") == "0":
        return
    from .book.chapter_data import PH2_TABLES, table_files, verify_files

    try:
        root = paths.data_dir()
    except FileNotFoundError:
        return  # no data folder: the command says so if it needs one
    verify_files([*table_files(), *PH2_TABLES], root,
                 hint="; ENHANCE_VERIFY_DATA=0 reads a tree of your own")


def set_environment(args) -> None:
    """The command line's own environment, the one place it is written: TensorFlow's errors
    only (:func:`enhance_utils.quiet_tensorflow`) and, for ``--executor ray``, Ray's driver
    settings (:func:`enhance_utils.learning.executors.driver_settings`); what is set already is
    kept."""
    import os

    from . import quiet_tensorflow

    quiet_tensorflow()
    if getattr(args, "executor", None) == "ray":
        from .learning.executors import driver_settings  # neither TensorFlow nor Ray imported

        os.environ.update(driver_settings())


def main(argv: list[str] | None = None) -> int:
    """Run one command; an expected failure (missing data, a failed download, an unknown id or
    profile, an output inside the data folder) ends in one ``error:`` line on stderr and exit
    code 2, without a traceback. Ctrl-C and SIGTERM end it as cleanly (claims released), with
    exit code 130 and 143."""
    args = build_parser().parse_args(argv)
    set_environment(args)
    try:
        refuse_outputs_in_data(args)
        verify_published(args)
        with terminate_as_interrupt():
            return args.func(args)
    except input_errors() as err:
        return _refuse(err)
    except Terminated:
        print("error: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

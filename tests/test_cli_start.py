"""The command line's start: lazy imports, --version, one --profile choices list, `enhance
chapters`, and expected failures as one ``error:`` line (exit 2)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

import enhance_utils
from enhance_utils.book import chapter_data
from enhance_utils import cli
from enhance_utils.profiles import PROFILES

PROJECT = Path(__file__).resolve().parents[1]


def test_help_imports_no_heavy_library():
    """``enhance --help`` builds every subcommand's parser: no pandas, SciPy, TensorFlow, nor the
    download stack (pooch, requests)."""
    code = ("import sys, enhance_utils.cli as cli; cli.build_parser().format_help(); "
            "print(sorted(m for m in ('pandas', 'scipy', 'tensorflow', 'pooch', 'requests') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"enhance {enhance_utils.__version__}"


def test_every_profile_option_offers_the_profiles():
    subparsers = next(a for a in cli.build_parser()._actions
                      if isinstance(a, argparse._SubParsersAction))
    options = {name: [a for a in parser._actions if a.dest.endswith("profile")]
               for name, parser in subparsers.choices.items()}
    with_profile = {name: actions for name, actions in options.items() if actions}
    own = {"fetch", "train", "report", "book", "chapters", "scorecard"}
    assert own <= set(with_profile)
    for name, actions in ((n, with_profile[n]) for n in sorted(own)):
        assert all(tuple(a.choices) == tuple(PROFILES) for a in actions), name


def test_chapters_lists_what_each_chapter_reads(data_root, monkeypatch, capsys):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    assert cli.main(["chapters", "--profile", "smoke"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:-1]
    assert [line.split()[0] for line in lines] == list(chapter_data.CHAPTERS)
    needs = chapter_data.needs("03_automated_abc", "smoke", data_root)
    row = next(line.split() for line in lines if line.startswith("03_"))
    assert row[1:3] == [str(needs.n_images), str(needs.n_masks)]


@pytest.mark.parametrize("profile, shown", [
    ("smoke", "38 s first run, 12 s caches filled (measured)"),
    ("cpu", "157 s first run, committed store (measured)"), ("paper", "not run yet, not measured")])
def test_chapters_outside_a_built_checkout_shows_the_measured_times(profile, shown, data_root,
                                                                    monkeypatch, capsys):
    from enhance_utils.data import paths

    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    monkeypatch.setattr(paths, "project_dir", lambda: None)  # an installed package: no _build
    assert cli.main(["chapters", "--profile", profile]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("03_automated_abc"))
    assert row.endswith(f"  {shown}")
    assert "enhance_utils/book/manifest.py" in out.splitlines()[-1]


def test_missing_data_is_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(tmp_path / "nowhere"))
    assert cli.main(["chapters"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def _parsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"enhance": parser, **subparsers.choices}


def test_help_is_plain_text():
    """No reStructuredText (````enhance````, roles) in any ``--help``."""
    marked = [name for name, parser in _parsers().items()
              if "``" in parser.format_help() or ":mod:" in parser.format_help()]
    assert marked == []
    assert cli.build_parser().description.startswith("The enhance command line")


def test_store_commands_default_to_the_store_the_book_shows():
    """``report`` and ``scorecard`` read the same store by default, the one a default (smoke)
    book shows in chapters 06-09, and say that it is a store."""
    from enhance_utils.book import build

    for name in ("report", "scorecard"):
        action = next(a for a in _parsers()[name]._actions if a.dest == "profile")
        assert action.default == build.default_training_profile("smoke") == "cpu", name
        assert "store" in action.help and "work" not in action.help, name


def test_every_option_has_help_text():
    subparsers = next(a for a in cli.build_parser()._actions
                      if isinstance(a, argparse._SubParsersAction))
    silent = [f"{name} {action.dest}" for name, parser in subparsers.choices.items()
              for action in parser._actions if not action.help]
    assert silent == []


def test_an_abc_run_with_a_bad_mode_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["abc", "--dataset", "ph2", "--feature", "A", "--mode", "nope", "--out", "x"])
    assert exit_.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("option, value, message", [
    ("--workers", "0", "must be at least 1, not 0"),
    ("--workers", "-2", "must be at least 1, not -2"),
    ("--workers", "two", "'two' is not a whole number"),
    ("--limit", "0", "must be at least 1, not 0")])
def test_a_count_below_one_is_refused_by_the_parser(option, value, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["abc", "--dataset", "ph2", "--feature", "A", option, value,
                  "--out", str(tmp_path / "a.csv")])
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert exit_.value.code == 2
    assert errors == [f"enhance abc: error: argument {option}: {message}"]
    assert not (tmp_path / "a.csv").exists()


@pytest.mark.parametrize("args, message", [
    (["--arch", "small,nope"], "argument --arch: unknown architecture(s) nope; choose from vgg16"),
    (["--run", "nope/baseline/seed1970"], "argument --run: unknown architecture(s) nope"),
    (["--run", "small-baseline"], "argument --run: 'small-baseline' is not arch/target/split"),
    (["--targets", "crowd:Z"], "argument --targets: "), (["--splits", "x"], "argument --splits:")])
def test_an_invalid_train_call_is_one_error_line_before_tensorflow(args, message, data_root,
                                                                  tmp_path):
    """Refused before TensorFlow is imported: no start-up lines (oneDNN, absl) before it."""
    env = {**os.environ, "ENHANCE_DATA_DIR": str(data_root), "PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-m", "enhance_utils.cli", "train", *args,
                           "--results", str(tmp_path / "store")], capture_output=True,
                          text=True, timeout=300, cwd=PROJECT, env=env)
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert done.returncode == 2 and len(errors) == 1, done.stderr
    assert errors[0].startswith(f"enhance train: error: {message}")
    assert [line for line in done.stderr.splitlines() if not line.startswith(("usage:", " "))
            ] == errors  # argparse's usage, then the error: nothing from TensorFlow


@pytest.mark.parametrize("args, message", [
    (["book", "--profile", "nope"], "error: unknown profile 'nope'; the profiles are smoke"),
    (["book", "profile=nope"], "error: unknown profile 'nope'"),
    (["book", "--training-profile=gpu"], "error: unknown profile 'gpu'"),
    (["test", "-x"], "error: ENHANCE_DATA_DIR="),
    (["lab", "10"], "error: no chapter '10'"),
    (["deploy"], "error: the command is book, test or lab, not 'deploy'"),
])
def test_dev_py_refuses_bad_input_in_one_line_before_installing(args, message, tmp_path):
    """``python3 dev.py book|test|lab``: an expected failure is one ``error:`` line, exit 2,
    before the environment is touched (the venv named here does not exist afterwards)."""
    env = {"PATH": "/usr/bin:/bin", "ENHANCE_VENV": str(tmp_path / "venv"),
           "ENHANCE_DATA_DIR": str(tmp_path / "nowhere") if args[0] == "test" else ""}
    done = subprocess.run([sys.executable, str(PROJECT / "dev.py"), *args], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "venv").exists()


def test_book_without_the_book_extra_is_one_error_line():
    """``enhance book`` where nbformat is missing (``None`` in ``sys.modules`` makes its import
    fail as an absent module does) names the install command instead of a traceback."""
    code = ("import sys; sys.modules['nbformat'] = None; from enhance_utils import cli; "
            "sys.exit(cli.main(['book']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=PROJECT)
    assert done.returncode == 2
    assert done.stderr.startswith("error: building the book needs the book extra, which lacks "
                                  "nbformat here: pip install \"enhance-utils[book]\"")
    assert len(done.stderr.strip().splitlines()) == 1


def test_dev_py_test_refuses_a_number_of_workers_that_is_not_one(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "ENHANCE_VENV": str(tmp_path / "venv"),
           "ENHANCE_TEST_WORKERS": "two"}
    done = subprocess.run([sys.executable, str(PROJECT / "dev.py"), "test"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and not (tmp_path / "venv").exists()
    assert done.stderr == ("error: ENHANCE_TEST_WORKERS must be a number of processes "
                           "(0: none), not 'two'\n")


@pytest.mark.parametrize("args, workers, options", [
    ([], None, ["-n", "2"]),
    (["-q"], "3", ["-n", "3"]),
    ([], "0", []),
    (["-n", "1"], None, []), (["-n4"], "3", []), (["-p", "no:xdist"], None, []),
    (["--dist=load"], None, []),
])
def test_dev_py_test_runs_two_workers_unless_told(args, workers, options):
    """CI's two cores: ``dev.py test`` hands pytest-xdist two workers, unless the arguments
    or ``ENHANCE_TEST_WORKERS`` choose."""
    sys.path.insert(0, str(PROJECT))
    import dev

    env = {} if workers is None else {"ENHANCE_TEST_WORKERS": workers}
    assert dev.test_workers(args, env) == options


def test_train_writes_none_of_tensorflows_start_up_notes(data_root):
    """TensorFlow 2.21 writes absl's, oneDNN's and CUDA's notes to stderr whatever
    ``TF_CPP_MIN_LOG_LEVEL`` says; ``enhance train`` filters them
    (:func:`enhance_utils.start_tensorflow_quietly`): listing the committed lite grid's missing
    runs writes nothing to stderr."""
    env = {**os.environ, "ENHANCE_DATA_DIR": str(data_root), "PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-m", "enhance_utils.cli", "train", "--profile",
                           "lite", "--list-runs"], capture_output=True, text=True, timeout=300,
                          cwd=PROJECT, env=env)
    assert done.returncode == 0 and done.stderr == ""
    unfiltered = subprocess.run([sys.executable, "-c", "import tensorflow as tf; tf.constant(0)"],
                                capture_output=True, text=True, timeout=300, env=env)
    assert any(note in unfiltered.stderr for note in enhance_utils.TF_STARTUP_NOTES)

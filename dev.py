#!/usr/bin/env python3
"""Three commands for a fresh machine with Python 3.11 and pip.

    python3 dev.py book [--profile smoke|cpu|paper]   # environment, data, execute, render HTML
    python3 dev.py test [PYTEST ARGS]                  # environment, then the test suite
    python3 dev.py lab [CHAPTER]                       # environment, then JupyterLab (live edition)

The environment is a virtualenv in ``.venv`` (or ``$ENHANCE_VENV``) with the pinned
``requirements.txt`` and this package; it is reinstalled only when those files change.
``profile=paper`` is accepted as a synonym of ``--profile paper``. An expected failure (an
unknown profile, ``ENHANCE_DATA_DIR`` not a folder, a failed install) ends in one ``error:``
line on stderr and exit code 2, checked before anything is installed. Relative folders in the
``ENHANCE_*`` variables (``ENHANCE_DATA_DIR=../shared/data``) are made absolute first: the
commands run in the project, JupyterLab's kernels beside the notebook they run (a chapter's
live edition, ``editions/live/``).
"""
from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("ENHANCE_VENV", ROOT / ".venv"))
PINNED = [ROOT / "requirements.txt", ROOT / "pyproject.toml"]


def _bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in PINNED:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_environment() -> None:
    """Create the virtualenv and install the pins, unless it is already up to date."""
    stamp = VENV / ".enhance-installed"
    if stamp.is_file() and stamp.read_text() == _fingerprint():
        return
    if not _bin("python").exists():
        print(f"creating the environment in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    pip = [str(_bin("python")), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run(pip + ["-q", "--upgrade", "pip"], check=True)
    # setuptools' editable build prints a page-long note on every install ("Editable
    # installation ... folders with the same name as your package"); it says nothing new here
    quiet = {**os.environ, "PYTHONWARNINGS": "ignore:Editable installation"}
    subprocess.run(pip + ["-q", "-r", str(ROOT / "requirements.txt"),
                          "-e", f"{ROOT}[book,cluster,lab,test]"], check=True, env=quiet)
    stamp.write_text(_fingerprint())


def _local(module: str):
    """``enhance_utils.<module>`` of this checkout, for the modules that import only the standard
    library (this script runs before the environment exists)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"enhance_utils.{module}")


class Refused(Exception):
    """An expected failure: its message is printed as one ``error:`` line (exit code 2)."""


def check_inputs(command: str, args: list[str]) -> None:
    """Refuse an unknown profile, a data folder that is not there or a number of test workers
    that is not one, before installing."""
    paths, PROFILES = _local("data.paths"), _local("profiles").PROFILES

    if command == "book":
        pairs = [a.split("=", 1) for a in args if a.startswith("--") and "=" in a]
        for option, value in pairs + list(zip(args, args[1:])):
            if option in ("--profile", "--training-profile") and value not in PROFILES:
                raise Refused(f"unknown profile {value!r}; the profiles are "
                              f"{', '.join(PROFILES)}")
    if command == "lab" and args:
        chapter_notebook(args[0])
    if command == "test":
        workers = os.environ.get("ENHANCE_TEST_WORKERS", "2")
        if not workers.isdigit():
            raise Refused(f"ENHANCE_TEST_WORKERS must be a number of processes (0: none), "
                          f"not {workers!r}")
    try:
        paths.data_dir()
    except FileNotFoundError as err:
        raise Refused(err) from None


def chapter_notebook(name: str) -> Path:
    """``chapters/<stem>.ipynb`` named by its stem, its number (``03``, ``3``) or its file name
    (:func:`enhance_utils.book.manifest.chapter_stem`)."""
    try:
        return ROOT / "chapters" / f"{_local('book.manifest').chapter_stem(name)}.ipynb"
    except ValueError as err:
        raise Refused(err) from None


def live_edition(name: str) -> Path:
    """The live edition of the chapter ``name`` (:func:`chapter_notebook`): the notebook
    JupyterLab opens, whose markdown shows as the book's page does (values, citations and
    figure numbers written out; :mod:`enhance_utils.book.editions`). Its source, for editing,
    stays ``chapters/<stem>.py``."""
    stem = chapter_notebook(name).stem
    return ROOT / _local("book.repository").LIVE / f"{stem}.ipynb"


def lab_command(args: list[str]) -> list[str]:
    """JupyterLab on the project, opening the live edition of the chapter named first in
    ``args`` (if any); the other arguments go to JupyterLab (e.g. ``--port 8890``)."""
    cmd = [str(_bin("python")), "-m", "jupyterlab", f"--ServerApp.root_dir={ROOT}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers (Docker, some CI) run as root
    if args and not args[0].startswith("-"):
        return cmd + [str(live_edition(args[0]))] + args[1:]
    return cmd + args


def child_environment(environ: dict[str, str], cwd: Path | None = None) -> dict[str, str]:
    """The environment of the process ``dev.py`` starts: ``environ`` without ``MPLBACKEND``
    (notebook figures need the inline backend) and with every folder variable
    (:data:`enhance_utils.data.paths.PATH_VARIABLES`) absolute, read from ``cwd`` (default: the
    current folder), since that process runs in the project and its kernels in the folder of
    their notebook (``editions/live/``)."""
    env = {k: v for k, v in environ.items() if k != "MPLBACKEND"}
    base = Path(cwd or Path.cwd())
    for name in _local("data.paths").PATH_VARIABLES:
        if env.get(name):
            env[name] = os.path.abspath(base / Path(env[name]).expanduser())
    return env


def _profile(args: list[str]) -> list[str]:
    out = []
    for arg in args:
        out += ["--profile", arg.split("=", 1)[1]] if arg.startswith("profile=") else [arg]
    return out


def test_workers(args: list[str], env=os.environ) -> list[str]:
    """pytest-xdist's option for ``dev.py test``: ``ENHANCE_TEST_WORKERS`` processes (default
    2, CI's cores; 0 runs the tests in this process), the book's tests and the Ray tests each
    in one worker (``tests/conftest.py`` schedules them so); none when ``args`` choose
    already (``-n``, ``--numprocesses``, ``--dist``, ``-p no:xdist``)."""
    if any(a in ("-n", "-p") or a.startswith(("-n", "--numprocesses", "--dist")) for a in args):
        return []
    workers = env.get("ENHANCE_TEST_WORKERS", "2")
    return ["-n", workers] if int(workers) else []


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("book", "test", "lab"):
        print(__doc__)
        print(f"error: the command is book, test or lab"
              f"{f', not {argv[1]!r}' if len(argv) > 1 else ''}", file=sys.stderr)
        return 2
    try:
        check_inputs(argv[1], _profile(argv[2:]))
        ensure_environment()
    except Refused as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as err:
        print(f"error: installing the environment in {VENV} failed ({' '.join(err.cmd[2:4])} "
              f"exited with {err.returncode}; pip's messages are above)", file=sys.stderr)
        return 2
    env = child_environment(dict(os.environ))
    if argv[1] == "book":
        cmd = [str(_bin("enhance")), "book"] + _profile(argv[2:])
    elif argv[1] == "lab":
        cmd = lab_command(argv[2:])
    else:
        cmd = [str(_bin("python")), "-m", "pytest"] + test_workers(argv[2:]) + argv[2:]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))

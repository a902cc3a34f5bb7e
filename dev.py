#!/usr/bin/env python3
"""Two commands for a fresh machine with Python 3.11 and pip.

    python3 dev.py book [--profile smoke|cpu|paper]   # environment, data, execute, render HTML
    python3 dev.py test [PYTEST ARGS]                  # environment, then the test suite

The environment is a virtualenv in ``.venv`` (or ``$ENHANCE_VENV``) with the pinned
``requirements.txt`` and this package; it is reinstalled only when those files change.
``profile=paper`` is accepted as a synonym of ``--profile paper``.
"""
from __future__ import annotations

import hashlib
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
    subprocess.run(pip + ["-q", "-r", str(ROOT / "requirements.txt"), "-e", f"{ROOT}[book,test]"],
                   check=True)
    stamp.write_text(_fingerprint())


def _profile(args: list[str]) -> list[str]:
    out = []
    for arg in args:
        out += ["--profile", arg.split("=", 1)[1]] if arg.startswith("profile=") else [arg]
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("book", "test"):
        print(__doc__)
        return 2
    ensure_environment()
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # notebook figures need the inline backend
    if argv[1] == "book":
        cmd = [str(_bin("enhance")), "book"] + _profile(argv[2:])
    else:
        cmd = [str(_bin("python")), "-m", "pytest"] + argv[2:]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Check that the chapters install and run on Google Colab's own packages, Colab's way.

Usage (from the checkout, with the project's environment, which has papermill)::

    ENHANCE_DATA_DIR=../shared/data python tools/colab_check.py [--workdir DIR] [CHAPTER ...]

1. Builds a Python 3.13 virtualenv (pyenv's, or ``python3.13`` on the PATH) holding Colab's
   versions (``../shared/colab/pip-freeze.txt``) of the packages the book imports: the
   dependencies of ``pyproject.toml`` that Colab has, its kernel (ipykernel, ipython) and pip.
2. Runs a chapter's parameters and setup cells in it as Colab does (``google.colab`` imported,
   this checkout in place of the clone in ``/content/enhance-book``).
3. Fails if a package Colab had changed version, or if ``pip check`` complains.
4. Executes the chapters (default 02, 04 and 01, ``smoke``) with papermill from the running
   environment, on a kernel of that virtualenv.

Everything it writes goes to ``--workdir`` (a temporary folder unless given), except the
downloaded wheels, kept in ``~/.cache/enhance-colab-check/wheels`` (``ENHANCE_COLAB_WHEELS``) so
that a second run does not download TensorFlow again. Exit status 0 when every check passes.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLAB_FREEZE = ROOT.parent / "shared" / "colab" / "pip-freeze.txt"
CHAPTERS = ("02_annotations", "04_correlation", "01_datasets")
#: what runs the notebooks in Colab besides the book's dependencies
KERNEL = ("ipykernel", "ipython", "pip", "setuptools")
KERNEL_NAME = "enhance-colab-check"
#: downloaded wheels, kept between runs (never inside the checkout)
WHEELS = Path(os.environ.get("ENHANCE_COLAB_WHEELS",
                             Path.home() / ".cache" / "enhance-colab-check" / "wheels"))
sys.path.insert(0, str(ROOT))
from enhance_utils.book.colab import CHECKOUT, normalize  # noqa: E402  (stdlib only)
from enhance_utils.options import SMOKE_CELL_TIMEOUT  # noqa: E402  (a cell past it fails)


class CheckFailed(RuntimeError):
    """A step of the check failed; the message says which and why."""


def colab_pins(freeze: Path = COLAB_FREEZE) -> dict[str, str]:
    """Colab's ``name==version`` lines, ``{normalized name: version}`` (URL installs left out)."""
    pins = {}
    for line in freeze.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$", line.strip())
        if match:
            pins[normalize(match[1])] = match[2]
    return pins


def book_packages(pins: dict[str, str]) -> list[str]:
    """The dependencies of ``pyproject.toml`` that Colab has, plus its kernel, as ``name==v``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [normalize(re.match(r"[A-Za-z0-9._-]+", dep)[0]) for dep in project["dependencies"]]
    return [f"{name}=={pins[name]}" for name in names + list(KERNEL) if name in pins]


def python313() -> str:
    """A Python 3.13 interpreter: pyenv's newest 3.13, else a working ``python3.13`` on the PATH."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [str(p) for p in sorted(root.glob("versions/3.13*/bin/python3.13"))]
    for python in candidates[::-1] + [shutil.which("python3.13")]:
        if python and subprocess.run([python, "--version"], capture_output=True).returncode == 0:
            return python
    raise CheckFailed("no Python 3.13: install one (pyenv install 3.13) or put it on the PATH")


def run(cmd: list[str], what: str, **kwargs) -> str:
    """Run ``cmd``; its output, or :class:`CheckFailed` with that output."""
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode:
        raise CheckFailed(f"{what} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def make_env(workdir: Path, pins: dict[str, str], wheels: Path = WHEELS) -> Path:
    """A Python 3.13 virtualenv with Colab's versions of the book's packages; its python.

    The wheels are downloaded into ``wheels`` (outside the checkout) once and installed from
    there, since the package index's answers are not cached by pip here.
    """
    env = workdir / "colab-venv"
    run([python313(), "-m", "venv", str(env)], "creating the virtualenv")
    python = env / "bin" / "python"
    constraints = workdir / "colab-constraints.txt"
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    packages = book_packages(pins)
    run(pip + ["install", "-q", "-c", str(constraints), "pip", "setuptools"],
        "installing Colab's pip")
    run(pip + ["download", "-q", "-d", str(wheels), "-c", str(constraints)] + packages,
        "downloading Colab's packages")
    run(pip + ["install", "-q", "--no-compile", "--no-index", "--find-links", str(wheels), "-c",
               str(constraints)] + packages, "installing Colab's packages")  # .pyc: CPU time
    return python


def installed(python: Path) -> dict[str, str]:
    """``{normalized name: version}`` of what ``python``'s environment holds."""
    listing = run([str(python), "-m", "pip", "list", "--format=json",
                   "--disable-pip-version-check"], "pip list")
    return {normalize(d["name"]): d["version"] for d in json.loads(listing)}


def setup_code(chapter: str) -> str:
    """The chapter's parameters and setup cells as Colab runs them, on this checkout."""
    import nbformat

    cells = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4).cells
    start = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    source = "\n".join(c.source for c in cells[start:start + 2])
    if CHECKOUT not in source:
        raise CheckFailed(f"the setup cell of {chapter} does not clone into {CHECKOUT}")
    colab = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
    return colab + source.replace(CHECKOUT, str(ROOT))


def check_setup(python: Path, chapter: str) -> str:
    """Run the setup as Colab would; fail if a package changed or ``pip check`` complains,
    or if running it a second time (a second chapter in one runtime) installs again."""
    before = installed(python)
    output = run([str(python), "-c", setup_code(chapter)], f"the setup cell of {chapter}",
                 cwd=tempfile.gettempdir())
    after = installed(python)
    changed = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
    if changed:
        raise CheckFailed(f"the setup changed Colab's packages (before, after): {changed}")
    run([str(python), "-m", "pip", "check"], "pip check after the setup")
    again = run([str(python), "-c", setup_code(chapter)], f"the setup cell of {chapter} again",
                cwd=tempfile.gettempdir())
    if "installed: nothing new" not in again:  # the second chapter of a runtime: no pip
        raise CheckFailed(f"the second setup installed again:\n{again}")
    added = sorted(set(after) - set(before))
    return (f"setup added {', '.join(added)}; Colab's {len(before)} packages unchanged; "
            f"the second setup installed nothing\n{output}")


def execute(python: Path, chapters: list[str], workdir: Path) -> None:
    """Execute ``chapters`` (smoke) with papermill on a kernel of the Colab virtualenv."""
    prefix = workdir / "jupyter"
    run([str(python), "-m", "ipykernel", "install", "--prefix", str(prefix), "--name",
         KERNEL_NAME], "registering the kernel")
    env = {**os.environ, "JUPYTER_PATH": str(prefix / "share" / "jupyter"),
           "ENHANCE_CACHE_DIR": str(workdir / "cache")}
    env.pop("MPLBACKEND", None)
    for chapter in chapters:
        start = time.perf_counter()
        run([sys.executable, "-m", "papermill", "-k", KERNEL_NAME, "-p", "profile", "smoke",
             "--execution-timeout", str(SMOKE_CELL_TIMEOUT), "--cwd", str(ROOT / "chapters"),
             str(ROOT / "chapters" / f"{chapter}.ipynb"),
             str(workdir / f"{chapter}.ipynb")], f"executing {chapter}", env=env)
        print(f"{chapter}: executed in {time.perf_counter() - start:.0f} s", flush=True)


def data_tree() -> Path:
    """``ENHANCE_DATA_DIR`` as an absolute path; :class:`CheckFailed` without a data tree."""
    data = os.environ.get("ENHANCE_DATA_DIR")
    if not data or not Path(data).is_dir():
        raise CheckFailed("set ENHANCE_DATA_DIR to a data tree (e.g. ../shared/data)")
    return Path(data).resolve()


def check(workdir: Path, chapters: list[str]) -> None:
    """All steps; raises :class:`CheckFailed` at the first that fails."""
    start = time.perf_counter()
    python = make_env(workdir, colab_pins())
    print(f"Colab's packages installed in {time.perf_counter() - start:.0f} s", flush=True)
    print(check_setup(python, chapters[0]), flush=True)
    execute(python, chapters, workdir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", default=list(CHAPTERS),
                        help="chapters to execute (default: %(default)s)")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="colab-check-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            # absolute: the setup and the chapters run in other folders
            os.environ["ENHANCE_DATA_DIR"] = str(data_tree())
            check(workdir, args.chapters)
        except CheckFailed as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print("Colab check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Keep each chapter notebook and its paired percent-format script the same (jupytext).

Usage: ``python tools/sync_notebooks.py [--from ipynb|py] [CHAPTER ...]``

``chapters/NN_name.ipynb`` is paired with ``chapters/NN_name.py`` (``chapters/jupytext.toml``):
the script holds the same cells as text, markdown as comments, so that review, ``duplicates``
and ruff read the chapters. Edit either side (JupyterLab saves both when jupytext is installed),
then run this. Without ``--from`` a pair that differs is synced from the side modified last, as
``jupytext --sync`` does. After a git merge, checkout or rebase modification times mean nothing:
name the side (``--from ipynb`` when the notebooks were changed by a tool or an nbformat script,
``--from py`` when the scripts were edited). The notebook keeps its cell ids, metadata and
outputs; the script is then rewritten from the notebook, so that both are canonical. A missing
script is written from its notebook. ``CHAPTER`` is a stem, a number (``03``) or a file name;
none means every chapter. ``tests/test_lint.py`` fails while a pair differs.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from jupytext.config import load_jupytext_config

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
FORMAT = "py:percent"


def script_path(notebook: Path) -> Path:
    """The script paired with ``notebook``."""
    return notebook.with_suffix(".py")


def script_text(notebook: Path) -> str:
    """The script that ``notebook`` pairs with, as jupytext writes it (with the folder's
    configuration: no header)."""
    config = load_jupytext_config(str(notebook.parent))
    return jupytext.writes(nbformat.read(notebook, as_version=4), fmt=FORMAT, config=config)


def in_sync(notebook: Path) -> bool:
    """Whether ``notebook``'s script exists and holds exactly its cells."""
    script = script_path(notebook)
    return script.is_file() and script.read_text(encoding="utf-8") == script_text(notebook)


def write_script(notebook: Path) -> None:
    """Write ``notebook``'s script from the notebook."""
    script_path(notebook).write_text(script_text(notebook), encoding="utf-8")


def update_notebook(notebook: Path) -> None:
    """Take ``notebook``'s cells from its script, keeping the notebook's cell ids, metadata and
    outputs, then rewrite the script from the result."""
    inputs = jupytext.read(script_path(notebook), fmt=FORMAT)
    combined = combine_inputs_with_outputs(inputs, nbformat.read(notebook, as_version=4),
                                           fmt=FORMAT)
    nbformat.write(combined, notebook)
    write_script(notebook)


def newer_side(notebook: Path) -> str:
    """``"py"`` when the script exists and was modified after the notebook, else ``"ipynb"``."""
    script = script_path(notebook)
    if script.is_file() and script.stat().st_mtime > notebook.stat().st_mtime:
        return "py"
    return "ipynb"


def sync(notebook: Path, side: str | None = None) -> str | None:
    """Make ``notebook`` and its script the same, from ``side`` (``"ipynb"`` or ``"py"``; by
    default the one modified last, the notebook when the script is missing); the side synced
    from, or None when the pair already agreed."""
    if in_sync(notebook):
        return None
    side = side if script_path(notebook).is_file() else "ipynb"
    side = side or newer_side(notebook)
    if side == "py":
        update_notebook(notebook)
    else:
        write_script(notebook)
    return side


def chapter(name: str, folder: Path = CHAPTERS) -> Path:
    """The notebook named by its stem, its number (``03``) or a file name of the pair."""
    stem = Path(name).stem
    found = [n for n in sorted(folder.glob("*.ipynb"))
             if stem in (n.stem, n.stem.split("_", 1)[0])]
    if len(found) != 1:
        raise SystemExit(f"error: no chapter {name!r} in {folder}")
    return found[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="side", choices=["ipynb", "py"],
                        help="the side to copy from (default: the one modified last)")
    parser.add_argument("chapters", nargs="*", help="stems or numbers (default: every chapter)")
    args = parser.parse_args(argv)
    notebooks = ([chapter(name) for name in args.chapters] if args.chapters
                 else sorted(CHAPTERS.glob("*.ipynb")))
    for notebook in notebooks:
        side = sync(notebook, args.side)
        if side:
            target = notebook if side == "py" else script_path(notebook)
            print(f"updated {target.relative_to(ROOT)} from its .{side}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Write the Colab part of every chapter's setup cell from one template.

Usage: ``python tools/setup_cells.py [--ref main|vX.Y.Z]``

The setup cell is the cell right after a chapter's ``parameters`` cell. Its Colab part (up to
``from enhance_utils import chapter_data``) clones the book at ``--ref`` and installs what Colab
lacks (:func:`enhance_utils.colab.install`); the rest, the chapter's own data check, is kept.
A release pins the clone to its tag with ``--ref`` (see ``RELEASING.md``). Each notebook is read,
changed and written back at once; notebooks whose cell is already current are not touched.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = "https://github.com/enhance-interactive-paper/enhance-book"
DATA_PART = "from enhance_utils import chapter_data"
TEMPLATE = '''\
# Setup. In Colab: get the book's code and add the packages Colab lacks, leaving Colab's own
# packages as they are (elsewhere that part does nothing). Everywhere: check that the files this
# chapter reads are there (ENHANCE_DATA_DIR), or download only those files.
import sys

if "google.colab" in sys.modules:
    import subprocess

    clone = subprocess.run("[ -d /content/enhance-book ] || git clone -q --depth 1 --branch {ref} "
                           "{repository} /content/enhance-book",
                           shell=True, capture_output=True, text=True)
    if clone.returncode:
        raise RuntimeError(f"could not get the book's code:\\n{{clone.stderr}}")
    sys.path.insert(0, "/content/enhance-book")
    from enhance_utils import colab

    print("installed:", ", ".join(colab.install("/content/enhance-book")) or "nothing new")

'''


def colab_part(ref: str) -> str:
    """The Colab part of a setup cell cloning ``ref`` (a branch or a tag)."""
    return TEMPLATE.format(ref=ref, repository=REPOSITORY)


def setup_cell(notebook) -> nbformat.NotebookNode:
    """The cell after the ``parameters`` cell."""
    index = next(i for i, c in enumerate(notebook.cells)
                 if "parameters" in c.metadata.get("tags", []))
    return notebook.cells[index + 1]


def clone_ref(source: str) -> str:
    """The branch or tag a setup cell clones."""
    return re.search(r"--branch (\S+) ", source)[1]


def update(path: Path, ref: str) -> bool:
    """Rewrite the Colab part of ``path``'s setup cell; whether the notebook changed."""
    notebook = nbformat.read(path, as_version=4)
    cell = setup_cell(notebook)
    source = colab_part(ref) + DATA_PART + cell.source.split(DATA_PART, 1)[1]
    if source == cell.source:
        return False
    cell.source = source
    nbformat.write(notebook, path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="main", help="branch or tag to clone (default: main)")
    args = parser.parse_args(argv)
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        if update(path, args.ref):
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

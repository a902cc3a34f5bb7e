"""Write every chapter's setup cell from one template and the chapter manifest.

Usage: ``python tools/setup_cells.py [--ref main|vX.Y.Z]``

The setup cell is the cell right after a chapter's ``parameters`` cell. In Colab it clones the
book at ``--ref``; everywhere it then calls :func:`enhance_utils.setup_chapter` with the
chapter's stem, its profile, its ``data_dir`` and the parameters that change what it reads
(:mod:`enhance_utils.book.manifest`), which in Colab adds the packages Colab lacks and everywhere
resolves the chapter's folders (the workspace) and gets the chapter's files. A release pins the
clone to its tag with ``--ref`` (see ``RELEASING.md``). The address cloned is the repository's,
``[tool.enhance] repository`` of ``pyproject.toml`` (:mod:`enhance_utils.book.repository`).
Each notebook is read, changed and written back at once (cell ids kept), and its paired script
rewritten (``tools/sync_notebooks.py``); notebooks whose cell is already current are not
touched.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from enhance_utils.book import manifest, repository  # noqa: E402

import sync_notebooks  # noqa: E402  (tools/, beside this file)

TEMPLATE = '''\
# Setup: in Colab, clone the book first (setup_chapter then adds only the packages Colab lacks);
# everywhere, check or download the files this chapter reads.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run("[ -d /content/enhance-book ] || git clone -q --depth 1 --branch {ref} "
                   "{repository} /content/enhance-book",
                   shell=True, check=True)
    sys.path.insert(0, "/content/enhance-book")
import enhance_utils

'''


def colab_part(ref: str, url: str | None = None) -> str:
    """The Colab part of a setup cell cloning ``ref`` (a branch or a tag) of the repository
    ``url`` (default: the address in ``pyproject.toml``)."""
    return TEMPLATE.format(ref=ref, repository=url or repository.address(ROOT))


def data_part(stem: str) -> str:
    """The call that sets up chapter ``stem``: its profile, its ``data_dir`` parameter (the
    book build sets it) and its data parameters, from the manifest."""
    call = f'workspace = enhance_utils.setup_chapter("{stem}", profile, data_dir'
    options = [f"{name}={name}" for name in manifest.BY_STEM[stem].data_parameters]
    line = ", ".join([call, *options]) + ")"
    if len(line) <= 100:
        return line
    indent = " " * (call.index("(") + 1)
    return call + ",\n" + indent + ", ".join(options) + ")"


def setup_source(stem: str, ref: str, url: str | None = None) -> str:
    """The whole setup cell of chapter ``stem`` cloning ``ref`` of ``url``."""
    return colab_part(ref, url) + data_part(stem)


def setup_cell(notebook) -> nbformat.NotebookNode:
    """The cell after the ``parameters`` cell."""
    index = next(i for i, c in enumerate(notebook.cells)
                 if "parameters" in c.metadata.get("tags", []))
    return notebook.cells[index + 1]


def clone_ref(source: str) -> str:
    """The branch or tag a setup cell clones."""
    return re.search(r"--branch (\S+) ", source)[1]


def clone_url(source: str) -> str:
    """The repository a setup cell clones."""
    return re.search(r'"(https://\S+) /content/enhance-book"', source)[1]


def update(path: Path, ref: str | None = None) -> bool:
    """Rewrite ``path``'s setup cell cloning ``ref`` (default: the ref it clones now) of the
    repository of the checkout ``path`` lies in; whether the notebook changed."""
    notebook = nbformat.read(path, as_version=4)
    cell = setup_cell(notebook)
    ref = ref or clone_ref(cell.source)
    source = setup_source(path.stem, ref, repository.address(Path(path).resolve().parents[1]))
    if source == cell.source:
        return False
    cell.source = source
    nbformat.write(notebook, path)
    sync_notebooks.write_script(path)  # the paired script holds the same cells
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

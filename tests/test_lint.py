"""The lint: chapters are clean, parametrised notebooks paired with text scripts that hold the
same cells (``tools/sync_notebooks.py``), ruff passes on the code and the chapters' scripts,
and chapter cells hold calls and display code, no logic (that lives in ``enhance_utils``)."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from enhance_utils.book import build

PROJECT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((PROJECT / "chapters").glob("*.ipynb"))
sys.path.insert(0, str(PROJECT / "tools"))
import sync_notebooks  # noqa: E402

#: what ruff checks (the settings: pyproject.toml, chapters/ruff.toml)
LINTED = ["enhance_utils", "tests", "tools", "benchmarks", "dev.py", "chapters"]
#: statements that are logic, not calls or display, when a chapter cell holds them
LOGIC = (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
#: cells that still hold a loop, waiting to move into the package, by chapter and the cell's
#: first line; the test fails once one no longer does, so that the list only shrinks (empty:
#: every loop has moved)
LOOPS_TO_MOVE: set[tuple[str, str]] = set()


def _code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


# ------------------------------------------------------------------ notebooks and scripts
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_and_script_hold_the_same_cells(path):
    script = sync_notebooks.script_path(path)
    fix = f"run python tools/sync_notebooks.py [--from ipynb|py] {path.stem}"
    assert script.is_file(), f"{path.stem} has no paired script {script.name}: {fix}"
    if sync_notebooks.in_sync(path):
        return
    written = sync_notebooks.script_text(path).split("\n# %%")
    found = script.read_text(encoding="utf-8").split("\n# %%")
    first = next((i for i, (a, b) in enumerate(zip(written, found)) if a != b),
                 min(len(written), len(found)))
    pytest.fail(f"{path.stem}: the notebook and {script.name} differ from cell {first} on "
                f"({len(written)} and {len(found)} cells): {fix}")


def test_every_script_has_its_notebook():
    scripts = {p.stem for p in (PROJECT / "chapters").glob("*.py")}
    assert scripts == {p.stem for p in NOTEBOOKS}, "a chapter script without its notebook"


def test_sync_keeps_cell_ids_and_writes_either_side(tmp_path):
    (tmp_path / "jupytext.toml").write_text((PROJECT / "chapters" / "jupytext.toml").read_text())
    notebook = tmp_path / "01_tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Tiny", id="title"),
        nbformat.v4.new_code_cell('profile = "smoke"', id="params",
                                  metadata={"tags": ["parameters"]})]), notebook)
    assert sync_notebooks.sync(notebook) == "ipynb" and sync_notebooks.in_sync(notebook)
    script = sync_notebooks.script_path(notebook)
    assert script.read_text() == '# %% [markdown]\n# # Tiny\n\n# %% tags=["parameters"]\n' \
                                 'profile = "smoke"\n'
    script.write_text(script.read_text().replace('"smoke"', '"cpu"') + "\n# %%\nprint(1)\n")
    assert sync_notebooks.sync(notebook, "py") == "py" and sync_notebooks.in_sync(notebook)
    cells = nbformat.read(notebook, as_version=4).cells
    assert [c.get("id") for c in cells[:2]] == ["title", "params"]
    assert cells[1].source == 'profile = "cpu"' and cells[1].metadata.tags == ["parameters"]
    assert cells[2].source == "print(1)" and sync_notebooks.sync(notebook) is None
    with pytest.raises(SystemExit, match="no chapter '02'"):
        sync_notebooks.chapter("02", tmp_path)


# ------------------------------------------------------------------ ruff
def test_ruff_passes():
    """pyflakes and pycodestyle (pyproject.toml; the chapters: chapters/ruff.toml)."""
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache",
                           "--output-format", "concise", *LINTED],
                          cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _lint_imports(project: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` (import-linter) on the package and the contracts of ``project``."""
    command = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    return subprocess.run([sys.executable, "-c", command, "--no-cache"], cwd=project,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(project)})


def test_import_layers_hold():
    """import-linter's contracts (pyproject.toml): data < abc, stats < learning < book < cli,
    and no import cycle inside a package."""
    done = _lint_imports(PROJECT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_import_linter_catches_an_upward_import(tmp_path):
    """The contracts can fail: a data module that imports the book breaks the layers."""
    import shutil

    shutil.copytree(PROJECT / "enhance_utils", tmp_path / "enhance_utils",
                    ignore=shutil.ignore_patterns("__pycache__", "*.csv", "*.txt"))
    shutil.copy(PROJECT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "enhance_utils" / "data" / "paths.py", "a") as module:
        module.write("\nfrom ..book import manifest  # noqa: E402,F401\n")
    done = _lint_imports(tmp_path)
    assert done.returncode != 0
    assert "enhance_utils.data is not allowed to import enhance_utils.book" in done.stdout


# ------------------------------------------------------------------ the notebooks' form
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_and_parametrised(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit without outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and re.search(r"^profile = ", tagged[0].source, re.M)
    setup = code[code.index(tagged[0]) + 1]  # the cell right after the parameters sets up
    assert "google.colab" in setup.source and "setup_chapter(" in setup.source
    headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert any("## Summary" in h for h in headings) and any("## What's next" in h for h in headings)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_has_exercises_with_executed_solutions(path):
    """At least two sphinx-exercise exercises per chapter, each with a gated solution
    (``solution-start`` … ``solution-end``) around at least one code cell, which papermill
    therefore executes; exercise labels are unique across the book."""
    exercise_re = re.compile(r"^```\{exercise\}[^\n]*\n(?::[^\n]*\n)*?:label: *(\S+)", re.M)
    start_re = re.compile(r"^```\{solution-start\} *(\S+)", re.M)
    end_re = re.compile(r"^```\{solution-end\}", re.M)
    nb = nbformat.read(path, as_version=4)
    exercises, solutions, open_label, code_cells = [], {}, None, 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            code_cells += open_label is not None
            continue
        exercises += exercise_re.findall(cell.source)
        for label in start_re.findall(cell.source):
            assert open_label is None, f"solution of {label} starts inside that of {open_label}"
            open_label, code_cells = label, 0
        if end_re.search(cell.source):
            assert open_label is not None, "solution-end without solution-start"
            solutions[open_label] = code_cells
            open_label = None
    assert open_label is None, f"the solution of {open_label} is never ended"
    assert len(exercises) >= 2, f"{path.name} has {len(exercises)} exercises, needs at least 2"
    assert len(set(exercises)) == len(exercises), "an exercise label is used twice"
    for label in exercises:
        assert label in solutions, f"exercise {label} has no gated solution"
        assert solutions[label] >= 1, f"the solution of {label} has no code cell"
    assert set(solutions) <= set(exercises), "a solution refers to no exercise of the chapter"
    for other in NOTEBOOKS:
        if other.resolve() != path.resolve():
            text = "\n".join(c.source for c in nbformat.read(other, as_version=4).cells
                             if c.cell_type == "markdown")
            shared = set(exercises) & set(exercise_re.findall(text))
            assert not shared, f"exercise labels {sorted(shared)} also used in {other.name}"


def test_colab_cell_clones_this_books_repository():
    """The Colab cell and the launch buttons name the same repository and branch (one place to
    change when the book moves: ``book/_config.yml``)."""
    import yaml

    repo = yaml.safe_load((PROJECT / "book" / "_config.yml").read_text())["repository"]
    setup = PROJECT / "tools" / "colab_setup.sh"
    assert setup.is_file() and setup.stat().st_mode & 0o111
    for path in NOTEBOOKS:
        first = next(c for c in _code_cells(path) if "google.colab" in c.source)
        assert f"--branch {repo['branch']} " in first.source, path.name
        assert f"{repo['url']} /content/enhance-book" in first.source, path.name
        assert "enhance_utils.setup_chapter(" in first.source, path.name  # installs in Colab


def _parameters_and_code(path):
    nb = nbformat.read(path, as_version=4)
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return "\n" + parameters.source, "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def test_explorer_chapters_draw_static_views_only_in_the_build():
    """``static_views`` is a parameter (False) of exactly the chapters with explorers, every
    explorer of those gets it as ``show_static``, and every chapter declares ``data_dir``."""
    for path in build.chapters(PROJECT):
        parameters, code = _parameters_and_code(path)
        assert "\ndata_dir = None" in parameters, path.name
        declared = "\nstatic_views = False" in parameters
        assert declared == (path.stem in build.EXPLORER_CHAPTERS), path.name
        calls = [node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)
                 and ast.unparse(node.func).endswith("explorer")]
        assert bool(calls) == declared, path.name
        for call in calls:
            assert any(k.arg == "show_static" and ast.unparse(k.value) == "static_views"
                       for k in call.keywords), f"{path.name}: {ast.unparse(call)}"


def test_progress_chapters_show_progress_when_run_by_hand():
    """``progress`` is a parameter (True) of exactly the chapters the build turns it off in,
    and no chapter switches the progress bars of a long step off by itself."""
    for path in build.chapters(PROJECT):
        code = _code_cells(path)
        parameters = next(c for c in code if "parameters" in c.metadata.get("tags", []))
        declared = "\nprogress = True" in "\n" + parameters.source
        assert declared == (path.stem in build.PROGRESS_CHAPTERS), path.name
        if declared:
            source = "\n".join(c.source for c in code)
            assert "progress=False" not in source and "progress=progress" in source, path.name


# ------------------------------------------------------------------ no logic in chapters
def script_cells(script: Path) -> list[dict]:
    """The cells of a chapter's percent-format script: kind, first line number, source, and
    whether the cell lies within an exercise's gated solution (code the reader is asked to
    write, which may hold loops and functions)."""
    lines = script.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("# %%")] + [len(lines)]
    cells, in_solution = [], False
    for start, end in zip(starts, starts[1:]):
        body = "\n".join(lines[start + 1:end])
        if lines[start].startswith("# %% [markdown]"):
            in_solution = (in_solution or "{solution-start}" in body) and \
                "{solution-end}" not in body
            continue
        cells.append({"line": start + 2, "source": body, "solution": in_solution})
    return cells


def logic_in(source: str, first_line: int) -> list[str]:
    """``for``/``while`` loops and function or class definitions in a cell's source."""
    return [f"line {first_line + node.lineno - 1}: {type(node).__name__}"
            for node in ast.walk(ast.parse(source)) if isinstance(node, LOGIC)]


def test_logic_finder_reads_cells_and_skips_solutions(tmp_path):
    script = tmp_path / "x.py"
    script.write_text("# %%\nimport numpy as np\n\n# %%\nfor i in range(2):\n    print(i)\n\n"
                      "# %% [markdown]\n# ```{solution-start} ex-1\n# ```\n\n"
                      "# %%\ndef f():\n    pass\n\n# %% [markdown]\n# ```{solution-end}\n# ```\n\n"
                      "# %%\nclass A:\n    pass\nrows = [i for i in range(3)]\n")
    found = [(c["line"], c["solution"], logic_in(c["source"], c["line"]))
             for c in script_cells(script)]
    assert found == [(2, False, []), (5, False, ["line 5: For"]),
                     (13, True, ["line 13: FunctionDef"]), (21, False, ["line 21: ClassDef"])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_cells_hold_calls_not_logic(path):
    """No loop, function or class in a chapter's cells (exercise solutions aside): the logic
    lives in enhance_utils, with tests."""
    script = sync_notebooks.script_path(path)
    if not script.is_file():
        pytest.fail(f"{path.stem} has no paired script")
    found, waiting = [], set()
    for cell in script_cells(script):
        logic = [] if cell["solution"] else logic_in(cell["source"], cell["line"])
        key = (path.stem, cell["source"].strip().splitlines()[0] if cell["source"].strip() else "")
        if key in LOOPS_TO_MOVE:
            waiting.add(key)
            assert logic, f"{script.name}:{cell['line']} holds no loop now: drop it from " \
                          "LOOPS_TO_MOVE"
        elif logic:
            found.append(f"{script.name}:{cell['line']}: {', '.join(logic)}")
    assert not found, "logic in chapter cells; move it into enhance_utils:\n" + "\n".join(found)
    listed = {key for key in LOOPS_TO_MOVE if key[0] == path.stem}
    assert waiting == listed, f"LOOPS_TO_MOVE names cells {sorted(listed - waiting)} not found"


def importing_cells(script) -> list[int]:
    """The first lines of the cells of a chapter script that import at top level."""
    return [cell["line"] for cell in script_cells(script)
            if any(isinstance(node, (ast.Import, ast.ImportFrom))
                   for node in ast.parse(cell["source"]).body)]


def test_import_finder_names_each_importing_cell(tmp_path):
    script = tmp_path / "x.py"
    script.write_text("# %%\nimport sys\n\n# %%\nimport numpy as np\nx = 1\n\n"
                      "# %%\nif x:\n    import os\n\n# %%\nfrom scipy import stats\n")
    assert importing_cells(script) == [2, 5, 13]  # an import inside a block is not counted


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_imports_cell_per_chapter(path):
    """A chapter imports in two cells only: the setup cell (``setup_chapter``) and the imports
    cell right after it, so that a reader sees in one place what the chapter uses."""
    script = sync_notebooks.script_path(path)
    cells = importing_cells(script)
    assert len(cells) <= 2, f"{script.name}: imports in the cells at lines {cells}"

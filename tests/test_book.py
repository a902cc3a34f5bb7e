"""The book: notebooks are committed clean, and the whole book builds (papermill + HTML)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from enhance_utils import book

PROJECT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((PROJECT / "chapters").glob("*.ipynb"))


def test_every_toc_chapter_exists():
    listed = book.chapters(PROJECT)
    assert listed and [p.name for p in listed] == sorted(p.name for p in listed)
    assert set(listed) <= set(NOTEBOOKS)


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


@pytest.mark.book
def test_book_builds_with_figures(built_book):
    html = built_book
    assert (html / "index.html").is_file()
    for notebook in book.chapters(PROJECT):
        page = (html / "chapters" / f"{notebook.stem}.html").read_text()
        assert "Traceback (most recent call last)" not in page and "output traceback" not in page
        assert "output stderr" not in page, f"{notebook.stem} prints warnings or errors"
        assert re.search(r'<img [^>]*src="[^"]*\.png"', page), f"{notebook.stem} has no figure"
        assert f"chapters/{notebook.name}" in page  # launch buttons point at the notebook


def test_failing_chapter_is_named(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "book").mkdir(parents=True)
    (project / "chapters").mkdir()
    (project / "book" / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - chapters:\n      - file: chapters/09_broken\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('profile = "smoke"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise ValueError('boom')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, project / "chapters" / "09_broken.ipynb")
    with pytest.raises(book.ChapterFailed, match="09_broken.ipynb.*ValueError: boom"):
        book.execute_chapter(project / "chapters" / "09_broken.ipynb", tmp_path / "out.ipynb",
                             "smoke", cwd=project)


def _tiny_project(root, body="print('hello')"):
    (root / "book").mkdir(parents=True)
    (root / "chapters").mkdir()
    (root / "book" / "_config.yml").write_text("title: tiny\nexecute:\n  execute_notebooks: 'off'\n")
    (root / "book" / "intro.md").write_text("# Tiny\n")
    (root / "book" / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - chapters:\n      - file: chapters/01_tiny\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('profile = "smoke"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "chapters" / "01_tiny.ipynb")


def test_rebuild_with_nothing_changed_executes_nothing(data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    monkeypatch.setenv("ENHANCE_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setattr(book, "render", lambda src: None)  # HTML is covered by the test above
    project = tmp_path / "project"
    _tiny_project(project)
    out = tmp_path / "out"
    book.build("smoke", project=project, out=out)
    assert "executed chapters/01_tiny.ipynb" in capsys.readouterr().out
    book.build("smoke", project=project, out=out)
    second = capsys.readouterr().out
    assert "reused chapters/01_tiny.ipynb" in second and "executed" not in second
    executed = nbformat.read(out / "book-src" / "chapters" / "01_tiny.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "hello\n"
    times = (out / "book-src" / book.RUN_TIMES).read_text().splitlines()
    assert re.fullmatch(r"\| 01_tiny \| `smoke` \| \d+ \| no list \| no list \|", times[-1]), times
    path = project / "chapters" / "01_tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[-1].source = "print('changed')"
    nbformat.write(nb, path)
    book.build("smoke", project=project, out=out)
    assert "executed chapters/01_tiny.ipynb" in capsys.readouterr().out


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
        first = next(c for c in nbformat.read(path, as_version=4).cells if "google.colab" in c.source)
        assert f"--branch {repo['branch']} " in first.source, path.name
        assert f"{repo['url']} /content/enhance-book" in first.source, path.name
        assert "enhance_utils.setup_chapter(" in first.source, path.name  # installs in Colab


@pytest.mark.book
def test_intro_shows_the_run_times_of_this_build(built_book):
    intro = (built_book / "intro.html").read_text()
    for notebook in book.chapters(PROJECT):
        row = re.search(rf"<td><p>{notebook.stem}</p></td>\s*<td><p><code[^>]*>.*?</code></p></td>"
                        rf"\s*<td><p>(\d+)</p></td>", intro, re.S)
        assert row, f"{notebook.stem} has no run time on the intro page"


def test_training_chapters_can_show_another_profiles_store():
    """The README's book: analysis in smoke, chapters 06-09 from the committed cpu store."""
    quiet = {"progress": False}  # no progress bars in the book
    static = {"static_views": True}  # the explorers' first views as plain output
    assert book.chapter_parameters("04_correlation", "smoke", "cpu") == {"profile": "smoke",
                                                                        **quiet, **static}
    assert book.chapter_parameters("07_ensembles", "smoke", "cpu") == {
        "profile": "cpu", "train": False, **quiet, **static}
    assert book.chapter_parameters("09_explanations", "smoke", "cpu") == {"profile": "cpu",
                                                                         **quiet, **static}
    assert book.chapter_parameters("06_multitask", "smoke", "smoke") == {"profile": "smoke",
                                                                        **quiet}
    assert book.chapter_parameters("06_multitask", "cpu") == {"profile": "cpu", **quiet}
    assert book.chapter_parameters("02_annotations", "cpu") == {"profile": "cpu"}


def test_the_build_hands_its_data_folder_to_every_chapter():
    """As a parameter (``data_dir``), not through the environment; pages of no chapter of the
    manifest get none."""
    for stem in book.TRAINING_CHAPTERS + ("02_annotations",):
        assert book.chapter_parameters(stem, "smoke", "cpu", "../data/downloads")[
            "data_dir"] == "../data/downloads"
    assert "data_dir" not in book.chapter_parameters("01_tiny", "smoke", None, "../data")
    assert "data_dir" not in book.chapter_parameters("02_annotations", "smoke")


def _parameters_and_code(path):
    nb = nbformat.read(path, as_version=4)
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return "\n" + parameters.source, "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def test_explorer_chapters_draw_static_views_only_in_the_build():
    """``static_views`` is a parameter (False) of exactly the chapters with explorers, every
    explorer of those gets it as ``show_static``, and every chapter declares ``data_dir``."""
    for path in book.chapters(PROJECT):
        parameters, code = _parameters_and_code(path)
        assert "\ndata_dir = None" in parameters, path.name
        declared = "\nstatic_views = False" in parameters
        assert declared == (path.stem in book.EXPLORER_CHAPTERS), path.name
        calls = [node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)
                 and ast.unparse(node.func).endswith("explorer")]
        assert bool(calls) == declared, path.name
        for call in calls:
            assert any(k.arg == "show_static" and ast.unparse(k.value) == "static_views"
                       for k in call.keywords), f"{path.name}: {ast.unparse(call)}"


def test_progress_chapters_show_progress_when_run_by_hand():
    """``progress`` is a parameter (True) of exactly the chapters the build turns it off in,
    and no chapter switches the progress bars of a long step off by itself."""
    for path in book.chapters(PROJECT):
        nb = nbformat.read(path, as_version=4)
        parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        declared = "\nprogress = True" in "\n" + parameters.source
        assert declared == (path.stem in book.PROGRESS_CHAPTERS), path.name
        if declared:
            code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
            assert "progress=False" not in code and "progress=progress" in code, path.name


def test_executed_chapters_keep_no_widget_state(tmp_path):
    """A page without widget state loads no widget library: it shows the explorers' static
    views and no control that does nothing."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = 'smoke'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(  # an explorer: controls driving an output widget
            "import ipywidgets\nslider = ipywidgets.IntSlider()\n"
            "ipywidgets.VBox([slider, ipywidgets.interactive_output(print, {'x': slider})])")],
        metadata={"kernelspec": {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}})
    nbformat.write(notebook, tmp_path / "in.ipynb")
    book.execute_chapter(tmp_path / "in.ipynb", tmp_path / "out.ipynb", "smoke", cwd=tmp_path)
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert "application/vnd.jupyter.widget-view+json" in executed.cells[-1].outputs[0].data
    assert "widgets" not in executed.metadata


def test_book_command_defaults_to_the_cpu_store_for_a_smoke_book(monkeypatch):
    seen = {}
    monkeypatch.setattr(book, "build", lambda profile, **kw: seen.update(kw, profile=profile)
                        or Path("/nowhere"))
    from enhance_utils import cli

    assert cli.main(["book"]) == 0 and seen["training"] == "cpu" and seen["profile"] == "smoke"
    assert cli.main(["book", "--profile", "paper"]) == 0 and seen["training"] == "paper"
    assert cli.main(["book", "--training-profile", "smoke"]) == 0 and seen["training"] == "smoke"

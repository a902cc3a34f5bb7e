"""The book: the whole book builds (papermill + HTML), chapters execute, the build reuses what
it executed. The static checks of the notebooks are in ``tests/test_lint.py``."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from enhance_utils.book import build as book
from enhance_utils.book import student

PROJECT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((PROJECT / "chapters").glob("*.ipynb"))
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def test_every_toc_chapter_exists():
    listed = book.chapters(PROJECT)
    assert listed and [p.name for p in listed] == sorted(p.name for p in listed)
    assert set(listed) <= set(NOTEBOOKS)


@pytest.mark.book
def test_book_builds_with_figures(built_book):
    html = built_book
    assert (html / "index.html").is_file()
    for notebook in book.chapters(PROJECT):
        page = (html / "chapters" / f"{notebook.stem}.html").read_text()
        assert "Traceback (most recent call last)" not in page and "output traceback" not in page
        assert "output stderr" not in page, f"{notebook.stem} prints warnings or errors"
        assert re.search(r'<img [^>]*src="[^"]*\.png"', page), f"{notebook.stem} has no figure"
        assert f"editions/live/{notebook.name}" in page  # launch buttons: the live edition


def test_failing_chapter_is_named(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "book").mkdir(parents=True)
    (project / "chapters").mkdir()
    (project / "book" / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - chapters:\n      - file: chapters/09_broken\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('profile = "smoke"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise ValueError('boom')")])
    nb.metadata["kernelspec"] = KERNEL
    nbformat.write(nb, project / "chapters" / "09_broken.ipynb")
    with pytest.raises(book.ChapterFailed, match="09_broken.ipynb.*ValueError: boom"):
        book.execute_chapter(project / "chapters" / "09_broken.ipynb", tmp_path / "out.ipynb",
                             "smoke", cwd=project)


def _tiny_project(root, body="print('hello')"):
    (root / "book").mkdir(parents=True)
    (root / "chapters").mkdir()
    (root / "book" / "_config.yml").write_text(
        "title: tiny\nexecute:\n  execute_notebooks: 'off'\n")
    (root / "book" / "intro.md").write_text("# Tiny\n")
    (root / "book" / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - chapters:\n      - file: chapters/01_tiny\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('profile = "smoke"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = KERNEL
    nbformat.write(nb, root / "chapters" / "01_tiny.ipynb")
    edition = student.committed(root / "chapters" / "01_tiny.ipynb")  # a project commits its
    edition.parent.mkdir(parents=True)  # student editions (tools/make_editions.py)
    nbformat.write(nb, edition)


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
    assert book.chapter_parameters("09_explanations", "smoke", "cpu") == {"profile": "lite",
                                                                         **quiet, **static}
    assert book.chapter_parameters("09_explanations", "cpu") == {"profile": "lite", **quiet,
                                                                 **static}
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


def test_the_build_hides_the_injected_parameters_and_its_kernel_warns_nothing(tmp_path, capfd):
    """The injected parameters' cell (the builder's ``data_dir``) is tagged ``remove-cell``,
    the chapter's own ``parameters`` cell is not; the kernel, local over IPC, does not warn
    "Kernel is running over TCP without encryption" (on its stderr, which is ours)."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = 'smoke'\ndata_dir = None",
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(profile, data_dir)")], metadata={"kernelspec": KERNEL})
    nbformat.write(notebook, tmp_path / "in.ipynb")
    book.execute_chapter(tmp_path / "in.ipynb", tmp_path / "out.ipynb",
                         {"profile": "cpu", "data_dir": "../../../data"}, cwd=tmp_path)
    assert "without encryption" not in capfd.readouterr().err
    cells = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells
    tags = [cell.metadata.get("tags", []) for cell in cells]
    assert tags[:2] == [["parameters"], ["injected-parameters", "remove-cell"]]
    assert cells[-1].outputs[0].text == "cpu ../../../data\n"


def test_book_command_defaults_to_the_cpu_store_for_a_smoke_book(monkeypatch):
    seen = {}
    monkeypatch.setattr(book, "build", lambda profile, **kw: seen.update(kw, profile=profile)
                        or Path("/nowhere"))
    from enhance_utils import cli

    assert cli.main(["book"]) == 0 and seen["training"] == "cpu" and seen["profile"] == "smoke"
    assert cli.main(["book", "--profile", "paper"]) == 0 and seen["training"] == "paper"
    assert cli.main(["book", "--training-profile", "smoke"]) == 0 and seen["training"] == "smoke"


def _timed_notebook(path: Path, body: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('profile = "smoke"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = KERNEL
    nbformat.write(nb, path)


def test_chapters_execute_two_at_once_and_a_failure_is_named(tmp_path):
    """Two workers run two chapters' kernels at the same time (each records when it ran);
    a failing chapter ends the build with its name."""
    (tmp_path / "chapters").mkdir()
    body = ("import time, pathlib\nstart = time.time(); time.sleep(3)\n"
            "pathlib.Path('{stem}.times').write_text(f'{{start}} {{time.time()}}')")
    jobs = []
    for stem in ("01_a", "02_b"):
        _timed_notebook(tmp_path / "chapters" / f"{stem}.ipynb", body.format(stem=stem))
        jobs.append(book.ChapterJob(tmp_path / "chapters" / f"{stem}.ipynb",
                                    tmp_path / "out" / f"{stem}.ipynb",
                                    tmp_path / "kept" / f"{stem}-key.ipynb", {"profile": "smoke"}))
    (tmp_path / "kept").mkdir()
    book.execute_chapters(jobs, tmp_path, workers=2)
    (a0, a1), (b0, b1) = [map(float, (tmp_path / "chapters" / f"{s}.times").read_text().split())
                          for s in ("01_a", "02_b")]
    assert a0 < b1 and b0 < a1  # the two kernels overlapped
    assert all(job.kept.is_file() for job in jobs)
    _timed_notebook(tmp_path / "chapters" / "02_b.ipynb", "raise ValueError('boom')")
    with pytest.raises(book.ChapterFailed, match="02_b.ipynb.*ValueError: boom"):
        book.execute_chapters(jobs, tmp_path, workers=2)


#: a verdict sentence (:func:`enhance_utils.learning.verdicts`): splits, the two models, Holm's
#: p, the difference and the size of the family it was adjusted in
VERDICT = re.compile(r"(\d+) (?:splits|folds)[^:\n]*?(?:cannot separate|separates?) (\S+) from "
                     r"(\S+): Holm-adjusted p = ([0-9.e-]+); ([+-][0-9.]+) AUC points "
                     r"\(Bonferroni 95% simultaneous CI over (\d+) comparisons")


def verdicts_in(notebook: Path) -> list[tuple]:
    """Every verdict sentence an executed chapter printed."""
    cells = json.loads(notebook.read_text())["cells"]
    texts = ["".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/markdown", ""))
             for cell in cells for o in cell.get("outputs", [])]
    return [found for text in texts for found in VERDICT.findall(text)]


@pytest.mark.book
def test_a_comparison_has_one_adjusted_p_on_every_page(built_book):
    """Chapters 07 and 08 adjust in one family per store and network: a comparison shown on
    both pages, or twice on one, has one Holm-adjusted p and one family size everywhere, and
    both pages state the same family sizes (a chapter adjusting over its own comparisons only
    would state fewer)."""
    src = built_book.parents[1]
    pages = {stem: verdicts_in(src / "chapters" / f"{stem}.ipynb")
             for stem in ("07_ensembles", "08_randomized")}
    assert all(pages.values()), {stem: len(found) for stem, found in pages.items()}
    shown = {}
    for found in pages.values():
        for splits, a, b, p, diff, family in found:
            shown.setdefault((splits, a, b, diff), []).append((p, family))
    assert any(len(seen) > 1 for seen in shown.values())  # some comparison is shown twice
    assert {key: set(seen) for key, seen in shown.items() if len(set(seen)) > 1} == {}
    assert ({f for *_, f in pages["07_ensembles"]} == {f for *_, f in pages["08_randomized"]})


def test_a_chapter_whose_cell_hangs_runs_once_more_then_fails(tmp_path, monkeypatch, capsys):
    """A cell past ``ENHANCE_CELL_TIMEOUT`` (a kernel client that missed a reply waits forever)
    reruns the chapter in a new kernel, saying so; a second time out names the limit."""
    marker = tmp_path / "first-attempt-done"
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = 'smoke'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import pathlib, time\nmarker = pathlib.Path(%r)\n"
            "if not marker.exists():\n    marker.touch()\n    time.sleep(60)\nprint('done')"
            % str(marker))], metadata={"kernelspec": KERNEL})
    nbformat.write(notebook, tmp_path / "in.ipynb")
    monkeypatch.setenv("ENHANCE_CELL_TIMEOUT", "3")
    book.execute_chapter(tmp_path / "in.ipynb", tmp_path / "out.ipynb", "smoke", cwd=tmp_path)
    assert "a cell ran past 3 s" in capsys.readouterr().out
    assert nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[-1].outputs[0].text == "done\n"

    marker.unlink()
    notebook.cells[-1].source = "import time\ntime.sleep(60)"
    nbformat.write(notebook, tmp_path / "in.ipynb")
    with pytest.raises(book.ChapterFailed, match="in.ipynb: a cell ran past 3 s twice"):
        book.execute_chapter(tmp_path / "in.ipynb", tmp_path / "out.ipynb", "smoke", cwd=tmp_path)


@pytest.mark.parametrize("env, parameters, seconds", [
    ({}, {"profile": "smoke"}, book.SMOKE_CELL_TIMEOUT), ({}, {"profile": "paper"}, None),
    ({"ENHANCE_CELL_TIMEOUT": "60"}, {"profile": "cpu"}, 60),
    ({"ENHANCE_CELL_TIMEOUT": "0"}, {"profile": "smoke"}, None)])
def test_cell_timeout_by_profile_and_environment(env, parameters, seconds):
    assert book.cell_timeout(parameters, env) == seconds


def test_a_cell_timeout_that_is_not_seconds_is_refused():
    with pytest.raises(ValueError, match="ENHANCE_CELL_TIMEOUT must be whole seconds"):
        book.cell_timeout({"profile": "smoke"}, {"ENHANCE_CELL_TIMEOUT": "10m"})

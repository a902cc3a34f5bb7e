"""The teaching page: per-chapter facts computed from the chapters and their data lists."""
from __future__ import annotations

from pathlib import Path

import nbformat
import yaml

from enhance_utils.book import chapter_data
from enhance_utils.book import teaching
from enhance_utils.profiles import PROFILES

PROJECT = Path(__file__).resolve().parents[1]
SOURCES = sorted((PROJECT / "chapters").glob("*.ipynb"))


def test_every_chapter_states_goals_prerequisites_and_time(data_root):
    page = teaching.chapters_page(SOURCES, SOURCES, "smoke", data_root)
    sections = page.split("\n### ")[1:]
    assert len(sections) == len(chapter_data.CHAPTERS)
    for section in sections:
        assert "not stated in the chapter" not in section, section[:40]
        assert "- **Prerequisites**:\n  - none" not in section, section[:40]
        assert "(chapters/0" in section or section.startswith("1. ")  # links fixed for the page


def test_downloads_are_the_chapter_lists(data_root):
    text = teaching.downloads("03_automated_abc", data_root)
    for profile in PROFILES:
        needs = chapter_data.needs("03_automated_abc", profile, data_root)
        assert f"`{profile}` {needs.n_images} images, {needs.n_masks} masks" in text


def test_tables_download_sums_the_registry():
    files = chapter_data.table_files()
    text = teaching.tables_download()
    assert text.startswith(f"{sum(1 for p in files if teaching.registry.entries()[p].size)} table")
    assert "PH2Dataset.rar" in text or "size not recorded" not in text


def test_teaching_page_is_in_the_book():
    toc = yaml.safe_load((PROJECT / "book" / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert "teaching" in files
    assert f"{{include}} {teaching.PAGE}" in (PROJECT / "book" / "teaching.md").read_text()


def test_glue_roles_copied_from_a_chapter_read_that_chapters_data(tmp_path):
    text = ("takes {glue:text}`smoke_runs` runs, {glue:text}`auc:.2f` and {glue}`n` s, "
            "{glue:text}`other.ipynb::k:s`")
    assert teaching._glue_from(text, "08_randomized.ipynb") == (
        "takes {glue:text}`chapters/08_randomized.ipynb::smoke_runs:s` runs, "
        "{glue:text}`chapters/08_randomized.ipynb::auc:.2f` and "
        "{glue}`chapters/08_randomized.ipynb::n` s, {glue:text}`other.ipynb::k:s`")


def test_exercises_give_the_skill_and_a_grading_hint():
    chapter = PROJECT / "chapters" / "04_correlation.ipynb"
    found = teaching.exercises(chapter)
    assert [e["title"] for e in found] == ["One value of Table 3 by hand",
                                           "Pearson's r is a difference of means",
                                           "A bootstrap interval by hand"]
    assert found[1]["hint"] == "its solution checks `abs(r_formula - r_table) < 1e-9`"
    section = teaching.exercises_section(SOURCES)
    total = sum(c.source.count("{exercise}") for s in SOURCES
                for c in nbformat.read(s, as_version=4).cells)
    assert section.count("Grading: ") == total
    assert "**04_correlation**: 3 exercises" in section


def test_a_course_build_hides_every_solution(tmp_path):
    import shutil

    shutil.copy(PROJECT / "book" / "_config.yml", tmp_path / "_config.yml")
    page = tmp_path / "chapters" / "04_correlation.ipynb"
    page.parent.mkdir()
    shutil.copy(PROJECT / "chapters" / page.name, page)
    assert teaching.without_solutions(tmp_path, [page]) == 3
    config = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert config["sphinx"]["config"]["hide_solutions"] is True
    assert "sphinx_exercise" in config["sphinx"]["extra_extensions"]
    text = "\n".join(c.source for c in nbformat.read(page, as_version=4).cells)
    assert "{solution-" not in text and "stats.pearsonr(pair.score" not in text
    assert text.count("{exercise}") == 3


def test_the_book_command_offers_a_build_without_solutions(monkeypatch):
    from enhance_utils import cli
    from enhance_utils.book import build

    seen = {}
    monkeypatch.setattr(build, "build", lambda *a, **k: seen.update(k) or Path("html"))
    assert cli.main(["book", "--no-solutions"]) == 0 and seen["solutions"] is False
    assert cli.main(["book"]) == 0 and seen["solutions"] is True

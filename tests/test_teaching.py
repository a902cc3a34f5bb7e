"""The teaching page: per-chapter facts computed from the chapters and their data lists."""
from __future__ import annotations

from pathlib import Path

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

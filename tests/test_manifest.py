"""The chapter manifest: the one record of the chapters, and what is generated from it."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from enhance_utils.book import build, manifest
from enhance_utils.book import chapter_data

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tools"))
import generate_tables  # noqa: E402


def test_the_manifest_is_the_books_table_of_contents():
    assert [c.stem for c in manifest.CHAPTERS] == [n.stem for n in build.chapters(PROJECT)]
    assert list(manifest.BY_STEM) == [c.stem for c in manifest.CHAPTERS]


def test_every_chapter_has_a_known_data_need_and_existing_modules():
    assert list(chapter_data.CHAPTERS) == [c.stem for c in manifest.CHAPTERS]
    for chapter in manifest.CHAPTERS:
        assert chapter_data.CHAPTERS[chapter.stem] is chapter_data.NEEDS[chapter.data]
        for module in chapter.modules:
            package = PROJECT / "enhance_utils"
            path = package / module.replace(".", "/")
            assert path.with_suffix(".py").is_file() or path.is_dir(), module
        for pattern in chapter.tests:
            assert list((PROJECT / "tests").glob(pattern)), pattern
        assert len(chapter.seconds) == len(manifest.TIMINGS)


@pytest.mark.parametrize("page", sorted(generate_tables.BLOCKS))
def test_committed_tables_are_the_generated_ones(page):
    assert (PROJECT / page).read_text() == generate_tables.generated(page), \
        f"{page} is out of date: run python tools/generate_tables.py"


def test_a_page_without_its_block_is_an_error():
    with pytest.raises(ValueError, match="no block 'BEGIN generated:chapters'"):
        generate_tables.fill("# a page\n", "chapters", "| table |")
    text = "a\n<!-- BEGIN generated:x -->\nold\n<!-- END generated:x -->\nb\n"
    filled = generate_tables.fill(text, "x", "new")
    assert filled == "a\n<!-- BEGIN generated:x -->\n\nnew\n\n<!-- END generated:x -->\nb\n"
    assert generate_tables.fill(filled, "x", "new") == filled  # a second run changes nothing


@pytest.mark.parametrize("name", ["03", "3", "003", "03_automated_abc", "03_automated_abc.ipynb",
                                  "chapters/03_automated_abc.ipynb"])
def test_a_chapter_is_named_by_number_stem_or_file(name):
    assert manifest.chapter_stem(name) == "03_automated_abc"


@pytest.mark.parametrize("name", ["10", "0", "automated", "", "03_automated"])
def test_a_name_of_no_chapter_is_refused_with_the_chapters(name):
    with pytest.raises(ValueError, match=f"no chapter '{name}'; the chapters are 01_datasets, "):
        manifest.chapter_stem(name)

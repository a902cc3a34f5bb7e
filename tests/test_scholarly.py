"""The book's scholarly layer: citations resolve, every chapter cites the paper on its opening,
figures referred to by number exist, and the API page documents every module."""
from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import nbformat
import pytest

import enhance_utils
from enhance_utils.book import build

PROJECT = Path(__file__).resolve().parents[1]
BOOK = PROJECT / "book"
CHAPTERS = build.chapters(PROJECT)
CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")
NUMREF = re.compile(r"\{numref\}`(?:[^`<]*<)?([\w-]+)>?`")


def bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,]+),", (BOOK / "references.bib").read_text(), re.M))


def markdown_of(notebook: Path) -> list[str]:
    return [c.source for c in nbformat.read(notebook, as_version=4).cells
            if c.cell_type == "markdown"]


def pages() -> dict[str, str]:
    texts = {p.name: p.read_text() for p in BOOK.glob("*.md")}
    texts.update({n.name: "\n".join(markdown_of(n)) for n in CHAPTERS})
    return texts


def test_every_cited_key_is_in_the_bibliography():
    keys = bib_keys()
    cited = {name: {k.strip() for group in CITE.findall(text) for k in group.split(",")}
             for name, text in pages().items()}
    unknown = {name: sorted(found - keys) for name, found in cited.items() if found - keys}
    assert not unknown, f"citations without an entry in references.bib: {unknown}"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opening_cites_the_paper(notebook):
    assert "{cite:t}`raumanns2021enhance`" in markdown_of(notebook)[0]


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_numbered_references_point_at_figures_of_the_chapter(notebook):
    cells = nbformat.read(notebook, as_version=4).cells
    names = {c.metadata.get("mystnb", {}).get("figure", {}).get("name") for c in cells}
    referred = {label for c in cells if c.cell_type == "markdown"
                for label in NUMREF.findall(c.source)}
    assert referred <= names, f"{notebook.stem}: no figure named {sorted(referred - names)}"
    captions = [c.metadata["mystnb"]["figure"] for c in cells if "mystnb" in c.metadata]
    assert all(figure.get("caption") for figure in captions)


def test_the_bibliography_and_the_api_page_are_in_the_book():
    toc = (BOOK / "_toc.yml").read_text()
    for page in ("bibliography", "api", "scorecard"):
        assert re.search(rf"- file: {page}\s*$", toc, re.M), page
    assert "```{bibliography}" in (BOOK / "bibliography.md").read_text()


def test_api_page_documents_every_module():
    api = (BOOK / "api.md").read_text()
    documented = set(re.findall(r"automodule:: enhance_utils\.(\w+)", api))
    modules = {m.name for m in pkgutil.iter_modules(enhance_utils.__path__)}
    assert modules - {"__main__"} <= documented, \
        f"add to book/api.md: {sorted(modules - documented)}"
    assert documented <= modules, f"no such module: {sorted(documented - modules)}"


@pytest.mark.parametrize("strict, env, expected", [(True, None, True), (False, "1", False),
                                                   (None, "1", True), (None, None, False)])
def test_render_is_strict_on_request(tmp_path, monkeypatch, strict, env, expected):
    calls = []
    monkeypatch.setattr(build.subprocess, "run", lambda cmd, **kwargs: calls.append(cmd))
    if env is None:
        monkeypatch.delenv("ENHANCE_STRICT_BUILD", raising=False)
    else:
        monkeypatch.setenv("ENHANCE_STRICT_BUILD", env)
    build.render(tmp_path, strict=strict)
    assert ("-W" in calls[0]) is expected and calls[0][-1] == str(tmp_path)


PLAIN_CITATION = re.compile(r"\b[A-Z][a-zà-ÿ'-]+(?: (?:and|&) [A-Z][a-zà-ÿ'-]+| et al\.)?,? "
                            r"\(?(?:19|20)\d\d\)?")
#: pages whose works must be cited with {cite} (chapters 06-08 are covered by their own issue)
CITING = ["intro.md", "01_datasets.ipynb", "02_annotations.ipynb", "03_automated_abc.ipynb",
          "04_correlation.ipynb", "05_agreement.ipynb", "09_explanations.ipynb"]


@pytest.mark.parametrize("page", CITING)
def test_works_are_cited_not_named_in_plain_text(page):
    text = re.sub(r"\{[\w:.-]+\}`[^`]*`|`[^`\n]*`", " ", pages()[page])
    assert not PLAIN_CITATION.findall(text), f"{page}: cite these with {{cite}}"

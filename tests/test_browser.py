"""Every page of the built book, opened in a real browser (headless Chromium via Playwright).

Checks what a reader would notice: error output or tracebacks on the page, images that do not
load, internal links that lead nowhere, launch buttons that open the wrong notebook or branch.
Screenshots of every page are kept in ``_build/screenshots`` (CI artifacts).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SCREENSHOTS = PROJECT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BRANCH = "main"


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (Debian package `chromium`; .ci/run installs it)")
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


def _pages(html: Path) -> list[Path]:
    skip = {"genindex.html", "search.html", "index.html"}  # index.html only redirects
    return sorted(p for p in html.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts)


#: how long a page may take to load, answer or draw (ms): the suite shares two cores between
#: two test workers, and a full-page screenshot of a long chapter can take more than
#: Playwright's default 30 s there
PAGE_TIMEOUT_MS = 180_000


def _new_page(browser, **options):
    page = browser.new_page(**options)
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    return page


def _broken_links(page_file: Path, hrefs: list[str], html: Path) -> list[str]:
    broken = []
    for href in hrefs:
        parsed = urlparse(href)
        if parsed.scheme in ("http", "https", "mailto", "javascript") or href.startswith("#"):
            continue
        path = unquote(parsed.path)
        target = Path(path) if parsed.scheme == "file" else page_file.parent / path
        if parsed.path and not target.resolve().exists():
            broken.append(href)
    return broken


def _inspect(browser, page_file: Path, html: Path) -> dict:
    page = _new_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(page_file.as_uri(), wait_until="load")
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => ({src: e.getAttribute('src'), "
               "ok: e.complete && e.naturalWidth > 0}))")
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    errors = page.eval_on_selector_all(
        ".output.traceback, .output.error, .output.stderr, .cell_output .stderr",
        "els => els.length")
    text = page.inner_text("body")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = page_file.relative_to(html).as_posix().replace("/", "__").replace(".html", ".png")
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    page.close()
    return {"images": images, "hrefs": hrefs, "error_outputs": errors, "text": text,
            "traceback": "Traceback (most recent call last)" in text}


def _builder_folders(html: Path, data_root: Path, tests_tmp: Path) -> list[str]:
    """The builder's own absolute folders, which no page may show: the build folder, the
    project, the data tree and the tests' temporary folders (the cache); the pages show paths
    relative to them (:func:`enhance_utils.data.paths.shown`)."""
    return [str(Path(f).resolve()) for f in (html.parents[2], PROJECT, data_root, tests_tmp)]


def test_every_page_in_a_browser(built_book, browser, data_root, tmp_path_factory):
    html = built_book
    pages = _pages(html)
    assert any(p.parent.name == "chapters" for p in pages)
    broken, missing, error_pages, leaks = [], [], [], []
    folders = _builder_folders(html, data_root, tmp_path_factory.getbasetemp())
    for page_file in pages:
        seen = _inspect(browser, page_file, html)
        leaks += [f"{page_file.name}: {f}" for f in folders if f in seen["text"]]
        missing += [f"{page_file.name}: {i['src']}" for i in seen["images"] if not i["ok"]]
        broken += [f"{page_file.name}: {h}" for h in _broken_links(page_file, seen["hrefs"], html)]
        if seen["error_outputs"] or seen["traceback"]:
            error_pages.append(page_file.name)
    print(f"{len(pages)} pages: {len(broken)} broken links, {len(missing)} missing images, "
          f"{len(error_pages)} pages with error output; screenshots in {SCREENSHOTS}")
    assert not broken, broken
    assert not missing, missing
    assert not error_pages, error_pages
    assert not leaks, leaks  # absolute folders of the builder's machine


def test_index_redirects_to_the_intro(built_book):
    assert "intro.html" in (built_book / "index.html").read_text()


def test_launch_buttons_open_the_right_notebook(built_book, browser):
    for page_file in sorted((built_book / "chapters").glob("*.html")):
        page = _new_page(browser)
        page.goto(page_file.as_uri())
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        page.close()
        notebook = f"editions/live/{page_file.stem}.ipynb"
        launch = [h for h in hrefs if "editions/students/" not in h]  # student: its own test
        colab = [h for h in launch if "colab.research.google.com" in h]
        binder = [h for h in launch if "mybinder.org" in h]
        assert colab and all(h.endswith(f"/blob/{BRANCH}/{notebook}") for h in colab), colab
        assert binder and all(f"/{BRANCH}?urlpath=" in h and h.endswith(notebook)
                              for h in binder), binder
        assert (PROJECT / notebook).is_file()


WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'


#: the chapters with an explorer, and the figures its static view draws (with one table each)
EXPLORERS = {"01_datasets": 1, "03_automated_abc": 2, "04_correlation": 1, "07_ensembles": 1,
             "09_explanations": 1}


def test_widget_explorers_show_a_static_fallback(built_book, browser):
    """No kernel behind a page: every cell that displays a widget must also show plain output
    — loaded figures and a table —, and no page loads a widget library (which would draw
    controls that do nothing)."""
    cells, with_widgets = [], []
    for page_file in sorted((built_book / "chapters").glob("*.html")):
        page = _new_page(browser)
        page.goto(page_file.as_uri(), wait_until="load")
        found = page.eval_on_selector_all(
            f"div.cell:has({WIDGET_VIEW})",
            """els => els.map(c => ({
                images: [...c.querySelectorAll('.cell_output img')]
                    .filter(i => i.complete && i.naturalWidth > 0).length,
                tables: c.querySelectorAll('.cell_output table').length}))""")
        if page.query_selector('script[type="application/vnd.jupyter.widget-state+json"], '
                               'script[src*="html-manager"]'):
            with_widgets.append(page_file.stem)
        page.close()
        cells += [dict(cell, page=page_file.stem) for cell in found]
    assert with_widgets == []
    assert sorted({c["page"] for c in cells}) == sorted(EXPLORERS)
    for cell in cells:
        assert cell["images"] >= EXPLORERS[cell["page"]] and cell["tables"] >= 1, cell


def test_chapter_pages_link_their_student_edition(built_book, browser):
    """Every chapter page links a downloadable notebook of the chapter without solutions (the
    committed student edition) and opens it in Colab and on Binder."""
    import nbformat

    for page_file in sorted((built_book / "chapters").glob("*.html")):
        page = _new_page(browser)
        page.goto(page_file.as_uri())
        hrefs = page.eval_on_selector_all("a.download", "els => els.map(e => e.href)")
        opened = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        page.close()
        name = f"editions/students/{page_file.stem}-student.ipynb"
        assert [h for h in opened if "colab.research.google.com" in h and h.endswith(name)]
        assert [h for h in opened if "mybinder.org" in h and h.endswith(name)]
        linked = [Path(unquote(urlparse(h).path)) for h in hrefs
                  if h.endswith(f"/{page_file.stem}-student.ipynb")]
        assert linked and linked[0].is_file(), (page_file.name, hrefs)
        edition = nbformat.read(linked[0], as_version=4)
        assert "{solution-" not in "\n".join(c.source for c in edition.cells), page_file.name

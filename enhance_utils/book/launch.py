"""Sphinx extension: a chapter page's launch buttons open the chapter's live edition.

sphinx-book-theme builds the Binder, JupyterHub, Colab and Deepnote buttons of a page from the
page's own notebook (``chapters/NN_name.ipynb`` in the repository), whose MyST markup Colab and
Jupyter show as typed. After the theme (``html-page-context``, priority 501) :func:`to_editions`
points every launch button of a chapter page at ``editions/live/NN_name.ipynb`` instead
(:mod:`enhance_utils.book.editions`). ``book/_config.yml`` loads it
(``sphinx.extra_extensions``).
"""
from __future__ import annotations

from . import repository

#: the folder of the chapters among the book's pages
CHAPTERS = "chapters/"


def edition_path(pagename: str) -> str | None:
    """The live edition (relative to the repository) of page ``pagename``; ``None`` for a page
    that is not a chapter."""
    if not pagename.startswith(CHAPTERS):
        return None
    return f"{repository.LIVE}/{pagename.removeprefix(CHAPTERS)}.ipynb"


def retarget(buttons: list[dict], pagename: str) -> int:
    """Point the launch buttons in ``buttons`` (the theme's ``header_buttons``) of page
    ``pagename`` at its live edition; the number of buttons changed."""
    edition = edition_path(pagename)
    changed = 0
    for group in buttons:
        if not edition or group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            url = button.get("url", "")
            for old in (f"{pagename}.ipynb", f"{pagename}.md"):
                if old in url:
                    button["url"] = url.replace(old, edition)
                    changed += 1
                    break
    return changed


def to_editions(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context`` handler: :func:`retarget` the page's launch buttons."""
    retarget(context.get("header_buttons", []), pagename)


def setup(app) -> dict:
    """Register :func:`to_editions` after sphinx-book-theme's launch buttons."""
    app.connect("html-page-context", to_editions, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

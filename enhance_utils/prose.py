"""Numbers in the book's prose: glued from what a chapter computed, never typed.

A chapter computes its numbers, hands them to :func:`glue_all`, and its markdown inserts them
with myst-nb's ``{glue:text}`` role. :func:`typed_numbers` finds the digits a markdown cell
still carries outside equations, citations, cross-references, glue roles, code and the names
and references listed in :data:`ALLOWED`; ``tests/test_prose.py`` requires it to find none.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

#: what is removed from a markdown cell before digits are looked for, in this order
STRIPPED = [
    re.compile(r"^(```|~~~)(?!\{).*?^\1", re.S | re.M),      # fenced code (not directives)
    re.compile(r"\$\$.*?\$\$", re.S),                         # display maths
    re.compile(r"\$[^$\n]+\$"),                               # inline maths
    re.compile(r"\{[\w:.-]+\}`[^`]*`"),                       # roles: cite, numref, glue, func
    re.compile(r"``[^`\n]+``|`[^`\n]+`"),                       # code spans
    re.compile(r"\]\([^)]*\)"),                               # link targets
    re.compile(r"^:[\w-]+:.*$", re.M),                        # directive options (:label: ...)
    re.compile(r"^\(?[\w-]+\)=$", re.M),                      # MyST targets
]

#: names and references that carry digits but are not results
ALLOWED = [
    re.compile(r"^#+ \d+\.", re.M),                           # the chapter's number in its title
    re.compile(r"\bISIC[ _]2017\b|\bPH2\b|\bISBI\b"),         # dataset names
    re.compile(r"\bICC\(\d,\s?\d\)"),                         # intraclass correlation models
    re.compile(r"\b(?:[Tt]ables?|Figs?\.|[Ff]igures?|[Ss]ections?|[Aa]ppendix|[Cc]hapters?|"
               r"research questions?|[Ss]teps?)\s+[A-Z]?\d+(?:\.\d+)*"
               r"(?:\s*(?:[–,-]|and|to)\s*\d+(?:\.\d+)*)*"),     # references to the paper or book
]

DIGIT = re.compile(r"\d+(?:[.,]\d+)*")


def strip_allowed(markdown: str) -> str:
    """The text of a markdown cell without the parts in which digits are allowed."""
    for pattern in STRIPPED + ALLOWED:
        markdown = pattern.sub(" ", markdown)
    return markdown


def typed_numbers(markdown: str) -> list[str]:
    """Digits typed into the prose of a markdown cell (see the module docstring)."""
    return DIGIT.findall(strip_allowed(markdown))


def glue_all(values: Mapping[str, object]) -> None:
    """Glue every value under its name for the prose (``{glue:text}`name```), silently."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value, display=False)

"""MyST markup of the chapters turned into the Markdown that Colab and Jupyter render.

The book's pages are rendered by Jupyter Book, which understands MyST: glue roles, citations,
cross-references, admonitions and sphinx-exercise's directives. Colab, Binder and JupyterLab
show that markup as it is typed. :func:`to_markdown` rewrites one markdown cell for them:

- ``{glue:text}`key:fmt``` and ``{glue:md}`key``` become the glued value as of the build
  (``Context.glue``, myst-nb's mime bundles) formatted as myst-nb formats it, or
  :data:`PLACEHOLDER` when no value was recorded;
- ``{cite:t}`` / ``{cite:p}`` / ``{cite}`` become author–year text (``Raumanns et al. (2021)``,
  ``(Raumanns et al., 2021)``) linked to the book's bibliography page;
- ``{numref}`label``` becomes ``Figure C.N`` or ``Table C.N`` (C: the chapter's number):
  ``Context.numbers`` numbers the chapter's captioned cells, figures and tables apart, in order
  of appearance (:func:`caption_numbers`); the chapter's number keeps them apart from the
  paper's own tables and figures, which the text also names;
- every other role (``{func}``, ``{mod}``, ``{class}``, ...) becomes inline code;
- a directive fence (``:::{admonition} Title`` ... ``:::``, ````` ```{exercise} Title `````)
  becomes a quoted block headed by its title in bold, exercises numbered in order; options
  (``:label: ...``) are dropped;
- MyST targets (``(label)=``) are dropped.

Fenced code blocks that are not directives are left alone.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

#: what a glue role shows when the build's value is not known
PLACEHOLDER = "*[computed when run]*"

_ROLE = re.compile(r"\{([\w:.-]+)\}`([^`]*)`")
_OPEN = re.compile(r"^(`{3,}|:{3,})\{([\w:-]+)\}[ \t]*(.*)$")
_CODE = re.compile(r"^(`{3,}|~{3,})(?!`*\{)")
_OPTION = re.compile(r"^:[\w-]+:")
_TARGET = re.compile(r"^\([\w:.-]+\)=\s*$")
_KINDS = {"tab": "Table", "fig": "Figure"}


@dataclass
class Context:
    """What the rewriting of one chapter's markdown needs.

    Attributes
    ----------
    glue : dict
        ``{key: {mime type: data}}``: the chapter's glued values (``text/plain``,
        ``text/markdown``); empty when the build's values are not known.
    references : dict
        ``{bibtex key: (authors, year)}``, e.g. ``("Raumanns et al.", "2021")``.
    bibliography : str
        URL of the book's bibliography page, which citations link to.
    numbers : dict
        ``{label: "Figure 2"}`` for the chapter's captioned cells (:func:`caption_numbers`).
    exercises : int
        Exercises rendered so far (their numbers continue across cells).
    """

    glue: dict = field(default_factory=dict)
    references: dict = field(default_factory=dict)
    bibliography: str = ""
    numbers: dict = field(default_factory=dict)
    exercises: int = 0


def read_references(bib: Path) -> dict[str, tuple[str, str]]:
    """``{key: (authors, year)}`` of a BibTeX file, authors as author–year citations name
    them (``Shrout and Fleiss``, ``Raumanns et al.``), LaTeX accents decoded."""
    import latexcodec  # noqa: F401  (registers the "ulatex" codec)
    from pybtex.database import parse_file

    references = {}
    for key, entry in parse_file(str(bib)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [re.sub(r"[{}]", "", codecs.decode(" ".join(p.last_names), "ulatex"))
                 for p in people]
        if len(names) > 2:
            authors = f"{names[0]} et al."
        else:
            authors = " and ".join(names) or key
        references[key] = (authors, entry.fields.get("year", "n.d."))
    return references


def caption_numbers(names: list[str], chapter: str = "") -> dict[str, str]:
    """``{label: "Table 4.1"}``: labels starting ``tab-`` numbered as tables, the others as
    figures, each kind in the order given (the order of appearance in the chapter), after the
    ``chapter``'s number and a dot (none if ``chapter`` is empty)."""
    counts, numbers = {}, {}
    for name in names:
        kind = _KINDS.get(name.split("-", 1)[0], "Figure")
        counts[kind] = counts.get(kind, 0) + 1
        numbers[name] = f"{kind} {chapter + '.' if chapter else ''}{counts[kind]}"
    return numbers


def glue_text(key: str, context: Context, role: str) -> str:
    """The value of one glue role as myst-nb renders it (``role``: ``glue:text``, ``glue:md``
    or ``glue``), or :data:`PLACEHOLDER`."""
    from myst_nb.core.variables import format_plain_text

    key, fmt = (key.rsplit(":", 1) + [""])[:2] if role == "glue:text" else (key, "")
    key = key.split("::")[-1]  # another document's glue: not in an edition's data
    data = context.glue.get(key)
    if not data:
        return PLACEHOLDER
    if role == "glue:md" or "text/plain" not in data or data["text/plain"].startswith("<"):
        return data.get("text/markdown", PLACEHOLDER).strip()
    return format_plain_text(data["text/plain"], fmt)


def cite(keys: str, context: Context, role: str) -> str:
    """Author–year text of a citation role, linked to the bibliography page."""
    parts = []
    for key in (k.strip() for k in keys.split(",")):
        if key not in context.references:
            raise ValueError(f"citation {key!r} is not in the bibliography")
        authors, year = context.references[key]
        text = f"{authors} ({year})" if role == "cite:t" else f"{authors}, {year}"
        parts.append(f"[{text}]({context.bibliography})" if context.bibliography else text)
    return "; ".join(parts) if role == "cite:t" else f"({'; '.join(parts)})"


def numref(target: str, context: Context) -> str:
    """``Figure N`` / ``Table N`` of a ``{numref}`` role (``text %s <label>`` forms too)."""
    match = re.fullmatch(r"(.*?)\s*<([^>]+)>", target)
    text, label = (match[1], match[2]) if match else (None, target)
    if label not in context.numbers:
        raise ValueError(f"{{numref}} of {label!r}: no captioned cell of that name")
    number = context.numbers[label]
    return text.replace("%s", number.split()[-1]) if text else number


def _role(match: re.Match, context: Context) -> str:
    role, content = match[1], match[2]
    if role in ("glue", "glue:text", "glue:md"):
        return glue_text(content, context, role)
    if role.startswith("cite"):
        return cite(content, context, role if role == "cite:t" else "cite:p")
    if role == "numref":
        return numref(content, context)
    shown = re.fullmatch(r"(.*?)\s*<[^>]+>", content)
    return f"`{(shown[1] if shown else content).lstrip('~!')}`"


def roles(text: str, context: Context) -> str:
    """``text`` with every role replaced (module docstring)."""
    return _ROLE.sub(lambda m: _role(m, context), text)


def _quoted(title: str, body: list[str]) -> list[str]:
    lines = [f"**{title}**", "", *body] if title else body
    while lines and not lines[-1].strip():
        lines.pop()
    return [f"> {line}".rstrip() for line in lines]


def _title(name: str, argument: str, context: Context) -> str:
    if name == "exercise":
        context.exercises += 1
        return f"Exercise {context.exercises}" + (f": {argument}" if argument else "")
    if name == "admonition":
        return argument
    return " ".join(filter(None, [name.replace("-", " ").capitalize(), argument]))


def _directive(lines: list[str], start: int, context: Context) -> tuple[list[str], int]:
    """The quoted block of the directive opening at ``lines[start]`` and the index after it."""
    fence, name, argument = _OPEN.match(lines[start]).groups()
    closing = re.compile(rf"^{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    end = next((i for i in range(start + 1, len(lines)) if closing.match(lines[i])), len(lines))
    body = lines[start + 1:end]
    while body and (_OPTION.match(body[0]) or not body[0].strip()):
        body = body[1:]
    title = _title(name, argument.strip(), context)
    return _quoted(title, blocks(body, context)), end + 1


def blocks(lines: list[str], context: Context) -> list[str]:
    """Lines with directives quoted, targets dropped and fenced code kept as it is."""
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        code = _CODE.match(line)
        if _OPEN.match(line):
            block, i = _directive(lines, i, context)
            out += block
        elif code:
            end = next((j for j in range(i + 1, len(lines))
                        if lines[j].strip().startswith(code[1])), len(lines) - 1)
            out += lines[i:end + 1]
            i = end + 1
        elif not _TARGET.match(line):
            out.append(line)
            i += 1
        else:
            i += 1
    return out


def _outside_code(text: str, context: Context) -> str:
    """Roles replaced everywhere but in fenced code blocks."""
    parts = re.split(r"(^(?:`{3,}|~{3,}).*?^(?:`{3,}|~{3,})\s*$)", text, flags=re.M | re.S)
    return "".join(p if i % 2 else roles(p, context) for i, p in enumerate(parts))


def to_markdown(text: str, context: Context) -> str:
    """One markdown cell of a chapter as Colab and Jupyter render it (module docstring)."""
    return _outside_code("\n".join(blocks(text.split("\n"), context)), context)

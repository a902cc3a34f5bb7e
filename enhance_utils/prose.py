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
    re.compile(r"^```\{solution-start\}.*$", re.M),           # a solution names its exercise
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


def plain(value):
    """A glue-able value: numpy scalars become Python numbers (whole ones ``int``), text
    becomes Markdown."""
    from IPython.display import Markdown

    if isinstance(value, str):
        return Markdown(value)
    value = value.item() if hasattr(value, "item") else value
    return int(value) if isinstance(value, float) and value.is_integer() else value


def glue_all(values: Mapping[str, object]) -> None:
    """Glue every value under its name, silently: numbers for ``{glue:text}`name:.3f```,
    text for ``{glue:md}`name```."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, plain(value), display=False)


def comparison_phrase(comparison, unit: str = "values") -> str:
    """How a :func:`enhance_utils.reference.beside_paper` table compares with the paper, in
    words: every value the same, or how many of them differ and by how much at most."""
    compared = comparison.dropna(subset=["computed", "paper"], how="all")
    differ = compared.difference.fillna(0).abs()
    if not (differ > 0).any():
        return f"all {len(compared)} {unit} agree with the paper"
    return (f"{int((differ > 0).sum())} of {len(compared)} {unit} differ from the paper "
            f"(by at most {differ.max():g})")


# --------------------------------------------------------------------------- chapter 01
def datasets_numbers(ground_truth, ph2, comparison, isic_image_shape, isic_mask_shape) -> dict:
    """The numbers of chapter 01's prose, from what the chapter loaded and compared; the
    shapes are (rows, cols) of one ISIC image and of its mask file."""
    isic = ground_truth.diagnosis.value_counts()
    ph2_dx = ph2.clinical_diagnosis.value_counts()
    return {"n_isic": len(ground_truth), "n_isic_nevus": isic["nevus"],
            "n_isic_melanoma": isic["melanoma"], "n_isic_sk": isic["seborrheic_keratosis"],
            "n_ph2": len(ph2), "n_ph2_common": ph2_dx["common_nevus"],
            "n_ph2_atypical": ph2_dx["atypical_nevus"], "n_ph2_melanoma": ph2_dx["melanoma"],
            "table1_agreement": comparison_phrase(comparison, "cells"),
            "isic_image_size": f"{isic_image_shape[1]}×{isic_image_shape[0]}",
            "isic_mask_size": f"{isic_mask_shape[1]}×{isic_mask_shape[0]}"}


# --------------------------------------------------------------------------- chapter 02
def _count(table2, dataset: str, source: str, feature: str) -> int:
    rows = table2[(table2.dataset == dataset) & (table2.source == source)
                  & (table2.feature == feature)]
    return int(rows.n_lesions.sum())


def annotations_numbers(long, table2, comparison, all_rows, ph2) -> dict:
    """The numbers of chapter 02's prose: scales and group sizes from the long table, Table 2
    counts (paper rule ``table2``, every row ``all_rows``) and its comparison with the paper."""
    abc = long[long.feature.isin(["A", "B", "C"])]
    crowd = abc[abc.source == "crowd"].groupby("feature").value.agg(["min", "max"])
    students = long[long.source == "student"]
    sizes = students.groupby("group").annotator.nunique()
    unused = students.groupby("group").row_complete.any()
    paper_b = comparison[(comparison.dataset == "ph2") & (comparison.source == "automated")
                         & (comparison.feature == "B")].paper
    values = {f"crowd_{bound}_{feature}": crowd.loc[feature, bound]
              for feature in crowd.index for bound in ("min", "max")}
    values.update({
        "student_group_min": sizes.min(), "student_group_max": sizes.max(),
        "student_max_B": abc[abc.source == "student"].query("feature == 'B'").value.max(),
        "table2_agreement": comparison_phrase(comparison, "counts"),
        "ph2_auto_b_file": _count(table2, "ph2", "automated", "B"),
        "ph2_auto_b_paper": int(paper_b.fillna(0).sum()),
        "n_student_isic": _count(table2, "isic2017", "student", "A"),
        "unused_groups": " and ".join(f"`{g}`" for g in unused.index[~unused]),
        "n_unused_groups": int((~unused).sum()),
        "n_more_lesions": _count(all_rows, "isic2017", "student", "A")
        - _count(table2, "isic2017", "student", "A"),
        "n_ph2_atypical": int((ph2.clinical_diagnosis == "atypical_nevus").sum()),
    })
    return values

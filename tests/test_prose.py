"""No number typed into the prose of the chapters: every one is glued from a computation."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from enhance_utils import prose

CHAPTERS_DIR = Path(__file__).resolve().parents[1] / "chapters"
#: chapters whose prose must be free of typed numbers; add a chapter's stem to extend
CHAPTERS = ["01_datasets", "02_annotations", "03_automated_abc", "04_correlation",
            "05_agreement", "09_explanations"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_typed_numbers_in_prose(chapter):
    notebook = nbformat.read(CHAPTERS_DIR / f"{chapter}.ipynb", as_version=4)
    typed = {cell.get("id", index): prose.typed_numbers(cell.source)
             for index, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"}
    typed = {cell: numbers for cell, numbers in typed.items() if numbers}
    assert not typed, f"numbers typed into markdown cells (glue them): {typed}"


@pytest.mark.parametrize("text, expected", [
    ("Colour drops from 0.23 to about 0.18.", ["0.23", "0.18"]),
    ("All 1996 published ids; 30 skipped.", ["1996", "30"]),
    ("r = {glue:text}`r_crowd_a:.3f` against the paper's {glue:text}`paper_crowd_a`", []),
    ("Table 3 of {cite:t}`raumanns2021enhance`, sections 4.1 and 5.1, Figs. 3–4", []),
    ("see {numref}`fig-04-isic` and chapter 2; ISIC 2017 and PH2; ICC(2,1)", []),
    ("$r = (M_1 - M_0)/s$ with `ddof=0` and [Chapter 2](02_annotations.ipynb)", []),
    ("```python\nx = 10\n```\nno digit here", []),
    ("```{solution-start} ex-01-table1-ph2\n:class: dropdown\n```", []),
    ("```{exercise} Table 1 by hand\n:label: ex-01-table1\n\nUse 300 pixels.\n```", ["300"]),
])
def test_typed_numbers(text, expected):
    assert prose.typed_numbers(text) == expected


def test_plain_values_for_glue():
    import numpy as np

    assert prose.plain(np.float64(8.0)) == 8 and isinstance(prose.plain(np.float64(8.0)), int)
    assert prose.plain(np.float64(0.25)) == 0.25
    assert prose.plain("all 24 counts agree").data == "all 24 counts agree"


def test_rounding_phrase_names_the_values_off_in_the_last_digit():
    import pandas as pd

    comparison = pd.DataFrame({"source": ["crowd", "student"], "feature": ["A", "B"],
                               "computed": [0.16576, 0.16163], "paper": [0.166, 0.161]})
    comparison["difference"] = comparison.computed - comparison.paper
    text = prose.rounding_phrase(comparison)
    assert text.startswith("1 of 2 values round to the paper's; student B differs")
    assert "0.1616 against 0.161" in text and text.endswith("is 0.0006")

"""The paper's published numbers, for side-by-side comparison with what the book computes.

The values in ``paper_values/*.csv`` are transcribed from Raumanns et al., MELBA 2021; each
file names the table it comes from. They are the *reference*: every number the book shows is
computed from the raw files and put next to these.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd


_FOLDER = Path(__file__).with_name("paper_values")


def paper_table(name: str) -> pd.DataFrame:
    """One of the paper's tables, e.g. ``paper_table("table2")``."""
    path = _FOLDER / f"{name}.csv"
    if not path.is_file():
        available = sorted(p.stem for p in _FOLDER.glob("*.csv"))
        raise KeyError(f"no paper table {name!r}; available: {available}")
    return pd.read_csv(path, comment="#")


def printed_decimals(name: str, keys: list[str], value: str | list[str]) -> dict[tuple, int]:
    """The digits after the decimal point of each value of a table as printed (``0.230``:
    3), by the values of ``keys``; ``value`` as :func:`beside_paper` takes it (several columns
    are stacked into a last key, the ``dataset``). Empty cells are left out."""
    path = _FOLDER / f"{name}.csv"
    if not path.is_file():
        paper_table(name)  # the clear error
    text = pd.read_csv(path, comment="#", dtype=str)
    if isinstance(value, list):
        text = text.melt(id_vars=keys, value_vars=value, var_name="dataset", value_name="_v")
        keys, value = keys + ["dataset"], "_v"
    return {tuple(row[:-1]): len(row[-1].partition(".")[2])
            for row in text[keys + [value]].dropna().itertuples(index=False, name=None)}


def beside_paper(computed: pd.DataFrame, name: str, keys: list[str],
                 value: str | list[str]) -> pd.DataFrame:
    """Computed values next to the paper's, with their difference (computed − paper).

    ``value`` names the value column, or several columns (e.g. one per dataset) that are
    first stacked into a ``dataset`` key. Every key of either side is kept, so a row the paper
    has and the data lacks (or the reverse) shows up with a missing value rather than
    disappearing.
    """
    paper = paper_table(name)
    if isinstance(value, list):
        computed, paper = (frame.melt(id_vars=keys, value_vars=value, var_name="dataset",
                                      value_name="_value") for frame in (computed, paper))
        keys, value = keys + ["dataset"], "_value"
    paper = paper[keys + [value]].rename(columns={value: "paper"})
    both = computed[keys + [value]].rename(columns={value: "computed"})
    merged = both.merge(paper, on=keys, how="outer", sort=False)
    merged["difference"] = merged["computed"] - merged["paper"]
    return merged

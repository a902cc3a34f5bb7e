"""The reproducibility scorecard: every number of the paper next to the book's, with a verdict.

One row per number of Tables 1–5 and per quantitative claim of the analysis half of the text
(the medians of Figs. 3–4, the correlations of section 5.1, the agreement of Fig. 5), each with
the paper's value, the book's, the difference, the tolerance and a verdict:

``reproduced``
    within the stated tolerance;
``differs, because …``
    outside it, with the reason and the chapter that explains it;
``not reproducible here``
    the book cannot compute it in this profile, with what would.

:func:`build` computes the rows with the functions the chapters call; :func:`write` saves
``scorecard.csv``; :func:`counts` gives the number of rows per verdict.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..stats import agreement, correlation
from ..data import annotations, datasets, paper as reference
from ..options import SCORECARD_RESAMPLES

COLUMNS = ["section", "item", "paper", "book", "difference", "tolerance", "verdict", "reason",
           "chapter", "profile"]
REPRODUCED, DIFFERS, NOT_HERE = "reproduced", "differs", "not reproducible here"

#: known causes of differences, by (section, item): the reason and the chapter explaining it
REASONS = {
    ("Table 2", "ph2 automated B"): (
        "the published file holds {book:g} PH2 border scores; the paper's Table 2 reports "
        "{paper:g}", "02_annotations"),
    ("Section 5.1", "no correlation: automated A"): (
        "the bootstrap interval excludes zero: a negligible correlation in the unexpected "
        "direction (automated A is a symmetry ratio), not none", "04_correlation"),
    ("Section 5.1", "no correlation: automated B"): (
        "the bootstrap interval excludes zero: negligible, not none", "04_correlation"),
}
#: tolerances: counts exactly; correlations to one unit of the paper's last printed digit;
#: a median "greater" or "almost identical" at a tenth of a standard deviation (z-score)
TOLERANCE = {"count": 0.0, "r": 0.001, "median": 0.1, "auc": None}
CHAPTER_OF = {"Table 1": "01_datasets", "Table 2": "02_annotations", "Table 3": "04_correlation",
              "Figs. 3–4": "02_annotations", "Section 5.1": "04_correlation",
              "Fig. 5": "05_agreement", "Table 4": "08_randomized", "Table 5": "07_ensembles"}


def _row(section: str, item: str, paper, book, tolerance: float | None, profile: str,
         agrees: bool | None = None) -> dict:
    """One scorecard row; ``agrees`` overrides the numeric comparison (for claims)."""
    difference = book - paper if _number(paper) and _number(book) else np.nan
    if agrees is None and _number(difference) and tolerance is not None:
        agrees = abs(difference) <= tolerance + 1e-12
    if agrees is None:
        verdict, reason = NOT_HERE, ""
    elif agrees:
        verdict, reason = REPRODUCED, ""
    else:
        reason, _ = REASONS.get((section, item), ("cause not identified yet", None))
        reason = reason.format(paper=paper, book=book)
        verdict = f"{DIFFERS}, because {reason}"
    chapter = REASONS.get((section, item), (None, CHAPTER_OF.get(section)))[1]
    return {"section": section, "item": item, "paper": paper, "book": book,
            "difference": difference, "tolerance": tolerance, "verdict": verdict,
            "reason": reason, "chapter": chapter, "profile": profile}


def _number(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not pd.isna(value)


def table_rows(section: str, comparison: pd.DataFrame, keys: list[str], tolerance: float,
               profile: str) -> list[dict]:
    """Rows of a :func:`enhance_utils.data.paper.beside_paper` comparison (cells that neither
    side has are left out)."""
    rows = []
    for record in comparison.dropna(subset=["computed", "paper"], how="all").itertuples():
        item = " ".join(str(getattr(record, key)) for key in keys)
        rows.append(_row(section, item, record.paper, record.computed, tolerance, profile))
    return rows


def medians(scores: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Median per-lesion z-score of abnormal minus that of normal lesions, per dataset,
    source and feature (the comparison the paper reads off Figs. 3–4)."""
    both = scores.merge(labels, on=["dataset", "lesion_id"])
    med = both.groupby(["dataset", "source", "feature", "label"]).score.median().unstack("label")
    return (med[1] - med[0]).rename("median_shift").reset_index()


#: the paper's reading of Figs. 3–4: abnormal median greater (+1) or almost identical (0)
MEDIAN_CLAIMS = {("isic2017", "student", f): 1 for f in "ABC"} | {
    ("isic2017", "crowd", "A"): 1, ("isic2017", "crowd", "C"): 1, ("isic2017", "crowd", "B"): 0,
    ("isic2017", "automated", "A"): 0, ("isic2017", "automated", "B"): 0,
    ("isic2017", "automated", "C"): 0, ("ph2", "automated", "A"): 1}


def median_rows(shifts: pd.DataFrame, profile: str) -> list[dict]:
    """Rows for the medians of Figs. 3–4."""
    rows, tol = [], TOLERANCE["median"]
    for (dataset, source, feature), claim in MEDIAN_CLAIMS.items():
        shift = correlation_value(shifts, dataset, source, feature, "median_shift")
        agrees = shift > tol if claim == 1 else abs(shift) <= tol
        wording = "abnormal median greater" if claim == 1 else "medians almost identical"
        rows.append(_row("Figs. 3–4", f"{dataset} {source} {feature}: {wording}",
                         np.nan, shift, tol, profile, agrees=agrees))
    return rows


def correlation_value(frame: pd.DataFrame, dataset: str, source: str, feature: str,
                      column: str = "r") -> float:
    """One value of a table with dataset, source and feature columns."""
    rows = frame[(frame.dataset == dataset) & (frame.source == source)
                 & (frame.feature == feature)]
    return float(rows[column].iloc[0]) if len(rows) == 1 else np.nan


def claim_rows(table: pd.DataFrame, profile: str) -> list[dict]:
    """Section 5.1: which ISIC correlations the paper calls none and which weak."""
    isic = correlation.interpret(table[table.dataset == "isic2017"])
    rows = []
    claims = [("none", "crowd", "B"), ("none", "automated", "A"), ("none", "automated", "B")] + \
        [("weak", "student", f) for f in "ABC"] + [("weak", "automated", "C")]
    for claim, source, feature in claims:
        row = isic[(isic.source == source) & (isic.feature == feature)].iloc[0]
        holds = (not row.excludes_zero if claim == "none"
                 else row.band == "weak" and bool(row.excludes_zero))
        rows.append(_row("Section 5.1", f"{'no' if claim == 'none' else 'weak'} correlation: "
                         f"{source} {feature}", np.nan, row.r, None, profile, agrees=holds))
    return rows


def agreement_rows(between: pd.DataFrame, profile: str) -> list[dict]:
    """Section 5.2 / Fig. 5: moderate student–crowd asymmetry, weak colour, no border."""
    isic = correlation.interpret(between[between.dataset == "isic2017"])
    pair = isic[(isic.feature == "A") & (isic[["source_a", "source_b"]].apply(set, axis=1)
                                          == {"crowd", "student"})].iloc[0]
    colour, border = isic[isic.feature == "C"], isic[isic.feature == "B"]
    return [
        _row("Fig. 5", "moderate student–crowd asymmetry", np.nan, pair.r, None, profile,
             agrees=pair.band == "moderate"),
        _row("Fig. 5", "weak colour agreement, every pair", np.nan, colour.r.max(), None,
             profile, agrees=bool((colour.band == "weak").all())),
        _row("Fig. 5", "no border agreement, every pair", np.nan, border.r.abs().max(), None,
             profile, agrees=bool((~border.excludes_zero).all())),
    ]


def training_rows(profile: str, results=None) -> list[dict]:
    """Tables 4 and 5 against the store's ``report.report`` tables of ``profile``, by
    architecture and model; a paper value without a matching run is not reproducible here."""
    book = {"table4": pd.DataFrame(), "table5": pd.DataFrame()}
    note = ""
    try:
        import tempfile

        from ..learning import report

        with tempfile.TemporaryDirectory() as out:
            book.update({k: v for k, v in report.report(profile, out, results).items()
                         if k in book})
    except Exception as err:   # an empty or partial store: the rows say why
        note = f" ({type(err).__name__}: {err})"
    rows = []
    for name, keys in (("table5", ["arch", "model"]), ("table4", ["arch", "model", "annotations"])):
        paper = reference.paper_table(name)
        ours = book[name]
        merged = paper.merge(ours[keys + ["mean_auc"]] if set(keys) <= set(ours.columns)
                             else pd.DataFrame(columns=keys + ["mean_auc"]),
                             on=keys, how="left", suffixes=("", "_book"))
        for record in merged.itertuples():
            item = " ".join(str(getattr(record, k)) for k in keys)
            value = getattr(record, "mean_auc_book")
            row = _row(f"Table {name[-1]}", item, record.mean_auc, value, record.sd_auc, profile)
            if row["verdict"] == NOT_HERE:
                row["reason"] = (f"no `{record.arch}` run in the `{profile}` store{note}: the "
                                 "paper profile (ImageNet networks at 384 px, five splits, a "
                                 "GPU) reproduces it")
            rows.append(row)
    return rows


def build(profile: str = "smoke", resamples: int = SCORECARD_RESAMPLES,
          seed: int = correlation.DEFAULT_SEED, results=None) -> pd.DataFrame:
    """Every row of the scorecard, computed from the raw files (and the store, Tables 4–5).

    Parameters
    ----------
    profile : str
        The profile whose store answers Tables 4 and 5; Tables 1–3 and the claims do not
        depend on it.
    resamples : int
        Bootstrap resamples of the correlation intervals.
    """
    ann = annotations.load()
    table1 = reference.beside_paper(datasets.table1().reset_index(), "table1",
                                    ["characteristic", "value"], ["isic2017", "ph2"])
    scores = annotations.per_lesion(ann.long)
    table2 = reference.beside_paper(annotations.table2(scores), "table2",
                                    ["dataset", "source", "feature"], "n_lesions")
    table3 = correlation.table3(ann.long, resamples=resamples, seed=seed)
    compared3 = reference.beside_paper(table3[table3.dataset == "isic2017"], "table3",
                                       ["dataset", "source", "feature"], "r")
    between = agreement.between_sources(scores, resamples=resamples, seed=seed)
    rows = (table_rows("Table 1", table1, ["dataset", "characteristic", "value"],
                       TOLERANCE["count"], profile)
            + table_rows("Table 2", table2, ["dataset", "source", "feature"],
                         TOLERANCE["count"], profile)
            + table_rows("Table 3", compared3, ["source", "feature"], TOLERANCE["r"], profile)
            + median_rows(medians(scores, correlation.labels()), profile)
            + claim_rows(table3, profile) + agreement_rows(between, profile)
            + training_rows(profile, results))
    return pd.DataFrame(rows, columns=COLUMNS)


def verdict_kind(verdict: str) -> str:
    """``reproduced``, ``differs`` or ``not reproducible here`` of a verdict."""
    return DIFFERS if verdict.startswith(DIFFERS) else verdict


def counts(card: pd.DataFrame) -> pd.Series:
    """Rows per kind of verdict, in the order reproduced, differs, not reproducible here."""
    kinds = card.verdict.map(verdict_kind)
    return kinds.value_counts().reindex([REPRODUCED, DIFFERS, NOT_HERE], fill_value=0)


def write(card: pd.DataFrame, out) -> Path:
    """Write ``scorecard.csv`` into the folder ``out``; returns its path."""
    path = Path(out) / "scorecard.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    card.to_csv(path, index=False)
    return path


#: the book page, the table it offers for download and the intro's summary of the verdicts
PAGE, CSV, COUNTS_PAGE = "scorecard.md", "scorecard.csv", "scorecard_counts.md"
SECTION_TITLES = {"Table 1": "Table 1: the datasets", "Table 2": "Table 2: annotated lesions",
                  "Table 3": "Table 3: correlation with the diagnosis",
                  "Figs. 3–4": "Figs. 3–4: medians of the raincloud plots",
                  "Section 5.1": "Section 5.1: which correlations exist",
                  "Fig. 5": "Fig. 5: agreement between sources",
                  "Table 5": "Table 5: AUC of single models and ensembles",
                  "Table 4": "Table 4: ensembles with randomized annotations"}


def _cell(value, digits: int = 4) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if pd.isna(value) else f"{value:.{digits}g}"
    return str(value)


def markdown_table(rows: pd.DataFrame) -> str:
    """A Markdown table of scorecard rows, each verdict linked to the chapter explaining it."""
    lines = ["| item | paper | book | difference | tolerance | verdict |",
             "|---|---|---|---|---|---|"]
    for row in rows.itertuples():
        verdict = row.verdict if not row.reason or row.verdict.endswith(row.reason) \
            else f"{row.verdict}: {row.reason}"
        if row.chapter:
            verdict += f" ([{row.chapter}](chapters/{row.chapter}.ipynb))"
        cells = [row.item, _cell(row.paper), _cell(row.book), _cell(row.difference),
                 _cell(row.tolerance), verdict]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def counts_markdown(card: pd.DataFrame) -> str:
    """One sentence with the rows per verdict, linking to the page (for the intro)."""
    n = counts(card)
    return (f"The [reproducibility scorecard](scorecard.md) compares {len(card)} numbers and "
            f"claims of the paper with this build (profile `{card.profile.iloc[0]}`): "
            f"**{n[REPRODUCED]}** reproduced, **{n[DIFFERS]}** differ (each with its reason), "
            f"**{n[NOT_HERE]}** not reproducible here.\n")


def page(card: pd.DataFrame) -> str:
    """The scorecard page of the book: the verdict counts, then one table per section."""
    parts = ["# Reproducibility scorecard", "",
             "Every number of the paper's Tables 1–5 and every quantitative claim of its "
             "analysis {cite:p}`raumanns2021enhance`, next to the value this build computed "
             "from the raw files with the functions the chapters call "
             "({mod}`enhance_utils.book.scorecard`). A row is *reproduced* within its tolerance "
             "(counts exactly, correlations to one unit of the paper's last printed digit, "
             "medians of z-scores to a tenth of a standard deviation), *differs* with the "
             "reason and the chapter that explains it, or is *not reproducible here* with "
             f"what would reproduce it. The same rows are in [`{CSV}`]({CSV}) "
             "(`enhance scorecard --out DIR` writes it too).", "", counts_markdown(card)]
    for section, title in SECTION_TITLES.items():
        rows = card[card.section == section]
        if len(rows):
            parts += [f"## {title}", "", markdown_table(rows)]
    return "\n".join(parts)


def write_page(src, profile: str, cached=None) -> pd.DataFrame:
    """Write :data:`PAGE`, :data:`CSV` and :data:`COUNTS_PAGE` into a book source folder.

    ``cached`` is a CSV path: read when it exists, written after a build otherwise (the book
    keys it by everything the rows depend on)."""
    src = Path(src)
    if cached is not None and Path(cached).is_file():
        card = pd.read_csv(cached, keep_default_na=True)
        card["reason"] = card.reason.fillna("")
        card["chapter"] = card.chapter.fillna("")
    else:
        card = build(profile)
        if cached is not None:
            card.to_csv(cached, index=False)
    (src / PAGE).write_text(page(card))
    (src / COUNTS_PAGE).write_text(counts_markdown(card))
    write(card, src)
    return card

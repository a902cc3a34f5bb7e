"""The reproducibility scorecard: every number of the paper next to the book's, with a verdict.

One row per number of Tables 1–5 and per quantitative claim of the analysis half of the text
(the medians of Figs. 3–4, the correlations of section 5.1, the agreement of Fig. 5), each with
the rule that decides it (:data:`RULES`, explained on the page), the paper's value, the book's,
the difference, the tolerance or interval, and a verdict:

``reproduced``
    the rule holds;
``differs by …, because …``
    it does not, with the difference, the reason and the chapter that explains it;
``by definition``
    a constant the code sets (Table 1's cells of
    :data:`enhance_utils.data.datasets.TABLE1_BY_DEFINITION`): there is nothing to reproduce;
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

COLUMNS = ["section", "item", "rule", "paper", "book", "difference", "tolerance", "interval",
           "verdict", "reason", "chapter", "profile"]
REPRODUCED, DIFFERS, BY_DEFINITION, NOT_HERE = ("reproduced", "differs", "by definition",
                                                "not reproducible here")
KINDS = (REPRODUCED, DIFFERS, BY_DEFINITION, NOT_HERE)

#: the rule of each kind of row, as the page explains it
RULES = {
    "printed digits": "the book's value, rounded to the digits the paper prints, is the "
                      "printed value (counts exactly, Table 3's r to three decimals); "
                      "otherwise the row differs by the difference shown",
    "by definition": "the cell is a constant the code sets, not a count "
                     "(`datasets.TABLE1_BY_DEFINITION`): the paper and the book agree because "
                     "both define it so, which reproduces nothing",
    "median shift": "the abnormal lesions' median z-score minus the normal ones': "
                    "\"greater\" above a tenth of a standard deviation, \"almost identical\" "
                    "within a tenth either side",
    "interval and zero": "\"no correlation\" holds when the bootstrap interval of r includes "
                         "0; \"weak\" when r is in the weak band (|r| < 0.3) and its interval "
                         "excludes 0",
    "band": "the band of r (weak < 0.3 ≤ moderate < 0.5 ≤ strong), with the bootstrap "
            "interval of the r shown; where that interval reaches across the band's edge the "
            "verdict is within noise, and the reason says so",
    "gain in interval": "a gain (Table 5: a model minus the baseline of its architecture; "
                        "Table 4: the original annotations minus the randomized ones) is "
                        "reproduced when the paper's gain lies inside the book's 95% interval "
                        "of it (the corrected resampled t interval over the splits); the "
                        "interval and its width are shown",
    "claim at power": "a deep-learning claim (sections 5.3 and 6.1.3) on the committed store "
                      "with the most power: confirmed (reproduced) when every comparison "
                      "testing it is separated above zero after Holm's adjustment (p < 0.05); "
                      "refuted (differs) when one is separated below zero, or when none is "
                      "separated although the design detects, with 80% power, differences "
                      "smaller than the paper's smallest effect; otherwise not detectable at "
                      "this power. The tolerance column is the design's median minimum "
                      "detectable difference, the interval the span of the Bonferroni "
                      "simultaneous intervals",
    "level in interval": "a mean AUC without a gain to compare (Table 5's baselines, Table "
                         "4's original ensembles) is reproduced when the paper's mean lies "
                         "inside the book's 95% t interval of the mean over its splits",
}

#: known causes of differences, by (section, item): the reason and the chapter explaining it
REASONS = {
    ("Table 2", "ph2 automated B"): (
        "the published file holds {book:g} PH2 border scores; the paper's Table 2 reports "
        "{paper:g}", "02_annotations"),
    ("Table 3", "student B"): (
        "the book's r is {book:.4f}, which rounds to {rounded}, not the printed {paper:.3f}: "
        "off in the last printed digit", "04_correlation"),
    ("Table 3", "student C"): (
        "the book's r is {book:.4f}, which rounds to {rounded}, not the printed {paper:.3f}: "
        "off in the last printed digit", "04_correlation"),
    ("Section 5.1", "no correlation: automated A"): (
        "the bootstrap interval excludes zero: a negligible correlation in the unexpected "
        "direction (automated A is a symmetry ratio), not none", "04_correlation"),
    ("Section 5.1", "no correlation: automated B"): (
        "the bootstrap interval excludes zero: negligible, not none", "04_correlation"),
}
#: tolerances of the rules that have a fixed one: a median "greater" or "almost identical"
#: at a tenth of a standard deviation (z-score); printed values get half a unit of their last
#: printed digit (:func:`printed_rows`)
TOLERANCE = {"median": 0.1}
CHAPTER_OF = {"Table 1": "01_datasets", "Table 2": "02_annotations", "Table 3": "04_correlation",
              "Figs. 3–4": "02_annotations", "Section 5.1": "04_correlation",
              "Fig. 5": "05_agreement", "Table 4": "08_randomized", "Table 5": "07_ensembles",
              "Sections 5.3, 6.1.3": "07_ensembles"}


def _row(section: str, item: str, paper, book, tolerance: float | None, profile: str,
         agrees: bool | None = None, rule: str = "printed digits", interval=None,
         decimals: int | None = None) -> dict:
    """One scorecard row under ``rule``; ``agrees`` overrides the numeric comparison.

    Without ``agrees``, a row with both values is reproduced when ``book`` rounded to
    ``decimals`` digits is ``paper`` (``decimals`` None: when they are within
    ``tolerance``). ``interval`` is a (low, high) pair shown with its width.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose from {sorted(RULES)}")
    difference = book - paper if _number(paper) and _number(book) else np.nan
    if agrees is None and _number(difference):
        if decimals is not None:
            agrees = bool(abs(np.round(book, decimals) - paper) < 0.1 * 10.0 ** -decimals)
        elif tolerance is not None:
            agrees = abs(difference) <= tolerance + 1e-12
    rounded = f"{np.round(book, decimals):.{decimals}f}" if decimals is not None \
        and _number(book) else ""
    if rule == "by definition":
        verdict, reason = BY_DEFINITION, ""
    elif agrees is None:
        verdict, reason = NOT_HERE, ""
    elif agrees:
        verdict, reason = REPRODUCED, ""
    else:
        reason, _ = REASONS.get((section, item), ("cause not identified yet", None))
        reason = reason.format(paper=paper, book=book, rounded=rounded)
        verdict = f"{DIFFERS}, because {reason}"
        if _number(difference):
            verdict = f"{DIFFERS} by {difference:+.4g}, because {reason}"
    chapter = REASONS.get((section, item), (None, CHAPTER_OF.get(section)))[1]
    return {"section": section, "item": item, "rule": rule, "paper": paper, "book": book,
            "difference": difference, "tolerance": tolerance,
            "interval": _interval_text(interval), "verdict": verdict, "reason": reason,
            "chapter": chapter, "profile": profile}


def _interval_text(interval) -> str:
    """``[low, high], width w`` (empty for no interval or one with a missing end)."""
    if interval is None or not all(_number(v) for v in interval):
        return ""
    low, high = interval
    return f"[{low:.4g}, {high:.4g}], width {high - low:.3g}"


def _number(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not pd.isna(value)


def printed_rows(section: str, comparison: pd.DataFrame, keys: list[str], profile: str,
                 decimals: dict[tuple, int], by_definition=()) -> list[dict]:
    """Rows of a :func:`enhance_utils.data.paper.beside_paper` comparison under the rule
    "printed digits" (``decimals``: :func:`enhance_utils.data.paper.printed_decimals`, by the
    comparison's keys), those in ``by_definition`` (tuples of the same keys) "by definition".
    Cells that neither side has are left out; ``keys`` order the words of the item."""
    key_columns = [c for c in comparison.columns if c not in ("computed", "paper", "difference")]
    rows = []
    for record in comparison.dropna(subset=["computed", "paper"], how="all").itertuples():
        item = " ".join(str(getattr(record, key)) for key in keys)
        cell = tuple(getattr(record, key) for key in key_columns)
        places = decimals.get(cell, 0)
        defined = cell in by_definition
        rows.append(_row(section, item, record.paper, record.computed, 0.5 * 10.0 ** -places,
                         profile, rule="by definition" if defined else "printed digits",
                         decimals=places))
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
                         np.nan, shift, tol, profile, agrees=agrees, rule="median shift"))
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
                         f"{source} {feature}", np.nan, row.r, None, profile, agrees=holds,
                         rule="interval and zero", interval=(row.ci_low, row.ci_high)))
    return rows


def agreement_rows(between: pd.DataFrame, profile: str) -> list[dict]:
    """Section 5.2 / Fig. 5: moderate student–crowd asymmetry, weak colour, no border; each
    with the bootstrap interval of the r it reads (the largest, for "every pair")."""
    isic = correlation.interpret(between[between.dataset == "isic2017"])
    pair = isic[(isic.feature == "A") & (isic[["source_a", "source_b"]].apply(set, axis=1)
                                          == {"crowd", "student"})].iloc[0]
    colour, border = isic[isic.feature == "C"], isic[isic.feature == "B"]
    strongest = colour.loc[colour.r.abs().idxmax()]
    widest = border.loc[border.r.abs().idxmax()]
    return [
        band_row("moderate student–crowd asymmetry", pair, "moderate", profile),
        band_row("weak colour agreement, every pair", strongest, "weak", profile,
                 agrees=bool((colour.band == "weak").all())),
        _row("Fig. 5", "no border agreement, every pair", np.nan, abs(widest.r), None,
             profile, agrees=bool((~border.excludes_zero).all()), rule="interval and zero",
             interval=(widest.ci_low, widest.ci_high)),
    ]


def band_row(item: str, pair: pd.Series, claimed: str, profile: str,
             agrees: bool | None = None) -> dict:
    """A Fig. 5 row under the rule "band": ``pair`` (a row of
    :func:`enhance_utils.stats.correlation.interpret`) is in the ``claimed`` band; when its
    interval reaches into another band the reason says the verdict is within noise."""
    holds = pair.band == claimed if agrees is None else agrees
    row = _row("Fig. 5", item, np.nan, pair.r, None, profile, agrees=holds, rule="band",
               interval=(pair.ci_low, pair.ci_high))
    if bool(pair.crosses_band):
        edges = [edge for _, edge in correlation.BANDS
                 if edge and min(abs(pair.ci_low), abs(pair.ci_high)) <= edge
                 <= max(abs(pair.ci_low), abs(pair.ci_high))]
        cut = ", ".join(f"{edge:g}" for edge in edges)
        note = (f"within noise: the interval of r = {pair.r:.3f} "
                f"({pair.source_a}–{pair.source_b}), [{pair.ci_low:.3f}, {pair.ci_high:.3f}], "
                f"reaches across the cut at {cut} ({pair.band_range})")
        row["reason"] = f"{row['reason']}; {note}" if row["reason"] else note
    return row


def _t_interval(mean: float, sd: float, n: int) -> tuple[float, float]:
    """The 95% t interval of a mean of ``n`` values with standard deviation ``sd``."""
    from scipy import stats

    if not (_number(mean) and _number(sd)) or n < 2:
        return np.nan, np.nan
    half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
    return mean - half, mean + half


def _comparison(frame: pd.DataFrame, arch: str, model_a: str, model_b: str):
    """The book's gain ``model_a - model_b`` of ``arch`` (AUC × 100) and its corrected
    interval, from a :func:`enhance_utils.learning.verdicts.paired_comparisons` table."""
    if frame is None or frame.empty or "model_a" not in frame:
        return np.nan, (np.nan, np.nan)
    hit = frame[(frame.arch == arch) & (frame.model_a == model_a) & (frame.model_b == model_b)]
    if hit.empty:
        return np.nan, (np.nan, np.nan)
    row = hit.iloc[0]
    return 100 * row.mean_diff, (100 * row.corrected_ci_low, 100 * row.corrected_ci_high)


def gain_rows(paper: dict[str, pd.DataFrame], book: dict[str, pd.DataFrame],
              profile: str) -> list[dict]:
    """One row per number of Tables 5 and 4: gains (rule "gain in interval") where the paper's
    number has a reference to subtract, levels (rule "level in interval") where not.

    ``paper`` holds the paper's ``table5`` and ``table4``; ``book`` the store's tables of
    :func:`enhance_utils.learning.report.report` (``table5``, ``table4``, ``paired``,
    ``controls``), possibly empty.
    """
    rows = []
    for name, keys in (("table5", ["arch", "model"]), ("table4", ["arch", "model", "annotations"])):
        section, ours = f"Table {name[-1]}", book.get(name, pd.DataFrame())
        for record in paper[name].itertuples():
            item = " ".join(str(getattr(record, k)) for k in keys)
            if name == "table5" and record.model != "baseline":
                base = paper[name][(paper[name].arch == record.arch)
                                   & (paper[name].model == "baseline")].mean_auc
                paper_gain = record.mean_auc - base.iloc[0] if len(base) else np.nan
                gain, interval = _comparison(book.get("paired"), record.arch, record.model,
                                             "baseline")
                item = f"{record.arch} {record.model} − baseline"
            elif name == "table4" and record.annotations == "randomized":
                original = paper[name][(paper[name].arch == record.arch)
                                       & (paper[name].model == record.model)
                                       & (paper[name].annotations == "original")].mean_auc
                paper_gain = original.iloc[0] - record.mean_auc if len(original) else np.nan
                gain, interval = _comparison(book.get("controls"), record.arch, record.model,
                                             f"{record.model}_random")
                item = f"{record.arch} {record.model} original − randomized"
            else:
                level = _book_level(ours, keys, record)
                rows.append(_interval_row(section, item, record.mean_auc, level[0],
                                          _t_interval(*level), profile, "level in interval"))
                continue
            rows.append(_interval_row(section, item, paper_gain, gain, interval, profile,
                                      "gain in interval"))
    return rows


def _book_level(ours: pd.DataFrame, keys: list[str], record) -> tuple[float, float, int]:
    """The book's mean AUC, its SD and number of splits for the paper's row ``record``."""
    if ours is None or ours.empty or not set(keys) <= set(ours.columns):
        return np.nan, np.nan, 0
    hit = ours
    for key in keys:
        hit = hit[hit[key] == getattr(record, key)]
    if hit.empty:
        return np.nan, np.nan, 0
    row = hit.iloc[0]
    return float(row.mean_auc), float(row.sd_auc), int(row.n_splits)


def _interval_row(section: str, item: str, paper: float, book: float, interval, profile: str,
                  rule: str) -> dict:
    """A row that is reproduced when ``paper`` lies inside the book's ``interval``."""
    low, high = interval
    inside = bool(low <= paper <= high) if all(_number(v) for v in (paper, low, high)) \
        else None
    return _row(section, item, paper, book, None, profile, agrees=inside, rule=rule,
                interval=interval)


def training_rows(profile: str, results=None) -> list[dict]:
    """Tables 4 and 5 against the store of ``profile`` (:func:`gain_rows`); a paper value
    without the runs to compare is not reproducible here, and says what would reproduce it."""
    book, note = {}, ""
    try:
        import tempfile

        from ..learning import report

        with tempfile.TemporaryDirectory() as out:
            book = report.report(profile, out, results)
    except Exception as err:   # an empty or partial store: the rows say why
        note = f" ({type(err).__name__}: {err})"
    paper = {name: reference.paper_table(name) for name in ("table5", "table4")}
    rows = gain_rows(paper, book, profile)
    for row in rows:
        if row["verdict"] == NOT_HERE:
            arch = row["item"].split()[0]
            row["reason"] = (f"no `{arch}` runs to compare in the `{profile}` store{note}: "
                             "the `paper` profile (ImageNet networks at 384 px, five splits, a "
                             "GPU) reruns the published scripts' experiment under Keras 3 "
                             "(the `published` training variant) and would compare it")
    return rows


def claim_verdict(row: dict) -> tuple[bool | None, str]:
    """Whether a row of :func:`enhance_utils.learning.claims.claims` (with the paper's effects
    of :func:`~enhance_utils.learning.claims.paper_effects`) confirms the claim (True), refutes
    it (False) or cannot tell at its power (None), and why, in words."""
    n, up, down = row["n_comparisons"], row["n_separated_up"], row["n_separated_down"]
    mdd, smallest = row["mdd_median"], row.get("paper_low", np.nan)
    power = (f"the design detects {mdd:.1f} points with 80% power" if _number(mdd)
             else "the design's power is unknown")
    if n and up == n:
        return True, f"confirmed: all {n} comparisons separated above zero after Holm"
    if down:
        return False, f"refuted: {down} of {n} comparisons separated below zero after Holm"
    if up:
        return None, f"partly: {up} of {n} separated above zero, the others not; {power}"
    if _number(mdd) and _number(smallest) and mdd < smallest:
        return False, (f"refuted at this power: none of {n} separated, although {power}, less "
                       f"than the paper's smallest effect ({smallest:+.1f})")
    effect = (f"the paper's effects are {row['paper_low']:+.1f} to {row['paper_high']:+.1f}"
              if _number(smallest) else "the paper gives no number")
    return None, f"not detectable at this power: none of {n} separated; {power}, {effect}"


def deep_claim_rows(results=None) -> list[dict]:
    """The paper's deep-learning claims, each on the committed store
    (:data:`enhance_utils.learning.claims.EVIDENCE_STORES`) whose comparisons of it have the
    most power (the smallest median minimum detectable difference: a store still being filled
    has less), by :func:`claim_verdict` (rule ``claim at power``)."""
    from ..learning import claims as evidence

    tables = evidence.design_claims(evidence.EVIDENCE_STORES, results=results)
    if not tables:
        return []
    effects = evidence.paper_effects().set_index("claim")
    every = pd.concat([t.assign(store=name) for name, t in tables.items()], ignore_index=True)
    best = (every.assign(_mdd=every.mdd_median.fillna(np.inf)).sort_values("_mdd", kind="stable")
            .drop_duplicates("claim").drop(columns="_mdd"))
    rows = []
    for record in best.to_dict("records"):
        if record["claim"] in effects.index:
            record.update(effects.loc[record["claim"]].to_dict())
        agrees, reason = claim_verdict(record)
        row = _row("Sections 5.3, 6.1.3", f"{record['paper']} ({record['arch']}, "
                   f"`{record['store']}`)", record.get("paper_high", np.nan), record["diff_max"],
                   record["mdd_median"], record["store"], agrees=agrees, rule="claim at power",
                   interval=(record["simultaneous_low_min"], record["simultaneous_high_max"]))
        row["verdict"] = (REPRODUCED if agrees else f"{DIFFERS}, because {reason}"
                          if agrees is False else NOT_HERE)
        row["reason"] = reason
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
    rows = (printed_rows("Table 1", table1, ["dataset", "characteristic", "value"], profile,
                         reference.printed_decimals("table1", ["characteristic", "value"],
                                                    ["isic2017", "ph2"]),
                         by_definition=datasets.TABLE1_BY_DEFINITION)
            + printed_rows("Table 2", table2, ["dataset", "source", "feature"], profile,
                           reference.printed_decimals("table2", ["dataset", "source",
                                                                 "feature"], "n_lesions"))
            + printed_rows("Table 3", compared3, ["source", "feature"], profile,
                           reference.printed_decimals("table3", ["dataset", "source",
                                                                 "feature"], "r"))
            + median_rows(medians(scores, correlation.labels()), profile)
            + claim_rows(table3, profile) + agreement_rows(between, profile)
            + training_rows(profile, results) + deep_claim_rows())
    return pd.DataFrame(rows, columns=COLUMNS)


def verdict_kind(verdict: str) -> str:
    """``reproduced``, ``differs``, ``by definition`` or ``not reproducible here`` of a
    verdict."""
    return DIFFERS if verdict.startswith(DIFFERS) else verdict


def counts(card: pd.DataFrame) -> pd.Series:
    """Rows per kind of verdict, in the order of :data:`KINDS`."""
    kinds = card.verdict.map(verdict_kind)
    return kinds.value_counts().reindex(list(KINDS), fill_value=0)


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
                  "Table 4": "Table 4: ensembles with randomized annotations",
                  "Sections 5.3, 6.1.3": "Sections 5.3 and 6.1.3: the deep-learning claims"}


def _cell(value, digits: int = 4) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if pd.isna(value) else f"{value:.{digits}g}"
    return str(value)


def markdown_table(rows: pd.DataFrame) -> str:
    """A Markdown table of scorecard rows, each verdict linked to the chapter explaining it."""
    lines = ["| item | rule | paper | book | difference | tolerance or interval | verdict |",
             "|---|---|---|---|---|---|---|"]
    for row in rows.itertuples():
        verdict = row.verdict if not row.reason or row.verdict.endswith(row.reason) \
            else f"{row.verdict}: {row.reason}"
        if row.chapter:
            verdict += f" ([{row.chapter}](chapters/{row.chapter}.ipynb))"
        bound = row.interval if isinstance(row.interval, str) and row.interval \
            else _cell(row.tolerance)
        cells = [row.item, row.rule, _cell(row.paper), _cell(row.book), _cell(row.difference),
                 bound, verdict]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def counts_markdown(card: pd.DataFrame) -> str:
    """One sentence with the rows per verdict, linking to the page (for the intro)."""
    n = counts(card)
    return (f"The [reproducibility scorecard](scorecard.md) compares {len(card)} numbers and "
            f"claims of the paper with this build (profile `{card.profile.iloc[0]}`): "
            f"**{n[REPRODUCED]}** reproduced, **{n[DIFFERS]}** differ (each with its reason), "
            f"**{n[BY_DEFINITION]}** hold by definition, "
            f"**{n[NOT_HERE]}** not reproducible here.\n")


def page(card: pd.DataFrame) -> str:
    """The scorecard page of the book: the verdict counts, then one table per section."""
    parts = ["# Reproducibility scorecard", "",
             "Every number of the paper's Tables 1–5 and every quantitative claim of its "
             "analysis {cite:p}`raumanns2021enhance`, next to the value this build computed "
             "from the raw files with the functions the chapters call "
             "({mod}`enhance_utils.book.scorecard`). Each row names the rule that decides it "
             "(below); a row is *reproduced* when its rule holds, *differs* by the difference "
             "shown, with the reason and the chapter that explains it, holds *by definition* "
             "when the value is a constant the code sets, or is *not reproducible here* with "
             f"what would reproduce it. The same rows are in [`{CSV}`]({CSV}) "
             "(`enhance scorecard --out DIR` writes it too).", "", counts_markdown(card),
             "The rules:", ""]
    parts += [f"- **{rule}**: {text}." for rule, text in RULES.items()] + [""]
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
        for column in ("reason", "chapter", "interval"):
            card[column] = card[column].fillna("")
    else:
        card = build(profile)
        if cached is not None:
            card.to_csv(cached, index=False)
    (src / PAGE).write_text(page(card))
    (src / COUNTS_PAGE).write_text(counts_markdown(card))
    write(card, src)
    return card

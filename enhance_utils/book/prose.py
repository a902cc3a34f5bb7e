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
    re.compile(r"\b(?:VGG16|ResNet50(?:V2)?|Inception v3|Keras \d+(?:\.\d+)*|"
               r"EfficientNet-Lite\d|ReLU6)"),                     # software names
    re.compile(r"\beqs?\.\s*\(\d+\)"),                         # equation references: eq. (1)
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
    text for ``{glue:md}`name```. Without myst-nb (Colab, which lacks the book's build tools)
    nothing is glued: only the build's rendering reads the glued values."""
    try:
        from myst_nb import glue
    except ImportError:
        return
    for name, value in values.items():
        glue(name, plain(value), display=False)


def comparison_phrase(comparison, unit: str = "values") -> str:
    """How a :func:`enhance_utils.data.paper.beside_paper` table compares with the paper, in
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


# --------------------------------------------------------------------------- chapters 04, 05
SOURCE_NAMES = {"automated": "automated", "crowd": "crowd", "student": "student",
                "expert": "expert"}


def pick(frame, value: str = "r", **keys) -> float:
    """The one value of ``frame`` whose columns equal ``keys`` (e.g. source="crowd")."""
    rows = frame
    for column, wanted in keys.items():
        rows = rows[rows[column] == wanted]
    if len(rows) != 1:
        raise KeyError(f"{len(rows)} rows for {keys}")
    return float(rows[value].iloc[0])


def row_names(rows) -> str:
    """'crowd B' or 'crowd B and automated A': the source and feature of each row."""
    names = [f"{row.source} {row.feature}" for row in rows.itertuples()]
    return " and ".join(names) if names else "none"


def rounding_phrase(comparison, decimals: int = 3) -> str:
    """How computed values compare with the paper's, printed to ``decimals`` places."""
    rounded = comparison.computed.round(decimals) == comparison.paper
    worst = comparison.loc[comparison.difference.abs().idxmax()]
    text = f"{int(rounded.sum())} of {len(comparison)} values round to the paper's"
    if not rounded.all():
        off = comparison[~rounded]
        verb = "differs" if len(off) == 1 else "differ"
        text += (f"; {row_names(off)} {verb} in the last printed digit "
                 "(" + ", ".join(f"{c:.4f} against {p:.3f}"
                                 for c, p in zip(off.computed, off.paper)) + ")")
    return text + f"; the largest difference is {abs(worst.difference):.4f}"


def _zero_phrase(rows) -> str:
    holds_zero = rows[(rows.ci_low <= 0) & (rows.ci_high >= 0)]
    if holds_zero.empty:
        return "no interval contains zero"
    verb = "contains" if len(holds_zero) == 1 else "contain"
    return f"only the interval of {row_names(holds_zero)} {verb} zero"


def correlation_numbers(table, variants, comparison, long, shares) -> dict:
    """The numbers of chapter 04's prose from :func:`enhance_utils.stats.correlation.table3`, its
    variants, the comparison with Table 3 and the share of abnormal lesions per dataset."""
    from ..stats import bootstrap, correlation

    isic = correlation.interpret(table[table.dataset == "isic2017"])
    students = variants[(variants.dataset == "isic2017") & (variants.source == "student")
                        & (variants.feature == "C")]
    ph2 = variants[variants.dataset == "ph2"]
    atypical = ph2[ph2.variant == "ph2_atypical_abnormal"]
    ph2 = ph2[ph2.variant == "paper"]
    values = {f"isic_{s}_{f}": pick(isic, source=s, feature=f)
              for s, f in isic[["source", "feature"]].itertuples(index=False)}
    values.update({f"ph2_{s}_{f}": pick(ph2, source=s, feature=f)
                   for s, f in ph2[["source", "feature"]].itertuples(index=False)})
    values.update({f"ph2_atypical_{s}_{f}": pick(atypical, source=s, feature=f)
                   for s, f in atypical[["source", "feature"]].itertuples(index=False)})
    outside_weak = isic[isic.band_range != "weak"]
    values.update({
        "band_moderate": correlation.BANDS[1][1], "band_strong": correlation.BANDS[2][1],
        "confidence_pct": round(bootstrap.CONFIDENCE * 100),
        "auto_b_max": long[(long.source == "automated") & (long.feature == "B")].value.max(),
        "table3_rounding": rounding_phrase(comparison),
        "isic_weak_phrase": ("every ISIC interval lies in the weak band" if outside_weak.empty
                             else f"the intervals of {row_names(outside_weak)} reach beyond "
                                  "the weak band"),
        "isic_n_min": isic.n.min(), "isic_n_max": isic.n.max(),
        "isic_halfwidth": float(((isic.ci_high - isic.ci_low) / 2).median()),
        "isic_zero_phrase": _zero_phrase(isic),
        "isic_largest": row_names(isic.loc[[isic.r.abs().idxmax()]]),
        "isic_auto_B_variance_pct": 100 * pick(isic, source="automated", feature="B") ** 2,
        "isic_max_rho_gap": float((isic.spearman - isic.r).abs().max()),
        "student_C_mean": pick(students, variant="student_mean_of_groups"),
        "student_C_halfwidth": pick(students, "ci_high", variant="paper") / 2
        - pick(students, "ci_low", variant="paper") / 2,
        "paper_crowd_A": pick(comparison, "paper", source="crowd", feature="A"),
        "isic_abnormal_pct": 100 * shares["isic2017"], "ph2_abnormal_pct": 100 * shares["ph2"],
    })
    return values


#: Krippendorff's levels: reliable data, and the lowest for tentative conclusions
ALPHA_RELIABLE, ALPHA_TENTATIVE = 0.8, 0.667


def _count_phrase(flags, singular: str, plural: str) -> str:
    """'every interval contains zero', 'none of ...' or '2 of 3 intervals contain zero'."""
    hits, total = int(flags.sum()), len(flags)
    if hits == total:
        return f"every {singular}" if total == 1 else f"all {total} {plural}"
    return f"{hits} of {total} {plural}"


def _pair(between, dataset: str, feature: str, a: str, b: str):
    rows = between[(between.dataset == dataset) & (between.feature == feature)
                   & (between[["source_a", "source_b"]].apply(set, axis=1) == {a, b})]
    if len(rows) != 1:
        raise KeyError(f"{len(rows)} rows for {dataset} {feature} {a}-{b}")
    return rows.iloc[0]


def flat_annotators(long, group: str, level: float = 0.95) -> int:
    """Annotators of a student group who gave the score 0 to at least ``level`` of their ABC
    ratings (an unfilled sheet rather than a judgement)."""
    rated = long[(long.source == "student") & (long.group == group)
                 & long.feature.isin(["A", "B", "C"])]
    return int(((rated.value == 0).groupby(rated.annotator).mean() >= level).sum())


def agreement_numbers(between, reliability, long) -> dict:
    """The numbers of chapter 05's prose from :func:`enhance_utils.stats.agreement.between_sources`
    and :func:`enhance_utils.stats.agreement.reliability` (with its ceiling)."""
    from ..stats import bootstrap, correlation

    values = {"confidence_pct": round(bootstrap.CONFIDENCE * 100),
              "alpha_reliable": ALPHA_RELIABLE, "alpha_tentative": ALPHA_TENTATIVE}
    pairs = {"isic_crowd_student_A": ("isic2017", "A", "crowd", "student"),
             "isic_auto_crowd_A": ("isic2017", "A", "automated", "crowd"),
             "isic_auto_student_A": ("isic2017", "A", "automated", "student"),
             "ph2_crowd_expert_A": ("ph2", "A", "crowd", "expert"),
             "ph2_auto_expert_A": ("ph2", "A", "automated", "expert"),
             "ph2_auto_expert_C": ("ph2", "C", "automated", "expert"),
             "ph2_crowd_expert_C": ("ph2", "C", "crowd", "expert")}
    for name, key in pairs.items():
        row = _pair(between, *key)
        values.update({name: row.r, f"{name}_low": row.ci_low, f"{name}_high": row.ci_high})
    colour = between[(between.dataset == "isic2017") & (between.feature == "C")]
    border = between[(between.dataset == "isic2017") & (between.feature == "B")]
    half = (between.ci_high - between.ci_low) / 2
    values.update({
        "isic_C_min": colour.r.min(), "isic_C_max": colour.r.max(),
        "isic_C_into_moderate": int((colour.ci_high >= correlation.BANDS[1][1]).sum()),
        "isic_B_zero_phrase": _count_phrase(((border.ci_low <= 0) & (border.ci_high >= 0)),
                                            "interval contains zero", "intervals contain zero"),
        "isic_B_max_abs": border.r.abs().max(),
        "isic_halfwidth": half[between.dataset == "isic2017"].median(),
        "ph2_halfwidth": half[between.dataset == "ph2"].median(),
        "ph2_n_min": between[between.dataset == "ph2"].n.min(),
        "ph2_n_max": between[between.dataset == "ph2"].n.max(),
    })
    values.update(_within_numbers(reliability, long))
    return values


def _within_numbers(reliability, long) -> dict:
    crowd = reliability[reliability.source == "crowd"].set_index(["dataset", "feature"])
    students = reliability[reliability.source == "student"]
    medians = students.groupby("feature").alpha.median()
    by_group = students.pivot_table(index="group", columns="feature", values="alpha")
    negative = by_group.index[(by_group < 0).all(axis=1)]
    no_icc = students[students.icc.isna() & students.alpha.notna()].group.unique()
    first_negative = negative[0] if len(negative) else None
    return {
        "crowd_isic_A_alpha": crowd.loc[("isic2017", "A"), "alpha"],
        "crowd_isic_B_alpha": crowd.loc[("isic2017", "B"), "alpha"],
        "crowd_isic_B_mean_reliability": crowd.loc[("isic2017", "B"), "mean_reliability"],
        "crowd_isic_B_max_r": crowd.loc[("isic2017", "B"), "max_r"],
        "crowd_max_alpha": crowd.alpha.max(),
        "student_median_alpha_min": medians.min(), "student_median_alpha_max": medians.max(),
        "n_groups": int(by_group.shape[0]),
        "n_groups_reliable": int((by_group >= ALPHA_RELIABLE).any(axis=1).sum()),
        "n_groups_below_tentative": int((by_group < ALPHA_TENTATIVE).all(axis=1).sum()),
        "negative_groups": " and ".join(f"`{g}`" for g in negative) or "none",
        "negative_group_flat": flat_annotators(long, first_negative) if first_negative else 0,
        "negative_group_raters": int(students[students.group == first_negative].n_raters.max())
        if first_negative else 0,
        "groups_without_icc": " and ".join(f"`{g}`" for g in no_icc) or "none",
    }


# --------------------------------------------------------------------------- chapter 03
def _pct(share) -> float:
    return 100 * float(share)


def abc_numbers(full, runs, image_shape, timings) -> dict:
    """The numbers of chapter 03's prose: the algorithms' defaults, the committed agreement on
    every lesion (:func:`enhance_utils.abc.comparison.read`), the chapter's own ``runs`` and
    its ``timings`` table (:func:`enhance_utils.abc.runner.speed_table`)."""
    from ..abc import comparison
    from ..abc.core import DEFAULTS
    from ..abc.runner import value

    def agree(dataset, feature, column):
        return comparison.get(full, dataset, feature, column)

    described_c = value(runs["isic2017", "C", "described"]).dropna()
    first = timings.iloc[0]
    per_feature = timings[timings.lesion == first.lesion].set_index("feature")
    values = {
        "symmetry_level": DEFAULTS["A"]["symmetry_level"], "sigma": DEFAULTS["B"]["sigma"],
        "n_segments": DEFAULTS["C"]["n_segments"], "distance": DEFAULTS["C"]["distance"],
        "fraction_pct": _pct(DEFAULTS["C"]["fraction"]),
        "ii_tolerance": comparison.II_TOLERANCE,
        "isic_image_size": f"{image_shape[1]}×{image_shape[0]}",
        "described_C_zero_pct": _pct((described_c == 0).mean()),
        "n_described_C": len(described_c),
        "example_lesion": first.lesion, "example_mask": first["mask"],
        "ref_A_s": per_feature.loc["A", "reference s"],
        "ref_B_s": per_feature.loc["B", "reference s"],
        "speedup_min": timings["speed-up"].min(), "speedup_max": timings["speed-up"].max(),
    }
    for dataset in ("isic2017", "ph2"):
        for feature in ("A", "B", "C"):
            key = f"{dataset}_{feature}"
            values[f"{key}_identical_pct"] = _pct(agree(dataset, feature, "identical"))
            values[f"{key}_within_pct"] = _pct(agree(dataset, feature, "within"))
            values[f"{key}_published"] = agree(dataset, feature, "n_published")
            values[f"{key}_missing"] = (agree(dataset, feature, "n_ids")
                                        - agree(dataset, feature, "n_published"))
            values[f"{key}_same_skipped"] = ("the same" if agree(dataset, feature,
                                                                 "same_ids_skipped")
                                             else "not the same")
        values[f"{dataset}_A_max_delta"] = agree(dataset, "A", "max_abs_delta_ii")
    values["n_isic"] = agree("isic2017", "A", "n_ids")
    return values


# --------------------------------------------------------------------------- chapter 09
def explain_numbers(settings, paper_settings, table, cam_shape, n_lesions=None,
                    n_test=None, n_train=None) -> dict:
    """The numbers of chapter 09's prose: the explained models' training settings, the
    paper's image size, the probabilities in ``table`` (one row per lesion and model), the
    shape of a Grad-CAM map, the lesions the profile draws from (``n_lesions``, default its
    setting), the split's training lesions (``n_train``, what the heads were fitted on), its
    test lesions (``n_test``) and the explained ones (those of ``table``)."""
    return {"epochs": settings.epochs, "n_lesions": n_lesions or settings.n_lesions,
            "n_train": n_train, "n_test": n_test, "n_explained": int(table.lesion_id.nunique()),
            "image_size": settings.image_size, "paper_image_size": paper_settings.image_size,
            "cam_size": f"{cam_shape[1]}×{cam_shape[0]}",
            "cam_fraction": f"1/{cam_shape[0]}" if cam_shape[0] == cam_shape[1]
            else f"1/{cam_shape[0]} by 1/{cam_shape[1]}",
            "probability_min": table.probability.min(),
            "probability_max": table.probability.max()}

# %% [markdown]
# # 4. Correlation with the diagnosis
#
# :::{admonition} In this chapter
# - **You will learn** how strongly each source's A, B and C scores go together with the diagnosis,
#   how the paper's Table 3 follows from the raw files, how certain its numbers are, and which
#   analysis choices move them.
# - **Time**: a third of an hour to read; under a minute to run.
# - **Paper**: research question 1, sections 4.1 and 5.1, Table 3 of
#   {cite:t}`raumanns2021enhance`.
# :::
#
# ## Overview
#
# The paper's first research question is whether non-expert ABC scores say anything about the
# diagnosis. It answers with one Pearson correlation per source and feature, between the
# per-lesion score of chapter 2 and the binary label (abnormal = melanoma or seborrheic
# keratosis), and prints the nine ISIC values as Table 3. This chapter recomputes them and adds
# what a single coefficient leaves out: a confidence interval, a p-value and a rank-based check.
# It then does the same for PH2, where the dermatologists' own scores show how strong a
# correlation can get, and looks at two analysis choices that change the numbers.
#
# ## Prerequisites
#
# - [Chapter 2](02_annotations.ipynb): the per-lesion score (z-score per annotator, mean per
#   lesion) and the rule for lesions annotated by several student groups.
# - Pearson's correlation coefficient and the idea of a confidence interval; the bootstrap is
#   explained below.

# %% tags=["parameters"]
profile = "smoke"             # smoke | cpu | paper (this chapter does the same work in all)
resamples = 2000              # bootstrap resamples per confidence interval
seed = 1970                   # seed of the bootstrap
student_rule = "first_group"  # the paper's rule; "mean_of_groups" averages the groups instead
progress = True               # progress bars over the bootstraps (the book build turns them off)
data_dir = None               # data tree; None: ENHANCE_DATA_DIR or downloaded (the build sets it)
static_views = False          # explorers also drawn as plain output (the build turns it on)

# %% tags=["remove-input"]
# Setup: in Colab, clone the book first (setup_chapter then adds only the packages Colab lacks);
# everywhere, check or download the files this chapter reads.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run("[ -d /content/enhance-book ] || git clone -q --depth 1 --branch main "
                   "https://github.com/enhance-interactive-paper/enhance-book /content/enhance-book",
                   shell=True, check=True)
    sys.path.insert(0, "/content/enhance-book")
import enhance_utils

workspace = enhance_utils.setup_chapter("04_correlation", profile, data_dir)

# %%
import numpy as np
import pandas as pd
from scipy import stats

from enhance_utils import annotations, correlation, datasets, explorers, prose, reference
from enhance_utils.profiles import get_profile

settings = get_profile(profile)
print(f"profile {settings.name}: {resamples} bootstrap resamples, seed {seed}, "
      f"student rule {student_rule!r}")

# %% [markdown]
# ## Correlating a score with a yes/no label
#
# With the label coded `0` (normal) and `1` (abnormal), Pearson's r is what statisticians call the
# point-biserial correlation: it measures how far apart the mean scores of the two groups lie,
# relative to the spread of the scores. $r = 0$ means both groups have the same mean score, and
# the sign says which group scores higher. The paper reads $|r|$ below {glue:text}`band_moderate` as
# weak, {glue:text}`band_moderate` to {glue:text}`band_strong` as moderate and {glue:text}`band_strong` or
# more as strong (section 4.1).
#
# {func}`enhance_utils.stats.correlation.table3` computes, for every dataset, source and feature:
#
# - `n`: lesions with both a score and a label;
# - `r` and `p`: Pearson's r and the p-value of the test that the true r is zero
#   (`scipy.stats.pearsonr`);
# - `ci_low`, `ci_high`: a {glue:text}`confidence_pct` % bootstrap interval {cite:p}`efron1993bootstrap`.
#   The lesions are drawn with replacement `resamples` times, r is recomputed on every draw, and
#   the middle {glue:text}`confidence_pct` % of those values forms the interval. The draws are seeded,
#   so the interval is the same on every run;
# - `spearman`: Spearman's rank correlation, which uses only the order of the scores and so
#   cannot be driven by a few extreme values (the automated border score runs up to
#   {glue:text}`auto_b_max`).

# %%
ann = annotations.load()
table = correlation.table3(ann.long, student_rule=student_rule, resamples=resamples, seed=seed,
                          progress=progress)
table.round(3)

# %% [markdown]
# ## Table 3, recomputed
#
# The ISIC rows next to the paper's Table 3 ({numref}`tab-04-table3`); `difference` is the book's value minus the paper's,
# which the paper rounds to three decimals:

# %% mystnb={"figure": {"caption": "Table 3 of {cite:t}`raumanns2021enhance` recomputed: Pearson's r of each ISIC source and feature with the label, the paper's value and the difference.", "name": "tab-04-table3"}}
isic = table[table.dataset == "isic2017"]
comparison = reference.beside_paper(isic, "table3", ["dataset", "source", "feature"], "r")
comparison.pivot_table(index="source", columns="feature",
                       values=["computed", "paper", "difference"]).round(4)

# %%
print(f"{comparison.paper.notna().sum()} values compared; largest difference from the paper: "
      f"{comparison.difference.abs().max():.4f}")

# %% [markdown]
# With the paper's student rule (the default of the `student_rule` parameter) the nine values
# match Table 3 to within one unit of its last printed digit, not exactly to its rounding:
# {glue:md}`table3_rounding`. The test of this chapter's module therefore allows a difference of
# `0.002`. So Table 3 follows from the published files, the aggregation of chapter 2 and nothing
# else.
#
# ## How certain are these numbers?
#
# {func}`enhance_utils.stats.correlation.interpret` applies the paper's bands to the estimate and to
# both ends of its interval: `band_range` lists the bands the interval reaches, and
# `excludes_zero` says whether the interval settles the sign of the correlation.

# %% mystnb={"figure": {"caption": "ISIC: r with its bootstrap interval, p-value, Spearman's rho and the paper's bands.", "name": "tab-04-intervals"}}
reading = correlation.interpret(table)
columns = ["source", "feature", "n", "r", "ci_low", "ci_high", "p", "spearman", "band",
           "band_range", "excludes_zero"]
reading[reading.dataset == "isic2017"][columns].round(3)

# %% mystnb={"figure": {"caption": "ISIC 2017: correlation of each source and feature with the label, with its bootstrap interval, over the paper's weak, moderate and strong bands; open diamonds mark the paper's values.", "name": "fig-04-isic"}}
ax = correlation.plot_correlations(isic, paper=reference.paper_table("table3"),
                                   title="ISIC 2017: correlation with abnormal (melanoma or SK)")

# %% [markdown]
# What the intervals add to the paper's reading (section 5.1; {numref}`fig-04-isic`):
#
# - **Weak, and known to be weak**: {glue:md}`isic_weak_phrase`. With {glue:text}`isic_n_min` to
#   {glue:text}`isic_n_max` lesions per source an interval is roughly ±{glue:text}`isic_halfwidth:.2f`
#   wide, narrow enough to exclude a moderate correlation, not just to fail to find one.
# - **No correlation where the paper says none**: {glue:md}`isic_zero_phrase` — crowd border's
#   r is {glue:text}`isic_crowd_B:.3f`.
# - **Automated border**, which the paper also calls uncorrelated, has an interval just above
#   zero: an r of {glue:text}`isic_automated_B:.3f` means the score accounts for
#   {glue:text}`isic_auto_B_variance_pct:.1f` % of the label's variance, "negligible" rather than
#   "none".
# - **Automated asymmetry points the unexpected way.** The published automated A is `ii`, the
#   mean of two *symmetry* ratios (chapter 3): the higher it is, the more symmetric the lesion.
#   Its r of {glue:text}`isic_automated_A:.3f` (paper: no correlation) therefore says that abnormal lesions
#   come out very slightly *more* symmetric — the opposite of the A criterion, though small
#   enough to be negligible.
# - **Automated colour is negative** ({glue:text}`isic_automated_C:.3f`). The algorithm finds *fewer*
#   colours in abnormal lesions, again the opposite of what the C criterion presumes. The paper
#   counts it among the weak correlations and, in its discussion, as the one automated feature
#   that relates to the diagnosis, without remarking on the sign of either.
# - **The largest of the nine** is {glue:md}`isic_largest`, {glue:text}`isic_student_C:.3f`, and still weak.
#
# Spearman's rho stays within {glue:text}`isic_max_rho_gap:.2f` of Pearson's r in every ISIC row, so
# none of these correlations hinges on a few extreme scores.
#
# ## One lesion, several student groups
#
# As chapter 2 showed, many lesions were scored by two student groups. The paper's numbers come
# from keeping, for such a lesion, the score of the first group in year/group order
# (`first_group`); the paper does not mention this choice, but it is the one that reproduces
# Table 3. Averaging the groups (`mean_of_groups`) is the obvious alternative.
# {func}`enhance_utils.stats.correlation.variants` computes both:

# %% mystnb={"figure": {"caption": "Student correlations with the label under the paper's first-group rule and with the groups averaged.", "name": "tab-04-student-rule"}}
variants = correlation.variants(ann.long, resamples=resamples, seed=seed, progress=progress)
students = variants[(variants.dataset == "isic2017") & (variants.source == "student")]
students.pivot_table(index="feature", columns="variant", values=["r", "ci_low", "ci_high"]).round(3)

# %% [markdown]
# Asymmetry and border hardly move. Colour drops from {glue:text}`isic_student_C:.2f` to
# {glue:text}`student_C_mean:.2f`, a shift about as large as the half-width of its confidence
# interval ({glue:text}`student_C_halfwidth:.2f`). The two intervals overlap, so the data do not favour
# either rule; but the paper's strongest non-expert correlation owes part of its size to a
# bookkeeping choice the paper does not report. Student colour stays the largest of the three
# student features under either rule, though only just when the groups are averaged.
#
# ## PH2: the experts as a yardstick
#
# The paper computed the correlations for PH2 as well (section 4.1) but prints only the ISIC
# ones. PH2 has three diagnoses; following the paper's Fig. 4 (and chapter 2), abnormal means
# melanoma and the atypical nevi count as normal. Counting them as abnormal instead is the other
# defensible choice, so both are shown ({numref}`fig-04-ph2`):

# %% mystnb={"figure": {"caption": "PH2: correlations with melanoma (`paper`) and with melanoma or atypical nevus.", "name": "tab-04-ph2"}}
ph2 = correlation.interpret(variants[variants.dataset == "ph2"])
ph2.pivot_table(index=["source", "feature"], columns="variant",
                values=["r", "ci_low", "ci_high"], sort=False).round(3)

# %% mystnb={"figure": {"caption": "PH2: correlation with melanoma (left) and with melanoma or atypical nevus (right), with bootstrap intervals.", "name": "fig-04-ph2"}}
fig = correlation.plot_ph2_variants(ph2)  # melanoma; melanoma or atypical nevus

# %% tags=["remove-cell"]
# The numbers of this chapter's text, glued for the prose (hidden in the book).

ph2_lesions = datasets.ph2_table()
shares = {"isic2017": datasets.isic_ground_truth().label.mean(),
          "ph2": datasets.ph2_label(ph2_lesions).mean()}
prose.glue_all(prose.correlation_numbers(table, variants, comparison, ann.long, shares))

# %% [markdown]
# Reading the PH2 results (abnormal = melanoma unless said otherwise):
#
# - **The experts reach strong correlations** with melanoma: {glue:text}`ph2_expert_A:.2f` for
#   asymmetry and {glue:text}`ph2_expert_C:.2f` for colour. No non-expert source, on either dataset,
#   comes close. This is the yardstick the non-expert scores should be judged against.
# - **The crowd does better on PH2 than on ISIC** for asymmetry ({glue:text}`ph2_crowd_A:.2f`) and
#   border ({glue:text}`ph2_crowd_B:.2f`); its colour interval touches zero
#   ({glue:text}`ph2_crowd_C:.2f`).
# - **The automated scores stay weak, and asymmetry again points the unexpected way**: automated
#   A (the symmetry ratio `ii`) correlates at {glue:text}`ph2_automated_A:.2f` with melanoma, so
#   melanomas come out slightly *more* symmetric. The automated border scores are in the
#   published files but not in the paper, which reports none (chapter 2); they are shown here
#   for completeness ({glue:text}`ph2_automated_B:.2f`).
# - **The label choice matters.** With atypical nevi counted as abnormal, expert colour goes from
#   {glue:text}`ph2_expert_C:.2f` to {glue:text}`ph2_atypical_expert_C:.2f` while automated colour goes
#   from {glue:text}`ph2_automated_C:.2f` to {glue:text}`ph2_atypical_automated_C:.2f`; expert
#   asymmetry stays at {glue:text}`ph2_atypical_expert_A:.2f`. An atypical nevus is, by these scores,
#   partly like a melanoma and partly like a common nevus.
#
# Comparing the ISIC and PH2 values with each other needs care: the labels differ (seborrheic
# keratoses are abnormal in ISIC and absent from PH2), and so does the share of abnormal lesions
# ({glue:text}`isic_abnormal_pct:.0f` % and {glue:text}`ph2_abnormal_pct:.0f` %), which by itself changes
# how large a point-biserial r can be.
#
# ## An honest reading
#
# What holds: the paper's Table 3 follows from the raw files (to within a unit of its last
# printed digit), and its main finding
# survives the uncertainty analysis. Non-expert ABC scores relate to the diagnosis only weakly,
# and the intervals show that a moderate relation is ruled out for every ISIC source.
#
# What needs a qualification: "no correlation" for automated border means "negligible but not
# zero"; automated asymmetry and automated colour both relate to the diagnosis, weakly, in the
# unexpected direction (abnormal lesions look more symmetric and less colourful to the
# algorithms); and the largest value, student colour, depends on how lesions annotated by
# several groups are scored.
#
# What the paper does not show: on PH2 the dermatologists' scores correlate strongly with
# melanoma, and the gap between them and every non-expert source is large. Chapter 5 looks
# at one cause: how little the non-expert annotators agree with one another.

# %% [markdown]
# ## Explore
#
# Pick the scores (dataset and source), the feature and the student rule: the table gives the
# correlation with the label, its bootstrap interval and its band, the histogram the bootstrap
# resamples behind the interval (the solid line is r, the dotted lines the interval's ends). The
# student rule changes only the ISIC student scores; the PH2 experts are there as the yardstick.
# In the static book the view below is the first choice, ISIC 2017 automated asymmetry.

# %%
explorers.correlation_explorer(ann.long, resamples=resamples, seed=seed,
                     show_static=static_views)

# %% [markdown]
# ## Exercises
#
# Three exercises that use what this chapter computed above; each runs in seconds. The solutions are hidden: click on one to open it.

# %% [markdown]
# ```{exercise} One value of Table 3 by hand
# :label: ex-04-table3-by-hand
#
# Take the crowd's per-lesion asymmetry scores for ISIC ({func}`enhance_utils.data.annotations.per_lesion`),
# pair them with the label of {func}`enhance_utils.data.datasets.isic_ground_truth` and compute
# Pearson's r and its p-value with `scipy.stats.pearsonr`. Check your values against `table` and
# against the paper's Table 3 ({glue:text}`paper_crowd_A:.3f`).
# ```

# %% [markdown]
# ```{solution-start} ex-04-table3-by-hand
# :class: dropdown
# ```

# %%
scores = annotations.per_lesion(ann.long, student_rule=student_rule)
isic_label = datasets.isic_ground_truth().set_index("lesion_id").label
crowd_a = scores[(scores.dataset == "isic2017") & (scores.source == "crowd")
                 & (scores.feature == "A")].set_index("lesion_id").score
pair = pd.concat([crowd_a, isic_label], axis=1, join="inner").dropna()
r, p = stats.pearsonr(pair.score, pair.label)
row = table[(table.dataset == "isic2017") & (table.source == "crowd") & (table.feature == "A")].iloc[0]
paper = reference.paper_table("table3").query("source == 'crowd' and feature == 'A'").r.item()
print(f"by hand: n = {len(pair)}, r = {r:.4f}, p = {p:.2g}")
print(f"table3:  n = {row.n}, r = {row.r:.4f}, p = {row.p:.2g}; paper: r = {paper}")
assert len(pair) == row.n and abs(r - row.r) < 1e-12 and abs(p - row.p) < 1e-12
assert abs(r - paper) <= 0.0005

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} Pearson's r is a difference of means
# :label: ex-04-point-biserial
#
# For a `0`/`1` label, Pearson's r equals $(M_1 - M_0)/s \cdot \sqrt{q(1-q)}$, where $M_1$ and
# $M_0$ are the mean scores of the abnormal and normal lesions, $s$ is the standard deviation of
# all scores (`ddof=0`) and $q$ the share of abnormal lesions. Check the formula on student
# colour, the largest value of Table 3, and read off how far apart the two groups' mean
# z-scores lie.
# ```

# %% [markdown]
# ```{solution-start} ex-04-point-biserial
# :class: dropdown
# ```

# %%
stud_c = scores[(scores.dataset == "isic2017") & (scores.source == "student")
                & (scores.feature == "C")].set_index("lesion_id").score
pair = pd.concat([stud_c, isic_label], axis=1, join="inner").dropna()
m1, m0 = pair.score[pair.label == 1].mean(), pair.score[pair.label == 0].mean()
q = pair.label.mean()
r_formula = (m1 - m0) / pair.score.std(ddof=0) * np.sqrt(q * (1 - q))
r_table = table[(table.dataset == "isic2017") & (table.source == "student")
                & (table.feature == "C")].r.item()
print(f"M1 - M0 = {m1 - m0:.3f} (in z-score units), q = {q:.3f}")
print(f"r from the formula {r_formula:.4f}, r in table {r_table:.4f}")
assert abs(r_formula - r_table) < 1e-9

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} A bootstrap interval by hand
# :label: ex-04-bootstrap-by-hand
#
# Resample the student colour pairs of the previous exercise with replacement `resamples`
# times (`numpy.random.default_rng`), recompute r on every draw and take the percentiles that
# cut off $2.5\%$ at either end. Your draws differ from the book's, so the interval will not be identical to
# `ci_low` and `ci_high`; how close is it?
# ```

# %% [markdown]
# ```{solution-start} ex-04-bootstrap-by-hand
# :class: dropdown
# ```

# %%
rng = np.random.default_rng(2021)
x, y = pair.score.to_numpy(), pair.label.to_numpy()
draws = rng.integers(0, len(x), size=(2000, len(x)))
r_draws = [np.corrcoef(x[i], y[i])[0, 1] for i in draws]
low, high = np.percentile(r_draws, [2.5, 97.5])
row = table[(table.dataset == "isic2017") & (table.source == "student") & (table.feature == "C")].iloc[0]
print(f"by hand [{low:.3f}, {high:.3f}]   table3 [{row.ci_low:.3f}, {row.ci_high:.3f}]")
assert abs(low - row.ci_low) < 0.01 and abs(high - row.ci_high) < 0.01

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ## Summary
#
# - Per-lesion score against a `0`/`1` label: Pearson's r (point-biserial), with a seeded
#   bootstrap interval, a p-value and Spearman's rho; `enhance stats --out DIR` writes them all as
#   `table3.csv` (and the variants as `table3_variants.csv`).
# - The paper's Table 3 follows from the raw files to within one unit of its last printed digit
#   ({glue:md}`table3_rounding`; the scorecard lists the values that do not round to the printed
#   ones as differing); all nine are weak.
# - Automated colour ({glue:text}`isic_automated_C:.3f`) and automated asymmetry ({glue:text}`isic_automated_A:.3f`,
#   a symmetry ratio) point the unexpected way; crowd border ({glue:text}`isic_crowd_B:.3f`) shows no
#   detectable correlation.
# - Student colour is {glue:text}`isic_student_C:.2f` with the paper's first-group rule and
#   {glue:text}`student_C_mean:.2f` with the groups averaged.
# - On PH2 the experts' scores correlate strongly with melanoma; the crowd's asymmetry reaches
#   {glue:text}`ph2_crowd_A:.2f`; the label choice for atypical nevi changes the colour results.
#
# ## What's next
#
# [Chapter 5](05_agreement.ipynb) asks whether the sources agree with each other (the paper's
# Fig. 5) and whether the annotators within one source agree, which limits how large any
# correlation in this chapter could be.

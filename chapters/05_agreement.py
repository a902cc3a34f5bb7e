# %% [markdown]
# # 5. Agreement between and within sources
#
# :::{admonition} In this chapter
# - **You will learn** how far students, crowd workers, algorithms and dermatologists agree on
#   the same lesion (the paper's Fig. 5), how consistent the annotators *within* one source are
#   (which the paper does not report), and why that limits every correlation of chapter 4.
# - **Time**: a third of an hour to read; under a minute to run.
# - **Paper**: research question 3, sections 4.1 and 5.2, Fig. 5 and section 6.1.2 of
#   {cite:t}`raumanns2021enhance`.
# :::
#
# ## Overview
#
# Two annotation sources can both relate weakly to the diagnosis and still measure quite
# different things. The paper therefore correlates the sources with one another, feature by
# feature, and draws the result as Fig. 5. This chapter recomputes those correlations with their
# uncertainty for ISIC and PH2, then goes one level down: do the three crowd workers who scored
# a lesion agree with each other, and do the students of one group? Agreement within a source
# sets an upper limit on how well that source's score can agree with anything else.
#
# ## Prerequisites
#
# - [Chapter 2](02_annotations.ipynb) (the per-lesion score) and [chapter 4](04_correlation.ipynb)
#   (Pearson's r, bootstrap intervals and the paper's weak/moderate/strong bands).
# - The idea of inter-rater reliability helps; Krippendorff's alpha and the intraclass
#   correlation are introduced below.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper (this chapter does the same work in all)
resamples = 2000   # bootstrap resamples per confidence interval
seed = 1970        # seed of the bootstrap
progress = True    # progress bars over the bootstraps (the book build turns them off)
data_dir = None    # data tree; None: ENHANCE_DATA_DIR or downloaded (the build sets it)

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

workspace = enhance_utils.setup_chapter("05_agreement", profile, data_dir)

# %%
import krippendorff
import numpy as np
from scipy import stats

from enhance_utils import agreement, annotations, correlation, prose
from enhance_utils.profiles import get_profile

settings = get_profile(profile)
print(f"profile {settings.name}: {resamples} bootstrap resamples, seed {seed}")

# %% [markdown]
# ## Agreement between sources
#
# The paper averages each lesion's scores per source and feature, standardises these means and
# correlates them between sources (section 4.1). The book uses the per-lesion score of chapter 2
# (z-score per annotator, then the mean; the paper's rule for lesions of several student groups)
# and, for each pair of sources, only the lesions both annotated.
# {func}`enhance_utils.stats.agreement.between_sources` returns one row per dataset, feature and pair,
# with n and a seeded bootstrap interval; the paper's bands are added by
# {func}`enhance_utils.stats.correlation.interpret`.

# %% mystnb={"figure": {"caption": "Agreement between sources: Pearson's r over the shared lesions, bootstrap interval and band.", "name": "tab-05-between"}}
ann = annotations.load()
scores = annotations.per_lesion(ann.long)
between = agreement.between_sources(scores, resamples=resamples, seed=seed, progress=progress)
correlation.interpret(between)[agreement.AGREEMENT_COLUMNS + ["band", "band_range", "excludes_zero"]].round(3)

# %% [markdown]
# The ISIC correlations as heatmaps, one panel per feature, in the spirit of the paper's Fig. 5;
# each cell gives r, its {glue:text}`confidence_pct` % interval and the number of lesions both sources
# annotated:

# %% mystnb={"figure": {"caption": "ISIC 2017: Pearson's r between the per-lesion scores of each pair of sources, per feature, with its bootstrap interval and the number of shared lesions; the paper draws the same comparison as its Fig. 5.", "name": "fig-05-isic"}}
fig = agreement.plot_agreement(between, "isic2017")

# %% [markdown]
# The paper prints Fig. 5 only as a picture, so its values cannot be set beside these; its text
# describes them, and that description holds up ({numref}`fig-05-isic`):
#
# - **Asymmetry**: students and crowd agree moderately (section 5.2), with r of
#   {glue:text}`isic_crowd_student_A:.2f` and an interval [{glue:text}`isic_crowd_student_A_low:.2f`, {glue:text}`isic_crowd_student_A_high:.2f`] that reaches down
#   into the weak band. The paper's discussion (section 6.1.2) calls the same agreement "low";
#   the interval supports "moderate, at best".
# - **Colour**: all three sources agree weakly with each other, at {glue:text}`isic_C_min:.2f` to
#   {glue:text}`isic_C_max:.2f`; {glue:text}`isic_C_into_moderate` of the three intervals reach into the
#   moderate band.
# - **Border**: no agreement between any two sources: {glue:md}`isic_B_zero_phrase`, and no r is
#   larger than {glue:text}`isic_B_max_abs:.2f` in size.
#
# One thing the text does not say: automated asymmetry goes, if anywhere, *against* the human
# scores. It is the published `ii`, a *symmetry* ratio (high for a symmetric lesion; chapter 3),
# while students and crowd score *asymmetry*. Its positive r with the crowd
# ({glue:text}`isic_auto_crowd_A:.3f`, [{glue:text}`isic_auto_crowd_A_low:.2f`, {glue:text}`isic_auto_crowd_A_high:.2f`]) and with the students
# ({glue:text}`isic_auto_student_A:.3f`, [{glue:text}`isic_auto_student_A_low:.2f`, {glue:text}`isic_auto_student_A_high:.2f`]) therefore means that the
# lesions the algorithm finds more symmetric are, if anything, rated slightly *more* asymmetric
# by people: a weak disagreement, not a weak agreement. Whatever the algorithm measures from the
# mask, it is not what the human annotators judged asymmetric.
#
# PH2 adds the dermatologists (there are no student scores for PH2, and the experts scored no
# border; {numref}`fig-05-ph2`):

# %% mystnb={"figure": {"caption": "PH2: Pearson's r between the per-lesion scores of each pair of sources, per feature.", "name": "fig-05-ph2"}}
fig = agreement.plot_agreement(between, "ph2")

# %% [markdown]
# On PH2 the crowd's asymmetry agrees moderately with the experts' ({glue:text}`ph2_crowd_expert_A:.2f`,
# [{glue:text}`ph2_crowd_expert_A_low:.2f`, {glue:text}`ph2_crowd_expert_A_high:.2f`]), about as well as it agrees with the students on ISIC. For colour,
# the algorithm agrees weakly with the experts ({glue:text}`ph2_auto_expert_C:.2f`) and the crowd hardly at
# all ({glue:text}`ph2_crowd_expert_C:.2f`, [{glue:text}`ph2_crowd_expert_C_low:.2f`, {glue:text}`ph2_crowd_expert_C_high:.2f`]). The automated symmetry ratio is
# unrelated to the experts' asymmetry ({glue:text}`ph2_auto_expert_A:.2f`, [{glue:text}`ph2_auto_expert_A_low:.2f`, {glue:text}`ph2_auto_expert_A_high:.2f`]).
#
# ## Agreement within a source
#
# The paper treats each source's mean score as one measurement. How consistent is that
# measurement? Two standard reliability coefficients, both computed on the raw scores:
#
# - **Krippendorff's alpha** {cite:p}`krippendorff2004content` (interval metric, from the
#   `krippendorff` package): $\alpha = 1$ for perfect agreement, $\alpha = 0$ for agreement no
#   better than chance, negative for systematic disagreement. It accepts missing ratings.
#   Krippendorff suggests {glue:text}`alpha_reliable` for reliable data and
#   {glue:text}`alpha_tentative` as the lowest value for tentative conclusions.
# - **The intraclass correlation** (ICC) for a single rater, from the two-way analysis of variance
#   {cite:p}`shrout1979icc`, with F-based {glue:text}`confidence_pct` % intervals
#   {cite:p}`mcgraw1996icc`. Which model fits depends on the design. The crowd's three scores
#   of a lesion come from three *different* workers per lesion (section 3.2.2), so only the
#   one-way model ICC(1,1) fits. The students of a group scored all of the group's lesions, so
#   ICC(2,1) (raters as a random sample, absolute agreement) fits. The ICC needs every annotator
#   on every lesion and uses only those lesions (`n_complete`).
#
# {func}`enhance_utils.stats.agreement.reliability` computes both for the crowd and for every student
# group. {func}`enhance_utils.stats.agreement.with_ceiling` adds what they imply for a per-lesion mean:
# its reliability over the source's annotators (the Spearman–Brown formula
# {cite:p}`spearman1910,brown1910`) and the square root of that, `max_r`. Because measurement
# noise attenuates a correlation, `max_r` is roughly the largest r the mean score could reach with
# the label or with another source.

# %% mystnb={"figure": {"caption": "Crowd reliability: Krippendorff's alpha, ICC(1,1) with its interval, and the ceiling of the mean of three workers.", "name": "tab-05-crowd"}}
reliability = agreement.with_ceiling(agreement.reliability(ann.long))
crowd = reliability[reliability.source == "crowd"]
crowd[["dataset", "feature", "n_raters", "n_lesions", "alpha", "icc", "icc_ci_low", "icc_ci_high",
       "mean_reliability", "max_r"]].round(3)

# %% [markdown]
# The crowd workers agree only modestly on asymmetry (alpha {glue:text}`crowd_isic_A_alpha:.2f` on ISIC),
# and hardly at all on border ({glue:text}`crowd_isic_B_alpha:.2f`), or on colour in PH2. On ISIC border the
# mean of three workers has a reliability of {glue:text}`crowd_isic_B_mean_reliability:.2f`. No correlation
# of that score with the diagnosis or with another source could then exceed about
# {glue:text}`crowd_isic_B_max_r:.2f`, which explains why chapter 4 and the heatmaps above find none.
# Agreement between sources is partly limited by agreement within them. These ceilings are rough,
# however: they inherit the uncertainty of the ICC (see its interval), and on PH2 colour the
# observed correlation with melanoma is somewhat above the point estimate of the ceiling.
#
# The student groups, feature by feature ({numref}`fig-05-reliability`):

# %%
students = reliability[reliability.source == "student"]
students.groupby("feature").alpha.describe().round(2)

# %% mystnb={"figure": {"caption": "Krippendorff's alpha of the crowd and of every student group, per feature, against Krippendorff's levels for tentative conclusions and for reliable data.", "name": "fig-05-reliability"}}
ax = agreement.plot_reliability(reliability)

# %%
students.pivot_table(index="group", columns="feature", values="alpha").round(2)

# %% [markdown]
# Students agree with each other far better than crowd workers do, with a median alpha of
# {glue:text}`student_median_alpha_min:.2f` to {glue:text}`student_median_alpha_max:.2f` per feature, but the groups
# differ widely: {glue:text}`n_groups_reliable` of {glue:text}`n_groups` reach Krippendorff's
# {glue:text}`alpha_reliable` on some feature, {glue:text}`n_groups_below_tentative` stay below
# {glue:text}`alpha_tentative` on every feature, and {glue:md}`negative_groups` has negative alpha on
# all three features. Its raw file explains why: {glue:text}`negative_group_flat` of its
# {glue:text}`negative_group_raters` annotators gave the score `0` to (nearly) every lesion on every
# feature, which looks like an unfilled sheet rather than real disagreement. Their scores have no
# spread, so after the per-annotator z-scores of chapter 2 they add nothing, and this group's
# per-lesion scores are in effect one student's.
#
# Alpha, the ICC that fits (ICC(2,1)) and the consistency ICC(3,1), group by group:

# %% mystnb={"figure": {"caption": "Student groups: alpha, ICC(2,1) and ICC(3,1) per feature.", "name": "tab-05-students"}}
students.pivot_table(index="group", columns="feature", values=["alpha", "icc", "icc3"]).round(2)

# %% tags=["remove-cell"]
# The numbers of this chapter's text, glued for the prose (hidden in the book).

prose.glue_all(prose.agreement_numbers(between, reliability, ann.long))

# %% [markdown]
# ICC(2,1) mostly stays close to alpha. Where ICC(3,1) (consistency: the annotators may differ by a
# constant) is clearly higher than ICC(2,1), the annotators rank the lesions alike but use
# different offsets. The paper's per-annotator z-scores remove exactly that difference. The
# groups {glue:md}`groups_without_icc` split their lesions between two trios of annotators, so no
# lesion has every annotator's score: alpha copes with that, the ICC does not, and it is left
# empty (its interval, `icc_ci_low` and `icc_ci_high`, is in the `reliability` table and in
# `reliability.csv`).
#
# ## An honest reading
#
# - The paper's description of Fig. 5 is confirmed: moderate crowd–student agreement on
#   asymmetry, weak agreement on colour, none on border. Its values are not printed, so a
#   numerical comparison is not possible.
# - The intervals are narrow on ISIC (a median half-width of {glue:text}`isic_halfwidth:.2f`), so these
#   labels are not artefacts of small samples. On PH2, with {glue:text}`ph2_n_min` to
#   {glue:text}`ph2_n_max` lesions, they are wider ({glue:text}`ph2_halfwidth:.2f`).
# - The within-source analysis, which the paper does not have, explains much of the picture. Crowd
#   workers barely agree among themselves on border and on PH2 colour, so their mean scores carry
#   little signal that could agree with anything. Student groups are more consistent but very
#   uneven, and one group's file looks partly unfilled.
# - The automated symmetry ratio agrees with no human source, and on ISIC it leans weakly
#   against the human asymmetry scores; it measures a different property of the lesion.

# %% [markdown]
# ## Exercises
#
# Three exercises that use what this chapter computed above; each runs in seconds. The solutions are hidden: click on one to open it.

# %% [markdown]
# ```{exercise} Krippendorff's alpha for one student group
# :label: ex-05-alpha-by-hand
#
# Pick the student group that scored the most lesions for asymmetry. Build its annotators ×
# lesions table of raw asymmetry scores from `ann.long` (a `pivot_table`) and call
# `krippendorff.alpha` with `level_of_measurement="interval"`; compare with `reliability`. Then
# try `"ordinal"`: does the choice of metric matter for this group?
# ```

# %% [markdown]
# ```{solution-start} ex-05-alpha-by-hand
# :class: dropdown
# ```

# %%
group = students[students.feature == "A"].sort_values("n_lesions").group.iloc[-1]
part = ann.long[(ann.long.dataset == "isic2017") & (ann.long.source == "student")
                & (ann.long.group == group) & (ann.long.feature == "A")]
matrix = part.pivot_table(index="annotator", columns="lesion_id", values="value", aggfunc="first")
interval = krippendorff.alpha(reliability_data=matrix.to_numpy(float), level_of_measurement="interval")
ordinal = krippendorff.alpha(reliability_data=matrix.to_numpy(float), level_of_measurement="ordinal")
book = students[(students.group == group) & (students.feature == "A")].alpha.item()
print(f"{group}: {matrix.shape[0]} annotators x {matrix.shape[1]} lesions")
print(f"alpha interval {interval:.4f} (book {book:.4f}), ordinal {ordinal:.4f}")
assert abs(interval - book) < 1e-9

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} One cell of Fig. 5 by hand
# :label: ex-05-between-by-hand
#
# Compute the agreement of crowd and students on ISIC asymmetry yourself: put the two sources'
# per-lesion scores side by side (`scores.pivot`), keep the lesions both annotated and use
# `scipy.stats.pearsonr`. Compare n and r with the row of `between`.
# ```

# %% [markdown]
# ```{solution-start} ex-05-between-by-hand
# :class: dropdown
# ```

# %%
wide = scores[(scores.dataset == "isic2017") & (scores.feature == "A")].pivot(
    index="lesion_id", columns="source", values="score")
both = wide[["crowd", "student"]].dropna()
r, _ = stats.pearsonr(both.crowd, both.student)
row = between[(between.dataset == "isic2017") & (between.feature == "A")
              & (between.source_a == "crowd") & (between.source_b == "student")].iloc[0]
print(f"by hand n = {len(both)}, r = {r:.4f}; between_sources n = {row.n}, r = {row.r:.4f}")
assert len(both) == row.n and abs(r - row.r) < 1e-12

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} The ceiling of the crowd's border score
# :label: ex-05-ceiling
#
# With $k$ annotators per lesion and a single-rater reliability ICC, the mean score has the
# reliability $k \cdot ICC / (1 + (k-1) \cdot ICC)$ (Spearman–Brown), and its square root is the
# largest correlation that mean can reach with anything. Compute both for the crowd's ISIC border
# score and compare with `mean_reliability` and `max_r`. Is the crowd border correlation with the
# diagnosis in chapter 4 surprising?
# ```

# %% [markdown]
# ```{solution-start} ex-05-ceiling
# :class: dropdown
# ```

# %%
row = crowd[(crowd.dataset == "isic2017") & (crowd.feature == "B")].iloc[0]
k, icc = row.n_raters, row.icc
mean_reliability = k * icc / (1 + (k - 1) * icc)
ceiling = np.sqrt(max(mean_reliability, 0))
print(f"k = {k}, ICC = {icc:.4f}: mean reliability {mean_reliability:.4f} "
      f"(book {row.mean_reliability:.4f}), ceiling {ceiling:.3f} (book {row.max_r:.3f})")
assert abs(mean_reliability - row.mean_reliability) < 1e-12 and abs(ceiling - row.max_r) < 1e-12
print("A score that cannot correlate above ~0.15 with anything: a correlation near 0 with the "
      "diagnosis is what one should expect.")

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ## Summary
#
# - Between sources: per-lesion z-scores, Pearson's r over the shared lesions, with seeded
#   bootstrap intervals; `enhance stats --out DIR` writes them as `agreement.csv`.
# - ISIC: crowd–student asymmetry {glue:text}`isic_crowd_student_A:.2f` (moderate), colour
#   {glue:text}`isic_C_min:.2f`–{glue:text}`isic_C_max:.2f` (weak), border near zero for every pair; automated
#   asymmetry, a symmetry ratio, correlates positively with the human asymmetry scores
#   ({glue:text}`isic_auto_crowd_A:.3f` crowd, {glue:text}`isic_auto_student_A:.3f` students), which is
#   weak disagreement; PH2: crowd–expert asymmetry {glue:text}`ph2_crowd_expert_A:.2f`.
# - Within sources (`reliability.csv`): crowd alpha at most {glue:text}`crowd_max_alpha:.2f` (ISIC
#   asymmetry) and {glue:text}`crowd_isic_B_alpha:.2f` for ISIC border; student groups have a median alpha
#   of {glue:text}`student_median_alpha_min:.2f` to {glue:text}`student_median_alpha_max:.2f`, with a wide spread.
# - Low agreement within a source caps its agreement with anything else; crowd border's
#   reliability alone rules out any sizeable correlation.
#
# ## What's next
#
# The next chapters turn from describing the annotations to using them: noisy as they are, can
# they help a convolutional network diagnose the lesions when they are learned alongside the
# label (multi-task learning {cite:p}`caruana1997`, research questions 2 and 4)?

# %% [markdown]
# # 2. The annotations
#
# :::{admonition} In this chapter
# - **You will learn** how the ENHANCE annotations of students, crowd workers and algorithms are
#   stored, how they become one tidy table and one score per lesion, and how the paper's Table 2
#   and its raincloud plots (Figs. 3 and 4) follow from the raw files.
# - **Time**: under half an hour to read; under a minute to run.
# - **Paper**: section 3.2, Table 2, section 4.1 and Figs. 3–4 of
#   {cite:t}`raumanns2021enhance`.
# :::
#
# ## Overview
#
# Three kinds of non-experts scored the ABC criteria — **A**symmetry, **B**order irregularity,
# number of **C**olours — of the ISIC and PH2 lesions:
#
# - **students** of a medical image analysis course (three course years, groups of
#   {glue:text}`student_group_min` to {glue:text}`student_group_max`, ISIC only), each group choosing its own scales and sometimes extra features;
# - **crowd workers** on Amazon Mechanical Turk, three per lesion, on fixed scales (A
#   {glue:text}`crowd_min_A`–{glue:text}`crowd_max_A`, B {glue:text}`crowd_min_B`–{glue:text}`crowd_max_B`,
#   C {glue:text}`crowd_min_C`–{glue:text}`crowd_max_C` colours);
# - **algorithms**: classic image processing applied to the lesion masks (chapter 3).
#
# PH2 adds the dermatologists' own A and C scores (**expert**, chapter 1). The files come in as
# many layouts as there were hands making them; this chapter reads them all into one table,
# reports what could not be read, and applies the paper's recipe for one score per lesion.
#
# ## Prerequisites
#
# - [Chapter 1](01_datasets.ipynb): the datasets and the binary label.
# - pandas `groupby`; the idea of a z-score (subtract the mean, divide by the standard deviation).

# %% tags=["parameters"]
profile = "smoke"             # smoke | cpu | paper (this chapter does the same work in all)
student_rule = "first_group"  # the paper's rule; "mean_of_groups" averages the groups instead
data_dir = None               # data tree; None: ENHANCE_DATA_DIR or downloaded (the build sets it)

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

workspace = enhance_utils.setup_chapter("02_annotations", profile, data_dir)

# %%
import numpy as np
import pandas as pd

from enhance_utils import annotations, datasets, figures, prose, reference
from enhance_utils.profiles import get_profile

settings = get_profile(profile)

# %% [markdown]
# ## One table for all sources
#
# {func}`enhance_utils.data.annotations.load` reads every file: the crowd's and the algorithms' comma
# separated tables, and the students' semicolon separated files, whose columns are typed by a
# `data_types.csv` per course year (Dutch headers such as *Symmetrie*, *Grens* or *Kleur* are
# mapped through that file, not guessed). The result has one row per annotation:

# %%
ann = annotations.load()
ann.long.sample(8, random_state=0).sort_values(["source", "lesion_id"])

# %% mystnb={"figure": {"caption": "Annotations read per dataset, source and ABC feature (rows of the long table).", "name": "tab-02-annotations"}}
ann.long[ann.long.feature.isin(annotations.FEATURES)].pivot_table(
    index=["dataset", "source"], columns="feature", values="value", aggfunc="size", fill_value=0)

# %% [markdown]
# The student groups annotated more than ABC — dermoscopic structures, specific colours, blood
# vessels. Those columns are kept under their own names but take no part in the ABC analyses:

# %%
student = ann.long[ann.long.source == "student"]
student.groupby("feature").agg(groups=("group", "nunique"), annotations=("value", "size")).sort_values(
    "groups", ascending=False)

# %% [markdown]
# ## What could not be read
#
# Nothing is dropped silently. Every cell or row the loader could not use is listed with a reason
# in `ann.problems`; a summary per file and reason:

# %%
ann.problem_summary()

# %% [markdown]
# Most of these are benign: blank lines at the end of a file, empty cells where an annotator
# skipped a lesion, and *categorical* colour columns holding lists such as `0,1,2,6` that are not
# ABC scores. Two rows carry a lesion id that is not in ISIC 2017 (a typo and a truncated id):

# %%
ann.problems[ann.problems.reason.str.startswith("lesion id")]

# %% [markdown]
# ## Table 2: how many lesions have each annotation
#
# {func}`enhance_utils.data.annotations.table2` counts, per dataset, source and feature, the lesions of
# the dataset's ground truth that have at least one score. Next to the paper's Table 2, in {numref}`tab-02-table2`:

# %% mystnb={"figure": {"caption": "Table 2 of {cite:t}`raumanns2021enhance` recomputed: lesions with at least one score per source and feature, the paper's count and the difference.", "name": "tab-02-table2"}}
scores = annotations.per_lesion(ann.long, student_rule=student_rule)
table2 = annotations.table2(scores)
comparison = reference.beside_paper(table2, "table2", ["dataset", "source", "feature"], "n_lesions")
comparison.pivot_table(index=["source", "feature"], columns="dataset",
                       values=["computed", "paper", "difference"], sort=False)

# %%
differences = comparison[comparison.difference != 0]
print(f"{len(comparison)} counts compared, {len(differences)} differ from the paper")
differences

# %% [markdown]
# Of the counts, {glue:md}`table2_agreement`. The published file of automated **border**
# scores for PH2 (`computer_border_ph2_.csv`) has {glue:text}`ph2_auto_b_file` lesions, yet the
# paper's Table 2 reports {glue:text}`ph2_auto_b_paper`. The paper
# does not say why it left these scores out; a plausible reading is that the border algorithm was
# judged unreliable on PH2's masks. The book keeps the file's scores and shows them, labelled, in
# the plots below, so a reader can judge them; later chapters follow the paper and leave PH2
# automated border out of the comparisons with the paper's numbers.
#
# The {glue:text}`n_student_isic` student-annotated lesions need one more detail. The groups
# {glue:md}`unused_groups` left cells empty for some annotators, and the published code, which
# dropped every row with an empty cell, therefore used none of their rows. The book does the same by default
# (`complete_rows_only=True` in {func}`~enhance_utils.data.annotations.per_lesion`); counting those rows
# too gives {glue:text}`n_more_lesions` more lesions:

# %%
all_rows = annotations.table2(annotations.per_lesion(ann.long, student_rule, complete_rows_only=False))
all_rows.merge(table2, on=["dataset", "source", "feature"], suffixes=("_all_rows", "_paper_rule")).query(
    "source == 'student' and dataset == 'isic2017'")

# %% [markdown]
# ## One score per lesion
#
# Scales differ between sources (crowd border {glue:text}`crowd_min_B`–{glue:text}`crowd_max_B`,
# student border up to {glue:text}`student_max_B`) and between annotators (some are stricter than
# others). The paper therefore standardises the scores "per annotator" — subtract the mean,
# divide by the standard deviation — and averages the standardised scores of a lesion
# {cite:p}`raumanns2021enhance`. What counts as one annotator depends on the source:
#
# - a **student** is one annotator *within one group*, so the standardisation uses that group's
#   lesions only;
# - the **crowd** files have no worker ids. Each row holds a lesion's three scores in the
#   columns `i`, `ii` and `iii`, and the paper asked for three *different* workers per lesion
#   (section 3.2.2), so a column gathers the scores of many workers. The z-score is taken per
#   column slot, over all lesions' first, second or third score: it evens out the three slots,
#   not the workers, whose individual strictness stays in the data;
# - the **algorithm** is one annotator, and so is the PH2 **expert**.
#
# Some lesions were annotated by more than one student group:

# %%
student_scores = scores[scores.source == "student"]
student_scores.groupby("feature").n_groups.value_counts().unstack(fill_value=0)

# %% [markdown]
# For those, the published analysis kept the score of the **first** group in year/group order
# (`student_rule="first_group"`, the default here); this is what reproduces the correlations of
# the paper's Table 3 (chapter 4). Averaging the groups instead (`"mean_of_groups"`) is the more
# obvious choice and changes the student scores of these lesions; chapter 4 shows what that does
# to the correlation with the diagnosis.

# %% mystnb={"figure": {"caption": "Per-lesion scores (z-score units) per dataset, source and feature.", "name": "tab-02-scores"}}
scores.groupby(["dataset", "source", "feature"]).score.describe()[["count", "mean", "std", "min", "max"]].round(2)

# %% [markdown]
# ## Distributions against the diagnosis
#
# The paper looks at each score's distribution for normal and abnormal lesions with raincloud plots {cite:p}`allen2019raincloud`: a half violin (the density), the individual lesions as rain below
# it, and a box plot. For ISIC, abnormal means melanoma or seborrheic keratosis (the paper's
# Fig. 3; here {numref}`fig-02-isic`):

# %% mystnb={"figure": {"caption": "ISIC 2017: per-lesion z-scores of each source and feature, normal against abnormal (melanoma or seborrheic keratosis), as raincloud plots.", "name": "fig-02-isic"}}
isic_label = datasets.isic_ground_truth().set_index("lesion_id").label
isic_scores = scores[scores.dataset == "isic2017"]
fig = figures.raincloud_grid(isic_scores, isic_label, ["student", "crowd", "automated"],
                             title="ISIC 2017: per-lesion z-scores by diagnosis")

# %% [markdown]
# For PH2 (the paper's Fig. 4; here {numref}`fig-02-ph2`) abnormal means melanoma; the
# {glue:text}`n_ph2_atypical` atypical nevi count as normal, as
# in the paper's Table 1. The experts' scores separate the two groups far more cleanly than any
# non-expert source: almost all melanomas were rated fully asymmetric. The automated border panel
# shows the {glue:text}`ph2_auto_b_file` scores the paper did not report.

# %% mystnb={"figure": {"caption": "PH2: per-lesion z-scores of the experts, the crowd and the algorithms, nevi against melanoma.", "name": "fig-02-ph2"}}
ph2_table = datasets.ph2_table()
ph2_label = datasets.ph2_label(ph2_table).set_axis(ph2_table.lesion_id)
ph2_scores = scores[scores.dataset == "ph2"]
fig = figures.raincloud_grid(ph2_scores, ph2_label, ["expert", "crowd", "automated"],
                             title="PH2: per-lesion z-scores, melanoma against nevi")

# %% tags=["remove-cell"]
# The numbers of this chapter's text, glued for the prose (hidden in the book).

prose.glue_all(prose.annotations_numbers(ann.long, table2, comparison, all_rows, ph2_table))

# %% [markdown]
# Reading the plots: for every non-expert source the two distributions overlap heavily. Students
# and crowd give abnormal lesions slightly higher asymmetry and colour scores; the automated
# colour score goes, if anything, the other way on ISIC. How strong these shifts are is measured
# in chapter 4.

# %% [markdown]
# ## Exercises
#
# Three exercises that use what this chapter computed above; each runs in seconds. The solutions are hidden: click on one to open it.

# %% [markdown]
# ```{exercise} Table 2 for PH2 by hand
# :label: ex-02-table2-ph2
#
# From `ann.long` alone, count for PH2 how many lesions have at least one A, B or C score per
# source. Keep, as the book does, only complete rows (`row_complete`) and lesions of the PH2
# table ({func}`enhance_utils.data.datasets.ph2_table`). Compare with the PH2 rows of `table2`. Which
# source and feature has no score at all, and why?
# ```

# %% [markdown]
# ```{solution-start} ex-02-table2-ph2
# :class: dropdown
# ```

# %%
ph2_ids = set(datasets.ph2_table().lesion_id)
ph2_rows = ann.long[(ann.long.dataset == "ph2") & ann.long.feature.isin(["A", "B", "C"])
                    & ann.long.row_complete & ann.long.lesion_id.isin(ph2_ids)]
ph2_by_hand = ph2_rows.groupby(["source", "feature"]).lesion_id.nunique().rename("by hand")
ph2_book = table2[table2.dataset == "ph2"].set_index(["source", "feature"]).n_lesions
ph2_check = pd.concat([ph2_by_hand, ph2_book.rename("table2")], axis=1).fillna(0).astype(int)
display(ph2_check[ph2_check.sum(axis=1) > 0])
assert (ph2_check["by hand"] == ph2_check["table2"]).all()
print("zero for PH2:", ", ".join(f"{s} {f}" for s, f in ph2_check.index[ph2_check["table2"] == 0]),
      "- the PH2 experts scored no border, and students annotated ISIC only")

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} One crowd score by hand
# :label: ex-02-zscore-by-hand
#
# Take the ISIC crowd asymmetry rows of `ann.long` (complete rows only). Standardise every crowd
# worker column (`annotator` is `i`, `ii` or `iii`) over all of its lesions, with the population
# standard deviation (`ddof=0`), and average the three z-scores of the first lesion. You should
# get that lesion's score in `scores`.
# ```

# %% [markdown]
# ```{solution-start} ex-02-zscore-by-hand
# :class: dropdown
# ```

# %%
crowd_a = ann.long[(ann.long.dataset == "isic2017") & (ann.long.source == "crowd")
                   & (ann.long.feature == "A") & ann.long.row_complete]
z = crowd_a.groupby("annotator").value.transform(lambda v: (v - v.mean()) / v.std(ddof=0))
lesion = crowd_a.lesion_id.iloc[0]
display(crowd_a[crowd_a.lesion_id == lesion][["lesion_id", "annotator", "value"]]
        .assign(z=z[crowd_a.lesion_id == lesion]))
by_hand = z[crowd_a.lesion_id == lesion].mean()
book = scores[(scores.dataset == "isic2017") & (scores.source == "crowd") & (scores.feature == "A")
              & (scores.lesion_id == lesion)].score.item()
print(f"{lesion}: by hand {by_hand:.6f}, per_lesion {book:.6f}")
assert abs(by_hand - book) < 1e-9

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} Change the student rule
# :label: ex-02-student-rule
#
# Compute the per-lesion scores under both student rules, `"first_group"` and
# `"mean_of_groups"`. For how many student scores does the rule matter, and are those exactly
# the lesions that more than one group annotated? Does Table 2 change?
# ```

# %% [markdown]
# ```{solution-start} ex-02-student-rule
# :class: dropdown
# ```

# %%
rule_first = annotations.per_lesion(ann.long, student_rule="first_group")
rule_mean = annotations.per_lesion(ann.long, student_rule="mean_of_groups")
both_rules = rule_first.merge(rule_mean, on=["dataset", "lesion_id", "source", "feature"],
                              suffixes=("_first", "_mean"))
by_students = both_rules[both_rules.source == "student"]
changed = ~np.isclose(by_students.score_first, by_students.score_mean)
display(pd.crosstab(by_students.n_groups_first, changed, rownames=["student groups"],
                    colnames=["score changed"]))
assert not changed[by_students.n_groups_first == 1].any()
assert changed[by_students.n_groups_first > 1].mean() > 0.95
pd.testing.assert_frame_equal(annotations.table2(rule_first), annotations.table2(rule_mean))
print("Only lesions of several groups change score; Table 2 counts lesions, so it is the same "
      "under both rules.")

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ## Summary
#
# - Three annotation sources (four with the PH2 experts) are read into one long table with
#   `dataset, lesion_id, source, feature, group, annotator, column, value`; unreadable cells are
#   reported with a reason.
# - Table 2 is reproduced from the raw files ({glue:md}`table2_agreement`): PH2 automated
#   border has {glue:text}`ph2_auto_b_file` lesions in the published file,
#   {glue:text}`ph2_auto_b_paper` in the paper.
# - One score per lesion: z-score per annotator (per group for students, per column slot for
#   the crowd, whose files have no worker ids), mean per lesion; for lesions of several student
#   groups the paper kept the first group.
# - Non-expert ABC scores shift only slightly between normal and abnormal lesions.
#
# ## What's next
#
# Chapter 3 recomputes the automated scores from the masks. Chapters 4 and 5 measure how strongly
# each source relates to the diagnosis and how much the sources agree with each other.

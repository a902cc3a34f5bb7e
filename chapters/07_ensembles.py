# %% [markdown]
# # 7. Ensembles
#
# :::{admonition} In this chapter
# - **You will learn** how the paper combines the A, B and C models of one annotation source into
#   an ensemble, how to read Table 5 with the ensembles in it, and how to tell whether a gain of a
#   few AUC points over five splits is more than noise (paired differences, the corrected
#   resampled t-test and DeLong's test).
# - **Time**: about half an hour to read; under a minute to run in `smoke`, `cpu` and `paper` alike
#   once chapter 6 has filled the experiment store (run on its own, the chapter first trains
#   chapter 6's grid: a few minutes in `smoke`).
# - **Paper**: section 4.2 (ensembles), section 5.3, section 6.1.3 and Table 5 (Appendix A) of
#   {cite:t}`raumanns2021enhance`.
# :::
#
# ## Overview
#
# Chapter 6 trained one baseline and nine multi-task models per architecture and split. The
# paper's headline result is not about any one of them: it averages the predictions of the three
# models that learned from the same source — students, crowd or algorithms — and reports that
# these three-model ensembles score higher than everything else (Table 5). This chapter forms the
# ensembles from the stored test predictions, rebuilds Table 5, draws ROC curves, and then asks
# the question the paper leaves open: with five splits, how sure can we be that an ensemble beats
# the baseline?
#
# ## Prerequisites
#
# - [Chapter 6](06_multitask.ipynb): the experiment store, the splits and the single-model
#   Table 5. Run it first (or `enhance train --profile smoke`); otherwise this chapter trains the
#   missing runs itself (`train = True`).
# - What an AUC and an ROC curve are; a paired t-test.

# %% tags=["parameters"]
profile = "smoke"     # smoke | cpu | paper: which experiment store to read
train = True          # train the runs the store lacks (none after chapter 6); False: only read
progress = True       # progress bars of the training (the book build turns them off)
executor = "local"    # local | ray: on this machine (as many runs side by side as its CPUs
                      # hold), or one Ray task per run (see "Training on a cluster or a GPU box")
data_dir = None       # data tree; None: ENHANCE_DATA_DIR or downloaded (the build sets it)
static_views = False  # explorers also drawn as plain output (the build turns it on)

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

workspace = enhance_utils.setup_chapter("07_ensembles", profile, data_dir)

# %% tags=["remove-stderr"]
# TensorFlow prints start-up messages (CUDA, oneDNN) that no setting silences; this cell's
# stderr is removed from the rendered page (tag remove-stderr).
import numpy as np
import pandas as pd
from IPython.display import Markdown
from sklearn.metrics import roc_auc_score

from enhance_utils import (config, datasets, designs, ensembles, evidence, experiments, explorers,
                           paired, prose, prose_training, results, verdicts)

if train:  # a chapter run on its own (Colab, Binder) first trains chapter 6's grid; else a no-op
    experiments.run_grid(profile, progress=progress, executor=executor)
runs = results.load_runs(profile)
predictions = results.load_predictions(profile)
print(f"{len(runs)} finished runs of profile {profile} in {config.shown(config.results_dir() / profile)}")

# %% [markdown]
# ## Averaging three models
#
# For each architecture and split, the ensemble of a source gives every test lesion the mean of
# the three models' predicted probabilities, each with weight one third; the paper chose equal
# weights because tuning them had not helped in its earlier work. The three models saw the same
# training lesions and are tested on the same test lesions, so the predictions can be matched by
# lesion id ({func}`enhance_utils.learning.ensembles.ensemble_predictions`). If one of the three runs is
# missing from the store for a split, the book forms no ensemble for that split rather than
# averaging two models, and lists the gap:

# %%
missing = ensembles.missing_members(predictions)
missing if len(missing) else print("every ensemble has all three of its runs in every split")

# %% [markdown]
# The first test lesions of the first split, with the crowd's three models and their average:

# %%
preds = ensembles.model_predictions(predictions)
first = preds[preds.model.isin(["crowdA", "crowdB", "crowdC", "crowdABC"])]
first = first[first.split == first.split.min()]
first.pivot_table(index="lesion_id", columns="model", values="score", sort=False).head().round(3)

# %% [markdown]
# ## Table 5 with the ensembles
#
# Mean and standard deviation of the test AUC ($\times 100$) over the splits for the baseline, the nine
# single models and the three ensembles, laid out as the paper prints them
# ({func}`~enhance_utils.learning.ensembles.table5`; `enhance report --profile smoke --out DIR` writes the
# same table as `table5.csv`):

# %%
t5 = ensembles.table5(runs, predictions, randomized=False)
ensembles.wide(t5)

# %% [markdown]
# The level of these AUCs cannot be compared with the paper's: the `smoke` and `cpu` profiles
# train a small CNN from scratch on {glue:text}`cpu_image_size`-pixel images, the paper fine-tuned ImageNet networks at
# {glue:text}`paper_image_size` pixels. What can be compared is the *gain* over the baseline of the same architecture. The
# table below puts each computed row next to the paper's row for ResNet50 (for the `paper`
# profile, next to the same architecture); `gain` and `paper_gain` are the differences to the
# respective baselines:

# %%
display(ensembles.beside_paper(t5, "table5", paper_arch="resnet50"))
ensembles.gains_beside_paper(t5, "table5")

# %% [markdown]
# ## ROC curves
#
# An AUC summarises a whole ROC curve. The curves of the baseline and of the best-scoring ensemble
# of the first architecture, one thin line per split, show how much the curves of one model move
# from split to split compared with the distance between the two models:

# %%
if t5.empty:
    print("the store holds no runs yet: run chapter 6 first")
else:
    arch = t5.arch.iloc[0]
    abc = t5[(t5.arch == arch) & t5.model.str.endswith("ABC")]
    best = abc.sort_values("mean_auc").model.iloc[-1] if len(abc) else "baseline"
    ax = ensembles.plot_roc(preds, arch, ["baseline", best],
                            title=f"baseline and {best}, {arch}, profile {profile}")

# %% [markdown]
# Explore the curves yourself: pick the architecture, one split or all of them, and a model
# or ensemble; it is drawn beside the baseline, with both test AUCs per split in the table. In the
# static book the view below is the first choice: all splits, and the crowd ensemble when the
# store has it.

# %%
explorers.roc_explorer(preds, show_static=static_views)

# %% [markdown]
# ## Is the difference real?
#
# The paper compares means over five splits. A mean that is one or two points higher can come from
# one lucky split, so the book compares models *pairwise*: on each split both models were trained
# on the same lesions and tested on the same lesions, and the split-by-split differences are what
# matters ({mod}`enhance_utils.stats.paired`):
#
# - **Mean difference with a t-interval.** With $J$ splits and differences $d_j$, the {glue:text}`confidence_pct`% interval
#   is $\bar d \pm t_{J-1}\, s_d/\sqrt{J}$. It treats the splits as independent samples, which
#   they are not: random splits share most of their training lesions.
# - **Corrected resampled t-test** {cite:p}`nadeau2003`. Because the training sets overlap,
#   the differences are correlated and $s_d^2/J$ underestimates the variance of $\bar d$. The
#   correction replaces it with $(1/J + n_\text{test}/n_\text{train})\, s_d^2$ (with the
#   paper's {glue:text}`paper_n_test` test and {glue:text}`paper_n_train` training lesions and {glue:md}`paper_n_splits_word` splits,
#   {glue:text}`factor_naive:.2f` + {glue:text}`factor_ratio:.2f` = {glue:text}`factor_corrected:.2f`, {glue:text}`factor_times:.1f` times the naive value); the
#   sizes come from each run's `run.json`.
# - **DeLong's test** {cite:p}`delong1988`, in the fast form of {cite:t}`sun2014fastdelong`. On one split,
#   it estimates how much the AUC difference would move if other test lesions had been drawn,
#   from the same test lesions scored by both models. The book runs it per split and combines the
#   splits by averaging their differences, with variance $\sum_j \operatorname{var}_j / J^2$.
#   That combination treats the five test sets as independent; the paper's random test sets
#   overlap in part, so the combined p-value is somewhat optimistic. DeLong also ignores the
#   training noise (other initial weights, other training lesions), which the t-tests include.
#
# Every single model and ensemble against the baseline of its architecture (AUC differences as
# fractions; `corrected_*` is the corrected t-test):

# %%
comparisons = verdicts.paired_comparisons(runs, predictions, randomized=False)
comparisons.drop(columns="verdict").round(3)

# %% [markdown]
# The same as a forest plot: the dot is the mean difference over the splits, the thin line the
# naive t-interval and the thick bar the corrected one. A bar that crosses zero means that these
# splits cannot tell the two models apart.

# %%
axes = paired.plot_forests(comparisons, f"profile {profile}: model − baseline")  # per arch

# %%
print("\n".join(comparisons.verdict))

# %% [markdown]
# DeLong's test split by split for the best ensemble against the baseline — how large the test-set
# noise alone is on test sets of this size:

# %%
if not t5.empty and best != "baseline":
    row, per_split = verdicts.compare(preds, runs, arch, best, "baseline")
    display(per_split.round(3))
    print(f"combined over {row['n_pairs']} splits: difference {row['delong_diff']:+.3f}, "
          f"p = {row['delong_p']:.3f}")

# %% [markdown]
# ## The `cpu` results
#
# The `cpu` profile trains on all {glue:text}`cpu_n_lesions` lesions at {glue:text}`cpu_image_size` pixels with {glue:md}`cpu_n_splits_word` splits. Its results are
# trained once and committed with the book; the tables below show what the store holds and list
# any ensemble whose members are missing.

# %%
cpu_store = verdicts.show_other_store("ensembles", "cpu")  # the committed cpu store

# %% [markdown]
# ## The pretrained network, and a design with power
#
# The same tables and comparisons for the committed stores of the pretrained network: `lite`, the paper's five splits, and `lite-cv`, the same models in repeated stratified k-fold cross-validation, where every lesion is tested once per repetition. Random splits of the same lesions overlap, and the corrected t-test's variance never falls below a floor set by the ratio of test to training lesions, so more of them buy little power; more folds and repetitions buy more ({mod}`enhance_utils.learning.designs`). Every verdict says what its design could detect.

# %%
lite_store = verdicts.show_other_store("ensembles", "lite")  # the committed lite store

# %%
cv_store = verdicts.show_other_store("ensembles", "lite-cv")  # the committed lite-cv store

# %% [markdown]
# The folds also allow a test on every lesion at once: within one repetition each lesion is tested once, so each model has one out-of-fold score per lesion, and DeLong's test compares two models on all of them. Below, each single model against the baseline and against its uniform control, on the scores averaged over the complete repetitions, with Holm's adjustment over the comparisons and the difference this test detects with {glue:text}`mdd_power_percent`% power ({func}`enhance_utils.learning.designs.pooled_table`; differences as fractions of AUC). DeLong conditions on the trained models; the fold-by-fold verdicts above include the training noise. The sentences under the table are generated from it.

# %%
pooled = designs.pooled_table(results.load_predictions("lite-cv"))
display(pooled.round(4))
Markdown(designs.pooled_summary(pooled))

# %% [markdown]
# ## Reading the numbers honestly
#
# - In `smoke` ({glue:md}`smoke_n_splits_word` splits of {glue:text}`smoke_n_test` test lesions, {glue:md}`smoke_epochs_word` epochs) the AUCs swing by tens of points
#   from split to split; no difference between models means anything there, and the verdicts
#   above say so. The chapter runs in `smoke` to show that the machinery works.
# - Averaging three models cannot hurt much and usually helps a little: the errors of models
#   trained with different auxiliary targets are partly independent. That is a property of
#   ensembles, not necessarily of the annotations — chapter 8 tests it with random annotations.
# - In the paper's Table 5, the ensembles differ from the baseline of their architecture by
#   {glue:md}`paper_ensemble_gain_range` AUC points over its {glue:md}`paper_n_archs_word` architectures, while its standard deviations over the
#   {glue:md}`paper_n_splits_word` splits range from {glue:md}`paper_sd_range` points. With {glue:md}`paper_n_splits_word` pairs and the correction for
#   overlapping training sets, the {glue:text}`confidence_pct`% interval of such a difference is typically several
#   points wide. Whether a paired analysis of the paper's own runs would exclude zero is
#   not known: the paper reports means and SDs only, and its per-split predictions are not
#   published. The `paper` profile of this book stores them, and `enhance report` would answer it.
# - The `cpu` results come from a much weaker model; a gain or a loss there says little about
#   ImageNet networks at full resolution.

# %% [markdown]
# ## Exercises
#
# Two exercises that use what this chapter computed above; each runs in seconds. The solutions are hidden: click on one to open it.

# %% [markdown]
# ```{exercise} The crowd ensemble by hand
# :label: ex-07-ensemble-by-hand
#
# Form the crowd ensemble without {mod}`enhance_utils.learning.ensembles`: from `predictions` take the
# runs `crowd:A`, `crowd:B` and `crowd:C`, average their scores per architecture, split and
# lesion (keep only lesions all three scored), and compute the AUC per split with
# `sklearn.metrics.roc_auc_score`. Compare with the `crowdABC` row of Table 5 (`t5`).
# ```

# %% [markdown]
# ```{solution-start} ex-07-ensemble-by-hand
# :class: dropdown
# ```

# %%
single = predictions.drop_duplicates(["arch", "target", "split", "lesion_id"])
crowd = single[single.target.isin(["crowd:A", "crowd:B", "crowd:C"])]
averaged = crowd.groupby(["arch", "split", "lesion_id"]).agg(
    label=("label", "first"), score=("score", "mean"), members=("score", "size")).reset_index()
averaged = averaged[averaged.members == 3]
auc_by_hand = (averaged.groupby(["arch", "split"])[["label", "score"]]
               .apply(lambda g: 100 * roc_auc_score(g.label, g.score)).rename("auc"))
summary_by_hand = auc_by_hand.groupby("arch").agg(["mean", "std", "size"]).round(1)
book = t5[t5.model == "crowdABC"].set_index("arch")[["mean_auc", "sd_auc", "n_splits"]]
display(summary_by_hand.join(book))
assert np.allclose(summary_by_hand["mean"], book.mean_auc, atol=0.051)
assert (summary_by_hand["size"] == book.n_splits).all()

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} An ensemble of all nine single models
# :label: ex-07-nine-models
#
# Average all nine single multi-task models (three sources × A, B, C) with
# {func}`enhance_utils.learning.ensembles.ensemble_predictions`, which accepts your own
# `{name: member targets}`. Check one lesion's score by hand, set the new ensemble's AUC per
# split beside the baseline and the three source ensembles, and compare it with the baseline
# using {func}`enhance_utils.learning.verdicts.compare`. Does averaging more models help here?
# ```

# %% [markdown]
# ```{solution-start} ex-07-nine-models
# :class: dropdown
# ```

# %%
nine = tuple(f"{source}:{feature}" for source in ensembles.SOURCES for feature in ensembles.FEATURES)
all9 = ensembles.ensemble_predictions(predictions, {"all9": nine})
one = all9.iloc[0]
members = predictions[(predictions.arch == one.arch) & (predictions.split == one.split)
                      & (predictions.lesion_id == one.lesion_id) & predictions.target.isin(nine)]
assert len(members.drop_duplicates("target")) == 9
assert np.isclose(members.drop_duplicates("target").score.mean(), one.score)
with_all9 = pd.concat([preds, all9], ignore_index=True)
shown = with_all9[with_all9.model.isin(["baseline", "autoABC", "crowdABC", "studABC", "all9"])]
display(ensembles.split_aucs(shown).pivot_table(index=["arch", "split"], columns="model",
                                                values="auc").round(3))
for arch_ in dict.fromkeys(all9.arch):
    row, _ = verdicts.compare(with_all9, runs, arch_, "all9", "baseline")
    print(row["verdict"])

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ## What this book's runs say
#
# The paper's claims for this chapter, each tested on the committed stores of the pretrained network — the design with power (`lite-cv`), then the paper's five splits (`lite`) — and on the runs of the profile shown: a set of paired comparisons over the splits (corrected resampled t-test), Holm-adjusted over every comparison the book makes for that architecture ({mod}`enhance_utils.learning.claims`; the rule is stated once, in {mod}`enhance_utils.learning.verdicts`). The sentences are generated from the comparisons, so they change with the store; they also say what runs of this scale cannot tell.

# %%
Markdown(evidence.evidence_markdown(profile, which=["ensemble", "ensemble_vs_baselines"]))

# %% tags=["remove-cell"]
# The numbers of this chapter's text, glued for the prose (hidden in the book).

prose.glue_all(prose_training.ensembles_numbers(datasets.isic_ground_truth()[["lesion_id", "label"]]))

# %% [markdown]
# ## Summary
#
# - An ensemble averages the test predictions of the A, B and C models of one source with equal
#   weights, matched by lesion; a split with a missing run gives no ensemble, and the gap is
#   listed.
# - Table 5 is rebuilt from the store, ensembles included, and set beside the paper's as gains
#   over the baseline, since the levels are not comparable across profiles.
# - Paired statistics over the splits — a t-interval, the corrected resampled t-test and DeLong's
#   test — show how wide the uncertainty of a few-point difference is with five splits.
# - `enhance report --profile P --out DIR` writes the same tables and comparisons as CSV.
#
# ## What's next
#
# Chapter 8 trains the same multi-task models on random annotations. If their ensembles gain as
# much as the real ones, the gain comes from ensembling, not from what the students, the crowd or
# the algorithms saw in the images.

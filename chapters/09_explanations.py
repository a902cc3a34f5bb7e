# %% [markdown]
# # 9. Explanations
#
# :::{admonition} In this chapter
# - **You will learn** how Grad-CAM turns a CNN's gradient into a heat map over the image, how to
#   get such maps for the baseline and the multi-task models of the experiment store, how to set
#   the annotation head's predicted A, B or C next to the real score, and how far a heat map can
#   be trusted.
# - **Time**: a third of an hour to read; one to two minutes to run in `smoke` (longer if the
#   store does not hold the models yet and the chapter trains them).
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
# This chapter does both for models from the experiment store of chapter 6: it computes Grad-CAM
# maps of the diagnosis output for the baseline and for two multi-task models on the same test
# lesions, shows the multi-task heads' predicted scores next to the real annotations, and
# measures how much of each map falls on the lesion itself.
#
# ## Prerequisites
#
# - [Chapter 6](06_multitask.ipynb): the baseline and multi-task models, the experiment store
#   and its `smoke` profile.
# - [Chapter 2](02_annotations.ipynb): the per-lesion annotation scores (z-scored per annotator,
#   then averaged), which the annotation heads learn.
# - Gradients in Keras/TensorFlow (`tf.GradientTape`) help but are not needed to follow along.

# %% tags=["parameters"]
profile = "smoke"     # whose models to explain; runs without stored weights are retrained (cached)
split_seed = None     # which split's models to explain; None: the profile's first split seed
targets = ["baseline", "crowd:A", "student:C"]   # the baseline first, then multi-task models
n_show = 4            # test lesions in the figures (half abnormal, half normal)
train = True          # train the runs the store lacks; False: only use what it holds
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
print(f"profile {profile}: {settings.archs[0]} CNN, {settings.image_size} px, "
      f"{settings.epochs} epochs, split seed {split_seed}")

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
# The map has the layer's resolution ({glue:md}`cam_size` for the small CNN at {glue:text}`image_size` px); it is
# normalised to $[0, 1]$ and upsampled to the size of the image.
#
# ## The models
#
# {func}`~enhance_utils.learning.explanations.run_folders` looks the runs up in the store
# (`results/<profile>/<arch>/<target>/<split>/`); it only reads. The runs it would lack
# ({func}`~enhance_utils.learning.explanations.runs_without_weights`) the chapter trains first, explicitly, with
# {func}`~enhance_utils.learning.training.train_with_weights`. {func}`~enhance_utils.learning.explanations.load_run` rebuilds
# each model with {func}`~enhance_utils.learning.models.build_model` from the settings in its
# `run.json` and loads its `model.weights.h5`. Only the `smoke` profile keeps weights in the
# store; for any other (the committed `cpu` store holds predictions only) the few runs this
# chapter explains are trained again into a side store in the cache folder, keeping their
# weights. Training is deterministic (chapter 6), so these are the models whose predictions the
# store holds, and the check below confirms it.

# %% mystnb={"figure": {"caption": "The explained runs of the store with their test AUC.", "name": "tab-09-models"}}
# the runs without weights to explain, trained again here (only with train=True) into a
# side store in the cache folder, keeping their weights
lacking = explain.runs_without_weights(profile, targets, split_seed)
if lacking and train:
    experiments.train_with_weights(profile, lacking, split_seed, explain.side_store(),
                                   progress=progress)
folders = explain.run_folders(profile, targets, split_seed)  # reads, never trains
runs = explain.load_models(folders)
explain.models_table(runs)

# %% [markdown]
# Before trusting a map, check that the rebuilt models are the stored ones: fed the test images
# decoded and resized as in training ({func}`~enhance_utils.learning.gradcam.load_lesion`), they should
# reproduce the probabilities each run wrote to `predictions.csv`. The same pass computes every
# map used below, for "abnormal" and for "normal":

# %%
test = runs[next(iter(runs))].predictions()  # lesion_id, label, score of the split's test set
context = experiments.build_context(settings.n_lesions)  # lesions and annotation scores
tables, maps = explain.compare_towards(runs, test.lesion_id, scores=context.scores,
                                      progress=progress)  # for "abnormal" and for "normal"
check = tables["abnormal"].merge(
    pd.concat([run.predictions().assign(model=name) for name, run in runs.items()]),
    on=["lesion_id", "model"])
print(f"{test.lesion_id.nunique()} test lesions ({int(test.label.sum())} abnormal); largest difference "
      f"to the stored probabilities: {(check.probability - check.score).abs().max():.1e}")
print("Grad-CAM layer:", {name: maps["abnormal"][(test.lesion_id.iloc[0], name)].layer for name in runs})

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
shown = explain.lesions_to_show(test, runs, context, n_show)  # half abnormal, half normal
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
# Pick any test lesion of the split, a model and the class the map explains: the map over the
# image, and what the model predicted for that lesion. In the static book the view below is the
# first abnormal lesion with the first model whose map for "abnormal" is not empty.

# %%
explorers.gradcam_explorer(tables, maps, show_static=static_views)

# %% [markdown]
# ## The annotation head next to the real score
#
# The paper's idea is that the multi-task head's score could be read as a reason: "abnormal,
# and asymmetric too". That only works if the head predicts the annotation well. For the lesions
# shown, and then for all test lesions that have the annotation:

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
# lesion's mask ({func}`~enhance_utils.learning.gradcam.mass_inside`), over all test lesions of the split.
# A map spread evenly over the image would get the lesion's share of the image area, given next
# to it; a model that looks at the lesion should do clearly better than that. Empty maps have no
# mass and are counted separately.

# %% mystnb={"figure": {"caption": "Share of each map's mass inside the lesion mask, against the lesion's share of the image.", "name": "tab-09-mass"}}
pd.concat({towards: explain.mass_summary(t) for towards, t in tables.items()}, names=["map for"])

# %% tags=["remove-cell"]
# The numbers of this chapter's text, glued for the prose (hidden in the book).

first_model = next(iter(runs))
layer = maps["abnormal"][(test.lesion_id.iloc[0], first_model)].layer
layer_shape = tuple(runs[first_model].model.get_layer(layer).output.shape[1:3])  # Grad-CAM grid
prose.glue_all(prose.explain_numbers(settings, get_profile("paper").training, tables["abnormal"],
                                     layer_shape))

# %% [markdown]
# ## Reading the maps honestly
#
# - **These are small models.** A small CNN trained from scratch for {glue:text}`epochs` epochs on a sample of
#   {glue:text}`n_lesions` lesions (training, validation and test together) at {glue:text}`image_size` pixels predicts
#   probabilities between {glue:text}`probability_min:.2f` and {glue:text}`probability_max:.2f` here, and its annotation heads
#   give almost the same value for every lesion, often far from the average real score (compare
#   the means and spreads above), so the predicted A, B or C explains nothing yet. The maps therefore show how the method works on the
#   store's models, not what a melanoma looks like to a network; nothing here is a dermatological
#   finding. Where a map sits on a ruler, a hair, a dark corner of the dermoscope or the skin
#   around the lesion, that is a warning about what such a model can pick up, not evidence of it.
# - **Empty maps are common for weak models.** When every channel that is active in the image
#   pushes the chosen score down, Grad-CAM has nothing to show. A baseline and a multi-task
#   model trained on the same split can differ here completely, and the other split of the
#   profile can turn the picture round; run the chapter with `split_seed = 1972` to see it.
# - **Grad-CAM weighs whole channels.** A channel that fires on dark blobs lights up every dark
#   blob in the image, also those the dense layer ignores. At {glue:md}`cam_size` cells the maps are
#   coarse: one cell spans {glue:md}`cam_fraction` of the image in each direction. Bands along the image border come
#   from the zero padding of the convolutions, which the network can use as a landmark.
# - **Comparing baseline and multi-task maps needs many lesions and several splits.** Over one
#   split's few dozen test lesions the share of the map on the lesion is a rough indication at best.
#   Whether the annotation head moves the maps onto the lesion — the question the paper raises —
#   would need the `paper` models (ImageNet networks at {glue:text}`paper_image_size` px) with their weights kept, and a
#   comparison over all five splits.
#

# %% [markdown]
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
# - {mod}`enhance_utils.learning.explanations` rebuilds a stored run's model from its `run.json`, loads the
#   weights its run kept (or retrains it, deterministically, into a side store), and computes Grad-CAM maps of the diagnosis logit for
#   "abnormal" or "normal" with `tf.GradientTape` at the last convolutional layer.
# - The rebuilt models reproduce the stored test predictions, so the maps explain the models
#   whose AUCs chapter 6 reported.
# - A multi-task model also returns its predicted annotation; next to the real score it shows
#   how far the head is from serving as an explanation.
# - The share of a map inside the lesion mask, against the lesion's area, is a simple check of
#   where a model looks; for small CNNs trained from scratch the maps illustrate the method only.
#
# ## What's next
#
# The tests in `tests/test_explain.py` check the method on a model whose answer is known (it
# reads a single image quadrant). To explain models that matter, train the `paper` profile on a
# GPU with `keep_weights=True` and run this chapter on those runs; then compare the maps of the
# baseline and the multi-task models over all splits, as the paper's discussion proposes.

# %% [markdown]
# # 3. Automated ABC annotations
#
# :::{admonition} In this chapter
# - **You will learn** how the three classic algorithms behind the paper's *automated*
#   annotations score asymmetry, border and colour; how far the code that produced the published
#   scores departs from its own description in Appendix C; and whether that departure matters for
#   the link with the diagnosis.
# - **Time**: about half an hour to read and explore; a couple of minutes to run (`smoke`).
# - **Paper**: section 3.2, Table 2, Appendix C and Fig. 7 of
#   {cite:t}`raumanns2021enhance`.
# :::
#
# ## Overview
#
# Besides students and crowd workers, ENHANCE scored every lesion with three algorithms taken
# from the literature
# {cite:p}`kasmi2016abcd,jaworek2015border,achanta2012slic`.
# This chapter re-implements them twice: once exactly as the published scores were produced
# (mode `published`) and once as Appendix C of the paper describes them (mode `described`). We
# run each step on real lesions, check that the `published` mode gives back the numbers in
# `enhance/automated/*.csv`, and compare the two modes against the diagnosis.
#
# ## Prerequisites
#
# - [Chapter 1](01_datasets.ipynb) (images and masks) and [chapter 2](02_annotations.ipynb)
#   (where the automated scores sit among the other annotations).
# - Basic numpy (boolean arrays); the image-processing terms are explained as they appear.

# %% tags=["parameters"]
profile = "smoke"     # smoke | cpu | paper: how many lesions are recomputed
n_recompute = None    # lesions per dataset to recompute; None: smoke 40, cpu 400, paper all
workers = 2           # processes used to recompute
progress = True       # progress bars of the recomputation (the book build turns them off)
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

workspace = enhance_utils.setup_chapter("03_automated_abc", profile, data_dir,
                                        n_recompute=n_recompute)

# %%
import numpy as np
import pandas as pd

from enhance_utils import config, datasets, prose
from enhance_utils.abc import comparison, fast, figures, lesions, reference, runner
from enhance_utils.abc.inputs import read_lesion
from enhance_utils.profiles import get_profile

settings = get_profile(profile)
n_recompute = lesions.recompute_count(settings.name, n_recompute)  # None = every lesion
print(f"profile {settings.name}: {settings.description}; recomputing "
      f"{n_recompute or 'all'} lesions per dataset, cache in {config.shown(config.cache_dir())}")

# %% [markdown]
# ## Two readings of one method
#
# Appendix C describes each algorithm in a few steps, all starting from the lesion mask rotated
# so that the lesion's longest diameter is horizontal and passes through its centre of mass. The
# code that produced the published CSVs (public in the ENHANCE repository) does something close
# but not identical; re-running it on the masks shows where:
#
# | | Appendix C (`described`) | published code (`published`) |
# |---|---|---|
# | **A**: what is rotated | the lesion, about its own centre of mass and major axis | the *background* of the mask (Otsu keeps the pixels at or below the threshold); centroid and orientation are the background's, the translation mixes rows and columns |
# | **A**: what is compared | lesion pixels with their mirror image | every pixel below `0.5` after the warps, so the zero padding added by the rotation counts as lesion; masks whose background falls apart are skipped |
# | **B**: border points | lines from the box corners to the centre of mass | lines to the centre of the bounding box; only pixels exactly equal to `1.0` after two interpolations count |
# | **B**: score | turning points of the smoothed border function, part by part, beyond the one that every part of a convex outline has | peaks (maxima above `0`) of the joined profile |
# | **C**: counting | a colour counts when *one* unique colour linked to it (its nearest reference colour) covers more than {glue:text}`fraction_pct` % of the lesion's pixels by itself | a colour counts when at least {glue:text}`fraction_pct` % of the *unique* superpixel colours lie near it, the six reference colours themselves included in that list |
#
# Both modes are in {mod}`enhance_utils.abc`; the plain implementation in
# {mod}`enhance_utils.abc.reference` is the one to read, and {mod}`enhance_utils.abc.fast` gives
# the same outputs tens of times faster (it is what the runs below use).

# %%
# small ISIC masks (767 x 576) keep the step-by-step figures quick; one PH2 lesion as well
ground_truth = datasets.isic_ground_truth()
examples = list(lesions.EXAMPLES[: max(2, settings.n_examples)])
gray, image, small_mask = read_lesion(*examples[0])
print(f"{examples[0][1]}: mask {gray.shape}, image {image.shape[:2]}")

# %% [markdown]
# ## Asymmetry step by step
#
# Top row: the published procedure. The Otsu threshold of a `0`/`255` mask keeps the *background*;
# its centroid and orientation steer the translation and the rotation, and after the warps every
# pixel below `0.5` — lesion **and** padding — is compared with its mirror image. Bottom row ({numref}`fig-03-asymmetry`): the
# described procedure {cite:p}`kasmi2016abcd`, which mirrors the lesion across its own major and minor axis. Each ratio is
# the overlap divided by the area; an axis with a ratio below {glue:text}`symmetry_level` counts as asymmetric, and the
# published `ii` is the mean of the two ratios.

# %% mystnb={"figure": {"caption": "Asymmetry of the first example: the published procedure (top) on the mask's background, the described one (bottom) on the lesion's own axes.", "name": "fig-03-asymmetry"}}
fig = figures.asymmetry_steps(gray)

# %% [markdown]
# Because the background is oriented like the image rectangle, the published rotation hardly
# turns the lesion at all: an elongated lesion lying diagonally is compared with itself across
# the image axes, not across its own. The padding of the rotated frame, counted as lesion, pushes
# the ratios in the other direction. The two effects do not cancel, so the published `ii` is a
# mix of lesion shape, lesion position and image shape.
#
# ## Border step by step
#
# The published procedure rotates the mask itself (bilinear interpolation, twice), puts a box
# around the largest region of pixels equal to `1.0`, and finds where the lines from the box
# corners to the box centre first meet the lesion (W, V, U, T). From there it records, part by
# part, how far the border lies from the box, joins the four parts into one profile, smooths it
# with a very narrow Gaussian (σ = {glue:text}`sigma` pixel) and counts its peaks
# ({numref}`fig-03-border`, top).
#
# The described version {cite:p}`jaworek2015border` measures the same kind of profile from lines
# to the centre of mass (bottom). Taken literally, "count the turning points" would call a perfect
# disc irregular: each of the four parts of *any* convex outline falls to one extremum, where
# the outline comes closest to that side of the box, and rises again, and the joins between the
# parts add more. The described mode therefore smooths and reads each part on its own, counts a
# turn only once the profile has moved back by `prominence` pixels (so the one-pixel staircase
# of a digital border does not count), and scores the turning points *beyond* the one per part
# that a convex outline has. A disc and an ellipse score zero, every notch or lobe adds; the
# tests in `tests/test_abc_shapes.py` check this ordering on synthetic outlines, for both modes.

# %% mystnb={"figure": {"caption": "Border of the first example: the published profile and its peaks (top), the described profile, part by part, and its turning points (bottom).", "name": "fig-03-border"}}
fig = figures.border_steps(gray)

# %% [markdown]
# With σ = {glue:text}`sigma` the smoothing barely touches the profile, so the published score counts
# small wiggles of the mask outline as much as real notches — on high-resolution masks a smooth
# lesion can score tens of peaks.
#
# ## Colour step by step
#
# SLIC {cite:p}`achanta2012slic` groups the lesion's pixels into about {glue:text}`n_segments`
# superpixels; each superpixel is painted with its mean colour and the distinct colours are
# compared with six reference colours (white, red, light brown, dark brown, blue-gray, black)
# {cite:p}`kasmi2016abcd` by their Euclidean distance in RGB scaled to $[0, 1]$
# ({numref}`fig-03-colour`).

# %% mystnb={"figure": {"caption": "Colour of the first example: superpixels, their mean colours, and how each mode counts the six reference colours.", "name": "fig-03-colour"}}
fig = figures.colour_steps(image, small_mask)

# %% [markdown]
# The published count is relative to the number of *unique colours*, not to pixels, and the six
# reference colours were appended to that list: red, light brown and dark brown lie within
# {glue:text}`distance` of each other, so each gets a head start of one or two "neighbours".
#
# The described version follows steps 4 to 6 of Appendix C: it links each unique colour to its
# nearest reference colour when they are closer than {glue:text}`distance`, and counts a reference
# colour when one linked unique colour covers more than {glue:text}`fraction_pct` % of the lesion's
# pixels *on its own*. With about {glue:text}`n_segments` superpixels a superpixel covers about one per
# cent of the lesion, and on a real image every superpixel has its own mean colour, so the rule
# as written rarely finds a colour at all: {glue:text}`described_C_zero_pct:.0f` % of the
# {glue:text}`n_described_C` ISIC lesions recomputed below score zero. Appendix C's text cannot have
# produced the published colour scores; on synthetic lesions made of flat colour patches it
# counts one, two and four colours exactly (`tests/test_abc_shapes.py`).
#
# ## Explore
#
# Pick a lesion and move the thresholds: the symmetry level of A, the colour distance and the
# share of C, and the number of superpixels. The table gives both modes for all three features
# (fast implementation); the figures redraw the asymmetry and colour steps. In the static book
# the figures below show the first lesion with the default settings.

# %%
figures.explorer(examples, show_static=static_views)

# %% [markdown]
# ## Do we get the published numbers?
#
# We now recompute the `published` mode for a sample of lesions (the profile decides how many;
# results are cached, so a second run is instant) and compare with the CSVs. For asymmetry the
# published `ii` is a ratio: we count it as matching within {glue:text}`ii_tolerance` and report the
# largest difference; the class `i` (`0`, `1` or `2` asymmetric axes) must be identical. Border
# and colour are counts: identical, or within one. {func}`enhance_utils.abc.comparison.table`
# summarises this build's sample:

# %%
isic_ids = lesions.recompute_ids("isic2017", n_recompute)  # spread evenly over the dataset
ph2_ids = lesions.recompute_ids("ph2", n_recompute)
# every feature in both modes, keyed (dataset, feature, mode)
runs = runner.compute_runs({"isic2017": isic_ids, "ph2": ph2_ids}, workers=workers,
                          progress=progress)

# %% mystnb={"figure": {"caption": "This build's sample: the `published` mode recomputed against the published CSVs.", "name": "tab-03-agreement-sample"}}
agreement_table = comparison.table(runs)  # this build's sample, published mode
agreement_table

# %% mystnb={"figure": {"caption": "The `published` mode recomputed on every lesion against the published CSVs: ids, ids scored, ids in the CSV, shares identical and within the tolerance, and the seconds each run took (`enhance_utils/abc/agreement_all.csv`).", "name": "tab-03-agreement-all"}}
# every lesion of both datasets: the committed file, rewritten by comparison.regenerate()
agreement_all = comparison.read()
agreement_all

# %% [markdown]
# On every lesion of both datasets ({numref}`tab-03-agreement-all`: the committed file
# `enhance_utils/abc/agreement_all.csv`, which {func}`enhance_utils.abc.comparison.regenerate`
# rewrites from the masks and images, with the seconds each run took): the asymmetry class is
# identical for {glue:text}`isic2017_A_identical_pct:.1f` % of the published ISIC ids and
# {glue:text}`ph2_A_identical_pct:.1f` % of the PH2 ids, and `ii` is within the tolerance for
# {glue:text}`isic2017_A_within_pct:.1f` % and {glue:text}`ph2_A_within_pct:.1f` % of them; the
# recomputation skips {glue:md}`isic2017_A_same_skipped` ISIC lesions as the published file lacks
# ({glue:text}`isic2017_A_missing`), and {glue:md}`ph2_A_same_skipped` PH2 lesions
# ({glue:text}`ph2_A_missing`). The ISIC border score is identical for
# {glue:text}`isic2017_B_identical_pct:.1f` % of the {glue:text}`isic2017_B_published` published ids.
# Colour is the exception ({glue:text}`isic2017_C_identical_pct:.0f` % identical on ISIC,
# {glue:text}`ph2_C_identical_pct:.0f` % on PH2): the PH2 images here are JPEG copies of the
# original BMPs and the ISIC images are downsized ({glue:md}`isic_image_size` pixels for the first
# example), so SLIC sees slightly different pixels and the counts can move by one. The PH2
# border file has no counterpart in the paper (Table 2 lists no PH2 border scores), so treat that
# row as informative only.
#
# Why the skips: the published asymmetry needs the background to be one connected region. A
# lesion touching two opposite image borders, or a mask with a hole, splits the background, and the
# code gave up on that image. The `reason` column keeps the cause for every lesion:

# %%
a_isic = runs["isic2017", "A", "published"]
a_isic[a_isic.status != "ok"][["lesion_id", "status", "reason"]].head()

# %% [markdown]
# ## Published versus described, and the diagnosis
#
# Does the departure from the text matter for the paper's question — do the automated scores go
# with the diagnosis? Below, the Pearson correlation of each score with the label (ISIC: abnormal
# = melanoma or seborrheic keratosis; PH2: melanoma), for the published CSV, our `published` run
# and our `described` run, on the same lesions. For asymmetry we correlate `ii`, the mean overlap
# ratio: *low* means asymmetric, so a negative correlation is the expected direction.

# %% mystnb={"figure": {"caption": "Pearson's r with the label of the published CSV, the `published` run and the `described` run, on this build's sample of lesions.", "name": "tab-03-correlations"}}
labels = comparison.labels()  # the diagnosis per lesion id of each dataset
correlations = comparison.correlations(runs, labels)  # the CSV and both runs, same lesions
correlations.pivot_table(index=["dataset", "feature"], columns="source", values="pearson r")

# %% [markdown]
# With the `smoke` sample (a few dozen lesions) the correlations are noisy — the `cpu` and `paper`
# profiles recompute more lesions. Two things are robust already: our `published` run gives the
# same correlation as the CSV (it reproduces the numbers), and `described` changes the values
# enough to change the correlation, because the published asymmetry partly measures where the
# lesion lies in the frame and the published colour count is relative to a list of colours that
# includes the references themselves. The described colour count is zero for almost every
# lesion (see *Colour step by step*), so its correlation is mostly left empty.

# %% mystnb={"figure": {"caption": "ISIC: the published and the described score of each recomputed lesion, per feature (red: abnormal).", "name": "fig-03-modes"}}
fig = figures.plot_modes(runs, labels["isic2017"])

# %% [markdown]
# ## How fast?
#
# Re-running the published procedure with the plain reference implementation costs
# {glue:text}`ref_A_s:.2f` s for asymmetry and {glue:text}`ref_B_s:.2f` s for the border on the
# {glue:md}`example_mask` mask of {glue:md}`example_lesion` alone — for the
# {glue:text}`n_isic` ISIC masks, most of them larger, that adds up to hours. The fast implementation
# gets the same numbers by never warping the full-resolution float image: the translation becomes
# an integer shift (or a separable blend), the rotation is done on a small 'code' image by OpenCV
# and only the pixels next to an edge, where OpenCV's rounding could differ, are recomputed
# exactly. Timings on this machine, for a few masks:

# %% mystnb={"figure": {"caption": "Seconds per example mask of the reference and the fast implementation, and the speed-up.", "name": "tab-03-timings"}}
# seconds of each implementation on the example lesions, and whether both gave the same result
timings = runner.speed_table(examples)
timings

# %% tags=["remove-cell"]
# The numbers of this chapter's text, glued for the prose (hidden in the book).

prose.glue_all(prose.abc_numbers(agreement_all, runs, image.shape, timings))


# %% [markdown]
# The speed-up, here {glue:text}`speedup_min:.0f`× to {glue:text}`speedup_max:.0f`×, grows with the mask size (the largest ISIC masks are several thousand pixels wide). The complete
# benchmark — every ISIC mask for A and B, every PH2 image for C, with the agreement figures
# above — is a script, not part of the chapter:
#
# ```bash
# ENHANCE_DATA_DIR=../shared/data python benchmarks/bench_automated_abc.py
# enhance abc --dataset isic2017 --feature A --mode published --out automated_A.csv
# ```

# %% [markdown]
# ## Exercises
#
# Two exercises that use what this chapter computed above; each runs in seconds. The solutions are hidden: click on one to open it.

# %% [markdown]
# ```{exercise} Move the symmetry level
# :label: ex-03-symmetry-level
#
# The asymmetry class counts the axes whose overlap ratio falls below `symmetry_level`. The runs of section
# *Do we get the published numbers?* keep both ratios of every lesion in their `raw` column
# (`ratio_ud` and `ratio_lr` in `published` mode, `ratio_major` and `ratio_minor` in `described`
# mode), so no lesion has to be recomputed. For the ISIC lesions of `runs`, rebuild the class
# from the ratios, check that the default gives back the `score` column, and then try `0.8`, `0.85` and
# `0.95`: how many lesions change class, and what happens to the correlation of the class with
# the diagnosis (use {func}`enhance_utils.abc.comparison.label_correlation` with `labels`)?
# ```

# %% [markdown]
# ```{solution-start} ex-03-symmetry-level
# :class: dropdown
# ```

# %%
def asymmetry_class(run, level):
    ok = run[run.status == "ok"]
    ratios = pd.DataFrame(list(ok.raw), index=ok.lesion_id)
    first, second = [c for c in ratios.columns if c.startswith("ratio_")]
    return (ratios[first] < level).astype(int) + (ratios[second] < level).astype(int)

rows = []
for mode in ("published", "described"):
    run = runs["isic2017", "A", mode]
    at_default = asymmetry_class(run, 0.9)
    assert (at_default.to_numpy() == run[run.status == "ok"].score.to_numpy()).all()
    for level in (0.8, 0.85, 0.9, 0.95):
        classes = asymmetry_class(run, level)
        r, _, n = comparison.label_correlation(classes, labels["isic2017"])
        rows.append({"mode": mode, "level": level, "n": n,
                     "class 0 / 1 / 2": " / ".join(str(int((classes == k).sum())) for k in range(3)),
                     "changed from 0.9": int((classes != at_default).sum()),
                     "r with label": round(r, 3)})
pd.DataFrame(rows)


# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} A perfectly symmetric lesion
# :label: ex-03-symmetric-ellipse
#
# Draw an ellipse mask with numpy (say `shape=(300, 400)`, semi-axes `60` and `120` pixels) three times:
# centred in the frame, shifted towards a corner, and centred but tilted by `30`°. Score each with
# `reference.asymmetry_described` (a boolean mask) and `fast.asymmetry_published` (a
# `0`/`255` `uint8` mask, like the files). An ellipse is symmetric about both of its axes: which mode
# says so in all three cases? Then bite a disc out of one end of the ellipse and watch the
# described class rise.
# ```

# %% [markdown]
# ```{solution-start} ex-03-symmetric-ellipse
# :class: dropdown
# ```

# %%
def ellipse(shape, centre, semi_axes, angle=0.0):
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    y, x = rows - centre[0], cols - centre[1]
    t = np.deg2rad(angle)
    u, v = x * np.cos(t) + y * np.sin(t), -x * np.sin(t) + y * np.cos(t)
    return (u / semi_axes[1]) ** 2 + (v / semi_axes[0]) ** 2 <= 1

shapes = {"centred": ellipse((300, 400), (150, 200), (60, 120)),
          "shifted": ellipse((300, 400), (100, 130), (60, 120)),
          "tilted": ellipse((300, 400), (150, 200), (60, 120), angle=30)}
shapes["centred, bitten"] = shapes["centred"] & ~ellipse((300, 400), (150, 300), (50, 50))
rows = []
for name, lesion in shapes.items():
    described = reference.asymmetry_described(lesion)
    published = fast.asymmetry_published((lesion * 255).astype(np.uint8))
    rows.append({"mask": name, "described class": described.score,
                 "described ii": round(described.raw["ii"], 3),
                 "published class": published.score, "published ii": round(published.raw["ii"], 3)})
ellipses = pd.DataFrame(rows).set_index("mask")
display(ellipses)
assert (ellipses.loc[["centred", "shifted", "tilted"], "described class"] == 0).all()
assert (ellipses.loc[["shifted", "tilted"], "published class"] == 2).all()
assert ellipses.loc["centred, bitten", "described class"] > 0
print("described: symmetric wherever the ellipse lies; published: fully asymmetric as soon as "
      "it leaves the centre of the frame or turns")

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ## Summary
#
# - The published automated scores can be regenerated: asymmetry and the ISIC border score match
#   the CSVs (asymmetry to at most {glue:text}`isic2017_A_max_delta:.1e` in `ii` with the class
#   identical for {glue:text}`isic2017_A_identical_pct:.1f` % of ISIC ids; border identical for
#   {glue:text}`isic2017_B_identical_pct:.1f` %), with the same lesions skipped; colour only
#   approximately, because the images here are not the originals.
# - The published code departs from Appendix C: asymmetry is computed on the mask's background
#   with the padding counted as lesion, the border score counts peaks of a barely smoothed
#   profile, and the colour rule counts unique colours with the reference colours included.
# - The `described` mode follows the text: a smooth convex outline has no border irregularity,
#   and a colour needs one unique superpixel colour covering enough of the lesion — a rule that
#   almost never fires on real images. The two modes disagree per lesion and can change the
#   correlation with the diagnosis, so automated annotations should be read together with the
#   exact procedure that made them.
# - Every lesion gets a status and a reason; bad masks (empty, split background, several
#   regions, colour masks, size mismatch) are reported, not dropped.
#
# ## What's next
#
# [Chapter 4](04_correlation.ipynb) correlates all annotation sources — automated, crowd and
# students — with the diagnosis, as in the paper's Table 3.

# %% [markdown]
# # 1. The datasets
#
# :::{admonition} In this chapter
# - **You will learn** what the two image datasets behind ENHANCE contain, how to load an image
#   with its lesion mask, and how the paper's Table 1 follows from the raw files.
# - **Time**: about a quarter of an hour to read; under a minute to run (`smoke`).
# - **Paper**: section 3.1 and Table 1 of {cite:t}`raumanns2021enhance`.
# :::
#
# ## Overview
#
# ENHANCE annotates lesions of two public collections of dermoscopic images: the training part of
# the ISIC 2017 challenge {cite:p}`codella2018isic` and the PH2 database
# {cite:p}`mendonca2015ph2`. This chapter counts what each collection holds —
# diagnoses, patient sex and age, expert assessments — and draws a few lesions with their masks,
# the masks being what the automated annotations of chapter 3 are computed from.
#
# ## Prerequisites
#
# - Basic pandas (reading a table, counting values).
# - No knowledge of dermoscopy is assumed; the terms are explained where they appear.

# %% tags=["parameters"]
profile = "smoke"     # smoke | cpu | paper: how much work the chapter does
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

workspace = enhance_utils.setup_chapter("01_datasets", profile, data_dir)

# %%
import matplotlib.pyplot as plt
import pandas as pd

from enhance_utils import annotations, config, datasets, figures, prose, reference
from enhance_utils.profiles import get_profile

settings = get_profile(profile)
print(f"profile {settings.name}: {settings.description}")
print(f"data read from {config.data_source()}")

# %% [markdown]
# ## Two collections, one task
#
# The **ISIC 2017** training set has {glue:text}`n_isic` images, each with a diagnosis among three: benign
# *nevus* (a mole), *melanoma* (the dangerous skin cancer) and *seborrheic keratosis* (a benign
# growth that can look alarming). The paper, like the ISIC challenge, groups melanoma and
# seborrheic keratosis as *abnormal* against the healthy nevi. Each image also comes with a lesion
# mask drawn by the challenge organisers and, for most patients, an approximate age and sex.
#
# The **PH2** database has {glue:text}`n_ph2` images from a Portuguese hospital: common nevi, atypical nevi and
# melanomas. It has no age or sex, but dermatologists scored every lesion's asymmetry and listed
# the colours they saw — the *expert* annotations the non-expert ones can be compared with.
#
# The ground truth of ISIC is a small table with one row per image:

# %%
ground_truth = datasets.isic_ground_truth()
ground_truth.head()

# %%
ground_truth.diagnosis.value_counts().rename("lesions").to_frame()

# %% [markdown]
# ## Table 1, recomputed
#
# {func}`enhance_utils.data.datasets.table1` counts every row of the paper's Table 1 from the ground
# truth, the ISIC metadata and the PH2 table. Ages are grouped in left-closed decades, $[0, 10)$,
# $[10, 20)$ … $[80, 90)$; a blank in the PH2 column means the dataset does not record that
# characteristic. The `difference` column of {numref}`tab-01-table1` is the book's count minus the paper's.

# %% mystnb={"figure": {"caption": "Table 1 of {cite:t}`raumanns2021enhance` recomputed from the raw files: the book's count, the paper's and their difference, per dataset.", "name": "tab-01-table1"}}
table1 = datasets.table1().reset_index()
comparison = reference.beside_paper(table1, "table1", ["characteristic", "value"], ["isic2017", "ph2"])
comparison.pivot_table(index=["characteristic", "value"], columns="dataset",
                       values=["computed", "paper", "difference"], sort=False)

# %%
mismatches = comparison[comparison.difference.fillna(0) != 0]
print(f"{len(comparison)} cells compared, {len(mismatches)} differ from the paper")
mismatches

# %% [markdown]
# Of Table 1's counts, {glue:md}`table1_agreement`. Two details are worth knowing. First, the paper's
# "benign nevi" for PH2 joins the {glue:text}`n_ph2_common` common and
# {glue:text}`n_ph2_atypical` atypical nevi; the PH2 table keeps them apart:

# %% mystnb={"figure": {"caption": "PH2 diagnoses as the PH2 table records them.", "name": "tab-01-ph2-diagnoses"}}
ph2 = datasets.ph2_table()
ph2.clinical_diagnosis.value_counts().rename("lesions").to_frame()

# %% [markdown]
# Second, the ISIC metadata mark a missing age or sex with the word `unknown`; the loader turns it
# into a missing value, which is how the "not provided" rows are counted. The age distribution of
# the ISIC patients, with the unknown ones left out, is {numref}`fig-01-ages`:

# %% mystnb={"figure": {"caption": "Approximate ages of the ISIC 2017 patients by decade; the title gives the number of lesions without an age.", "name": "fig-01-ages"}}
metadata = datasets.isic_metadata()
ages = datasets.age_group(metadata.age_approximate).value_counts(sort=False)
fig, ax = plt.subplots(figsize=(7, 3))
ages.plot.bar(ax=ax, color="#4c72b0")
ax.set_xlabel("age group (years)")
ax.set_ylabel("lesions")
ax.set_title(f"ISIC 2017 training set, {int(metadata.age_approximate.isna().sum())} ages not provided")
fig.tight_layout()

# %% [markdown]
# ## Expert annotations in PH2
#
# PH2's dermatologists rated asymmetry on a three-point scale (`0` symmetric, `1` symmetric about one
# axis, `2` asymmetric) and ticked which of six colours — white, red, light brown, dark brown,
# blue-gray, black — appear. The number of colours ticked is the expert *C* score used in the
# next chapter. Its distribution per diagnosis already hints that melanomas show more colours:

# %% mystnb={"figure": {"caption": "PH2: number of colours the dermatologists ticked, per diagnosis.", "name": "tab-01-ph2-colours"}}
pd.crosstab(ph2.clinical_diagnosis, ph2.n_colours, margins=True)

# %%
pd.crosstab(ph2.clinical_diagnosis, ph2.asymmetry, margins=True)

# %% [markdown]
# ## Lesions and their masks
#
# The automated annotations of chapter 3 are computed from the lesion masks, so a mask that cuts
# through the lesion, or a lesion clipped by the image border, changes a score. {numref}`fig-01-examples` shows
# lesions from both datasets, each with its mask and the mask's outline drawn over the image.
#
# In the copy of the data this site was built from, the first ISIC image shown has
# {glue:md}`isic_image_size` pixels and its mask file {glue:md}`isic_mask_size` (the table below); {func}`enhance_utils.data.datasets.load_lesion`
# resizes the mask to the image (nearest neighbour), so image and mask always line up. PH2 masks
# come as binary BMP files, except one stored as a colour image; the loader reads both.

# %% mystnb={"figure": {"caption": "The first lesion of each diagnosis in both datasets, with its mask and the mask's outline drawn over the image.", "name": "fig-01-examples"}}
examples, captions = datasets.examples(settings.n_examples)  # the first lesion of each diagnosis
fig = figures.example_lesions(examples, captions=captions)

# %%
shapes = datasets.shapes(examples)  # image, stored mask and lesion share of each example
shapes

# %% [markdown]
# ## Explore
#
# Browse the lesions whose image and mask are on this machine (the examples above first): the
# image, its mask and the outline the algorithms of chapter 3 read, and the lesion's A, B and C
# scores from every source (the per-lesion scores of chapter 2, z-scored; empty where a source did
# not score the lesion). Above the lesion list, filters narrow it by dataset, diagnosis or a
# part of the lesion id, and say how many lesions match. In the static book the view below is
# the first example.

# %%
figures.lesion_explorer(datasets.available_lesions(first=examples),
                        annotations.per_lesion(annotations.load().long),
                        show_static=static_views)

# %% tags=["remove-cell"]
# The numbers of this chapter's text, glued for the prose (hidden in the book).

isic_shape = shapes[shapes.dataset == "isic2017"].iloc[0]
prose.glue_all(prose.datasets_numbers(ground_truth, ph2, comparison, isic_shape["image"],
                                      isic_shape["mask on disk"]))

# %% [markdown]
# ## Exercises
#
# Three exercises that use what this chapter computed above; each runs in seconds. The solutions are hidden: click on one to open it.

# %% [markdown]
# ```{exercise} The PH2 column of Table 1 by hand
# :label: ex-01-table1-ph2
#
# Section *Table 1, recomputed* takes the PH2 column from {func}`enhance_utils.data.datasets.table1`.
# Compute its four non-empty counts yourself from the `ph2` table read above: benign nevi
# (common and atypical together), melanomas, lesions with an expert asymmetry score and lesions
# with an expert colour count. Check your numbers against `table1`.
# ```

# %% [markdown]
# ```{solution-start} ex-01-table1-ph2
# :class: dropdown
# ```

# %%
dx = ph2.clinical_diagnosis.value_counts()
ph2_by_hand = pd.Series({
    ("Diagnosis", "Benign nevi"): dx["common_nevus"] + dx["atypical_nevus"],
    ("Diagnosis", "Melanoma"): dx["melanoma"],
    ("Expert annotations", "Asymmetry"): ph2.asymmetry.notna().sum(),
    ("Expert annotations", "Color"): ph2.n_colours.notna().sum(),
}, name="by hand")
ph2_book = table1.set_index(["characteristic", "value"]).ph2.reindex(ph2_by_hand.index)
print(pd.concat([ph2_by_hand, ph2_book.rename("table1")], axis=1))
assert (ph2_by_hand == ph2_book).all()

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} Patient sex and age in ISIC by hand
# :label: ex-01-table1-isic-patients
#
# Join the ISIC ground truth with `metadata` on `lesion_id` and count the *Patient sex* and
# *Age group* rows of Table 1 for ISIC 2017 without {func}`~enhance_utils.data.datasets.age_group`:
# the decade of an age is `age // 10 * 10`. A missing value counts as *not provided*
# (`value_counts(dropna=False)` shows them). Compare with the `isic2017` column of `table1`.
# ```

# %% [markdown]
# ```{solution-start} ex-01-table1-isic-patients
# :class: dropdown
# ```

# %%
patients = ground_truth[["lesion_id", "diagnosis"]].merge(metadata, on="lesion_id", how="left")
sex = patients.sex.str.lower().value_counts()
isic_by_hand = {("Patient sex", "Female"): sex["female"], ("Patient sex", "Male"): sex["male"],
                ("Patient sex", "Not provided"): patients.sex.isna().sum(),
                ("Age group", "Not provided"): patients.age_approximate.isna().sum()}
decades = (patients.age_approximate // 10 * 10).value_counts()
for low, count in decades.items():
    isic_by_hand[("Age group", f"{int(low)}-{int(low) + 10}")] = count
isic_by_hand = pd.Series(isic_by_hand, name="by hand")
isic_book = table1.set_index(["characteristic", "value"]).isic2017.reindex(isic_by_hand.index)
print(pd.concat([isic_by_hand, isic_book.rename("table1")], axis=1).sort_index())
assert (isic_by_hand == isic_book).all()

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} Are the patients with an abnormal lesion older?
# :label: ex-01-age-by-diagnosis
#
# Using the same join, compare the median age and the share of unknown ages of the three ISIC
# diagnoses. If age differs between the classes, what could a CNN that recognises *old skin*
# achieve on the paper's task without looking at the lesion at all?
# ```

# %% [markdown]
# ```{solution-start} ex-01-age-by-diagnosis
# :class: dropdown
# ```

# %%
by_diagnosis = patients.groupby("diagnosis").age_approximate.agg(
    lesions="size", median_age="median", unknown_age=lambda age: age.isna().mean())
print(by_diagnosis.round(2))
assert by_diagnosis.median_age["melanoma"] > by_diagnosis.median_age["nevus"]
assert by_diagnosis.median_age["seborrheic_keratosis"] > by_diagnosis.median_age["nevus"]
print("Both abnormal classes come from older patients than the nevi: age alone carries part "
      "of the label, a shortcut a model could learn from the skin around the lesion.")

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ## Summary
#
# - ISIC 2017 gives {glue:text}`n_isic` lesions ({glue:text}`n_isic_nevus` nevi,
#   {glue:text}`n_isic_melanoma` melanomas, {glue:text}`n_isic_sk` seborrheic keratoses) with
#   masks, age and sex; PH2 gives {glue:text}`n_ph2` lesions with masks and dermatologists' asymmetry and colour scores.
# - The paper's binary task: abnormal (melanoma or seborrheic keratosis) against nevus.
# - Table 1 is recomputed from the raw files: {glue:md}`table1_agreement`.
# - Masks must be matched to their image's size before they are used.
#
# ## What's next
#
# [Chapter 2](02_annotations.ipynb) reads the ENHANCE annotations themselves — students', crowd
# workers' and algorithms' ABC scores — into one table and recomputes the paper's Table 2.

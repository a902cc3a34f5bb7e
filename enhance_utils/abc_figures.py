"""Figures of chapter 03: the automated ABC algorithms step by step, and an explorer.

The step figures run the plain reference implementation (:mod:`abc_reference`) on one
lesion and draw its intermediate images, in the spirit of the paper's Fig. 7. Use lesions
with small masks (ISIC masks of 767×576 pixels, PH2) to keep them quick.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.signal import find_peaks
from skimage.filters import threshold_otsu
from skimage.measure import label, regionprops
from skimage.segmentation import find_boundaries

from . import abc_reference as ref
from . import automated_abc, datasets

_REF_RGB = {name: np.array(rgb) / 255 for name, rgb in ref.REFERENCE_COLOURS.items()}


def load_example(dataset: str, lesion_id: str):
    """Grey mask (full resolution), image, and the mask resized to the image."""
    paths = automated_abc.input_paths(dataset, lesion_id, "C")
    gray, _ = automated_abc.read_mask(paths["mask"])
    image = automated_abc.read_image(paths["image"])
    small, _ = automated_abc._resize_mask(gray, image.shape)
    return gray, image, small


def _show(ax, image, title, cmap="gray"):
    ax.imshow(image, cmap=cmap, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


# --------------------------------------------------------------------------- asymmetry
def asymmetry_steps(gray: np.ndarray, symmetry_level: float = 0.9):
    """Figure: published (top row) and described (bottom row) asymmetry on one mask."""
    background = gray <= threshold_otsu(gray)
    region = regionprops(label(background))[0]
    rotated = ref.centre_and_rotate(background, region.centroid, region.orientation)
    lesion = rotated < 0.5
    pub = ref.asymmetry_published(gray, symmetry_level)
    crop = ref.lesion_crop(gray > 127)
    rot_d, _ = ref.rotate_lesion(gray > 127)
    des = ref.asymmetry_described(gray > 127, symmetry_level)
    fig, axes = plt.subplots(2, 4, figsize=(12, 6))
    _show(axes[0, 0], gray, "mask")
    _show(axes[0, 1], background, "published: Otsu keeps the background")
    _show(axes[0, 2], lesion, "centred, rotated; < 0.5 = 'lesion'\n(padding included)")
    overlay = np.dstack([lesion, lesion & np.flipud(lesion), np.flipud(lesion)]).astype(float)
    _show(axes[0, 3], overlay, f"flip up-down: ratio {pub.raw['ratio_ud']:.3f}\n"
          f"left-right: {pub.raw['ratio_lr']:.3f} → score {int(pub.score)}")
    _show(axes[1, 0], crop, "described: the lesion's box")
    _show(axes[1, 1], rot_d, "major axis horizontal,\nthrough the centre of mass")
    mirrored = np.flipud(rot_d)
    _show(axes[1, 2], np.dstack([rot_d, rot_d & mirrored, mirrored]).astype(float),
          f"mirror across the major axis\nratio {des.raw['ratio_major']:.3f}")
    mirrored = np.fliplr(rot_d)
    _show(axes[1, 3], np.dstack([rot_d, rot_d & mirrored, mirrored]).astype(float),
          f"mirror across the minor axis: {des.raw['ratio_minor']:.3f}\n→ score {int(des.score)}")
    fig.suptitle("Asymmetry: red = lesion only, blue = mirror only, white/green = overlap",
                 fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- border
def border_steps(gray: np.ndarray, sigma: float = 0.5):
    """Figure: the published border procedure — box, corner points, profile, peaks."""
    region = max(regionprops(label(gray)), key=lambda r: r.area)
    rotated = ref.centre_and_rotate(gray, region.centroid, region.orientation)
    profile, box = ref.border_profile_published(rotated)
    smoothed = ref.smooth(profile, sigma)
    peaks, _ = find_peaks(smoothed, height=0)
    rot_d, centre = ref.rotate_lesion(gray > 127)
    profile_d, box_d = ref.border_profile_described(rot_d, centre)
    des = ref.border_described(gray > 127, sigma)
    smooth_d = ref.smooth_parts(profile_d, box_d["lengths"], sigma, 15)
    fig = plt.figure(figsize=(12, 6))
    ax = fig.add_subplot(2, 3, 1)
    _show(ax, rotated == 1.0, "published: rotated mask, box, M and W, V, U, T")
    minr, minc, maxr, maxc = box["bbox"]
    ax.add_patch(plt.Rectangle((minc, minr), maxc - minc, maxr - minr, fill=False, color="tab:orange"))
    for name in "WVUT":
        r, c = box[name]
        ax.plot([c, box["M"][1]], [r, box["M"][0]], color="tab:cyan", lw=0.8)
        ax.text(c, r, name, color="tab:red", fontsize=9)
    ax = fig.add_subplot(2, 3, (2, 3))
    ax.plot(profile, lw=0.8, label="border profile (four parts joined)")
    ax.plot(smoothed, lw=0.8, label=f"smoothed (σ = {sigma})")
    ax.plot(peaks, smoothed[peaks], "x", color="tab:red", label=f"{len(peaks)} peaks = score")
    ax.legend(fontsize=8)
    ax.set_title("published: the score counts peaks of the joined profile", fontsize=9)
    ax = fig.add_subplot(2, 3, 4)
    _show(ax, rot_d, "described: box and lines to the centre of mass")
    minr, minc, maxr, maxc = box_d["bbox"]
    ax.add_patch(plt.Rectangle((minc, minr), maxc - minc, maxr - minr, fill=False, color="tab:orange"))
    for name in "WVUT":
        r, c = box_d[name]
        ax.plot([c, box_d["M"][1]], [r, box_d["M"][0]], color="tab:cyan", lw=0.8)
    ax = fig.add_subplot(2, 3, (5, 6))
    ax.plot(profile_d, lw=0.8, label="distance of the border to the box edge, clockwise")
    ax.plot(smooth_d, lw=0.8, label="smoothed, part by part")
    for end in np.cumsum(box_d["lengths"])[:-1]:
        ax.axvline(end, color="grey", lw=0.6, ls=":")
    points = " + ".join(str(n) for n in des.raw["turning_points"])
    ax.set_title(f"described: turning points per part {points}; beyond one per part: "
                 f"score {int(des.score)}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- colour
def colour_steps(image: np.ndarray, gray: np.ndarray, n_segments: int = 100,
                 distance: float = 0.4, fraction: float = 0.05):
    """Figure: superpixels, mean colours, unique colours and the published counting."""
    mask = gray > 250
    segments, painted = ref.superpixel_image(image, mask, n_segments)
    pub = ref.colour_published(image, gray, n_segments, distance, fraction)
    des = ref.colour_described(image, gray > 127, n_segments, distance, fraction)
    unique = np.unique(painted.reshape(-1, 3), axis=0)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6),
                             gridspec_kw={"width_ratios": [1, 1, 1, 1.4]})
    _show(axes[0], image, "image")
    boundaries = find_boundaries(segments)
    shown = image.copy()
    shown[boundaries] = (255, 255, 0)
    _show(axes[1], shown, f"SLIC superpixels (n_segments = {n_segments})")
    _show(axes[2], painted, f"mean colour per superpixel\n{len(unique)} unique colours")
    names = list(ref.REFERENCE_COLOURS)
    counts = [pub.raw["counts"][n] for n in names]
    shares = [des.raw["share"][n] * 100 for n in names]
    x = np.arange(len(names))
    axes[3].bar(x - 0.2, counts, 0.4, color=[_REF_RGB[n] for n in names], edgecolor="k",
                label="published: # unique colours within the distance")
    axes[3].axhline(len(unique) * fraction, color="k", ls="--", lw=0.8,
                    label=f"{fraction:.0%} of the unique colours")
    ax2 = axes[3].twinx()
    ax2.plot(x + 0.2, shares, "o", color="tab:purple", label="described: largest linked unique colour, % of lesion")
    ax2.axhline(fraction * 100, color="tab:purple", ls=":", lw=0.8)
    ax2.set_ylabel("% of lesion pixels", fontsize=8)
    axes[3].set_xticks(x, [n.replace("_", "\n") for n in names], fontsize=7)
    axes[3].set_title(f"published score {int(pub.score)}, described {int(des.score)}", fontsize=9)
    axes[3].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def scores_table(dataset: str, lesion_id: str, params: dict | None = None) -> pd.DataFrame:
    """Published and described scores of one lesion (fast implementation, no cache)."""
    params = params or {}
    rows = []
    for feature in automated_abc.FEATURES:
        for mode in automated_abc.MODES:
            row = automated_abc.score_lesion(dataset, lesion_id, feature, mode,
                                             params=params.get(feature), cache=False)
            value = row["raw"].get("ii") if feature == "A" and row["status"] == "ok" else row["score"]
            rows.append({"feature": feature, "mode": mode, "score": row["score"],
                         "value": value, "status": row["status"], "reason": row["reason"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- explorer
def explorer(examples: list[tuple[str, str]], show_static: bool = True):
    """An ipywidgets explorer (lesion, thresholds, n_segments) of the three algorithms.

    With ``show_static`` the figures of the first lesion are also drawn as ordinary output,
    so that a static rendering (the book's HTML) is not empty.
    """
    import ipywidgets as widgets
    from IPython.display import display

    def render(lesion, symmetry_level, distance, fraction, n_segments):
        dataset, lesion_id = lesion
        gray, image, small = load_example(dataset, lesion_id)
        params = {"A": {"symmetry_level": symmetry_level},
                  "C": {"n_segments": n_segments, "distance": distance, "fraction": fraction}}
        display(scores_table(dataset, lesion_id, params))
        asymmetry_steps(gray, symmetry_level)
        colour_steps(image, small, n_segments, distance, fraction)
        plt.show()

    options = [(f"{d}: {i}", (d, i)) for d, i in examples]
    controls = {
        "lesion": widgets.Dropdown(options=options, description="lesion"),
        "symmetry_level": widgets.FloatSlider(value=0.9, min=0.5, max=1.0, step=0.01,
                                              description="A: level"),
        "distance": widgets.FloatSlider(value=0.4, min=0.1, max=0.8, step=0.05,
                                        description="C: distance"),
        "fraction": widgets.FloatSlider(value=0.05, min=0.0, max=0.3, step=0.01,
                                        description="C: fraction"),
        "n_segments": widgets.IntSlider(value=100, min=10, max=300, step=10,
                                        description="C: segments"),
    }
    out = widgets.interactive_output(render, controls)
    display(widgets.VBox([widgets.HBox(list(controls.values())[:3]),
                          widgets.HBox(list(controls.values())[3:]), out]))
    if show_static:
        render(examples[0], 0.9, 0.4, 0.05, 100)

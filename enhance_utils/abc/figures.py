"""Figures of chapter 03: the automated ABC algorithms step by step, and an explorer.

The step figures draw the intermediate steps that the oracle itself returns
(:mod:`enhance_utils.abc.reference`, the ``*_steps`` functions) for one lesion, in the spirit
of the paper's Fig. 7: what is drawn is what the algorithm computed. Use lesions with small
masks (ISIC masks of 767×576 pixels, PH2) to keep them quick.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from skimage.segmentation import find_boundaries

from .core import FEATURES, MODES, REFERENCE_COLOURS
from .inputs import read_lesion
from .reference.asymmetry import asymmetry_described_steps, asymmetry_published_steps
from .reference.border import border_described_steps, border_published_steps
from .reference.colour import colour_described, colour_published_steps
from .runner import score_lesion, value

_REF_RGB = {name: np.array(rgb) / 255 for name, rgb in REFERENCE_COLOURS.items()}


def _show(ax, image, title, cmap="gray"):
    ax.imshow(image, cmap=cmap, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def _overlay(image: np.ndarray, mirrored: np.ndarray) -> np.ndarray:
    """Red: the image only; blue: the mirror only; white: both."""
    image, mirrored = image.astype(bool), mirrored.astype(bool)
    return np.dstack([image, image & mirrored, mirrored]).astype(float)


# --------------------------------------------------------------------------- asymmetry
def _axes_through_centre(ax, steps):
    """The major and minor axis of the described asymmetry, over its crop."""
    rows, cols = steps.crop.shape
    reach = max(rows, cols)
    for direction, colour in ((steps.major, "tab:orange"), (steps.minor, "tab:cyan")):
        ends = np.array([steps.centre - reach * direction, steps.centre + reach * direction])
        ax.plot(ends[:, 0], ends[:, 1], color=colour, lw=1)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)


def asymmetry_steps(gray: np.ndarray, symmetry_level: float = 0.9):
    """Figure: published (top row) and described (bottom row) asymmetry on one mask."""
    pub = asymmetry_published_steps(gray, symmetry_level)
    des = asymmetry_described_steps(gray > 127, symmetry_level)
    fig, axes = plt.subplots(2, 4, figsize=(12, 6))
    _show(axes[0, 0], gray, "mask")
    _show(axes[0, 1], pub.background, "published: Otsu keeps the background")
    _show(axes[0, 2], pub.lesion, "centred, rotated; < 0.5 = 'lesion'\n(padding included)")
    raw = pub.result.raw
    _show(axes[0, 3], _overlay(pub.lesion, np.flipud(pub.lesion)),
          f"flip up-down: ratio {raw['ratio_ud']:.3f}\n"
          f"left-right: {raw['ratio_lr']:.3f} → score {int(pub.result.score)}")
    _show(axes[1, 0], des.crop, "described: the lesion's box")
    _show(axes[1, 1], des.crop, "major (orange) and minor axis\nthrough the centre of mass")
    _axes_through_centre(axes[1, 1], des)
    raw = des.result.raw
    _show(axes[1, 2], _overlay(des.crop, des.mirrored_major),
          f"mirror across the major axis\nratio {raw['ratio_major']:.3f}")
    _show(axes[1, 3], _overlay(des.crop, des.mirrored_minor),
          f"mirror across the minor axis: {raw['ratio_minor']:.3f}\n"
          f"→ score {int(des.result.score)}")
    fig.suptitle("Asymmetry: red = lesion only, blue = mirror only, white = overlap",
                 fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- border
def _box_and_lines(ax, box: dict):
    """The bounding box, and the lines from W, V, U, T to its point M."""
    minr, minc, maxr, maxc = box["bbox"]
    ax.add_patch(plt.Rectangle((minc, minr), maxc - minc, maxr - minr, fill=False,
                               color="tab:orange"))
    for name in "WVUT":
        r, c = box[name]
        ax.plot([c, box["M"][1]], [r, box["M"][0]], color="tab:cyan", lw=0.8)
        ax.text(c, r, name, color="tab:red", fontsize=9)


def border_steps(gray: np.ndarray, sigma: float = 0.5):
    """Figure: the border procedures — box, corner points, profile, peaks or turning points."""
    pub = border_published_steps(gray, sigma)
    des = border_described_steps(gray > 127, sigma)
    fig = plt.figure(figsize=(12, 6))
    ax = fig.add_subplot(2, 3, 1)
    _show(ax, pub.rotated == 1.0, "published: rotated mask, box, M and W, V, U, T")
    _box_and_lines(ax, pub.box)
    ax = fig.add_subplot(2, 3, (2, 3))
    ax.plot(pub.profile, lw=0.8, label="border profile (four parts joined)")
    ax.plot(pub.smoothed, lw=0.8, label=f"smoothed (σ = {sigma})")
    ax.plot(pub.peaks, pub.smoothed[pub.peaks], "x", color="tab:red",
            label=f"{len(pub.peaks)} peaks = score")
    ax.legend(fontsize=8)
    ax.set_title("published: the score counts peaks of the joined profile", fontsize=9)
    ax = fig.add_subplot(2, 3, 4)
    _show(ax, des.rotated, "described: box and lines to the centre of mass")
    _box_and_lines(ax, des.box)
    ax = fig.add_subplot(2, 3, (5, 6))
    ax.plot(des.profile, lw=0.8, label="distance of the border to the box edge, clockwise")
    ax.plot(des.smoothed, lw=0.8, label="smoothed, part by part")
    for end in np.cumsum(des.box["lengths"])[:-1]:
        ax.axvline(end, color="grey", lw=0.6, ls=":")
    points = " + ".join(str(n) for n in des.turning_points)
    ax.set_title(f"described: turning points per part {points}; beyond one per part: "
                 f"score {int(des.result.score)}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- colour
def colour_steps(image: np.ndarray, gray: np.ndarray, n_segments: int = 100,
                 distance: float = 0.4, fraction: float = 0.05):
    """Figure: superpixels, mean colours, unique colours and the published counting."""
    pub = colour_published_steps(image, gray, n_segments, distance, fraction)
    des = colour_described(image, gray > 127, n_segments, distance, fraction)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6),
                             gridspec_kw={"width_ratios": [1, 1, 1, 1.4]})
    _show(axes[0], image, "image")
    shown = image.copy()
    shown[find_boundaries(pub.segments)] = (255, 255, 0)
    _show(axes[1], shown, f"SLIC superpixels (n_segments = {n_segments})")
    _show(axes[2], pub.painted, f"mean colour per superpixel\n{len(pub.unique)} unique colours")
    names = list(REFERENCE_COLOURS)
    counts = [pub.result.raw["counts"][n] for n in names]
    shares = [des.raw["share"][n] * 100 for n in names]
    x = np.arange(len(names))
    axes[3].bar(x - 0.2, counts, 0.4, color=[_REF_RGB[n] for n in names], edgecolor="k",
                label="published: # unique colours within the distance")
    axes[3].axhline(len(pub.unique) * fraction, color="k", ls="--", lw=0.8,
                    label=f"{fraction:.0%} of the unique colours")
    ax2 = axes[3].twinx()
    ax2.plot(x + 0.2, shares, "o", color="tab:purple",
             label="described: largest linked unique colour, % of lesion")
    ax2.axhline(fraction * 100, color="tab:purple", ls=":", lw=0.8)
    ax2.set_ylabel("% of lesion pixels", fontsize=8)
    axes[3].set_xticks(x, [n.replace("_", "\n") for n in names], fontsize=7)
    axes[3].set_title(f"published score {int(pub.result.score)}, described {int(des.score)}",
                      fontsize=9)
    axes[3].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def scores_table(dataset: str, lesion_id: str, params: dict | None = None) -> pd.DataFrame:
    """Published and described scores of one lesion (fast implementation, no cache)."""
    params = params or {}
    rows = []
    for feature in FEATURES:
        for mode in MODES:
            row = score_lesion(dataset, lesion_id, feature, mode, params=params.get(feature),
                               cache=False)
            value = row["raw"].get("ii") if feature == "A" and row["status"] == "ok" \
                else row["score"]
            rows.append({"feature": feature, "mode": mode, "score": row["score"],
                         "value": value, "status": row["status"], "reason": row["reason"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- explorer
def plot_modes(runs: dict, label: pd.Series, dataset: str = "isic2017",
               title: str = "ISIC: the two modes per lesion (red = abnormal)"):
    """The ``published`` against the ``described`` score of each lesion of ``dataset``'s runs
    (:func:`enhance_utils.abc.runner.value`), one panel per feature, coloured by ``label``
    (the diagnosis per lesion id; red: abnormal). Returns the figure."""
    fig, axes = plt.subplots(1, len(FEATURES), figsize=(12, 3.4))
    for ax, feature in zip(axes, FEATURES):
        published = runs[dataset, feature, "published"]
        ax.scatter(value(published), value(runs[dataset, feature, "described"]), s=12,
                   c=label.reindex(published.lesion_id).to_numpy(), cmap="coolwarm")
        ax.set_xlabel(f"{feature}: published mode")
        ax.set_ylabel(f"{feature}: described mode")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def explorer(examples: list[tuple[str, str]], show_static: bool = False):
    """An ipywidgets explorer (lesion, thresholds, n_segments) of the three algorithms.

    With ``show_static`` (the book build: the chapter's ``static_views``) the figures of the
    first lesion are also drawn as ordinary output, so that a static rendering (the book's
    HTML) is not empty; in a live kernel the controls' output shows them once.
    """
    import ipywidgets as widgets
    from IPython.display import display

    def render(lesion, symmetry_level, distance, fraction, n_segments):
        dataset, lesion_id = lesion
        gray, image, small = read_lesion(dataset, lesion_id)
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

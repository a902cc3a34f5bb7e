"""Figures shared by the chapters: example lesions and raincloud plots."""
from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import ptitprince as pt
from skimage.segmentation import find_boundaries

from ..data import annotations, datasets

LABEL_NAMES = {0: "normal", 1: "abnormal"}
SOURCE_COLOURS = {"automated": "#4c72b0", "crowd": "#dd8452", "student": "#55a868",
                  "expert": "#c44e52"}


def _outline(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    edges = find_boundaries(mask, mode="thick")
    out = image.copy()
    out[edges] = (0, 255, 0)
    return out


def example_lesions(lesions: list[tuple[str, str]], root=None, captions: list[str] | None = None):
    """Image, mask and outline of each ``(dataset, lesion_id)``, one row per lesion.

    ``captions`` (one per lesion, e.g. the diagnosis) are added to the image titles.

    The mask is resized to its image first (the mirror's ISIC images are smaller than the
    masks), so what is drawn is exactly what the algorithms receive.
    """
    fig, axes = plt.subplots(len(lesions), 3, figsize=(9, 3 * len(lesions)), squeeze=False)
    for row, (dataset, lesion_id) in enumerate(lesions):
        image, mask = datasets.load_lesion(dataset, lesion_id, root)
        title = f"{lesion_id} ({captions[row]})" if captions else lesion_id
        panels = [(image, title), (mask, "mask"), (_outline(image, mask), "outline")]
        for ax, (picture, name) in zip(axes[row], panels):
            ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None)
            ax.set_title(name, fontsize=9)
            ax.set_axis_off()
    fig.tight_layout()
    return fig


def lesion_scores(scores: pd.DataFrame, dataset: str, lesion_id: str) -> pd.DataFrame:
    """One lesion's per-lesion scores: a row per source (all four, NaN where a source did not
    score it), the score and the number of annotators per feature.

    Parameters
    ----------
    scores : pandas.DataFrame
        As returned by :func:`enhance_utils.data.annotations.per_lesion`.
    """
    part = scores[(scores.dataset == dataset) & (scores.lesion_id == lesion_id)]
    table = part.pivot_table(index="source", columns="feature", values=["score", "n_annotators"],
                             aggfunc="first")
    columns = pd.MultiIndex.from_product([["score", "n_annotators"], annotations.FEATURES])
    table = table.reindex(index=annotations.SOURCES, columns=columns)
    table["n_annotators"] = table["n_annotators"].astype("Int64")
    return table.rename_axis(index=f"{dataset} {lesion_id}", columns=[None, "feature"])


def lesion_explorer(lesions: list[tuple[str, str]], scores: pd.DataFrame, root=None,
                    show_static: bool = False) -> None:
    """Browse lesions (chapter 01): image, mask and outline, and the A, B and C scores of
    every source (:func:`lesion_scores`); the lesions narrowed by dataset, diagnosis and a part
    of the id (:func:`enhance_utils.book.explorers.lesion_picker`).

    Parameters
    ----------
    lesions : list of (dataset, lesion_id)
        The choices, the first shown first (e.g.
        :func:`enhance_utils.data.datasets.available_lesions`).
    scores : pandas.DataFrame
        Per-lesion scores (:func:`enhance_utils.data.annotations.per_lesion`).
    show_static : bool
        Also draw the first lesion as plain output, the view a page without kernel shows
        (:func:`enhance_utils.book.explorers.show`). Only the book build turns it on (the chapter's
        ``static_views``): in a live kernel the view is drawn once, in the widget.
    """
    from IPython.display import display

    from . import explorers

    diagnosis = datasets.diagnoses(root)

    def render(lesion):
        example_lesions([lesion], root, captions=[diagnosis.get(lesion, "no diagnosis")])
        plt.show()
        display(lesion_scores(scores, *lesion).round(2))

    picker, filters = explorers.lesion_picker(lesions, diagnosis)
    explorers.show(render, {"lesion": picker}, show_static, filters=filters)


def raincloud_grid(scores: pd.DataFrame, label: pd.Series, sources: list[str],
                   features=("A", "B", "C"), title: str = ""):
    """Raincloud plots of per-lesion scores against the binary label.

    Parameters
    ----------
    scores : DataFrame
        Per-lesion scores of one dataset (``annotations.per_lesion`` output).
    label : Series
        Binary label indexed by ``lesion_id`` (1 = abnormal).
    sources : list of str
        One row of panels per source; a source without a feature leaves that panel empty
        with a note, so the grid shape stays that of the paper.
    """
    data = scores.merge(label.rename("label"), left_on="lesion_id", right_index=True)
    data["diagnosis"] = data["label"].map(LABEL_NAMES)
    order = [LABEL_NAMES[0], LABEL_NAMES[1]]
    fig, axes = plt.subplots(len(sources), len(features),
                             figsize=(3.4 * len(features), 2.4 * len(sources)), squeeze=False)
    for i, source in enumerate(sources):
        for j, feature in enumerate(features):
            ax = axes[i, j]
            part = data[(data.source == source) & (data.feature == feature)]
            if part.diagnosis.nunique() < 2:
                ax.text(0.5, 0.5, "no annotations", ha="center", va="center",
                        transform=ax.transAxes, color="grey")
                ax.set_xticks([]), ax.set_yticks([])
            else:
                _raincloud(part, order, ax, SOURCE_COLOURS.get(source, "grey"))
                ax.set_ylabel("")
                ax.set_xlabel("z-score")
            ax.set_title(f"{source} {feature} (n={len(part)})", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _raincloud(part: pd.DataFrame, order: list[str], ax, colour: str) -> None:
    with warnings.catch_warnings():
        # ptitprince 0.3.1 passes a palette without hue to seaborn 0.13, which warns about a
        # future change; the plot itself is as intended.
        warnings.filterwarnings("ignore", category=FutureWarning, module="ptitprince")
        warnings.filterwarnings("ignore", category=FutureWarning, module="seaborn")
        pt.RainCloud(x="diagnosis", y="score", data=part, order=order, ax=ax, orient="h",
                     width_viol=0.6, point_size=1.5, palette=[colour] * 2)

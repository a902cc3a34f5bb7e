"""Chapter 03's figures: the step-by-step drawings and the explorer's static fallback."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from abc_masks import ellipse_mask, teardrop  # noqa: E402

from enhance_utils.abc import fast, figures  # noqa: E402
from enhance_utils.abc.core import FEATURES, MODES  # noqa: E402
from enhance_utils.abc.inputs import read_lesion  # noqa: E402
from enhance_utils.abc.reference import asymmetry, border  # noqa: E402

EXAMPLE = ("isic2017", "ISIC_0000000")


@pytest.fixture
def data_env(data_root, monkeypatch):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    plt.close("all")
    yield data_root
    plt.close("all")


def test_step_figures_draw_every_step(data_env):
    gray, image, small = read_lesion(*EXAMPLE)
    assert small.shape == image.shape[:2] and gray.shape != small.shape  # mask resized to image
    assert len(figures.asymmetry_steps(gray).axes) == 8
    assert len(figures.border_steps(gray).axes) >= 3
    assert len(figures.colour_steps(image, small).axes) >= 4


def test_scores_table_has_both_modes_of_every_feature(data_env):
    table = figures.scores_table(*EXAMPLE)
    assert list(zip(table.feature, table["mode"])) == [
        (f, m) for f in FEATURES for m in MODES]
    assert set(table.status) == {"ok"}


@pytest.mark.parametrize("show_static", [True, False])
def test_explorer_draws_a_static_fallback(data_env, monkeypatch, show_static):
    """A page without a kernel shows no widget: the explorer must also leave plain output."""
    import ipywidgets
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)  # keep the figures to count them
    monkeypatch.setattr(ipywidgets, "interactive_output",  # no kernel: the widget draws nothing
                        lambda render, controls: ipywidgets.Output())
    figures.explorer([EXAMPLE, ("ph2", "IMD003")], show_static=show_static)
    widgets = [o for o in shown if isinstance(o, ipywidgets.Widget)]
    tables = [o for o in shown if hasattr(o, "columns")]
    assert len(widgets) == 1  # the controls
    if show_static:
        assert len(tables) == 1 and list(tables[0].feature.unique()) == ["A", "B", "C"]
        assert len(plt.get_fignums()) == 2  # asymmetry and colour of the first lesion
    else:
        assert tables == [] and plt.get_fignums() == []


def test_steps_hold_what_the_score_is_made_of():
    """The figures draw the oracle's own steps: the score follows from them, ties between
    regions of the same area included (the fast border leaves those to the oracle)."""
    pub = asymmetry.asymmetry_published_steps(teardrop())
    raw = pub.result.raw
    assert asymmetry.flip_ratios(pub.lesion) == (raw["ratio_ud"], raw["ratio_lr"])
    twins = ellipse_mask(shape=(160, 220), axes=(20, 30), centre=(80, 50))
    twins |= ellipse_mask(shape=(160, 220), axes=(20, 30), centre=(80, 170))
    steps = border.border_published_steps(twins)
    assert len(steps.peaks) == steps.result.score == fast.border_published(twins).score
    assert steps.box["bbox"] == fast.border_published(twins).raw["bbox"]


def test_modes_figure_plots_each_lesions_two_values():
    import numpy as np
    import pandas as pd

    def run(feature, scores, ratios):
        return pd.DataFrame({"lesion_id": ["a", "b", "c"], "feature": feature,
                             "status": ["ok", "ok", "skipped"], "score": scores,
                             "raw": [{"ii": r} for r in ratios]})

    runs = {("ph2", f, mode): run(f, [0, 1, 2] if mode == "published" else [2, 1, 0],
                                  [0.9, 0.5, 0.7] if mode == "published" else [0.1, 0.2, 0.3])
            for f in FEATURES for mode in MODES}
    label = pd.Series([1, 0, 1], index=["c", "b", "a"])
    fig = figures.plot_modes(runs, label, dataset="ph2", title="PH2")
    assert [ax.get_xlabel() for ax in fig.axes] == [f"{f}: published mode" for f in FEATURES]
    asymmetry, border = fig.axes[0].collections[0], fig.axes[1].collections[0]
    assert np.allclose(asymmetry.get_offsets()[:2], [[0.9, 0.1], [0.5, 0.2]])  # ii, "c" skipped
    assert np.allclose(border.get_offsets()[:2], [[0, 2], [1, 1]])  # the scores
    assert list(border.get_array()[:2]) == [1, 0]  # coloured by each lesion's own label
    assert fig._suptitle.get_text() == "PH2"
    plt.close(fig)

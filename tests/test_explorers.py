"""The explorers of chapters 01, 04, 07 and 09: controls, and the static view a page without
kernel shows (figure and table of the first choice), and the progress bars of the long steps."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from enhance_utils.stats import agreement, bootstrap, correlation
from enhance_utils.data import annotations, datasets
from enhance_utils.learning import ensembles, gradcam
from enhance_utils.book import figures
from enhance_utils.book import explorers

import fakestore  # noqa: E402
from enhance_utils.learning.results import load_predictions


@pytest.fixture
def no_kernel(monkeypatch):
    """What the explorers display, with the widget drawing nothing (as on a built page);
    figures are kept open to be counted."""
    import ipywidgets
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    monkeypatch.setattr(ipywidgets, "interactive_output",
                        lambda render, controls: ipywidgets.Output())
    plt.close("all")
    yield shown
    plt.close("all")


def _drawn_by(monkeypatch, show_static=None) -> list:
    """The values ``render`` drew when an explorer over a dropdown of 1 and 2 is shown with
    the real ipywidgets (``show_static`` None: the default), then switched to 2."""
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: None)
    drawn = []
    controls = {"x": explorers.dropdown([1, 2], "x")}
    options = {} if show_static is None else {"show_static": show_static}
    explorers.show(lambda x: drawn.append(x), controls, **options)
    controls["x"].value = 2
    return drawn


def test_a_live_kernel_draws_the_first_view_once_in_the_widget(monkeypatch):
    """Jupyter, Colab: the widget's output draws the view (and redraws it); no second copy."""
    assert _drawn_by(monkeypatch) == [1, 2]
    assert _drawn_by(monkeypatch, show_static=False) == [1, 2]


def test_the_book_build_also_draws_the_static_copy(monkeypatch):
    """The build (``static_views``): the widget's output, dropped with the widget state, and
    the copy as plain output that the page shows."""
    assert _drawn_by(monkeypatch, show_static=True) == [1, 1, 2]


def _split(shown):
    """(widgets, tables) among what was displayed."""
    import ipywidgets

    widgets = [o for o in shown if isinstance(o, ipywidgets.Widget)]
    return widgets, [o for o in shown if isinstance(o, pd.DataFrame)]


def _controls(widget) -> dict:
    """description -> control of an explorer's VBox(HBox(filters)?, HBox(controls), output)."""
    return {c.description: c for row in widget.children[:-1] for c in row.children
            if getattr(c, "description", "")}


@pytest.fixture(scope="module")
def long(data_root):
    return annotations.load(data_root).long


@pytest.fixture(scope="module")
def scores(long):
    return annotations.per_lesion(long)


# --------------------------------------------------------------------------- chapter 01
def test_available_lesions_puts_the_chosen_first(data_root):
    lesions = datasets.available_lesions(data_root, first=[("ph2", "IMD003")])
    assert lesions[0] == ("ph2", "IMD003") and lesions.count(("ph2", "IMD003")) == 1
    assert lesions[1] == ("isic2017", "ISIC_0000000")
    assert len(lesions) == len(datasets.isic_ground_truth(data_root)) + len(
        datasets.ph2_ids(data_root))  # the mirror holds every image and mask


def test_available_lesions_lists_only_lesions_on_disk(data_root, tmp_path):
    tree = tmp_path / "tree"
    for rel in (datasets.ISIC_GROUND_TRUTH, f"{datasets.PH2_DIR}/PH2_dataset.xlsx"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).symlink_to(data_root / rel)
    for path in (datasets.isic_image_path("ISIC_0000001", data_root),
                 datasets.isic_mask_path("ISIC_0000001", data_root)):
        rel = path.relative_to(data_root)
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).symlink_to(path)
    assert datasets.available_lesions(tree) == [("isic2017", "ISIC_0000001")]


@pytest.mark.parametrize("show_static", [True, False])
def test_lesion_explorer_shows_image_mask_and_every_source(data_root, scores, no_kernel,
                                                           show_static):
    lesions = [("ph2", "IMD003"), ("isic2017", "ISIC_0000000")]
    figures.lesion_explorer(lesions, scores, data_root, show_static=show_static)
    widgets, tables = _split(no_kernel)
    assert len(widgets) == 1
    controls = _controls(widgets[0])
    assert [value for _, value in controls["lesion"].options] == lesions
    assert {"dataset", "diagnosis", "id contains"} <= set(controls)
    if not show_static:
        assert tables == [] and plt.get_fignums() == []
        return
    assert len(plt.get_fignums()) == 1 and len(plt.gcf().axes) == 3  # image, mask, outline
    (table,) = tables
    assert list(table.index) == annotations.SOURCES
    crowd_a = scores.query("dataset == 'ph2' and lesion_id == 'IMD003' and source == 'crowd' "
                           "and feature == 'A'").score.item()
    assert table.loc["crowd", ("score", "A")] == pytest.approx(crowd_a, abs=0.005)
    assert table.loc["student"].isna().all()  # the students scored no PH2 lesion
    assert table.loc["expert", ("score", "B")] != table.loc["expert", ("score", "B")]  # none


def test_two_thousand_lesions_are_narrowed_by_dataset_diagnosis_and_id(data_root):
    """Chapter 01's explorer over every lesion of the mirror: the filters narrow the dropdown,
    a count says how many match, a filter matching nothing leaves the dropdown as it was."""
    lesions = datasets.available_lesions(data_root)
    diagnosis = datasets.diagnoses(data_root)
    picker, (dataset, label, text, count) = explorers.lesion_picker(lesions, diagnosis)
    assert len(picker.options) == len(lesions) > 2000
    dataset.value, label.value = "isic2017", "melanoma"
    melanomas = explorers.filter_lesions(lesions, diagnosis, "isic2017", "melanoma")
    assert [v for _, v in picker.options] == melanomas and 0 < len(melanomas) < 2000
    assert all(diagnosis[v] == "melanoma" and v[0] == "isic2017" for _, v in picker.options)
    assert count.value == f"{len(melanomas)} of {len(lesions)} lesions"
    text.value = melanomas[0][1][-4:].upper()
    assert melanomas[0] in [v for _, v in picker.options]
    assert all(text.value.lower() in v[1].lower() for _, v in picker.options)
    before = list(picker.options)
    text.value = "no such id"
    assert list(picker.options) == before and count.value.startswith("no lesion matches")
    assert explorers.filter_lesions(lesions, diagnosis) == lesions  # every filter open


# --------------------------------------------------------------------------- chapter 04
def test_bootstrap_view_is_the_rows_interval(data_root, scores):
    lesion_labels = correlation.labels(data_root)
    row, draws = correlation.bootstrap_view(scores, lesion_labels, "isic2017", "crowd", "A",
                                            resamples=300)
    table = correlation.label_correlations(scores, lesion_labels, resamples=300,
                                           sources={"isic2017": ["crowd"]}, features=["A"])
    assert row["r"] == pytest.approx(table.r.item()) and len(draws) == 300
    assert bootstrap.percentile_ci(draws) == pytest.approx((row["ci_low"], row["ci_high"]))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((table.ci_low.item(),
                                                             table.ci_high.item()))
    none, empty = correlation.bootstrap_view(scores, lesion_labels, "ph2", "expert", "B", 300)
    assert none["n"] == 0 and len(empty) == 0  # the PH2 experts scored no border
    ax = correlation.plot_bootstrap(empty, none)
    assert "no correlation" in ax.texts[0].get_text()


@pytest.mark.parametrize("show_static", [True, False])
def test_correlation_explorer_switches_source_feature_and_rule(data_root, long, scores,
                                                               no_kernel, show_static):
    explorers.correlation_explorer(long, data_root, resamples=200, show_static=show_static)
    widgets, tables = _split(no_kernel)
    controls = _controls(widgets[0])
    assert set(controls) == {"scores", "feature", "student rule"}
    assert ("isic2017", "student") in [v for _, v in controls["scores"].options]
    assert tuple(controls["student rule"].options) == ("first_group", "mean_of_groups")
    if not show_static:
        assert tables == [] and plt.get_fignums() == []
        return
    (table,) = tables
    expected = correlation.label_correlations(
        scores, correlation.labels(data_root), resamples=200,
        sources={"isic2017": ["automated"]}, features=["A"])
    assert table.r.item() == pytest.approx(expected.r.item(), abs=5e-4)
    assert {"band", "band_range", "excludes_zero"} <= set(table.columns)
    assert len(plt.get_fignums()) == 1


def test_long_steps_of_04_and_05_show_progress_on_request(data_root, scores, capsys):
    correlation.label_correlations(scores, correlation.labels(data_root), resamples=20,
                                   sources={"ph2": ["crowd"]}, progress=True)
    agreement.between_sources(scores[scores.dataset == "ph2"], resamples=20, progress=True)
    err = capsys.readouterr().err
    assert "bootstrap: 100%" in err and "3/3 [" in err
    correlation.label_correlations(scores, correlation.labels(data_root), resamples=20,
                                   sources={"ph2": ["crowd"]})
    assert capsys.readouterr().err == ""  # off by default (the book build)


# --------------------------------------------------------------------------- chapter 07
LABELS = np.array([0, 0, 0, 1, 1, 1])
IDS = [f"L{i}" for i in range(6)]


@pytest.fixture
def model_preds(tmp_path):
    root = tmp_path / "results"
    rng = np.random.default_rng(0)
    for split in ("seed1970", "seed1972"):
        for target in ("baseline", "crowd:A", "crowd:B", "crowd:C"):
            fakestore.write_run(root, target, split, IDS, LABELS, LABELS + rng.normal(0, 0.6, 6))
    return ensembles.model_predictions(load_predictions("smoke", root))


@pytest.mark.parametrize("show_static", [True, False])
def test_roc_explorer_per_split_and_model(model_preds, no_kernel, show_static):
    explorers.roc_explorer(model_preds, show_static=show_static)
    widgets, tables = _split(no_kernel)
    controls = _controls(widgets[0])
    assert list(controls["split"].options) == [explorers.ALL_SPLITS, "seed1970", "seed1972"]
    assert "baseline" not in controls["model"].options and controls["model"].value == "crowdABC"
    if not show_static:
        assert tables == [] and plt.get_fignums() == []
        return
    (table,) = tables
    assert list(table.columns) == ["baseline", "crowdABC"] and list(table.index) == [
        "seed1970", "seed1972"]
    aucs = ensembles.split_aucs(model_preds).set_index(["model", "split"]).auc
    assert table.loc["seed1972", "crowdABC"] == pytest.approx(aucs["crowdABC", "seed1972"],
                                                              abs=5e-4)
    assert len(plt.gca().lines) == 2 * 2 + 1  # two models × two splits, and the diagonal


def test_explorers_draw_no_static_copy_by_default(model_preds, no_kernel):
    """Called as a reader would, an explorer shows its widget only (the view is in it)."""
    explorers.roc_explorer(model_preds)
    explorers.gradcam_explorer(*_explanations())
    widgets, tables = _split(no_kernel)
    assert len(widgets) == 2 and tables == [] and plt.get_fignums() == []


def test_roc_explorer_without_runs_shows_no_controls(no_kernel, capsys):
    explorers.roc_explorer(pd.DataFrame(columns=["arch", "model", "split", "lesion_id",
                                                 "label", "score"]))
    assert no_kernel == [] and "nothing to explore" in capsys.readouterr().out


# --------------------------------------------------------------------------- chapter 09
def _explanations():
    """Tables and maps as :func:`explain.compare` returns them, for two lesions, two models
    and both classes explained."""
    rng = np.random.default_rng(0)
    tables, maps = {}, {}
    for towards in ("abnormal", "normal"):
        rows, found = [], {}
        for lesion_id, label in (("ISIC_0000001", 0), ("ISIC_0000002", 1)):
            mask = np.zeros((12, 10), bool)
            mask[3:9, 2:8] = True
            found[lesion_id] = (rng.integers(0, 256, (12, 10, 3), dtype=np.uint8), mask)
            for model, target in (("baseline", "baseline"), ("crowdA", "crowd:A")):
                cam = np.zeros((12, 10)) if model == "baseline" else rng.random((12, 10))
                ex = gradcam.Explanation(cam, 0.7, None if model == "baseline" else 0.2,
                                         "conv", towards)
                found[(lesion_id, model)] = ex
                rows.append({"lesion_id": lesion_id, "label": label, "model": model,
                             "target": target, "probability": ex.probability,
                             "predicted_annotation": ex.annotation, "true_annotation": 0.1,
                             "explains": towards,
                             "mass_in_lesion": gradcam.mass_inside(ex.cam, mask),
                             "lesion_area": mask.mean()})
        tables[towards], maps[towards] = pd.DataFrame(rows), found
    return tables, maps


@pytest.mark.parametrize("show_static", [True, False])
def test_explain_explorer_picks_lesion_model_and_class(no_kernel, show_static):
    tables, maps = _explanations()
    explorers.gradcam_explorer(tables, maps, show_static=show_static)
    widgets, shown_tables = _split(no_kernel)
    controls = _controls(widgets[0])
    assert [v for _, v in controls["lesion"].options] == ["ISIC_0000001", "ISIC_0000002"]
    assert controls["lesion"].options[0][0] == "ISIC_0000001 (normal)"
    # the first view: the first abnormal lesion, the first model with a map (the baseline's
    # is empty here)
    assert (controls["lesion"].value, controls["model"].value) == ("ISIC_0000002", "crowdA")
    assert list(controls["model"].options) == ["baseline", "crowdA"]
    assert list(controls["explains"].options) == ["abnormal", "normal"]
    if not show_static:
        assert shown_tables == [] and plt.get_fignums() == []
        return
    (table,) = shown_tables
    assert table[["lesion_id", "model", "explains"]].values.tolist() == [
        ["ISIC_0000002", "crowdA", "abnormal"]]
    assert len(plt.get_fignums()) == 1 and len(plt.gcf().axes) == 2  # image, Grad-CAM

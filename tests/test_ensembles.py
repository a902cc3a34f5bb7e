"""Ensembles, Tables 5 and 4 and the report on a small synthetic experiment store."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from enhance_utils import cli
from enhance_utils.learning import verdicts, ensembles, training, targets

import fakestore
from enhance_utils.learning.results import load_predictions, load_runs, summarize

LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])
IDS = [f"L{i}" for i in range(8)]
BASE = LABELS.astype(float)  # a perfect score
NOISE_A = np.array([2, 0, 0, 0, 0, 0, 0, 0.0])  # lifts one negative above every positive
NOISE_B = np.array([0, 0, 0, 0, -2, 0, 0, 0.0])  # drops one positive below every negative
#: members with AUC 0.75, 0.75, 1.0 whose average is exactly BASE (AUC 1.0)
MEMBERS = {"A": BASE + NOISE_A, "B": BASE + NOISE_B, "C": BASE - NOISE_A - NOISE_B}
SPLITS = ("seed1970", "seed1972")


def write_run(root, target, split, scores, arch="small", profile="smoke", order=None):
    fakestore.write_run(root, target, split, IDS, LABELS, scores, arch, profile, order)


@pytest.fixture
def store(tmp_path):
    """baseline (AUC 0.75), crowd A/B/C and their randomized controls in two splits; student
    A and B in both splits but C only in the first."""
    root = tmp_path / "results"
    rng = np.random.default_rng(0)
    for split in SPLITS:
        write_run(root, "baseline", split, MEMBERS["A"])
        for feature, scores in MEMBERS.items():
            write_run(root, f"crowd:{feature}", split, scores, order=rng.permutation(8))
            write_run(root, f"random:crowd:{feature}", split, MEMBERS["A"])
            if feature != "C" or split == SPLITS[0]:
                write_run(root, f"student:{feature}", split, scores)
    return root


def load(root):
    return load_runs("smoke", root), load_predictions("smoke", root)


def test_ensemble_averages_members_matched_by_lesion(store):
    _, predictions = load(store)
    ens = ensembles.ensemble_predictions(predictions)
    crowd = ens[(ens.model == "crowdABC") & (ens.split == "seed1970")].set_index("lesion_id")
    perfect = fakestore.probability(BASE)  # the store's scores of BASE
    assert np.allclose(crowd.score.reindex(IDS), perfect)  # rows were shuffled per member
    assert (crowd.label.reindex(IDS) == LABELS).all()
    aucs = ensembles.split_aucs(ensembles.model_predictions(predictions))
    auc = aucs.set_index(["model", "split"]).auc
    assert auc["crowdA", "seed1970"] == 0.75 and auc["crowdC", "seed1972"] == 1.0
    assert auc["crowdABC", "seed1970"] == 1.0 and auc["crowdABC_random", "seed1972"] == 0.75


def test_missing_member_is_reported_not_averaged(store):
    _, predictions = load(store)
    ens = ensembles.ensemble_predictions(predictions)
    assert sorted(ens[ens.model == "studABC"].split.unique()) == ["seed1970"]
    missing = ensembles.missing_members(predictions)
    annotation = missing[missing.model != "baseline_ensemble"]
    assert annotation[["model", "split", "missing"]].values.tolist() == [
        ["studABC", "seed1972", "student:C"]]
    # the baseline ensemble lacks its two other initialisations in both splits
    assert set(missing[missing.model == "baseline_ensemble"].missing) == {
        "baseline:init1, baseline:init2"}
    assert "autoABC" not in set(missing.model)  # no member at all: absent, not "missing"


def test_members_disagreeing_on_labels_is_an_error(store):
    """(The store refuses such a run: ``tests/test_faults_store.py``; an ensemble of
    predictions from elsewhere is checked too.)"""
    predictions = load(store)[1]
    wrong = ((predictions.target == "crowd:B") & (predictions.split == "seed1970")
             & (predictions.lesion_id == "L0"))
    predictions.loc[wrong, "label"] = 1
    with pytest.raises(ValueError, match="disagree on labels"):
        ensembles.ensemble_predictions(predictions)


def test_table5_and_table4(store):
    runs, predictions = load(store)
    t5 = ensembles.table5(runs, predictions)
    assert list(t5.columns) == ["arch", "model", "mean_auc", "sd_auc", "n_splits"]
    assert list(t5.model[:5]) == ["baseline", "crowdA", "crowdB", "crowdC", "crowdABC"]
    row = t5.set_index("model")
    assert row.loc["crowdABC", "mean_auc"] == 100.0 and row.loc["crowdABC", "sd_auc"] == 0
    assert row.loc["crowdABC", "n_splits"] == 2 and row.loc["studABC", "n_splits"] == 1
    assert row.loc["studC", "n_splits"] == 1 and row.loc["baseline", "mean_auc"] == 75.0
    singles = summarize(runs).set_index(["arch", "model"])
    mine = t5.set_index(["arch", "model"]).loc[singles.index]
    assert np.allclose(mine.mean_auc, singles.mean_auc)
    t4 = ensembles.table4(t5)
    assert t4[["model", "annotations", "mean_auc"]].values.tolist() == [
        ["crowdABC", "original", 100.0], ["crowdABC", "randomized", 75.0],
        ["studABC", "original", 100.0]]


def test_beside_paper_compares_gains(store):
    t5 = ensembles.table5(*load(store))
    side = ensembles.beside_paper(t5, "table5").set_index("model")
    assert (side.paper_arch == "resnet50").all()
    assert side.loc["crowdABC", "gain"] == 25.0
    assert side.loc["crowdABC", "paper_gain"] == pytest.approx(86.3 - 83.6)
    assert np.isnan(side.loc["autoABC", "mean_auc"])  # the paper has it, the store does not
    t4 = ensembles.beside_paper(ensembles.table4(t5), "table4")
    crowd = t4[(t4.model == "crowdABC") & (t4.annotations == "original")].iloc[0]
    assert crowd.gain == 25.0 and crowd.paper_gain == pytest.approx(1.9)
    assert crowd.paper_mean_auc == 86.3 and crowd.paper_sd_auc == 2.4


def test_paired_comparisons(store):
    runs, predictions = load(store)
    comp = verdicts.paired_comparisons(runs, predictions)
    row = comp.set_index(["model_a", "model_b"])
    assert ("crowdABC", "baseline") in row.index
    assert not comp.model_a.str.endswith("_random").any()  # controls are chapter 08's pairs
    same = verdicts.paired_comparisons(runs, predictions, pairs=[
        ("crowdABC_random", "baseline")]).iloc[0]  # identical scores
    assert same.mean_diff == 0 and same.delong_diff == 0 and same.corrected_p == 1.0
    assert "cannot separate" in same.verdict
    better = row.loc[("crowdABC", "baseline")]
    assert better.mean_diff == pytest.approx(0.25) and better.n_pairs == 2
    assert better.n_train == 56 and better.n_test == 8
    assert row.loc[("studABC", "baseline")].n_pairs == 1
    assert "too few" in row.loc[("studABC", "baseline")].verdict


def test_holm_adjusts_each_family(store):
    """One family per architecture: every comparison the book makes (chapters 07 and 08),
    whichever subset a page asks for."""
    runs, predictions = load(store)
    comp = verdicts.paired_comparisons(runs, predictions)
    controls = verdicts.paired_comparisons(runs, predictions, pairs=verdicts.control_pairs)
    models = ensembles.model_predictions(predictions).model.unique()
    family = verdicts.family_pairs(models)
    assert len(comp) + len(controls) < len(family)  # the uniform ensembles against baseline
    assert (comp.n_comparisons == len(family)).all()
    assert (controls.n_comparisons == len(family)).all()
    everything = verdicts.paired_comparisons(runs, predictions, pairs=family)
    from statsmodels.stats.multitest import multipletests

    ok = everything.corrected_p.notna()
    expected = multipletests(everything.corrected_p[ok], method="holm")[1]
    assert np.allclose(everything.holm_p[ok], expected)
    assert (everything.holm_p[ok] >= everything.corrected_p[ok]).all()
    same = everything.set_index(["model_a", "model_b"])
    for table in (comp, controls):  # the same adjusted p on every page
        mine = table.set_index(["model_a", "model_b"])
        assert np.allclose(mine.holm_p, same.loc[mine.index].holm_p, equal_nan=True)
        assert np.allclose(mine.delong_holm_p, same.loc[mine.index].delong_holm_p,
                           equal_nan=True)
    two = comp[comp.n_pairs == 2]  # simultaneous intervals are wider than single ones
    wide = two.simultaneous_ci_high - two.simultaneous_ci_low
    assert (wide >= two.corrected_ci_high - two.corrected_ci_low).all()
    said = f"Bonferroni 95% simultaneous CI over {len(family)} comparisons"
    assert two.verdict.str.contains(said).all()
    assert two.verdict.str.contains("Holm-adjusted p = ").all()


def test_report_command_and_empty_store(store, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["report", "--profile", "smoke", "--out", str(out),
                     "--results", str(store)]) == 0
    t5 = pd.read_csv(out / "table5.csv")
    assert list(t5.columns) == ["arch", "model", "mean_auc", "sd_auc", "n_splits"]
    assert len(pd.read_csv(out / "table4.csv")) == 3 and len(pd.read_csv(out / "paired.csv")) > 0
    paired_table = pd.read_csv(out / "paired.csv")
    assert {"corrected_p", "holm_p"} <= set(paired_table.columns)
    assert set(pd.read_csv(out / "claims.csv").claim) >= {"single", "ensemble", "real_vs_uniform"}
    assert "no studABC for small seed1972: missing student:C" in capsys.readouterr().out
    capsys.readouterr()
    empty = tmp_path / "empty"
    assert cli.main(["report", "--profile", "cpu", "--out", str(empty),
                     "--results", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no finished run in") and "Traceback" not in err
    assert not empty.exists()  # nothing written for an empty store


def test_roc_plot_has_one_line_per_split(store):
    import matplotlib

    matplotlib.use("Agg", force=True)
    preds = ensembles.model_predictions(load(store)[1])
    ax = ensembles.plot_roc(preds, "small", ["baseline", "crowdABC"])
    assert len(ax.lines) == 2 * len(SPLITS) + 1  # + the diagonal
    assert "crowdABC: mean AUC 1.000, 2 splits" in [t.get_text() for t in ax.get_legend().texts]
    other = preds.assign(arch="vgg16")
    axes = ensembles.plot_rocs(pd.concat([other, preds]), ["baseline"], "profile smoke")
    assert [ax.get_title() for ax in axes] == ["vgg16, profile smoke", "small, profile smoke"]
    assert [len(ax.lines) for ax in axes] == [len(SPLITS) + 1] * 2
    axes = ensembles.plot_rocs(preds, ["baseline"], archs=["small", "small"])
    assert [ax.get_title() for ax in axes] == ["test ROC per split, small"]


def test_real_only_tables_and_control_pairs(store):
    runs, predictions = load(store)
    real = ensembles.table5(runs, predictions, randomized=False)
    assert not real.model.str.endswith("_random").any() and "crowdABC" in set(real.model)
    comp = verdicts.paired_comparisons(runs, predictions, pairs=verdicts.control_pairs)
    assert comp[["model_a", "model_b"]].values.tolist()[:1] == [["crowdABC", "crowdABC_random"]]
    assert set(comp.model_b) == {"crowdABC_random", "crowdA_random", "crowdB_random",
                                 "crowdC_random"}
    assert verdicts.paired_comparisons(runs, predictions, randomized=False).model_b.eq(
        "baseline").all()


def test_control_overview_keeps_the_lesions():
    scores = pd.DataFrame({"source": "crowd", "feature": "A", "lesion_id": IDS[:6],
                           "score": [0.1, 0.2, 0.3, 0.8, 0.9, 1.0]})
    lesions = pd.DataFrame({"lesion_id": IDS, "label": LABELS, "path": ""})
    context = training.Context(lesions, [], scores)
    crowd_a = [targets.parse("crowd:A")]
    row = ensembles.control_overview(context, IDS, features=crowd_a).iloc[0]
    assert row.n_real == row.n_uniform == row.n_permuted == 6 and row.same_lesions
    assert row.mean_real == pytest.approx(0.55) and row.r_real > 0.7
    assert 0 <= row.mean_uniform < 1 and row.r_uniform != row.r_real
    # permuted: the same values (mean and SD), on other lesions
    assert row.mean_permuted == pytest.approx(row.mean_real)
    assert row.sd_permuted == pytest.approx(row.sd_real) and row.r_permuted != row.r_real


def test_gains_beside_every_paper_architecture(store):
    t5 = ensembles.table5(*load(store))
    side = ensembles.gains_beside_paper(t5).set_index("model")
    assert {f"paper_gain_{arch}" for arch in ("vgg16", "inception_v3", "resnet50")} <= set(
        side.columns)
    assert side.loc["crowdABC", "gain"] == 25.0
    assert side.loc["crowdABC", "paper_gain_resnet50"] == pytest.approx(86.3 - 83.6)
    t4 = ensembles.gains_beside_paper(ensembles.table4(t5), "table4")
    assert [c for c in t4.columns if c.startswith("paper_gain")] == ["paper_gain_resnet50"]


def test_other_store_views(store, tmp_path):
    runs, predictions = load(store)
    multitask = verdicts.other_store("multitask", "smoke", store)
    summary = multitask["summary"].set_index("model")
    assert summary.loc["baseline", "difference_to_baseline"] == 0
    assert summary.loc["crowdC", "difference_to_baseline"] == 25.0  # 100 against 75
    assert "predictions" not in multitask
    shown = verdicts.other_store("ensembles", "smoke", store)
    assert shown["table"].equals(ensembles.wide(ensembles.table5(runs, predictions, False)))
    assert not shown["comparisons"].model_a.str.endswith("_random").any()
    assert set(shown["missing"].model) == {"studABC", "baseline_ensemble"}
    assert shown["beside_paper"].equals(
        ensembles.gains_beside_paper(ensembles.table5(runs, predictions, False), "table5"))
    randomized = verdicts.other_store("randomized", "smoke", store)
    assert list(randomized["table"].columns) == ["original", "randomized"]
    assert (randomized["comparisons"].model_b == "crowdABC_random").any()
    real_only = tmp_path / "real"
    write_run(real_only, "baseline", SPLITS[0], MEMBERS["A"])
    assert set(verdicts.other_store("randomized", "smoke", real_only)) == {"runs", "predictions"}
    assert set(verdicts.other_store("multitask", "smoke", tmp_path / "none")) == {"runs"}
    with pytest.raises(ValueError, match="unknown view 'tables'; the views are multitask"):
        verdicts.other_store("tables", "smoke", store)


def test_show_other_store_prints_tables_figure_and_verdicts(store, tmp_path, capsys,
                                                            monkeypatch):
    import IPython.display
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    out = verdicts.show_other_store("ensembles", "smoke", store)
    printed = capsys.readouterr().out
    assert printed.startswith(f"{len(out['runs'])} smoke runs: ")
    assert f"{len(out['missing'])} ensemble splits wait for missing runs:" in printed
    assert all(verdict in printed for verdict in out["comparisons"].verdict)
    assert [len(s) for s in shown] == [len(out["missing"]), len(out["table"]),
                                       len(out["beside_paper"]), len(out["comparisons"])]
    assert "beside the paper's gain for each of the paper's networks" in printed
    assert "model − baseline" in plt.gcf().axes[0].get_title()
    plt.close("all")
    verdicts.show_other_store("randomized", "smoke", tmp_path / "none")
    assert capsys.readouterr().out.startswith("no smoke results in ")
    write_run(tmp_path / "real", "baseline", SPLITS[0], MEMBERS["A"])
    verdicts.show_other_store("randomized", "smoke", tmp_path / "real")
    assert "1 smoke runs in" in capsys.readouterr().out
    verdicts.show_other_store("multitask", "smoke", store)
    assert isinstance(shown[-1], pd.DataFrame) and "difference_to_baseline" in shown[-1]
    plt.close("all")



def test_each_comparison_says_what_its_design_could_detect():
    """On the committed cpu store (five splits): the MDD of every comparison is the power
    module's for its own spread and family, and larger than the paper's gains (+0.9 to +4.2)."""
    from enhance_utils.learning.results import load_predictions as predictions_of
    from enhance_utils.learning.results import load_runs as runs_of
    from enhance_utils.stats import power

    comp = verdicts.paired_comparisons(runs_of("cpu"), predictions_of("cpu"))
    assert len(comp) and (comp.n_pairs == 5).all()
    for row in comp.itertuples():
        assert row.mdd == pytest.approx(power.design_mdd(
            row.sd_diff, row.n_pairs, row.n_test, row.n_train, m=row.n_comparisons))
    assert (comp.mdd > 0.042).all()
    inside = comp.holm_p >= 0.05
    assert inside.any() and comp.verdict[inside].str.contains("detects a true difference").all()

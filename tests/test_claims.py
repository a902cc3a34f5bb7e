"""The claim statements of chapters 06-08 on small synthetic stores with known answers."""
from __future__ import annotations

import numpy as np
import pytest

import fakestore
from enhance_utils.learning import claims
from enhance_utils import profiles
from enhance_utils.learning.results import load_predictions, load_runs

IDS = [f"L{i}" for i in range(8)]
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])
PERFECT = LABELS.astype(float)
ONE_WRONG = PERFECT + np.array([2, 0, 0, 0, 0, 0, 0, 0.0])  # AUC 0.75
SPLITS = ("seed1970", "seed1972", "seed2008")


@pytest.fixture
def store(tmp_path):
    """Real crowd annotations perfect in every split, baselines and controls at 0.75."""
    root = tmp_path / "results"
    for split in SPLITS:
        for target in ("baseline", "baseline:init1", "baseline:init2"):
            fakestore.write_run(root, target, split, IDS, LABELS, ONE_WRONG)
        for feature in "ABC":
            fakestore.write_run(root, f"crowd:{feature}", split, IDS, LABELS, PERFECT)
            for control in ("random", "permuted"):
                fakestore.write_run(root, f"{control}:crowd:{feature}", split, IDS, LABELS,
                                    ONE_WRONG)
    return root


def test_claims_supported_when_every_split_agrees(store):
    runs = load_runs("smoke", store)
    table = claims.claims(runs, load_predictions("smoke", store)).set_index("claim")
    assert set(table.index) == {"single", "ensemble", "ensemble_vs_baselines",
                                "real_vs_uniform", "real_vs_permuted"}  # no joint model stored
    for claim in ("ensemble", "ensemble_vs_baselines", "real_vs_uniform", "real_vs_permuted"):
        row = table.loc[claim]
        assert row.n_comparisons == 1 and row.n_splits == 3 and row.n_separated_up == 1
        assert "supports the claim" in row.statement and "+25.0" in row.statement
    single = table.loc["single"]
    assert single.n_comparisons == 3 and single.n_positive == 3


def test_claim_statement_when_intervals_include_zero():
    row = {"paper": "X beats Y", "arch": "small", "n_comparisons": 9, "n_splits": 5,
           "n_positive": 4, "n_separated_up": 0, "n_separated_down": 0, "diff_min": -1.2,
           "diff_max": 2.6, "holm_p_min": 0.41, "simultaneous_low_min": -4.0,
           "simultaneous_high_max": 6.1, "mdd_max": 7.3}
    text = claims.statement(row)
    assert "4 of 9" in text and "-1.2 to +2.6" in text and "neither confirm nor refute" in text
    assert "-4.0 to +6.1" in text and "0.41" in text and "from about 7.3 points" in text
    wide = claims.statement(dict(row, simultaneous_low_min=-574.7))
    assert "wider than the whole range" in wide and "574" not in wide
    against = claims.statement(dict(row, n_separated_down=2))
    assert "goes against the claim" in against


def test_limits_name_what_differs_from_the_paper():
    cpu, paper = (profiles.get_profile(p).training for p in ("cpu", "paper"))
    text = claims.limits(cpu, paper)
    assert "64 px" in text and "384 px" in text and "random weights" in text
    assert claims.limits(paper, paper) == ""


def test_paper_effects_come_from_tables_5_and_4():
    effects = claims.paper_effects().set_index("claim")
    assert effects.loc["ensemble", "paper_n"] == 9 and effects.loc["single", "paper_n"] == 27
    # Table 4: autoABC 87.1 - 85.0, crowdABC 86.3 - 84.4, studABC 86.1 - 84.6
    assert effects.loc["real_vs_uniform", "paper_low"] == 1.5
    assert effects.loc["real_vs_uniform", "paper_high"] == 2.1
    assert effects.loc["ensemble", "paper_high"] >= effects.loc["ensemble", "paper_low"] > 0


def test_detectable_reads_the_claims_of_each_design(store):
    table = claims.claims(load_runs("smoke", store), load_predictions("smoke", store))
    out = claims.detectable({"three splits": table, "empty": table.iloc[:0]})
    assert set(out.design) == {"three splits"} and len(out) == len(table)
    row = out.set_index("claim").loc["real_vs_uniform"]
    assert row.paper_low == 1.5 and row.n_splits == 3
    assert np.isnan(out.set_index("claim").loc["ensemble_vs_baselines", "paper_high"])
    assert claims.detectable({}).empty


def test_scale_limits_of_the_committed_cpu_store():
    """Recomputed here from the runs and the R² table: the human heads' median R², the spread
    of the three identical baselines."""
    from enhance_utils.learning.results import annotation_r2

    r2 = annotation_r2("cpu")
    human = r2[r2.model.isin([f"{s}{f}" for s in ("crowd", "stud") for f in "ABC"])]
    runs = load_runs("cpu")
    means = 100 * runs[runs.model.isin(["baseline", "baseline_init1", "baseline_init2"])] \
        .groupby("model").auc.mean()
    text = claims.scale_limits("cpu")
    assert f"median test R² of {human.r2.median():.2f}" in text and "single crowd" in text
    assert f"3 identical baselines differ in mean test AUC by up to " \
           f"{means.max() - means.min():.1f} points" in text
    assert claims.scale_limits("no-such-store") == ""

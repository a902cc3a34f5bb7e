"""No number typed into the prose of the chapters: every one is glued from a computation."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from enhance_utils import profiles, wording
from enhance_utils.book import prose, prose_training

CHAPTERS_DIR = Path(__file__).resolve().parents[1] / "chapters"
#: chapters whose prose must be free of typed numbers; add a chapter's stem to extend
CHAPTERS = ["01_datasets", "02_annotations", "03_automated_abc", "04_correlation",
            "05_agreement", "06_multitask", "07_ensembles", "08_randomized", "09_explanations"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_typed_numbers_in_prose(chapter):
    notebook = nbformat.read(CHAPTERS_DIR / f"{chapter}.ipynb", as_version=4)
    typed = {cell.get("id", index): prose.typed_numbers(cell.source)
             for index, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"}
    typed = {cell: numbers for cell, numbers in typed.items() if numbers}
    assert not typed, f"numbers typed into markdown cells (glue them): {typed}"


@pytest.mark.parametrize("text, expected", [
    ("Colour drops from 0.23 to about 0.18.", ["0.23", "0.18"]),
    ("All 1996 published ids; 30 skipped.", ["1996", "30"]),
    ("r = {glue:text}`r_crowd_a:.3f` against the paper's {glue:text}`paper_crowd_a`", []),
    ("Table 3 of {cite:t}`raumanns2021enhance`, sections 4.1 and 5.1, Figs. 3–4", []),
    ("see {numref}`fig-04-isic` and chapter 2; ISIC 2017 and PH2; ICC(2,1)", []),
    ("$r = (M_1 - M_0)/s$ with `ddof=0` and [Chapter 2](02_annotations.ipynb)", []),
    ("```python\nx = 10\n```\nno digit here", []),
    ("```{solution-start} ex-01-table1-ph2\n:class: dropdown\n```", []),
    ("```{exercise} Table 1 by hand\n:label: ex-01-table1\n\nUse 300 pixels.\n```", ["300"]),
    ("VGG16, Inception v3 and ResNet50V2 in Keras 3 with eq. (1)", []),
    ("ResNet50 at 384 px, 2e-5", ["384", "2", "5"]),
])
def test_typed_numbers(text, expected):
    assert prose.typed_numbers(text) == expected


def test_plain_values_for_glue():
    import numpy as np

    assert prose.plain(np.float64(8.0)) == 8 and isinstance(prose.plain(np.float64(8.0)), int)
    assert prose.plain(np.float64(0.25)) == 0.25
    assert prose.plain("all 24 counts agree").data == "all 24 counts agree"


def test_rounding_phrase_names_the_values_off_in_the_last_digit():
    comparison = pd.DataFrame({"source": ["crowd", "student"], "feature": ["A", "B"],
                               "computed": [0.16576, 0.16163], "paper": [0.166, 0.161]})
    comparison["difference"] = comparison.computed - comparison.paper
    text = prose.rounding_phrase(comparison)
    assert text.startswith("1 of 2 values round to the paper's; student B differs")
    assert "0.1616 against 0.161" in text and text.endswith("is 0.0006")


# --------------------------------------------------------------------------- chapters 06–08
def _lesions(n=2000, abnormal=628):
    """All ISIC lesions as the training chapters see them, without the data: ids and labels."""
    return pd.DataFrame({"lesion_id": [f"ISIC_{i:07d}" for i in range(n)],
                         "label": [1] * abnormal + [0] * (n - abnormal)})


GLUE_ROLE = re.compile(r"\{glue:(text|md)\}`([\w]+)(?::[^`]*)?`")
CHAPTER_NUMBERS = {
    "06_multitask": lambda: prose_training.multitask_numbers(
        _lesions(), pd.DataFrame({"train_seconds": [60.0, 90.0]})),
    "07_ensembles": lambda: prose_training.ensembles_numbers(_lesions()),
    "08_randomized": lambda: prose_training.randomized_numbers(_lesions(), 18),
}


@pytest.mark.parametrize("chapter", sorted(CHAPTER_NUMBERS))
def test_every_glued_name_is_computed_with_the_right_role(chapter):
    notebook = nbformat.read(CHAPTERS_DIR / f"{chapter}.ipynb", as_version=4)
    roles = {(role, name) for cell in notebook.cells if cell.cell_type == "markdown"
             for role, name in GLUE_ROLE.findall(cell.source)}
    values = CHAPTER_NUMBERS[chapter]()
    assert roles, "the chapter glues nothing"
    assert not {name for _, name in roles} - set(values), "glued names the chapter never computes"
    wrong = {name for role, name in roles if (role == "md") != isinstance(values[name], str)}
    assert not wrong, f"text needs {{glue:md}}, numbers {{glue:text}}: {wrong}"


def test_training_time_is_the_sum_of_the_runs_seconds():
    runs = pd.DataFrame({"train_seconds": [60.0, 90.0, 30.0]})
    assert prose_training.training_time_numbers(runs) == {
        "cpu_store_runs": 3, "cpu_train_hours": 0.05, "cpu_minutes_per_run": 1.0}
    empty = prose_training.training_time_numbers(runs.iloc[:0], prefix="smoke")
    assert empty == {"smoke_store_runs": 0, "smoke_train_hours": 0.0,
                     "smoke_minutes_per_run": 0.0}


def _timed_run(results, feature, finished, seconds, pid, **fields):
    from fakestore import write_run

    return write_run(results, f"crowd:{feature}", "seed1970", ["ISIC_0000000", "ISIC_0000001"],
                     [0, 1], [0.0, 1.0], arch="efficientnet_lite0", profile="lite",
                     finished=finished, train_seconds=seconds,
                     trainer={"host": "box", "pid": pid},
                     determinism={"cpu_count": 2, "intra_op_threads": 1}, **fields)


def test_grid_time_is_read_from_the_runs_records(tmp_path):
    """From the earliest fit's start (10:00:30 less 20 s) to the latest run's end (10:10:00):
    590 s; two trainer processes, on two CPUs, one thread per run."""
    _timed_run(tmp_path, "A", "2026-12-04T10:00:30", 20.0, 11)
    _timed_run(tmp_path, "B", "2026-12-04T10:01:00", 10.0, 12)
    _timed_run(tmp_path, "C", "2026-12-04T10:10:00", 30.0, 11)
    numbers = prose_training.grid_time_numbers("lite", tmp_path)
    assert numbers == {"lite_grid_minutes": pytest.approx(590 / 60), "lite_trainers": "two",
                       "lite_trainer_cpus": "two", "lite_run_threads": "one"}
    assert prose_training.grid_time_numbers("lite", tmp_path / "empty") == {
        "lite_grid_minutes": 0.0, "lite_trainers": "zero", "lite_trainer_cpus": "zero",
        "lite_run_threads": "zero"}


def test_a_run_without_its_trainers_record_is_named(tmp_path):
    from enhance_utils.learning import store
    from fakestore import write_run

    write_run(tmp_path, "crowd:A", "seed1970", ["ISIC_0000000", "ISIC_0000001"], [0, 1],
              [0.0, 1.0], arch="efficientnet_lite0", profile="lite")
    with pytest.raises(store.StoreError, match="crowd-A.*lacks finished, trainer, determinism"):
        prose_training.grid_time_numbers("lite", tmp_path)


def test_paper_ranges_are_computed_from_its_tables():
    t5, t4 = prose_training.table5_numbers(), prose_training.table4_numbers()
    assert t5["paper_single_gain_range"] == "\u22121.3 to +3.9"
    assert t5["paper_ensemble_gain_range"] == "+0.9 to +4.2"
    assert (t5["paper_single_below"], t5["paper_single_n"], t5["paper_n_archs"]) == (5, 27, 3)
    assert t5["paper_sd_range"] == "0.6 to 4.0"
    assert t4["paper_real_minus_random_range"] == "+1.5 to +2.1"


def test_table5_gains_are_against_the_baseline_of_the_same_architecture():
    table = pd.DataFrame({"arch": ["a", "a", "a", "b", "b", "b"],
                          "model": ["baseline", "crowdA", "crowdABC"] * 2,
                          "mean_auc": [80.0, 78.5, 83.0, 90.0, 91.0, 90.5],
                          "sd_auc": [1.0, 2.0, 3.0, 1.5, 2.5, 0.5]})
    values = prose_training.table5_numbers(table)
    assert values["paper_single_gain_range"] == "\u22121.5 to +1.0"
    assert values["paper_ensemble_gain_range"] == "+0.5 to +3.0"
    assert values["paper_single_below"] == 1 and values["paper_sd_range"] == "0.5 to 3.0"


def test_profile_numbers_follow_the_profiles_and_the_paper_split():
    values = {**prose_training.profile_numbers(_lesions()),
              **prose_training.paper_split_numbers(_lesions())}
    assert (values["paper_n_train"], values["paper_n_validation"], values["paper_n_test"]) \
        == (1400, 350, 250)
    assert values["paper_seeds"] == "1970, 1972, 2008, 2019 and 2020"
    assert values["cpu_n_lesions"] == 2000 and values["smoke_n_lesions"] == 300
    assert values["smoke_n_test"] + values["smoke_n_validation"] + values["smoke_n_train"] == 300
    assert values["paper_learning_rate"] == "2e-5" and values["paper_image_size"] == 384
    assert values["smoke_n_splits_word"] == "two" and values["paper_epochs_word"] == "30"


def test_corrected_factor_with_the_papers_sizes():
    values = prose_training.corrected_factor_numbers(1400, 250, 5)
    assert values["factor_corrected"] == pytest.approx(0.2 + 250 / 1400)
    assert values["factor_times"] == pytest.approx(1.893, abs=1e-3)


def test_augmentation_is_the_papers():
    values = prose_training.augmentation_numbers()
    assert [values[k] for k in ("rotation_degrees", "shift_pct", "channel_shift")] == [360, 10, 20]
    assert (values["zoom_min"], values["zoom_max"], values["shear_degrees"]) == (0.8, 1.2, 0.2)


@pytest.mark.parametrize("value, text", [(2e-5, "2e-5"), (1e-3, "1e-3"), (2.5e-4, "2.5e-4")])
def test_scientific(value, text):
    assert prose_training.scientific(value) == text


def test_words_signs_and_spans():
    assert wording.number_word(5) == "five" and wording.number_word(33) == "33"
    assert wording.signed(-1.25) == "\u22121.2" and wording.signed(0.9) == "+0.9"
    assert wording.span([2.0, 2.0]) == "+2.0"
    assert wording.span([3, 1, 2], sign=False) == "1.0 to 3.0"
    assert wording.span([-0.2, -0.5, -0.3]) == "\u22120.5 to \u22120.2"
    assert prose_training.series_text([1970]) == "1970"


def test_smoke_control_runs_counted_from_the_smoke_grid():
    values = prose_training.randomized_numbers(_lesions(), 18)
    smoke = profiles.get_profile("smoke").training
    controls = [t for t in smoke.targets if t.startswith(("random:", "permuted:"))]
    assert values["smoke_control_runs"] == len(controls) * len(smoke.split_seeds) > 0

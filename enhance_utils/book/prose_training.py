"""The numbers glued into the prose of chapters 06–08 (:func:`enhance_utils.book.prose.glue_all`).

Each chapter glues one dict, computed here from the package's definitions (the profiles'
training settings, the splits, the augmentation of :mod:`enhance_utils.learning.pipeline`, the
confidence level of :mod:`enhance_utils.stats.paired`) and from the paper's Tables 4 and 5
(:func:`enhance_utils.data.paper.paper_table`), so that the markdown types no number. None of
them reads the experiment store: the chapters' text describes settings and the paper, and the
store's results stay in the tables and figures, which say themselves what is missing.
"""
from __future__ import annotations

import inspect
import math

import pandas as pd

from ..stats import paired
from .. import profiles
from ..wording import number_word, span
from ..data import paper
from ..learning import splits


# --------------------------------------------------------------------------- helpers
def scientific(value: float) -> str:
    """A learning rate as it is written in code: ``2e-5``, ``1e-3``."""
    mantissa, exponent = f"{value:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def series_text(items) -> str:
    """``a, b and c``."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def default_of(function, parameter: str):
    """The default value of ``parameter`` in ``function``'s signature."""
    return inspect.signature(function).parameters[parameter].default


# --------------------------------------------------------------------------- profiles, splits
def split_sizes(lesions: pd.DataFrame, n_lesions: int | None, seed: int) -> dict[str, int]:
    """Sizes of the parts of the paper's split (seed ``seed``) of a profile's lesions."""
    split = splits.paper_split(splits.subsample(lesions, n_lesions), seed)
    return {"n_train": len(split.train), "n_validation": len(split.validation),
            "n_test": len(split.test)}


def profile_numbers(lesions: pd.DataFrame) -> dict:
    """Every profile's training settings, as ``<profile>_<setting>``.

    ``lesions`` are all ISIC lesions (``lesion_id``, ``label``): a profile without a sample
    size uses them all, and the sizes of its first split come from them.
    """
    values = {}
    for name, profile in profiles.PROFILES.items():
        t = profile.training
        n = len(lesions) if t.n_lesions is None or t.n_lesions >= len(lesions) else t.n_lesions
        values.update({f"{name}_{key}": value for key, value in {
            "image_size": t.image_size, "n_lesions": n, "epochs": t.epochs,
            "epochs_word": number_word(t.epochs), "batch_size": t.batch_size,
            "learning_rate": scientific(t.learning_rate),
            "steps": t.steps_per_epoch if t.steps_per_epoch else "one pass over the training set",
            "n_splits": len(t.split_seeds), "n_splits_word": number_word(len(t.split_seeds)),
            "n_targets": len(t.targets), "n_archs": len(t.archs),
            **split_sizes(lesions, t.n_lesions, t.split_seeds[0])}.items()})
    return values


def paper_split_numbers(lesions: pd.DataFrame) -> dict:
    """The paper's splits: sizes of the parts, the seeds, and their number."""
    sizes = split_sizes(lesions, None, splits.PAPER_SEEDS[0])
    return {"n_all": len(lesions), **{f"paper_{k}": v for k, v in sizes.items()},
            "paper_seeds": series_text(splits.PAPER_SEEDS),
            "paper_n_splits": len(splits.PAPER_SEEDS),
            "paper_n_splits_word": number_word(len(splits.PAPER_SEEDS)),
            "kfold_k": default_of(splits.kfold_splits, "k")}


def corrected_factor_numbers(n_train: int, n_test: int, n_splits: int) -> dict:
    """The corrected resampled t-test's variance factor ``1/J + n_test/n_train`` beside the
    naive ``1/J``, and how many times larger it is."""
    naive = 1 / n_splits
    corrected = naive + n_test / n_train
    return {"factor_naive": naive, "factor_ratio": n_test / n_train,
            "factor_corrected": corrected, "factor_times": corrected / naive}


def confidence_numbers() -> dict:
    """The confidence level of every interval of :mod:`enhance_utils.stats.paired`, in percent."""
    return {"confidence_pct": round(100 * paired.LEVEL)}


# --------------------------------------------------------------------------- the paper's tables
def paper_gains(table5: pd.DataFrame, ensembles: bool) -> pd.Series:
    """Each model's mean AUC minus its architecture's baseline in the paper's Table 5, for
    the single multi-task models or for the ensembles (index: architecture, model)."""
    baseline = table5[table5.model == "baseline"].set_index("arch").mean_auc
    models = table5[(table5.model != "baseline")
                    & (table5.model.str.endswith("ABC") == ensembles)]
    gains = models.mean_auc.to_numpy() - baseline.loc[models.arch].to_numpy()
    return pd.Series(gains, index=pd.MultiIndex.from_frame(models[["arch", "model"]]))


def table5_numbers(table5: pd.DataFrame | None = None) -> dict:
    """The ranges of the paper's Table 5: gains of the single models and of the ensembles
    over the baseline of their architecture (over all three architectures), and the SDs."""
    table5 = paper.paper_table("table5") if table5 is None else table5
    single, ensemble = paper_gains(table5, False), paper_gains(table5, True)
    by_arch = single.groupby(level="arch")
    always = [arch for arch, gains in by_arch if (gains > 0).all()]
    return {"paper_single_gain_range": span(single),
            "paper_single_gain_min": round(single.min(), 1),
            "paper_single_gain_max": round(single.max(), 1),
            "paper_single_below": int((single < 0).sum()), "paper_single_n": len(single),
            "paper_single_all_above": series_text(always) if always else "none",
            "paper_ensemble_gain_range": span(ensemble),
            "paper_ensemble_gain_min": round(ensemble.min(), 1),
            "paper_ensemble_gain_max": round(ensemble.max(), 1),
            "paper_sd_range": span(table5.sd_auc, sign=False),
            "paper_n_archs": table5.arch.nunique(),
            "paper_n_archs_word": number_word(table5.arch.nunique())}


def table4_numbers(table4: pd.DataFrame | None = None) -> dict:
    """The ranges of the paper's Table 4: original minus randomized ensemble per source, and
    the SDs."""
    table4 = paper.paper_table("table4") if table4 is None else table4
    wide = table4.pivot_table(index="model", columns="annotations", values="mean_auc")
    gain = wide.original - wide.randomized
    return {"paper_real_minus_random_range": span(gain),
            "paper_real_minus_random_min": round(gain.min(), 1),
            "paper_real_minus_random_max": round(gain.max(), 1),
            "paper_t4_sd_range": span(table4.sd_auc, sign=False)}


# --------------------------------------------------------------------------- chapters
def augmentation_numbers() -> dict:
    """The augmentation of :func:`enhance_utils.learning.pipeline.augment_batch`."""
    from ..learning import pipeline

    return {"rotation_degrees": pipeline.ROTATION_DEGREES,
            "shift_pct": round(100 * pipeline.SHIFT_FRACTION),
            "zoom_min": pipeline.ZOOM_RANGE[0], "zoom_max": pipeline.ZOOM_RANGE[1],
            "channel_shift": pipeline.CHANNEL_SHIFT, "shear_degrees": pipeline.SHEAR_DEGREES}


def training_time_numbers(runs: pd.DataFrame, prefix: str = "cpu") -> dict:
    """How many runs a store holds and the hours their training took (the sum of each run's
    ``train_seconds`` in ``run.json``), as ``<prefix>_store_runs``, ``<prefix>_train_hours``
    and ``<prefix>_minutes_per_run``."""
    seconds = runs["train_seconds"].sum() if len(runs) else 0.0
    return {f"{prefix}_store_runs": len(runs), f"{prefix}_train_hours": seconds / 3600,
            f"{prefix}_minutes_per_run": seconds / 60 / len(runs) if len(runs) else 0.0}


def grid_time_numbers(profile: str, results=None) -> dict:
    """How long the store of ``profile`` (the committed one unless ``results`` names another)
    took to train in one go and how (:func:`enhance_utils.learning.results.training_summary`):
    ``<profile>_grid_minutes``, ``<profile>_trainers`` (processes side by side, in words),
    ``<profile>_trainer_cpus`` and ``<profile>_run_threads``."""
    from ..learning.results import training_summary

    summary = training_summary(profile, results)
    return {f"{profile}_grid_minutes": summary["span_seconds"] / 60,
            f"{profile}_trainers": number_word(summary["processes"]),
            f"{profile}_trainer_cpus": number_word(summary["cpus"]),
            f"{profile}_run_threads": number_word(summary["threads"])}


def multitask_numbers(lesions: pd.DataFrame, cpu_runs: pd.DataFrame | None = None) -> dict:
    """The numbers of chapter 06's prose; ``lesions``: all ISIC lesions (``lesion_id``,
    ``label``); ``cpu_runs``: the runs of the committed ``cpu`` store (read when not given)."""
    from ..learning import models
    from ..learning.results import load_runs

    cpu_runs = load_runs("cpu") if cpu_runs is None else cpu_runs
    return {**profile_numbers(lesions), **paper_split_numbers(lesions), **table5_numbers(),
            **augmentation_numbers(), **training_time_numbers(cpu_runs),
            **training_time_numbers(load_runs("lite"), "lite"),
            **grid_time_numbers("lite"),
            "dense_units": default_of(models.build_model, "hidden_units"),
            "lite_views": profiles.get_profile("lite").training.views,
            **selection_numbers()}


def selection_numbers() -> dict:
    """The profiles that score each run at its last epoch (``last_epoch_profiles``) and at its
    best validation epoch (``best_epoch_profiles``), as Markdown: ```paper``` and
    ```smoke```, ```cpu```, … (from each profile's ``selection``)."""
    by = {}
    for name, profile in profiles.PROFILES.items():
        by.setdefault(profile.training.selection, []).append(f"`{name}`")
    return {f"{selection}_epoch_profiles": series_text(names) for selection, names in by.items()}


def ensembles_numbers(lesions: pd.DataFrame) -> dict:
    """The numbers of chapter 07's prose; ``lesions``: all ISIC lesions."""
    from ..stats import power

    split = paper_split_numbers(lesions)
    return {**profile_numbers(lesions), **split, **table5_numbers(), **confidence_numbers(),
            "mdd_power_percent": round(100 * power.POWER),
            **corrected_factor_numbers(split["paper_n_train"], split["paper_n_test"],
                                       split["paper_n_splits"])}


def _n_controls(specs) -> int:
    """How many of a grid's targets are controls (uniform or permuted values)."""
    from ..learning import targets

    return sum(targets.parse(t).is_control for t in specs)


def randomized_numbers(lesions: pd.DataFrame, n_controls: int) -> dict:
    """The numbers of chapter 08's prose; ``lesions``: all ISIC lesions, ``n_controls``: the
    number of control targets the chapter trains."""
    from ..learning.results import load_runs

    smoke = profiles.get_profile("smoke").training
    return {**profile_numbers(lesions), **paper_split_numbers(lesions), **table4_numbers(),
            **confidence_numbers(), **training_time_numbers(load_runs("cpu")),
            "n_controls": n_controls,
            "smoke_control_runs": _n_controls(smoke.targets) * len(smoke.archs)
            * len(smoke.split_seeds),
            "uniform_sd": math.sqrt(1 / 12)}

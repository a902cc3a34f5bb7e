"""Grad-CAM maps of the baseline and the multi-task models (chapter 09).

The maps themselves are :mod:`enhance_utils.learning.gradcam`'s.

Models come from the experiment store (:mod:`enhance_utils.learning.results`): a run is
rebuilt with :func:`enhance_utils.learning.models.build_model` from the settings in its
``run.json`` and gets the ``model.weights.h5`` of its folder, which only profiles with
``Training.keep_weights`` write (``smoke``). Images are resized exactly as the training
pipeline resized them.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import paths, datasets
from . import models as multitask, store, targets
from .gradcam import explain_image, load_lesion, mass_inside
from .results import model_name

WEIGHTS = "model.weights.h5"


# --------------------------------------------------------------------------- runs
@dataclass
class Run:
    """A finished run of the store with its model rebuilt and its weights loaded."""

    folder: Path
    record: dict
    model: object  # keras.Model

    @property
    def arch(self) -> str:
        return self.record["arch"]

    @property
    def target(self) -> str:
        return self.record["target"]

    @property
    def image_size(self) -> int:
        return int(self.record["settings"]["image_size"])

    @property
    def name(self) -> str:
        """The paper's model name: ``baseline``, ``crowdA``, ``studC``."""
        return model_name(self.target)

    @property
    def multitask(self) -> bool:
        return not targets.parse(self.target).is_baseline

    def predictions(self) -> pd.DataFrame:
        """The test predictions the run stored when it was trained (``score``: the epoch the
        profile selects, whose weights the run kept)."""
        frame = store.read_predictions(self.folder)
        frame = frame[frame.part == "test"].drop(columns="part")
        return frame.assign(score=frame[f"score_{self.record['selection']}"])


def run_folder(profile: str, arch: str, target: str, split: str, results=None) -> Path:
    """``results/<profile>/<arch>/<target>/<split>`` of the store."""
    root = Path(results) if results else paths.results_dir()
    return store.run_dir(root, profile, arch, target, split)


def has_weights(folder) -> bool:
    folder = Path(folder)
    return (folder / "run.json").is_file() and (folder / WEIGHTS).is_file()


def load_run(folder) -> Run:
    """Rebuild a finished run's model and load its weights.

    Raises ``FileNotFoundError`` naming the folder when the run or its weights are missing
    (the committed ``cpu`` store keeps no weights; the ``smoke`` profile does).
    """

    folder = Path(folder)
    record_path = folder / "run.json"
    if not record_path.is_file():
        raise FileNotFoundError(f"no finished run in {folder} (run.json is missing); train it "
                                "with experiments.run_grid or `enhance train`")
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(
            f"the run in {folder} kept no weights ({WEIGHTS} is missing); "
            "experiments.train_with_weights retrains it, keeping them, into "
            "explain.side_store()")
    record = json.loads(record_path.read_text())
    settings = record["settings"]
    model, _ = multitask.build_model(record["arch"], int(settings["image_size"]),
                                     targets.parse(record["target"]).features, weights=None,
                                     learning_rate=settings["learning_rate"],
                                     variant=settings.get("variant", "described"))
    with warnings.catch_warnings():  # the file also holds the optimizer's state, not needed here
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(weights)
    model.trainable = False
    return Run(folder, record, model)


def side_store(cache=None) -> Path:
    """The store of the runs retrained with their weights for the explanations:
    ``explain-runs`` in the cache folder (``cache``, default
    :func:`~enhance_utils.data.paths.cache_dir`)."""
    return Path(cache or paths.cache_dir()) / "explain-runs"


def _stored(profile: str, targets, split_seed: int, arch, results, side) -> dict[str, Path]:
    """target → folder of a finished run with weights: the store's, else the side store's."""
    from ..profiles import get_profile

    arch = arch or get_profile(profile).training.archs[0]
    split = f"seed{split_seed}"
    root = Path(results) if results else paths.results_dir()
    side = Path(side) if side else side_store()
    return {t: run_folder(profile, arch, t, split, where) for where in (side, root)  # root wins
            for t in targets if has_weights(run_folder(profile, arch, t, split, where))}


def load_models(folders: dict) -> dict[str, Run]:
    """The runs of ``folders`` (target → run folder, e.g. :func:`run_folders`) rebuilt with
    their weights (:func:`load_run`), by the paper's model name, in the same order."""
    runs = [load_run(folder) for folder in folders.values()]
    return {run.name: run for run in runs}


def models_table(runs: dict[str, Run]) -> pd.DataFrame:
    """One row per explained run: model, target, test AUC, epochs, initial weights and the
    run's folder within its store."""
    return pd.DataFrame([{"model": name, "target": run.target,
                          "test AUC": round(run.record["auc"], 3),
                          "epochs": run.record["settings"]["epochs"],
                          "weights": run.record["weights_init"],
                          "folder": str(run.folder.relative_to(run.folder.parents[3]))}
                         for name, run in runs.items()])


def runs_without_weights(profile: str, targets, split_seed: int, arch: str | None = None,
                         results=None, side=None) -> list[str]:
    """The ``targets`` whose run on one split of a profile has no weights to explain, in the
    store (``results``) nor in the :func:`side_store` (``side``).

    Such a run is missing or finished without weights (the committed ``cpu`` store keeps
    none); the chapter trains them again, explicitly, with
    :func:`enhance_utils.learning.training.train_with_weights` into the side store: training is
    deterministic, so that model is the one whose predictions the store holds. ``arch``:
    default the profile's first architecture.
    """
    found = _stored(profile, targets, split_seed, arch, results, side)
    return [t for t in targets if t not in found]


def run_folders(profile: str, targets, split_seed: int, arch: str | None = None, results=None,
                side=None) -> dict[str, Path]:
    """Folders of finished runs *with weights* for ``targets`` on one split of a profile: the
    store's (``results``) where it kept them, else the :func:`side_store`'s (``side``). Nothing
    is trained or written; a run without weights is a ``FileNotFoundError`` naming its store
    folder (see :func:`runs_without_weights`)."""
    from ..profiles import get_profile

    arch = arch or get_profile(profile).training.archs[0]
    found = _stored(profile, targets, split_seed, arch, results, side)
    for target in (t for t in targets if t not in found):
        load_run(run_folder(profile, arch, target, f"seed{split_seed}", results))  # raises
    return {t: found[t] for t in targets}


# --------------------------------------------------------------------------- comparison
def compare(runs: dict[str, Run], lesion_ids, root=None, scores: pd.DataFrame | None = None,
            towards: str = "abnormal", progress: bool = False):
    """Grad-CAM of every run for every ISIC 2017 lesion (images via :func:`load_lesion`), with
    a progress bar over the lesions when ``progress``.

    Returns
    -------
    table : pandas.DataFrame
        One row per lesion × model: ``lesion_id``, ``label``, ``model``, ``target``,
        ``probability``, ``predicted_annotation`` (multi-task models), ``true_annotation`` (the
        target's per-lesion score from ``scores``, NaN where the lesion has none), ``explains`` (the
        class the map explains), ``mass_in_lesion`` (NaN for an empty map) and
        ``lesion_area`` (the mask's share of the image: what an evenly spread map would get).
    maps : dict
        ``(lesion_id, model) -> Explanation`` and ``lesion_id -> (image, mask)``.
    """
    from tqdm.auto import tqdm

    gt = datasets.isic_ground_truth(root).set_index("lesion_id").label
    rows, maps = [], {}
    for lesion_id in tqdm(list(lesion_ids), desc=f"Grad-CAM ({towards})", unit="lesion",
                          disable=not progress):
        image, mask = load_lesion(lesion_id, root)
        maps[lesion_id] = (image, mask)
        for name, run in runs.items():
            ex = explain_image(run.model, image, run.arch, towards=towards,
                               variant=run.record["settings"].get("variant", "described"))
            maps[(lesion_id, name)] = ex
            truth = np.nan
            parsed = targets.parse(run.target)
            if len(parsed.features) == 1 and scores is not None:
                hit = scores[(scores.lesion_id == lesion_id) & (scores.source == parsed.source)
                             & (scores.feature == parsed.features[0])].score
                truth = float(hit.iloc[0]) if len(hit) else np.nan
            rows.append({"lesion_id": lesion_id, "label": int(gt.get(lesion_id, -1)), "model": name,
                         "target": run.target,
                         "probability": ex.probability, "predicted_annotation": ex.annotation,
                         "true_annotation": truth, "explains": ex.towards,
                         "mass_in_lesion": mass_inside(ex.cam, mask),
                         "lesion_area": float(np.mean(mask))})
    return pd.DataFrame(rows), maps


def compare_towards(runs: dict[str, Run], lesion_ids, towards=("abnormal", "normal"),
                    **options) -> tuple[dict[str, pd.DataFrame], dict[str, dict]]:
    """:func:`compare` for each class in ``towards``: the tables and the maps, by class
    (``options``: ``root``, ``scores``, ``progress``)."""
    both = {side: compare(runs, lesion_ids, towards=side, **options) for side in towards}
    return ({side: table for side, (table, _) in both.items()},
            {side: maps for side, (_, maps) in both.items()})


def mass_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per model: how many maps are empty, and the mean fraction of a (non-empty) map inside
    the lesion next to the mean lesion area of the same lesions, the level a map spread
    evenly over the image would reach."""
    rows = {}
    for model, part in table.groupby("model", sort=False):
        shown = part[part.mass_in_lesion.notna()]
        rows[model] = {"lesions": len(part), "empty_maps": int(part.mass_in_lesion.isna().sum()),
                       "mass_in_lesion": shown.mass_in_lesion.mean(),
                       "lesion_area": shown.lesion_area.mean()}
    out = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
    return out.round(3)


def plot_lesions(table: pd.DataFrame, maps: dict, models, alpha: float = 0.45, axes=None):
    """For each lesion a row: image with its mask outline | one Grad-CAM overlay per model.

    Titles give the predicted probability of "abnormal" and, for a multi-task model, the
    predicted annotation next to the lesion's real one.
    """
    import matplotlib.pyplot as plt

    lesion_ids = list(dict.fromkeys(table.lesion_id))
    models = list(models)
    if axes is None:
        _, axes = plt.subplots(len(lesion_ids), 1 + len(models),
                               figsize=(2.6 * (1 + len(models)), 2.4 * len(lesion_ids)),
                               squeeze=False)
    by_key = table.set_index(["lesion_id", "model"])
    for row, lesion_id in zip(axes, lesion_ids):
        image, mask = maps[lesion_id]
        label = "abnormal" if by_key.loc[(lesion_id, models[0]), "label"] == 1 else "normal"
        row[0].imshow(image)
        row[0].contour(mask, levels=[0.5], colors="white", linewidths=0.8)
        row[0].set_title(f"{lesion_id}\n{label}", fontsize=8)
        for ax, name in zip(row[1:], models):
            ex = maps[(lesion_id, name)]
            ax.imshow(image)
            if not ex.empty:  # an empty map leaves the image as it is
                ax.imshow(ex.cam, cmap="jet", alpha=alpha, vmin=0, vmax=1)
            ax.contour(mask, levels=[0.5], colors="white", linewidths=0.6)
            title = f"{name}: p={ex.probability:.2f}" + (" (empty map)" if ex.empty else "")
            if ex.annotation is not None:
                truth = by_key.loc[(lesion_id, name), "true_annotation"]
                real = "—" if pd.isna(truth) else f"{truth:.2f}"
                feature = targets.parse(by_key.loc[(lesion_id, name), "target"]).features[0]
                title += f"\n{feature}: predicted {ex.annotation:.2f}, real {real}"
            ax.set_title(title, fontsize=8)
        for ax in row:
            ax.set_axis_off()
    return axes


def lesions_to_show(test: pd.DataFrame, runs: dict[str, Run], context, n: int) -> list[str]:
    """Test lesions to draw: those with every annotation the multi-task ``runs`` learn, by id,
    half of ``n`` abnormal first (at least one), then normal ones.

    Parameters
    ----------
    test : pandas.DataFrame
        The split's test lesions (``lesion_id``, ``label``; :meth:`Run.predictions`).
    runs : dict
        The explained runs by name (:func:`load_run`).
    context : enhance_utils.learning.specs.Context
        The annotation scores (:func:`enhance_utils.learning.specs.build_context`).
    n : int
        How many lesions.
    """
    annotated = np.ones(len(test), bool)
    for run in runs.values():
        if run.multitask:
            annotated &= context.annotation(run.target, test.lesion_id)[1] > 0
    candidates = test[annotated].sort_values("lesion_id")
    abnormal = max(n // 2, 1)
    return (list(candidates[candidates.label == 1].lesion_id[:abnormal])
            + list(candidates[candidates.label == 0].lesion_id[:n - abnormal]))


def _annotated(table: pd.DataFrame, model: str) -> pd.DataFrame:
    return table[(table.model == model) & table.true_annotation.notna()]


def _head_r(part: pd.DataFrame) -> float:
    if len(part) <= 2:
        return float("nan")
    return float(np.corrcoef(part.true_annotation, part.predicted_annotation)[0, 1])


def head_agreement(table: pd.DataFrame, models) -> pd.DataFrame:
    """Per multi-task model of ``models``: Pearson's r of the head's predicted annotation with
    the real score (NaN for fewer than three lesions), and the means and spreads of both, over
    the lesions of ``table`` (:func:`compare`) that have the annotation."""
    rows = []
    for name in models:
        part = _annotated(table, name)
        rows.append({"model": name, "test lesions with the annotation": len(part),
                     "pearson r": round(_head_r(part), 2),
                     "mean predicted": round(part.predicted_annotation.mean(), 2),
                     "mean real": round(part.true_annotation.mean(), 2),
                     "sd predicted": round(part.predicted_annotation.std(), 3),
                     "sd real": round(part.true_annotation.std(), 3)})
    return pd.DataFrame(rows)


def plot_heads(table: pd.DataFrame, runs: dict[str, Run]):
    """One panel per run of ``runs`` (multi-task models): the head's predicted annotation
    against the real score of each lesion of ``table`` (:func:`compare`) that has it, normal in
    blue and abnormal in red, titled with r and n. Returns the axes."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(3.6 * len(runs), 3.3), squeeze=False)
    for ax, (name, run) in zip(axes[0], runs.items()):
        part = _annotated(table, name)
        for label, colour in [(0, "C0"), (1, "C3")]:
            sub = part[part.label == label]
            ax.scatter(sub.true_annotation, sub.predicted_annotation, s=14, color=colour,
                       label="abnormal" if label else "normal")
        ax.set_xlabel(f"real {run.target} score")
        ax.set_ylabel("predicted by the head")
        ax.set_title(f"{name}: r = {_head_r(part):.2f}, n = {len(part)}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return axes[0]


# --------------------------------------------------------------------------- explorer
EXPLORER_COLUMNS = ["lesion_id", "label", "model", "target", "explains", "probability",
                    "predicted_annotation", "true_annotation", "mass_in_lesion", "lesion_area"]

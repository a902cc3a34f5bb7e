"""Grad-CAM maps of the baseline and the multi-task models (chapter 09).

The maps themselves are :mod:`enhance_utils.learning.gradcam`'s.

Models come from the experiment store (:mod:`enhance_utils.learning.results`): a run is
rebuilt with :func:`enhance_utils.learning.models.build_model` from the settings in its
``run.json`` and gets the ``model.weights.h5`` of its folder, which only profiles with
``Training.keep_weights`` write (``smoke``). Images are resized exactly as the training
pipeline resized them.

**The ``lite`` runs: committed heads, not retrained ones.** A run of a profile with a frozen
backbone (``lite``) is the backbone (EfficientNet-Lite0, :mod:`.efficientnet_lite`, ImageNet
weights) and a trained head (:func:`enhance_utils.learning.models.build_head`). Its store
(``results/lite``) keeps predictions, no weights. Retraining a head is deterministic (the
store's runs reproduce byte for byte, ``tests/test_lite_profile.py``) and takes seconds — but
it reads the cached features of all 2000 training images in five views, which a cold cache
(CI, a fresh Colab) computes in about seven minutes. So the heads of the few explained runs
are committed instead: :data:`HEADS` (``results/heads/<profile>/<arch>/<target>/<split>/``
``head.npz``, float32, 1.3 MB each), written by ``tools/make_explained_heads.py``, which
retrains them from the cache and refuses to write a head whose run does not reproduce the
store's ``predictions.csv`` byte for byte. Each file names its run and holds the SHA-256 of
that ``predictions.csv`` and the checksum of the backbone's weights
(:func:`enhance_utils.learning.features.weights_checksum`); :func:`load_lite_run` refuses a
head whose run, predictions or backbone differ, and one whose rebuilt model (backbone + head,
on the test images) does not give the stored probabilities of the first test lesions within
:data:`TOLERANCE`. Grad-CAM of such a model is taken at the backbone's last feature map
(:data:`LITE_LAYER`, 7 × 7 at 224 px), the map the head's pooling averages.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import paths, datasets
from . import models as multitask, store, targets
from .gradcam import load_lesion, mass_inside
from .results import model_name

WEIGHTS = "model.weights.h5"
#: where the committed heads of the explained frozen-backbone runs lie, in the store's root
HEADS = "heads"
HEAD_FILE = "head.npz"
#: the layer whose map Grad-CAM weighs in a frozen-backbone model: EfficientNet-Lite0's last
#: (1 × 1, 1280-channel) convolution after its batch norm and ReLU6, the map the head pools
LITE_LAYER = "head_relu"
#: the largest difference allowed between a rebuilt model's probability and the stored one
#: (``predictions.csv`` holds float32 values to eight significant digits)
TOLERANCE = 1e-6


# --------------------------------------------------------------------------- runs
@dataclass
class Run:
    """A finished run of the store with its model rebuilt and its weights loaded."""

    folder: Path
    record: dict
    model: object  # keras.Model
    layer: str | None = None  # Grad-CAM's layer; None: the last convolutional layer

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


# --------------------------------------------------------------------------- lite heads
def head_path(record: dict, heads=None) -> Path:
    """The committed head of a stored run (its ``run.json`` content ``record``):
    ``<heads>/<profile>/<arch>/<target>/<split>/head.npz``, ``heads`` by default
    :data:`HEADS` in :func:`~enhance_utils.data.paths.results_dir`."""
    root = Path(heads) if heads else paths.results_dir() / HEADS
    return store.run_dir(root, record["profile"], record["arch"], record["target"],
                         record["split"]) / HEAD_FILE


def run_id(record: dict) -> str:
    """``profile/arch/target/split`` of a run's record."""
    return "/".join(str(record[key]) for key in ("profile", "arch", "target", "split"))


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def head_arrays(head) -> dict[str, np.ndarray]:
    """The weights of a trained head (:func:`enhance_utils.learning.models.build_head`) by
    role: ``hidden/0``, ``hidden/1`` (the dense layer, when it has one), ``diagnosis/…`` and
    each annotation output's, float32."""
    import keras

    out = {}
    for layer in head.layers:
        if not isinstance(layer, keras.layers.Dense):
            continue
        role = layer.name if layer.name in head.output_names else "hidden"
        out.update({f"{role}/{i}": np.asarray(w, np.float32)
                    for i, w in enumerate(layer.get_weights())})
    return out


def save_head(head, folder, heads=None) -> Path:
    """Write the trained ``head`` of the stored run in ``folder`` (its ``run.json`` and
    ``predictions.csv``) to :func:`head_path`, with the run's id, the SHA-256 of its
    predictions and the checksum of its backbone's weights; returns the file."""
    folder = Path(folder)
    record = json.loads((folder / store.RECORD).read_text())
    path = head_path(record, heads)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, run=np.array(run_id(record)),
             predictions_sha256=np.array(_sha256(folder / store.PREDICTIONS)),
             backbone_checksum=np.array(record["features"]["weights_checksum"]),
             **head_arrays(head))
    return path


def lite_model(arrays: dict, features: tuple, image_size: int = 224):
    """The whole model of a frozen-backbone run: EfficientNet-Lite0 with its ImageNet weights
    (the 7 × 7 × 1280 map at 224 px), its global average pooling, and the head with the
    weights of ``arrays`` (:func:`head_arrays`); outputs as :func:`build_head`'s. One
    functional graph, so Grad-CAM reaches the backbone's layers."""
    import keras
    from keras import layers

    from . import efficientnet_lite

    base = efficientnet_lite.build(image_size, include_top=False, pooling=None,
                                   weights="imagenet")
    hidden = layers.GlobalAveragePooling2D(name="avg_pool")(base.output)
    names = ["hidden"] if "hidden/0" in arrays else []
    if names:
        hidden = layers.Dense(arrays["hidden/0"].shape[1], activation="relu",
                              name="hidden")(hidden)
    outputs = {multitask.DIAGNOSIS: layers.Dense(1, activation="sigmoid",
                                                 name=multitask.DIAGNOSIS)(hidden)}
    for name in (multitask.head_names(tuple(features)).values() if features else ()):
        outputs[name] = layers.Dense(1, name=name)(hidden)
    model = keras.Model(base.inputs, outputs, name="efficientnet_lite0_explained")
    for name in names + list(outputs):
        model.get_layer(name).set_weights([arrays[f"{name}/0"], arrays[f"{name}/1"]])
    model.trainable = False
    return model


def load_lite_run(folder, heads=None, root=None, check: int = 2) -> Run:
    """A stored frozen-backbone run (profile ``lite``) rebuilt from its committed head
    (:func:`head_path`) and the backbone, verified.

    Raises ``FileNotFoundError`` when the run or its head is missing, and ``ValueError`` when
    the head belongs to another run, to other predictions or to another backbone, or when the
    rebuilt model's probabilities for the first ``check`` test lesions (images of ``root``)
    differ from the stored ones by more than :data:`TOLERANCE`.
    """
    from . import features as cached
    from .gradcam import model_input

    folder = Path(folder)
    if not (folder / store.RECORD).is_file():
        raise FileNotFoundError(f"no finished run in {folder} (run.json is missing)")
    record = json.loads((folder / store.RECORD).read_text())
    path = head_path(record, heads)
    if not path.is_file():
        raise FileNotFoundError(f"no committed head for {run_id(record)} ({path}); "
                                "tools/make_explained_heads.py writes it")
    with np.load(path, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    size = int(record["settings"]["image_size"])
    checks = {"run": (str(arrays.pop("run")), run_id(record)),
              "predictions": (str(arrays.pop("predictions_sha256")),
                              _sha256(folder / store.PREDICTIONS)),
              "backbone": (str(arrays.pop("backbone_checksum")),
                           record["features"]["weights_checksum"])}
    for what, (found, wanted) in checks.items():
        if found != wanted:
            raise ValueError(f"the head {path} belongs to another {what} ({found[:16]}, the "
                             f"store's is {wanted[:16]}); rewrite it with "
                             "tools/make_explained_heads.py")
    built = cached.backbone(record["arch"], size, record["settings"]["weights"]).checksum
    if built != record["features"]["weights_checksum"]:
        raise ValueError(f"the backbone built here ({built[:16]}) is not the one the run "
                         f"{run_id(record)} was trained on")
    model = lite_model(arrays, targets.parse(record["target"]).features, size)
    run = Run(folder, record, model, LITE_LAYER)
    test = run.predictions().sort_values("lesion_id").head(check)
    if len(test):
        images = np.stack([model_input(load_lesion(i, root)[0], size) for i in test.lesion_id])
        got = model.predict(multitask.preprocess_input(record["arch"])(images), verbose=0)
        worst = float(np.max(np.abs(got[multitask.DIAGNOSIS].reshape(-1) - test.score)))
        if not worst <= TOLERANCE:
            raise ValueError(f"the model rebuilt for {run_id(record)} gives probabilities "
                             f"{worst:.1e} away from the stored ones (tolerance {TOLERANCE})")
    return run


def explained_runs(profile: str, targets, split_seed: int, arch: str | None = None,
                   results=None, side=None, heads=None, root=None) -> dict[str, Run]:
    """The runs of ``targets`` on one split of a profile, rebuilt for Grad-CAM, by the paper's
    model name: for a frozen-backbone profile (``lite``) from the committed heads
    (:func:`load_lite_run`, verified against the store), else with the weights a run kept
    (:func:`run_folders`, :func:`load_models`). Nothing is trained."""
    from ..profiles import get_profile

    settings = get_profile(profile).training
    arch = arch or settings.archs[0]
    if not settings.frozen:
        return load_models(run_folders(profile, targets, split_seed, arch, results, side))
    runs = [load_lite_run(run_folder(profile, arch, t, f"seed{split_seed}", results), heads,
                          root) for t in targets]
    return {run.name: run for run in runs}


def lesions_to_explain(test: pd.DataFrame, n: int | None, first=()) -> list[str]:
    """The test lesions of a split whose maps are computed: all when ``n`` is None, else
    ``n`` of them (at least ``first``): ``first``, then the others by id, as many abnormal
    as normal where the split allows. A sample, when a model is too slow to explain them all
    (a frozen EfficientNet-Lite0 at 224 px takes about a quarter of a second per map on two
    shared cores)."""
    first = list(first)
    if n is None or n >= len(test):
        return first + [i for i in test.lesion_id if i not in first]
    rest = test[~test.lesion_id.isin(first)].sort_values("lesion_id")
    wanted = max(n - len(first), 0)
    labels = test.set_index("lesion_id").label
    abnormal = max(n // 2 - int((labels[first] == 1).sum()), 0)
    picked = list(rest[rest.label == 1].lesion_id[:min(abnormal, wanted)])
    picked += list(rest[rest.label == 0].lesion_id[:wanted - len(picked)])
    return first + picked


def reproduction_gap(table: pd.DataFrame, runs: dict[str, Run]) -> float:
    """The largest difference between the probabilities of :func:`compare`'s ``table`` and
    those the runs stored for the same lesions."""
    stored = pd.concat([run.predictions().assign(model=name) for name, run in runs.items()])
    check = table.merge(stored, on=["lesion_id", "model"])
    return float((check.probability - check.score).abs().max())


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
    default the profile's first architecture. A frozen-backbone profile (``lite``) lacks none:
    its explained runs' heads are committed (:func:`load_lite_run`).
    """
    from ..profiles import get_profile

    if get_profile(profile).training.frozen:  # committed heads, never trained here
        return []
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
    tables, maps = compare_towards(runs, lesion_ids, (towards,), root=root, scores=scores,
                                   progress=progress)
    return tables[towards], maps[towards]


def _truth(run: Run, lesion_id: str, scores) -> float:
    """The lesion's real score of the run's single annotation (NaN: none, or a baseline)."""
    parsed = targets.parse(run.target)
    if len(parsed.features) != 1 or scores is None:
        return np.nan
    hit = scores[(scores.lesion_id == lesion_id) & (scores.source == parsed.source)
                 & (scores.feature == parsed.features[0])].score
    return float(hit.iloc[0]) if len(hit) else np.nan


def compare_towards(runs: dict[str, Run], lesion_ids, towards=("abnormal", "normal"),
                    root=None, scores: pd.DataFrame | None = None, progress: bool = False
                    ) -> tuple[dict[str, pd.DataFrame], dict[str, dict]]:
    """:func:`compare` for each class in ``towards``, from one pass per lesion and model
    (:func:`~enhance_utils.learning.gradcam.explain_classes`): the tables and the maps, by
    class."""
    from tqdm.auto import tqdm

    from .gradcam import explain_classes

    gt = datasets.isic_ground_truth(root).set_index("lesion_id").label
    rows = {side: [] for side in towards}
    maps = {side: {} for side in towards}
    for lesion_id in tqdm(list(lesion_ids), desc=f"Grad-CAM ({', '.join(towards)})",
                          unit="lesion", disable=not progress):
        image, mask = load_lesion(lesion_id, root)
        for name, run in runs.items():
            found = explain_classes(run.model, image, run.arch, layer=run.layer,
                                    towards=towards,
                                    variant=run.record["settings"].get("variant", "described"))
            truth = _truth(run, lesion_id, scores)
            for side, ex in zip(towards, found):
                maps[side][lesion_id] = (image, mask)
                maps[side][(lesion_id, name)] = ex
                rows[side].append({
                    "lesion_id": lesion_id, "label": int(gt.get(lesion_id, -1)), "model": name,
                    "target": run.target, "probability": ex.probability,
                    "predicted_annotation": ex.annotation, "true_annotation": truth,
                    "explains": ex.towards, "mass_in_lesion": mass_inside(ex.cam, mask),
                    "lesion_area": float(np.mean(mask))})
    return {side: pd.DataFrame(rows[side]) for side in towards}, maps


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

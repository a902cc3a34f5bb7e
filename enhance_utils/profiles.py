"""Run profiles: how much of the work a chapter does.

``smoke``
    for CI and a first look: every chapter runs in minutes on a laptop (2 cores, no GPU);
    training chapters use a few hundred lesions at low resolution.
``cpu``
    the whole mirror on a CPU machine; training uses small CNNs at reduced size.
``paper``
    the paper's settings (VGG16 / Inception v3 / ResNet50 at 384 px); needs a GPU.
``lite``
    the paper's model head on a frozen, ImageNet-pretrained EfficientNet-Lite0 at 224 px,
    over the paper's five splits, on a CPU machine (see :data:`LITE_HEAD`).
``lite-cv``
    the same models in a design with power: repeated stratified k-fold cross-validation
    (see :data:`CV_DESIGN`).

Chapters take ``profile`` as a papermill parameter and look their settings up here.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


#: the paper's grid: the baseline and the nine single-annotation models
ALL_TARGETS = ("baseline", "automated:A", "automated:B", "automated:C", "crowd:A", "crowd:B",
               "crowd:C", "student:A", "student:B", "student:C")
#: the paper's randomized control (chapter 8): each annotation's values replaced by uniform [0, 1)
RANDOM_TARGETS = tuple(f"random:{t}" for t in ALL_TARGETS if t != "baseline")
#: the controls this book adds: baseline replicates (baseline ensemble), permuted values,
#: and one joint A+B+C model per source
EXTRA_TARGETS = ("baseline:init1", "baseline:init2") + tuple(
    f"permuted:{t}" for t in ALL_TARGETS if t != "baseline") + (
    "automated:ABC", "crowd:ABC", "student:ABC")
FULL_GRID = ALL_TARGETS + RANDOM_TARGETS + EXTRA_TARGETS
#: smoke (CI): every kind of target, the controls and the joint model for one source only
SMOKE_GRID = ALL_TARGETS + ("baseline:init1", "baseline:init2") + tuple(
    f"{kind}:crowd:{f}" for kind in ("random", "permuted") for f in "ABC") + ("crowd:ABC",)
#: the paper's five splits (section 4.2): the seeds of its published scripts
PAPER_SEEDS = (1970, 1972, 2008, 2019, 2020)
#: how a profile splits its lesions (:attr:`Training.design`)
DESIGNS = ("paper", "kfold")
#: TensorFlow's intra- and inter-op thread pools in a training run unless a profile says
#: otherwise (:attr:`Training.threads`, :func:`enhance_utils.learning.run.pin_threads`)
TRAINING_THREADS = 2


@dataclass(frozen=True, kw_only=True)
class Training:
    """What ``enhance train`` does in a profile (chapter 06)."""

    archs: tuple[str, ...]
    targets: tuple[str, ...]
    split_seeds: tuple[int, ...]
    image_size: int
    #: lesions used (a stratified sample); None for all 2000
    n_lesions: int | None
    epochs: int
    batch_size: int
    learning_rate: float
    #: "imagenet" or None; the small CNN always starts from random weights
    weights: str | None
    #: batches per epoch; None for one pass over the training set
    steps_per_epoch: int | None = None
    #: keep each run's weights (outside git) for the explanation chapter
    keep_weights: bool = False
    #: how models are built and trained (:mod:`enhance_utils.learning.variants`)
    variant: str = "described"
    #: which epoch's predictions the tables score: "last" or "best" (validation AUC)
    selection: str = "best"
    #: the ImageNet base is frozen: its pooled features of every image and augmentation view
    #: are computed once and cached (:mod:`enhance_utils.learning.features`); runs train the
    #: head only (:func:`enhance_utils.learning.models.build_head`)
    frozen: bool = False
    #: augmented views per image in the feature cache, besides the plain image (``frozen``)
    views: int = 0
    #: the splits: "paper" (one random split per seed of ``split_seeds``, section 4.2) or
    #: "kfold" (stratified ``folds``-fold cross-validation, one repetition per seed)
    design: str = "paper"
    #: folds of one repetition of the "kfold" design
    folds: int = 5
    #: TensorFlow's thread pools in each run (:func:`enhance_utils.learning.run.pin_threads`):
    #: part of what a run's floating-point results depend on, so fixed per profile; a machine
    #: with more CPUs trains that many runs side by side
    #: (:class:`enhance_utils.learning.executors.LocalExecutor`)
    threads: int = TRAINING_THREADS

    def __post_init__(self):
        if self.design not in DESIGNS:
            raise ValueError(f"unknown split design {self.design!r}; choose from {DESIGNS}")
        if self.views and not self.frozen:
            raise ValueError("augmentation views are cached for a frozen backbone only")
        if not (isinstance(self.threads, int) and self.threads > 0):
            raise ValueError(f"a run needs a positive whole number of threads, not "
                             f"{self.threads!r}")


@dataclass(frozen=True, kw_only=True)
class Profile:
    """One profile: its name, what it is for, and what each chapter does in it."""

    name: str
    description: str
    #: how many example lesions a chapter draws in its figures
    n_examples: int
    #: lesions per dataset whose ABC scores chapter 03 recomputes (spread evenly; None: all)
    n_recompute: int | None = None
    training: Training


#: the ``lite`` profile's training: the paper's head (dense 256 ReLU, the diagnosis and the
#: annotation heads, eq. (1), balanced class weights: the ``described`` variant) on the
#: globally average-pooled features of EfficientNet-Lite0 with its ImageNet weights, frozen,
#: at 224 px; the features of every image and of ``views`` augmented views of it are cached
#: (:mod:`enhance_utils.learning.features`) and each run fits the head in seconds
#: (:func:`enhance_utils.learning.models.build_head` says why pooling, not Flatten). A run
#: uses one thread: the head's results are the same with one thread as with two (its dense
#: layers split no sum among threads; every run of the committed store, trained with two,
#: is retrained byte for byte with one: ``benchmarks/bench_lite.py --phases retrain``), and
#: a one-thread run is faster (Keras' small steps gain nothing from a second thread), while
#: the other CPUs train other runs beside it
LITE = Training(archs=("efficientnet_lite0",), targets=FULL_GRID, split_seeds=PAPER_SEEDS,
                image_size=224, n_lesions=None, epochs=20, batch_size=20, learning_rate=1e-4,
                weights="imagenet", frozen=True, views=4, variant="described",
                selection="best", threads=1)
#: the seeds of the ``lite-cv`` design's repetitions (one stratified 5-fold each)
CV_SEEDS = (1970, 1971, 1972)
#: what the paper's claims need: the baseline and two replicates (the baseline ensemble, the
#: run-to-run noise), the nine annotations (and so the three ensembles), their randomized
#: controls
CV_TARGETS = ALL_TARGETS + ("baseline:init1", "baseline:init2") + RANDOM_TARGETS
#: the ``lite-cv`` profile: the ``lite`` models in repeated stratified 5-fold cross-validation,
#: sized to two hours on two cores (:mod:`enhance_utils.learning.designs` gives the power
#: argument)
LITE_CV = replace(LITE, targets=CV_TARGETS, split_seeds=CV_SEEDS, design="kfold", folds=5)

PROFILES = {profile.name: profile for profile in (
    Profile(name="smoke", description="minutes on any laptop or CI machine; small samples",
            n_examples=2, n_recompute=40,
            training=Training(archs=("small",), targets=SMOKE_GRID, split_seeds=PAPER_SEEDS[:2],
                              image_size=64, n_lesions=300, epochs=2, batch_size=20,
                              learning_rate=1e-3, weights=None, keep_weights=True)),
    Profile(name="cpu", description="all the data on a CPU machine; small models",
            n_examples=4, n_recompute=400,
            training=Training(archs=("small",), targets=FULL_GRID, split_seeds=PAPER_SEEDS,
                              image_size=64, n_lesions=None, epochs=10, batch_size=20,
                              learning_rate=1e-3, weights=None)),
    Profile(name="paper", description="the paper's settings; a GPU machine",
            n_examples=4, n_recompute=None,
            training=Training(archs=("vgg16", "inception_v3", "resnet50"), targets=FULL_GRID,
                              split_seeds=PAPER_SEEDS, image_size=384, n_lesions=None,
                              epochs=30, batch_size=20, learning_rate=2e-5, weights="imagenet",
                              steps_per_epoch=100, keep_weights=False, variant="published",
                              selection="last")),
    Profile(name="lite", description="the paper's head on a frozen, pretrained "
            "EfficientNet-Lite0 (cached features); a CPU machine",
            n_examples=4, n_recompute=400, training=LITE),
    Profile(name="lite-cv", description="the lite models in repeated stratified 5-fold "
            "cross-validation (a design with power); a CPU machine",
            n_examples=4, n_recompute=400, training=LITE_CV),
)}


def get_profile(profile: str | Profile) -> Profile:
    """The profile called ``profile``, or ``profile`` itself when it is one; a clear error for
    an unknown name.

    The boundaries (the command line, the book build, a chapter's parameters cell) hold a
    name; the functions they call resolve it once with this and hand the :class:`Profile` on,
    so that a profile defined elsewhere (a test's, a cluster driver's) needs no registration
    where it trains.
    """
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}") from None

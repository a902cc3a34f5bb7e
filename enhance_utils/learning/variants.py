"""Training variants of chapter 06, as chapter 03 has modes: ``published`` and ``described``.

``published``
    what the ENHANCE repository's scripts did (``1_code/0_baseline.py`` and
    ``1_code/1_multi_task.py``, commit ``61b4176``): the ResNet and Inception *baselines* have
    no 256-unit dense layer (their multi-task models and the VGG16 baseline do); every
    architecture is fed pixels / 255; the multi-task models are fitted with
    ``class_weight={0: 1, 1: 3}``, which the Keras 2.3.1 that the script names dropped for a
    model with two outputs (below); the "ResNet50" is ``ResNet50V2``; the last epoch's model is
    scored.
``described``
    what the paper's text says (section 3.4, Table 6): a 256-unit dense layer under every
    head ("two fully connected layers" for the baseline, three for the multi-task model),
    balanced class weights for baseline and multi-task models alike, ResNet50; where the text
    is silent (input scaling) each ImageNet network gets its own ``preprocess_input``.

**What Keras 2 did with ``class_weight`` on a two-output model.** Keras 2.3.1,
``keras/engine/training_utils.py``, ``standardize_sample_or_class_weights``: for a model with
more than one output, a ``dict`` is looked up *by output name*
(``x_weights.append(x_weight.get(name))`` for each name in ``output_names``). The dict
``{0: 1., 1: 3.}`` has no key ``"out_class"`` or ``"out_asymm"``, so both outputs get ``None``
and ``standardize_weights`` then uses weight 1 for every sample: the published multi-task
models were trained **without** class weights, while the baselines got balanced ones.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd


@dataclass(frozen=True)
class Variant:
    """How a profile builds and trains its models."""

    name: str
    #: architectures whose *baseline* has the 256-unit dense layer under its head
    baseline_dense: tuple[str, ...]
    #: "own": each architecture's ``preprocess_input``; "unit": pixels / 255
    scaling: str
    #: class weights of the diagnosis in multi-task models: "balanced" or "none"
    multitask_class_weights: str
    #: the network behind the name ``resnet50``
    resnet50: str


ALL_ARCHS = ("vgg16", "inception_v3", "resnet50", "resnet50v2", "small", "efficientnet_lite0")

VARIANTS = {
    "published": Variant("published", ("vgg16", "small"), "unit", "none", "resnet50v2"),
    "described": Variant("described", ALL_ARCHS, "own", "balanced", "resnet50"),
}

#: what the paper's text says on each aspect of :class:`Variant`
PAPER_TEXT = {
    "baseline_dense": "two fully connected layers on the base (a 256 dense layer and the "
                      "sigmoid output), for every architecture",
    "scaling": "not stated",
    "multitask_class_weights": "balanced (Table 6)",
    "resnet50": "ResNet50",
}
ASPECTS = {
    "baseline_dense": "dense 256 layer in the baseline",
    "scaling": "input scaling",
    "multitask_class_weights": "class weights of the multi-task models",
    "resnet50": "network called ResNet50",
}


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown training variant {name!r}; choose from "
                         f"{sorted(VARIANTS)}") from None


def _describe(variant: Variant, aspect: str) -> str:
    value = getattr(variant, aspect)
    if aspect == "baseline_dense":
        paper = [a for a in ALL_ARCHS if a not in ("small", "resnet50v2", "efficientnet_lite0")]
        missing = [a for a in paper if a not in value]
        return "every architecture" if not missing else f"not for {', '.join(missing)}"
    if aspect == "scaling":
        return {"own": "each network's preprocess_input", "unit": "pixels / 255"}[value]
    if aspect == "multitask_class_weights":
        return {"balanced": "balanced", "none": "none (Keras 2 dropped {0: 1, 1: 3})"}[value]
    return {"resnet50": "ResNet50", "resnet50v2": "ResNet50V2"}[value]


def differences() -> pd.DataFrame:
    """One row per aspect: the paper's text and what each variant does (chapter 06's table)."""
    aspects = [f.name for f in fields(Variant) if f.name != "name"]
    return pd.DataFrame([{"aspect": ASPECTS[a], "paper's text": PAPER_TEXT[a],
                          **{v.name: _describe(v, a) for v in VARIANTS.values()}}
                         for a in aspects])

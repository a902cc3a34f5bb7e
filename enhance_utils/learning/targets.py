"""What a model is trained to predict besides the diagnosis (chapters 06–08).

A :class:`Target` names one training target of the grid. Its spec (command line,
``run.json``), folder in the store and model name in the tables:

- ``baseline`` → ``baseline`` → ``baseline``: the diagnosis only;
- ``baseline:init1`` → ``baseline-init1`` → ``baseline_init1``: the same with another
  initial seed (members of the baseline ensemble);
- ``crowd:A`` → ``crowd-A`` → ``crowdA``: diagnosis and the crowd's asymmetry;
- ``crowd:ABC`` → ``crowd-ABC`` → ``crowdABC_joint``: diagnosis and three heads, A, B and C
  at once;
- ``random:crowd:A`` → ``random-crowd-A`` → ``crowdA_random``: uniform [0, 1) values (the
  paper's control);
- ``permuted:crowd:A`` → ``permuted-crowd-A`` → ``crowdA_permuted``: the real values
  shuffled among the annotated lesions.

Controls keep each annotation's availability: the same lesions carry a value, only the
values change. :data:`ENSEMBLES` lists the equal-weight ensembles of chapters 07–08 with
their members, so nothing downstream parses model names back.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

SOURCES = ("automated", "crowd", "student")
FEATURES = ("A", "B", "C")
#: how a target's values are made: the annotation itself, or one of the two controls
VALUE_KINDS = ("real", "uniform", "permuted")
_PREFIX = {"uniform": "random", "permuted": "permuted"}  # spec prefixes of the controls
_SUFFIX = {"real": "", "uniform": "_random", "permuted": "_permuted"}
_SHORT = {"automated": "auto", "crowd": "crowd", "student": "stud"}
#: initialisation replicates of the baseline (the baseline ensemble)
BASELINE_REPLICATES = 3


@dataclass(frozen=True)
class Target:
    """One training target: ``source`` None for the baseline."""

    source: str | None = None
    features: tuple[str, ...] = ()
    values: str = "real"
    replicate: int = 0

    def __post_init__(self):
        if self.values not in VALUE_KINDS:
            raise ValueError(f"unknown kind of values {self.values!r}; use {VALUE_KINDS}")
        if self.source is None:
            if self.features or self.values != "real":
                raise ValueError("the baseline has no annotation")
        elif self.source not in SOURCES or not self.features or \
                any(f not in FEATURES for f in self.features):
            raise ValueError(f"unknown annotation {self.source}:{''.join(self.features)}")
        if self.replicate and self.source is not None:
            raise ValueError("only the baseline has initialisation replicates")

    # ---------------------------------------------------------------- names
    @property
    def spec(self) -> str:
        """The string form used on the command line and in ``run.json``."""
        if self.is_baseline:
            return "baseline" + (f":init{self.replicate}" if self.replicate else "")
        prefix = _PREFIX.get(self.values)
        body = f"{self.source}:{''.join(self.features)}"
        return f"{prefix}:{body}" if prefix else body

    @property
    def folder(self) -> str:
        """The run's folder name in the store (``:`` is not allowed on every file system)."""
        return self.spec.replace(":", "-")

    @property
    def model(self) -> str:
        """The paper's name of the model (``crowdA``), with the control or joint marked."""
        if self.is_baseline:
            return "baseline" + (f"_init{self.replicate}" if self.replicate else "")
        joint = "_joint" if self.is_joint else ""
        return f"{_SHORT[self.source]}{''.join(self.features)}{joint}{_SUFFIX[self.values]}"

    # ---------------------------------------------------------------- kinds
    @property
    def is_baseline(self) -> bool:
        return self.source is None

    @property
    def is_joint(self) -> bool:
        return len(self.features) > 1

    @property
    def is_control(self) -> bool:
        return self.values != "real"

    def __str__(self) -> str:
        return self.spec


def parse(spec: str | Target) -> Target:
    """The :class:`Target` of a spec string (see the module's table); a clear error otherwise."""
    if isinstance(spec, Target):
        return spec
    parts = str(spec).split(":")
    try:
        if parts[0] == "baseline":
            if len(parts) == 1:
                return Target()
            if len(parts) == 2 and parts[1].startswith("init") and parts[1][4:].isdigit():
                return Target(replicate=int(parts[1][4:]))
            raise ValueError
        values = "real"
        for kind, prefix in _PREFIX.items():
            if parts[0] == prefix:
                values, parts = kind, parts[1:]
        if len(parts) != 2 or not parts[1]:
            raise ValueError
        target = Target(parts[0], tuple(parts[1]), values)
        if target.is_joint and (target.is_control or len(set(target.features)) != 3):
            raise ValueError
        return target
    except ValueError:
        raise ValueError(
            f"unknown target {spec!r}: use baseline, baseline:initN, SOURCE:FEATURE, "
            f"SOURCE:ABC (joint), random:SOURCE:FEATURE or permuted:SOURCE:FEATURE with "
            f"SOURCE in {SOURCES} and FEATURE in {FEATURES}") from None


# --------------------------------------------------------------------------- groups
def single(values: str = "real") -> tuple[Target, ...]:
    """The nine single-annotation targets of one kind of values."""
    return tuple(Target(s, (f,), values) for s in SOURCES for f in FEATURES)


def joint() -> tuple[Target, ...]:
    """One three-headed target per source."""
    return tuple(Target(s, FEATURES) for s in SOURCES)


def baselines(replicates: int = BASELINE_REPLICATES) -> tuple[Target, ...]:
    return tuple(Target(replicate=k) for k in range(replicates))


#: named groups for the command line (``--targets real,permuted``)
GROUPS = {
    "real": lambda: (Target(),) + single(),
    "random": lambda: single("uniform"),
    "uniform": lambda: single("uniform"),
    "permuted": lambda: single("permuted"),
    "joint": joint,
    "baselines": baselines,
}


def expand(items) -> tuple[Target, ...]:
    """Targets of specs and group names, in order, without repeats; an empty list is an error."""
    out = []
    for item in items:
        group = GROUPS.get(str(item))
        out.extend(group() if group else [parse(item)])
    if not out:
        raise ValueError("no target given")
    return tuple(dict.fromkeys(out))


# --------------------------------------------------------------------------- ensembles
@dataclass(frozen=True)
class Ensemble:
    """An equal-weight average of the test scores of ``members`` (one architecture, split)."""

    name: str
    members: tuple[Target, ...]
    #: what it is compared with in the verdict tables
    kind: str  # "annotations", "baseline"
    values: str = "real"
    source: str | None = None


def _source_ensemble(source: str, values: str) -> Ensemble:
    name = f"{_SHORT[source]}ABC{_SUFFIX[values]}"
    return Ensemble(name, tuple(Target(source, (f,), values) for f in FEATURES), "annotations",
                    values, source)


#: the paper's three ensembles, their two controls each, and the baseline ensemble
ENSEMBLES: dict[str, Ensemble] = {
    e.name: e for e in
    [_source_ensemble(s, v) for v in VALUE_KINDS for s in SOURCES]
    + [Ensemble("baseline_ensemble", baselines(), "baseline")]}


def ensemble_name(source: str, values: str = "real") -> str:
    """``crowd`` → ``crowdABC``; its controls ``crowdABC_random``, ``crowdABC_permuted``."""
    return _source_ensemble(source, values).name


def model_order(model: str) -> tuple:
    """Sort key of model names in the paper's order: baseline, then per source A, B, C, the
    ensemble, the joint model; real values before the controls."""
    if model.startswith("baseline"):
        return (0, model != "baseline", model == "baseline_ensemble", model)
    values = next((v for v in ("uniform", "permuted") if model.endswith(_SUFFIX[v])), "real")
    base = model.removesuffix(_SUFFIX[values])
    joint = base.endswith("_joint")
    base = base.removesuffix("_joint")
    source = next(i for i, s in enumerate(_SHORT.values()) if base.startswith(s))
    feature = base[len(list(_SHORT.values())[source]):]
    return (1, VALUE_KINDS.index(values), source,
            ["A", "B", "C", "ABC"].index(feature) + joint, model)


# --------------------------------------------------------------------------- control values
def _seed(*parts) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def uniform_values(target: Target | str, lesion_ids) -> np.ndarray:
    """Uniform [0, 1) values, one per lesion, fixed by the target and the lesion id (the same
    in every split, on every machine)."""
    spec = parse(target).spec
    return np.array([np.random.default_rng(_seed(spec, i)).random() for i in lesion_ids])


def permuted_values(target: Target | str, values: np.ndarray, available: np.ndarray,
                    split_seed: int, part: str) -> np.ndarray:
    """The annotated values shuffled among the annotated lesions of one part of one split.

    Same availability, same values (so the same distribution and scale), but each value now
    sits on a random lesion of that part: any link to the lesion's image is broken.
    """
    out = np.array(values, dtype=float)
    where = np.flatnonzero(np.asarray(available) > 0)
    rng = np.random.default_rng(_seed(parse(target).spec, split_seed, part))
    out[where] = out[where][rng.permutation(len(where))]
    return out

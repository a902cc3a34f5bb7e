"""Training grids (chapters 06–08): every run of a profile into the experiment store.

One *run* trains one model — architecture × target (:mod:`enhance_utils.learning.targets`)
× split — and leaves a folder in the store (:mod:`enhance_utils.learning.store`: layout,
atomic writes, claims, validation); :mod:`enhance_utils.learning.run` trains it. Rerunning a
grid skips finished runs, redoes interrupted or damaged ones, and leaves runs claimed by
another live trainer alone. :mod:`enhance_utils.learning.results` reads what the store holds.
"""
from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import profiles
from ..data import paths
from . import executors, splits, store, variants
from . import targets as targets_module
from ..profiles import get_profile
from .specs import Context, RunSpec, build_context, run_dir
from .store import store_root

SOURCES = targets_module.SOURCES


class RunClaimed(RuntimeError):
    """Runs asked for by name (``enhance train --run``) that another trainer holds."""


def is_finished(root: Path, spec: RunSpec, labels=None) -> bool:
    """A complete, valid run folder exists for ``spec``: :func:`store.validate`, with the
    lesions of its split and, where given, ``labels`` (lesion_id → label) as ground truth."""
    return store.validate(run_dir(root, spec), spec.split, labels) is None


# --------------------------------------------------------------------------- the grid
def grid(profile: str | profiles.Profile, archs=None, targets=None, seeds=None,
         lesions: pd.DataFrame | None = None, kfold: bool = False) -> list[RunSpec]:
    """Every run of a profile (optionally narrowed), split by split: an interrupted grid
    leaves whole splits finished, which the paired comparisons can already use.

    The splits follow the profile's design (:attr:`enhance_utils.profiles.Training.design`):
    the paper's random splits, one per seed, or — ``kfold`` — one repetition of stratified
    k-fold per seed (:func:`splits.repeated_kfold_splits`), so an interrupted grid leaves
    whole repetitions. ``kfold=True`` (``--kfold``) takes one 5-fold instead of a
    ``paper`` design's splits.
    """
    profile = get_profile(profile)
    settings = profile.training
    chosen = targets_module.expand(targets if targets is not None else settings.targets)
    archs = _nonempty(archs if archs is not None else settings.archs, "architecture")
    unknown = [a for a in archs if a not in variants.ALL_ARCHS]
    if unknown:
        raise ValueError(f"unknown architecture(s) {unknown}; choose from {variants.ALL_ARCHS}")
    seeds = seeds if seeds is not None else settings.split_seeds
    if settings.design == "kfold":  # one repetition of k folds per seed
        split_list = splits.repeated_kfold_splits(lesions, _nonempty(seeds, "split seed"),
                                                  settings.folds)
    elif kfold:
        split_list = splits.kfold_splits(lesions)
    else:
        split_list = splits.paper_splits(lesions, _nonempty(seeds, "split seed"))
    return [RunSpec(profile.name, arch, target, split)
            for split in split_list for arch in archs for target in chosen]


def _nonempty(items, what: str):
    items = list(items)
    if not items:
        raise ValueError(f"no {what} given")
    return items


def plan(specs: list[RunSpec], root: Path, labels=None) -> dict[str, list]:
    """Sort a grid into ``done``, ``todo`` and ``damaged`` (folder, reason) runs.

    A run is done when its folder passes :func:`store.validate` with the lesions of its split
    and, where given, ``labels`` (lesion_id → label, :attr:`Context.labels`) as ground truth:
    the check that ``enhance report`` makes, so a run it refuses is never "done".
    """
    done, todo, damaged = [], [], []
    for spec in specs:
        folder = run_dir(root, spec)
        reason = store.validate(folder, spec.split, labels) if folder.exists() else "absent"
        if reason is None:
            done.append(spec)
        else:
            todo.append(spec)
            if reason != "absent":
                damaged.append((folder, reason))
    return {"done": done, "todo": todo, "damaged": damaged}


@dataclass(frozen=True)
class GridJob:
    """What every run of one grid needs, wherever it trains: the shared context, the store,
    the driver's profile and its claim token. Picklable, so that an executor
    (:mod:`enhance_utils.learning.executors`) ships it once to other processes or machines."""

    context: Context
    root: Path
    profile: profiles.Profile
    #: names this driver in its claims: an engine's retry of a run takes over its own claim
    token: str
    progress: bool = True
    keep_weights: bool | None = None
    #: TensorFlow's thread pools in every run (None: the profile's
    #: :attr:`~enhance_utils.profiles.Training.threads`)
    threads: int | None = None

    def __call__(self, spec: RunSpec) -> str:
        """Train ``spec`` under its claim: ``"trained"``, ``"busy"`` (claimed by another
        live trainer) or ``"done"`` (another trainer finished it meanwhile)."""
        claim = store.Claim.take(run_dir(self.root, spec), self.token)
        if claim is None:
            return "busy"
        with claim:
            claim.keep_alive()
            if is_finished(self.root, spec, self.context.labels):
                return "done"
            from . import run  # TensorFlow: only where a run trains

            run.train_one(spec, self.context, self.root, self.progress, claim, self.keep_weights,
                          settings=self.profile.training, threads=self.threads)
        return "trained"


def select_runs(specs: list[RunSpec], run_ids) -> list[RunSpec]:
    """The runs of ``specs`` named by ``run_ids`` (:attr:`RunSpec.run_id`), in grid order;
    a ValueError names an id the grid does not hold."""
    known = {spec.run_id: spec for spec in specs}
    unknown = [run_id for run_id in run_ids if run_id not in known]
    if unknown:
        raise ValueError(f"unknown run {unknown[0]!r}: not in this grid; `enhance train "
                         f"--list-runs` prints its missing runs as arch/target/split")
    chosen = set(run_ids)
    return [spec for spec in specs if spec.run_id in chosen]


def missing_runs(profile: str | profiles.Profile, archs=None, targets=None, seeds=None,
                 kfold: bool = False, results=None, data_root=None) -> list[RunSpec]:
    """The runs of the grid that the store does not hold (absent or damaged), in grid order:
    what ``enhance train --list-runs`` prints for a batch system's array job. Each damaged
    one's reason goes to stderr."""
    profile = get_profile(profile)
    root = store_root(results)
    context = build_context(profile.training.n_lesions, data_root)
    specs = grid(profile, archs, targets, seeds, context.lesions, kfold)
    state = plan(specs, root, context.labels)
    for _, reason in state["damaged"]:
        print(f"damaged, to redo: {reason}", file=sys.stderr, flush=True)
    return state["todo"]


def run_grid(profile: str | profiles.Profile, archs=None, targets=None, seeds=None,
             kfold: bool = False, results=None, data_root=None, progress: bool = True,
             keep_weights: bool | None = None, executor="local", address: str | None = None,
             cpus_per_run: float | None = None, runs=None,
             jobs: int | None = None) -> pd.DataFrame:
    """Train every run of the grid that the store does not hold yet; returns all runs.

    Damaged run folders are named and trained again; runs that another live trainer has
    claimed are skipped (and named, with their holder); temporary folders of dead trainers
    are removed. When ``runs`` names the runs to train, a run skipped for its claim is a
    :class:`RunClaimed` error (a batch job asked for that run, and did not train it).

    ``executor`` is ``"local"`` (this machine: ``jobs`` runs side by side, by default as many
    as its CPUs hold at the profile's threads per run, one after the other in this process
    when that is one) or ``"ray"`` (one Ray task per run, on the cluster at ``address`` or on
    one started here), or an executor object; see :mod:`enhance_utils.learning.executors`.
    ``runs`` narrows the grid to those run ids (:attr:`RunSpec.run_id`).
    """
    engine = executors.get(executor, address=address, cpus_per_run=cpus_per_run, jobs=jobs)
    profile = get_profile(profile)
    name, root = profile.name, store_root(results)
    context = build_context(profile.training.n_lesions, data_root)
    specs = grid(profile, archs, targets, seeds, context.lesions, kfold)
    if runs is not None:
        specs = select_runs(specs, runs)
    store.clean_temporaries(root, name)
    state = plan(specs, root, context.labels)
    for folder, reason in state["damaged"]:
        print(f"redoing a damaged run: {reason}", flush=True)
    print(f"{name}: {len(specs)} runs in the grid, {len(state['done'])} already in "
          f"{paths.shown(root / name)}, {len(state['todo'])} to train ({engine.name} executor)",
          flush=True)
    if profile.training.frozen and state["todo"]:  # every run reads the features extracted here
        from . import features

        seconds = features.prepare(context.lesions.path, profile.training,
                                   [spec.arch for spec in state["todo"]], progress)
        print(f"{name}: features of {len(context.lesions)} images × "
              f"{profile.training.views + 1} views ready in {seconds:.0f} s", flush=True)
    job = GridJob(context, root, profile, uuid.uuid4().hex, progress, keep_weights)
    outcomes = engine.map(job, state["todo"], progress)
    busy = [f"{spec.run_id}: claimed by {store.Claim.describe(run_dir(root, spec))}"
            for spec, outcome in zip(state["todo"], outcomes) if outcome == "busy"]
    for line in busy:
        print(f"skipped {line}", flush=True)
    print(f"{name}: trained {outcomes.count('trained')} run(s), skipped {len(busy)} claimed "
          f"by another trainer", flush=True)
    if busy and runs is not None:
        raise RunClaimed(f"nothing trained for {'; '.join(busy)}")
    from .results import load_runs

    return load_runs(name, root)


def train_with_weights(profile: str | profiles.Profile, targets, split_seed: int, results,
                       arch: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Train the runs of ``targets`` on one split of a profile into the store ``results``,
    keeping their weights (chapter 09 asks for the runs it explains that kept none, into
    :func:`enhance_utils.learning.explanations.side_store`); runs that store holds already are
    skipped.

    ``arch`` defaults to the profile's first architecture. Training is deterministic: a run
    trained again is the model whose predictions the profile's own store holds. Returns the
    runs of ``results`` (:func:`run_grid`).
    """
    profile = get_profile(profile)
    arch = arch or profile.training.archs[0]
    return run_grid(profile, archs=[arch], targets=list(targets), seeds=[split_seed],
                    results=results, progress=progress, keep_weights=True)

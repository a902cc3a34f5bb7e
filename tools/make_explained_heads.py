"""Write the committed heads of the ``lite`` runs chapter 09 explains (``results/heads/``).

Usage::

    python tools/make_explained_heads.py                      # lite, seed 1970, the chapter's runs
    python tools/make_explained_heads.py --targets baseline crowd:A --seed 1972

Each run is trained again, keeping its weights, into a temporary store from the cached
features (:mod:`enhance_utils.learning.features`; about a minute with a warm cache, seven more
to fill a cold one); its ``predictions.csv`` must equal the committed store's byte for byte, or
nothing is written. The head is then saved with its run's id, the SHA-256 of those predictions
and the checksum of the backbone's weights
(:func:`enhance_utils.learning.explanations.save_head`), which
:func:`~enhance_utils.learning.explanations.load_lite_run` checks on load.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from enhance_utils.data import paths  # noqa: E402
from enhance_utils.learning import explanations, models, store, targets, training  # noqa: E402
from enhance_utils.profiles import get_profile  # noqa: E402

#: the runs chapter 09 explains (its parameters cell)
TARGETS = ("baseline", "crowd:A", "student:C")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="lite")
    parser.add_argument("--targets", nargs="+", default=list(TARGETS))
    parser.add_argument("--seed", type=int, default=None, help="split seed (the profile's first)")
    args = parser.parse_args(argv)
    settings = get_profile(args.profile).training
    seed = args.seed or settings.split_seeds[0]
    arch = settings.archs[0]
    results = paths.results_dir()
    with tempfile.TemporaryDirectory() as temp:
        training.train_with_weights(args.profile, args.targets, seed, Path(temp), progress=False)
        for target in args.targets:
            fresh = store.run_dir(Path(temp), args.profile, arch, target, f"seed{seed}")
            kept = store.run_dir(results, args.profile, arch, target, f"seed{seed}")
            if ((fresh / store.PREDICTIONS).read_bytes()
                    != (kept / store.PREDICTIONS).read_bytes()):
                print(f"{target}: the retrained run differs from {kept}; nothing written")
                return 1
            head = models.build_head(settings_dim(fresh), targets.parse(target).features,
                                     settings.learning_rate, variant=settings.variant,
                                     network_name=arch)
            with warnings.catch_warnings():  # the file also holds the optimizer's state
                warnings.filterwarnings("ignore", message="Skipping variable loading")
                head.load_weights(fresh / explanations.WEIGHTS)
            print(f"{target}: {explanations.save_head(head, kept)}")
    return 0


def settings_dim(folder: Path) -> int:
    """The features' length of a frozen-backbone run (its record)."""
    import json

    return int(json.loads((folder / store.RECORD).read_text())["features"]["dim"])


if __name__ == "__main__":
    raise SystemExit(main())

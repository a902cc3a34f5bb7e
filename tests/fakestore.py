"""Writes small, synthetic run folders in the store's current layout (no training)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from enhance_utils.learning import store


def probability(scores) -> np.ndarray:
    """Test scores of [-3, 4] as the store keeps them, probabilities in [0, 1]: an increasing
    affine map, so ranks, AUCs and the mean of several models' scores keep their meaning."""
    return (np.asarray(scores, float) + 3) / 7


def write_run(root, target, split, ids, labels, scores, arch="small", profile="smoke",
              order=None, n_train=56, selection="best", validation=((), ()), **record_fields):
    """One finished run whose test scores are ``probability(scores)`` (best and last epoch
    alike), and validation rows of ``validation`` (ids, labels; scores 0.5) when given;
    ``record_fields`` are added to (or replace) those of its ``run.json``."""
    order = np.arange(len(ids)) if order is None else order
    scores = probability(scores)
    test = pd.DataFrame({"part": "test", "lesion_id": ids, "label": labels,
                         "score_last": scores, "score_best": scores}).iloc[order]
    rows = test
    if len(validation[0]):
        rows = pd.concat([pd.DataFrame({"part": "validation", "lesion_id": list(validation[0]),
                                        "label": list(validation[1]), "score_last": 0.5,
                                        "score_best": 0.5}), test], ignore_index=True)
    history = pd.DataFrame({"epoch": [0], "loss": [0.7], "val_auc": [0.6]})
    auc = float(roc_auc_score(test.label, test.score_best))
    record = {"profile": profile, "arch": arch, "target": target, "split": split,
              "seed": int(split.removeprefix("seed")), "auc": auc, "auc_last": auc,
              "auc_best": auc, "best_epoch": 0, "selection": selection, "n_train": n_train,
              "n_test": len(ids), "n_validation": len(validation[0]), "weights_init": "random",
              "train_seconds": 1.0, **record_fields}
    folder = store.run_dir(root, profile, arch, target, split)
    return store.write_run(folder, {
        store.PREDICTIONS: lambda p: rows.to_csv(p, index=False),
        store.HISTORY: lambda p: history.to_csv(p, index=False)}, record)

"""Writes small, synthetic run folders in the store's current layout (no training)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from enhance_utils.learning import store


def write_run(root, target, split, ids, labels, scores, arch="small", profile="smoke",
              order=None, n_train=56, selection="best"):
    """One finished run whose test scores are ``scores`` (best and last epoch alike)."""
    order = np.arange(len(ids)) if order is None else order
    test = pd.DataFrame({"part": "test", "lesion_id": ids, "label": labels,
                         "score_last": scores, "score_best": scores}).iloc[order]
    history = pd.DataFrame({"epoch": [0], "loss": [0.7], "val_auc": [0.6]})
    auc = float(roc_auc_score(test.label, test.score_best))
    record = {"profile": profile, "arch": arch, "target": target, "split": split,
              "seed": int(split.removeprefix("seed")), "auc": auc, "auc_last": auc,
              "auc_best": auc, "best_epoch": 0, "selection": selection, "n_train": n_train,
              "n_test": len(ids), "weights_init": "random", "train_seconds": 1.0}
    folder = store.run_dir(root, profile, arch, target, split)
    return store.write_run(folder, {
        store.PREDICTIONS: lambda p: test.to_csv(p, index=False),
        store.HISTORY: lambda p: history.to_csv(p, index=False)}, record)

"""Choices and defaults shared by the command line and the modules that use them.

This module imports nothing: ``enhance --help`` builds its parser from these values without
loading pandas or SciPy (see ``benchmarks/bench_cli_startup.py``). The modules that compute
with them (:mod:`~enhance_utils.data.annotations`, :mod:`~enhance_utils.stats.correlation`,
:mod:`~enhance_utils.abc.core`) import them from here.
"""
from __future__ import annotations

#: how lesions annotated by several student groups are scored: the paper's first group, or the
#: mean of the groups
STUDENT_RULES = ("first_group", "mean_of_groups")
#: bootstrap resamples per confidence interval, and the bootstrap's seed
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 1970
#: bootstrap resamples of the scorecard's correlation intervals
SCORECARD_RESAMPLES = 1000
#: the two datasets, the three features and the two modes of the automated ABC scores
DATASETS = ("isic2017", "ph2")
FEATURES = ("A", "B", "C")
ABC_MODES = ("published", "described")
#: the profile whose experiment store is committed (``results/cpu``): what a ``smoke`` book shows
#: in chapters 06–09 (:func:`enhance_utils.book.build.default_training_profile`), and what
#: ``enhance report`` and ``enhance scorecard`` read unless told otherwise
COMMITTED_STORE = "cpu"
#: the profile whose models chapter 09 explains in a build, whatever the build's profiles: the
#: committed ``lite`` store with the committed heads of its explained runs (``results/heads``;
#: :mod:`enhance_utils.learning.explanations`), so the build trains nothing for it
EXPLAINED_STORE = "lite"
#: seconds one cell of a ``smoke`` chapter may run before its kernel is taken for hung (the
#: slowest take about three minutes on two busy cores; nbclient can wait forever for the reply
#: of a cell that drives widgets, jupyter/nbclient#312): the book build
#: (:func:`enhance_utils.book.build.cell_timeout`) and ``tools/colab_check.py``
SMOKE_CELL_TIMEOUT = 600

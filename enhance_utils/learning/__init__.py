"""The deep-learning half (chapters 06–09): baseline and multi-task models, the input
pipeline, splits, training targets, the experiment store, training grids and where they run,
ensembles and the paper's tables, Grad-CAM explanations, EfficientNet-Lite0 with ImageNet weights.

Modules: :mod:`~enhance_utils.learning.models`, :mod:`~enhance_utils.learning.variants`,
:mod:`~enhance_utils.learning.pipeline`, :mod:`~enhance_utils.learning.splits`,
:mod:`~enhance_utils.learning.targets`, :mod:`~enhance_utils.learning.store`,
:mod:`~enhance_utils.learning.training`, :mod:`~enhance_utils.learning.run`,
:mod:`~enhance_utils.learning.results`, :mod:`~enhance_utils.learning.executors`,
:mod:`~enhance_utils.learning.ensembles`, :mod:`~enhance_utils.learning.verdicts`,
:mod:`~enhance_utils.learning.gradcam`, :mod:`~enhance_utils.learning.explanations`,
:mod:`~enhance_utils.learning.efficientnet_lite`.
TensorFlow is imported only by the functions that build, train or read models.
"""

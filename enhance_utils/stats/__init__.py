"""The statistics of the analysis: correlation of the ABC scores with the diagnosis (chapter
04), agreement between and within annotation sources (05), paired comparisons of two models on
the same splits and the smallest difference a design detects (07–08).

Modules: :mod:`~enhance_utils.stats.bootstrap`, :mod:`~enhance_utils.stats.correlation`,
:mod:`~enhance_utils.stats.agreement`, :mod:`~enhance_utils.stats.paired`,
:mod:`~enhance_utils.stats.power`.
"""

"""The data: remote files and their registry, local paths, the two image datasets (ISIC 2017,
PH2), the ENHANCE annotations, what each chapter reads, and the paper's published numbers.

Modules: :mod:`~enhance_utils.data.paths`, :mod:`~enhance_utils.data.registry`,
:mod:`~enhance_utils.data.fetch`,
:mod:`~enhance_utils.data.datasets`, :mod:`~enhance_utils.data.annotations`,
:mod:`~enhance_utils.data.chapter_data`, :mod:`~enhance_utils.data.paper`.
"""

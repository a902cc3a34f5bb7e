"""The data: remote files and their registry, local paths, the two image datasets (ISIC 2017,
PH2), the ENHANCE annotations and the paper's published numbers. What each chapter reads is
the book's (:mod:`enhance_utils.book.chapter_data`): the data know no chapter.

Modules: :mod:`~enhance_utils.data.paths`, :mod:`~enhance_utils.data.registry`,
:mod:`~enhance_utils.data.fetch`,
:mod:`~enhance_utils.data.datasets`, :mod:`~enhance_utils.data.annotations`,
:mod:`~enhance_utils.data.paper`.
"""

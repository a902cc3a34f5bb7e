"""The book around the analysis: the chapter manifest and what each chapter reads, the build
(papermill + Jupyter Book), numbers glued into prose, the reproducibility scorecard, the
teaching page, the live and student editions (and the MyST they rewrite), the repository's
address and launch buttons, Colab, and the figures and explorers the chapters share.

Modules: :mod:`~enhance_utils.book.manifest`, :mod:`~enhance_utils.book.chapter_data`,
:mod:`~enhance_utils.book.build`,
:mod:`~enhance_utils.book.prose`, :mod:`~enhance_utils.book.prose_training`,
:mod:`~enhance_utils.book.scorecard`, :mod:`~enhance_utils.book.teaching`,
:mod:`~enhance_utils.book.student`, :mod:`~enhance_utils.book.editions`,
:mod:`~enhance_utils.book.myst`, :mod:`~enhance_utils.book.repository`,
:mod:`~enhance_utils.book.launch`, :mod:`~enhance_utils.book.colab`,
:mod:`~enhance_utils.book.figures`, :mod:`~enhance_utils.book.explorers`.
"""

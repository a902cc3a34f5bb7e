"""The chapters of the book: one record per chapter, the one place their facts are written.

Data, not logic. The data lists (:mod:`enhance_utils.book.chapter_data`), the build's parameters
(:func:`enhance_utils.book.build.chapter_parameters`), every chapter's setup cell
(``tools/setup_cells.py``) and the chapter tables of the README, the intro page and the page
*About this book* (``tools/generate_tables.py``) are derived from :data:`CHAPTERS`; the order
is the book's (``book/_toc.yml``, checked by the tests).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True, kw_only=True)
class Chapter:
    """One chapter of the book (a notebook ``chapters/<stem>.ipynb``)."""

    #: notebook file name without ``.ipynb``
    stem: str
    #: the chapter's title, as in the book's navigation
    title: str
    #: the part of the paper it reruns
    section: str
    #: the package modules it calls (for the chapter tables)
    modules: tuple[str, ...]
    #: the test files of those modules
    tests: tuple[str, ...]
    #: which ISIC files it reads besides the tables, a key of ``chapter_data.NEEDS``:
    #: ``tables`` (none), ``examples``, ``abc``, ``training`` or ``explained``
    data: str
    #: its parameters that change what it reads (passed on to the data check)
    data_parameters: tuple[str, ...] = ()
    #: whether it has a ``progress`` parameter (on by hand, off in the build)
    progress: bool = False
    #: whether it shows explorers, and so has a ``static_views`` parameter (off by hand, on in
    #: the build, whose pages have no kernel: see :mod:`enhance_utils.book.explorers`)
    explorer: bool = False
    #: whether it trains or reads the experiment store (run in the build's training profile)
    training: bool = False
    #: whether, shown from another profile's store, it still trains the few runs it needs
    #: (into a cached side store); the others then get ``train=False``
    trains_when_shown: bool = False
    #: measured seconds to run, once the data is there (``book.build``, 2 shared cores):
    #: ``smoke`` with an empty store and ABC cache, ``smoke`` with both filled, ``cpu`` with the
    #: committed ``cpu`` store and an empty ABC cache (see :data:`TIMINGS`)
    seconds: tuple[int, int, int]


#: what the three numbers of :attr:`Chapter.seconds` measured
TIMINGS = ("`smoke`, first run (trains, recomputes)", "`smoke`, store and caches filled",
           "`cpu`, with the committed `cpu` store")
#: the profile of each number of :attr:`Chapter.seconds`, and how it ran (:data:`TIMINGS` in
#: short, for ``enhance chapters``)
TIMING_RUNS = (("smoke", "first run"), ("smoke", "caches filled"),
               ("cpu", "first run, committed store"))

CHAPTERS = (
    Chapter(stem="01_datasets", title="Datasets", section="section 3.1, Table 1, Fig. 1",
            modules=("data.datasets",), tests=("test_datasets.py",), data="examples",
            explorer=True, seconds=(6, 5, 8)),
    Chapter(stem="02_annotations", title="Annotations",
            section="section 3.2, Table 2, Figs. 3–4", modules=("data.annotations",),
            tests=("test_annotations.py",), data="tables", seconds=(11, 8, 10)),
    Chapter(stem="03_automated_abc", title="Automated ABC annotations",
            section="Appendix C, Fig. 7", modules=("abc",), tests=("test_abc_*.py",),
            data="abc", data_parameters=("n_recompute",), progress=True,
            explorer=True, seconds=(38, 12, 157)),
    Chapter(stem="04_correlation", title="Correlation with the diagnosis",
            section="section 5.1, Table 3",
            modules=("stats.correlation", "stats.bootstrap"),
            tests=("test_correlation.py", "test_bootstrap.py"), data="tables", progress=True,
            explorer=True, seconds=(9, 8, 8)),
    Chapter(stem="05_agreement", title="Agreement between and within sources",
            section="section 5.2, Fig. 5", modules=("stats.agreement",),
            tests=("test_agreement.py",), data="tables", progress=True, seconds=(9, 7, 7)),
    Chapter(stem="06_multitask", title="Multi-task learning",
            section="section 4.2, Fig. 6, Table 5",
            modules=("learning.models", "learning.splits", "learning.pipeline",
                     "learning.training", "learning.results"),
            tests=("test_models.py", "test_splits.py", "test_pipeline.py", "test_training.py"),
            data="training", progress=True, training=True, seconds=(102, 12, 10)),
    Chapter(stem="07_ensembles", title="Ensembles", section="section 5.3, Table 5",
            modules=("learning.ensembles", "learning.verdicts", "stats.paired"),
            tests=("test_ensembles.py", "test_paired.py"),
            data="training", progress=True, training=True, explorer=True, seconds=(12, 5, 10)),
    Chapter(stem="08_randomized", title="The randomized control", section="section 5.3, Table 4",
            modules=("learning.ensembles", "learning.verdicts", "stats.paired"),
            tests=("test_ensembles.py", "test_paired.py"),
            data="training", progress=True, training=True, seconds=(92, 10, 13)),
    Chapter(stem="09_explanations", title="Explanations (Grad-CAM)",
            section="section 6.3, future work",
            modules=("learning.explanations", "learning.gradcam"),
            tests=("test_explanations.py",), data="explained", progress=True, training=True,
            trains_when_shown=True, explorer=True, seconds=(64, 89, 89)),
)

#: the chapters by stem
BY_STEM = {chapter.stem: chapter for chapter in CHAPTERS}


def measured_seconds(stem: str, profile: str) -> list[tuple[str, int]]:
    """The measured seconds of chapter ``stem`` in ``profile`` (:attr:`Chapter.seconds`), each
    with how it ran (:data:`TIMING_RUNS`); empty for a profile never measured (``paper``)."""
    runs = zip(TIMING_RUNS, BY_STEM[stem].seconds, strict=True)
    return [(how, seconds) for (measured, how), seconds in runs if measured == profile]


def chapter_stem(name) -> str:
    """The stem of the chapter ``name`` names: its stem (``03_automated_abc``), its number
    (``03`` or ``3``) or its notebook's file name or path (``chapters/03_automated_abc.ipynb``);
    the one parser of chapter names (``enhance fetch --chapter``, ``enhance book --only``,
    ``dev.py lab``). A ValueError names the chapters when ``name`` names none."""
    stem = PurePath(str(name)).name.removesuffix(".ipynb")
    if stem.isdigit():
        stem = f"{int(stem):02d}"
    found = [c.stem for c in CHAPTERS if stem in (c.stem, c.stem.split("_", 1)[0])]
    if len(found) != 1:
        raise ValueError(f"no chapter {str(name)!r}; the chapters are "
                         f"{', '.join(BY_STEM)} (or their numbers, e.g. 03)")
    return found[0]

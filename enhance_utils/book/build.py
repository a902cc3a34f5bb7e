"""Build the book: execute the chapters with papermill, then render them with Jupyter Book.

Every chapter listed in ``book/_toc.yml`` is executed once, headless, with its ``profile``
parameter, into ``_build/book-src``; Jupyter Book then renders those executed copies (its own
execution is off). A failing cell stops the build with the chapter's name.

Executed chapters are kept in ``_build/executed`` under a key made of the notebook, the
profile, the package's source, the data (paths, sizes and times of its files) and the
experiment store of the *other* profiles (a chapter shows committed ``cpu`` results next to
the ones it trains); a rebuild in which none of these changed executes no notebook.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat
import papermill
import yaml

from ..data import paths as config, registry
from ..options import COMMITTED_STORE, EXPLAINED_STORE, SMOKE_CELL_TIMEOUT
from . import manifest, student, teaching
from ..profiles import get_profile

KERNEL = "python3"
#: page of the execution times of a build, included by the intro
RUN_TIMES = "run_times.md"
#: page with the book's version and licences, included by the intro
VERSION_PAGE = "version.md"


class ChapterFailed(RuntimeError):
    """A chapter raised while it was executed."""


def chapters(project: Path) -> list[Path]:
    """The notebooks of the table of contents, in order."""
    toc = yaml.safe_load((project / "book" / "_toc.yml").read_text())
    files = [entry["file"] for part in toc.get("parts", []) for entry in part.get("chapters", [])]
    return [project / f"{name}.ipynb" for name in files if (project / f"{name}.ipynb").is_file()]


#: the chapters that train models or read the experiment store (chapters 06–09)
TRAINING_CHAPTERS = tuple(c.stem for c in manifest.CHAPTERS if c.training)
#: the chapters with a ``progress`` parameter (progress bars in their long steps: ABC
#: recomputation, bootstraps, training, Grad-CAM), on when a person runs a chapter and off in
#: the build
PROGRESS_CHAPTERS = tuple(c.stem for c in manifest.CHAPTERS if c.progress)
#: the chapters with explorers: their ``static_views`` parameter (off when a person runs a
#: chapter) is on in the build, whose pages have no kernel (see :mod:`enhance_utils.book.explorers`)
EXPLORER_CHAPTERS = tuple(c.stem for c in manifest.CHAPTERS if c.explorer)


def default_training_profile(profile: str) -> str:
    """The profile of chapters 06–09 when a build names none: the committed ``cpu`` store
    (:data:`enhance_utils.options.COMMITTED_STORE`) for a ``smoke`` book (what the README's
    first command and the published site show), else ``profile`` itself."""
    return COMMITTED_STORE if profile == "smoke" else profile


#: the chapter that explains stored models (:data:`~enhance_utils.options.EXPLAINED_STORE`)
EXPLANATIONS_CHAPTER = "09_explanations"


def chapter_parameters(stem: str, profile: str, training: str | None = None,
                       data_dir: str | None = None) -> dict:
    """The papermill parameters of one chapter in a build.

    Chapters 06–09 run in the ``training`` profile (default: ``profile``). When that differs
    from the build's profile — the README's first command renders the analysis in ``smoke``
    and the deep-learning chapters from the committed ``cpu`` store — chapters 06–08 train
    nothing and show what the store holds (naming missing runs). Chapter 09
    (:data:`EXPLANATIONS_CHAPTER`) always explains the committed
    :data:`~enhance_utils.options.EXPLAINED_STORE` (``lite``: the heads of the runs it explains
    are committed, nothing is trained), whatever the build's profiles; run by hand with a
    small-CNN profile it trains those runs into a cached side store. The chapters of
    :data:`PROGRESS_CHAPTERS`
    get ``progress=False``: no progress bars in the book; those of :data:`EXPLORER_CHAPTERS`
    get ``static_views=True``: the explorers also draw their first view as plain output, what
    a page without kernel shows. ``data_dir`` (the build's data folder, relative to the
    chapters' folder) is passed on as the chapter's parameter of that name.
    """
    chapter = {"progress": False} if stem in PROGRESS_CHAPTERS else {}
    if stem == EXPLANATIONS_CHAPTER:  # the pretrained models of the committed lite store
        training = profile = EXPLAINED_STORE
    if stem in EXPLORER_CHAPTERS:
        chapter["static_views"] = True
    if data_dir is not None and stem in manifest.BY_STEM:
        chapter["data_dir"] = str(data_dir)
    if stem not in TRAINING_CHAPTERS or training in (None, profile):
        return {"profile": profile, **chapter}
    parameters = {"profile": training, **chapter}
    if not manifest.BY_STEM[stem].trains_when_shown:
        parameters["train"] = False
    return parameters


#: the tag papermill gives the cell of the parameters it injects, and the tags the build adds to
#: it: myst-nb leaves the cell out of the page (it holds the builder's own data path)
INJECTED_TAG = "injected-parameters"
HIDDEN_TAGS = ("remove-cell",)


def kernel_config(sockets: Path):
    """The configuration of a chapter's kernel: IPC transport on POSIX, as ipykernel asks for
    local kernels (over TCP it warns "Kernel is running over TCP without encryption" on every
    chapter), its sockets in the folder ``sockets`` of its own (jupyter_client numbers them
    from files it finds, which two kernels starting in one folder at once would share);
    Windows has no IPC sockets and keeps TCP."""
    from traitlets.config import Config

    if os.name != "posix":
        return Config({})
    return Config({"KernelManager": {"transport": "ipc", "ip": str(sockets / "kernel")}})


def cell_timeout(parameters: dict, env=os.environ) -> int | None:
    """The seconds a cell of a chapter run with ``parameters`` may take: ``ENHANCE_CELL_TIMEOUT``
    (0: no limit), else :data:`~enhance_utils.options.SMOKE_CELL_TIMEOUT` for the ``smoke``
    profile, else None (the other profiles train for hours in a cell)."""
    if env.get("ENHANCE_CELL_TIMEOUT"):
        if not env["ENHANCE_CELL_TIMEOUT"].isdigit():
            raise ValueError(f"ENHANCE_CELL_TIMEOUT must be whole seconds (0: no limit), not "
                             f"{env['ENHANCE_CELL_TIMEOUT']!r}")
        return int(env["ENHANCE_CELL_TIMEOUT"]) or None
    return SMOKE_CELL_TIMEOUT if parameters.get("profile") == "smoke" else None


def execute_chapter(notebook: Path, output: Path, profile: str | dict, cwd: Path) -> float:
    """Execute one chapter with papermill (``profile``: a profile name, or the chapter's whole
    parameters) in a local kernel (:func:`kernel_config`); returns the seconds it took.

    A cell that runs past :func:`cell_timeout` is taken for a hung client: nbclient can miss
    the reply of a cell that drives widgets and wait for it forever while the kernel sits idle
    (jupyter/nbclient#312; seen here once, on two loaded cores, in chapter 01's explorer).
    The chapter then runs once more in a new kernel, saying so; a second time out fails it.

    The explorers' widget state is not kept: the page then loads no widget library, so it
    shows each explorer's static view and no control that would do nothing without a kernel.
    The injected parameters' cell is left out of the page (:func:`hide_injected_parameters`).
    """
    from nbclient.exceptions import CellTimeoutError

    output.parent.mkdir(parents=True, exist_ok=True)
    parameters = profile if isinstance(profile, dict) else {"profile": profile}
    timeout = cell_timeout(parameters)
    start = time.perf_counter()
    for attempt in (1, 2):
        try:
            _papermill(notebook, output, parameters, cwd, timeout)
            break
        except papermill.PapermillExecutionError as err:
            raise ChapterFailed(f"chapter {notebook.name} failed in cell {err.exec_count}: "
                                f"{err.ename}: {err.evalue} (executed copy: {output})") from err
        except CellTimeoutError as err:
            if attempt == 2:
                raise ChapterFailed(f"chapter {notebook.name}: a cell ran past {timeout} s "
                                    f"twice (ENHANCE_CELL_TIMEOUT sets the limit)") from err
            print(f"chapter {notebook.name}: a cell ran past {timeout} s, taken for a hung "
                  f"kernel client; executing the chapter again in a new kernel", flush=True)
    drop_widget_state(output)
    hide_injected_parameters(output)
    return time.perf_counter() - start


def _papermill(notebook: Path, output: Path, parameters: dict, cwd: Path,
               timeout: int | None) -> None:
    with tempfile.TemporaryDirectory(prefix="enhance-kernel-") as sockets:
        papermill.execute_notebook(str(notebook), str(output), parameters=parameters,
                                   kernel_name=KERNEL, cwd=str(cwd), progress_bar=False,
                                   execution_timeout=timeout, config=kernel_config(Path(sockets)))


def drop_widget_state(notebook: Path) -> None:
    """Remove the widget state an execution saved in ``notebook`` (nbclient needs it while it
    runs output widgets, so it is dropped afterwards)."""
    nb = nbformat.read(notebook, as_version=4)
    if nb.metadata.pop("widgets", None) is not None:
        nbformat.write(nb, notebook)


def hide_injected_parameters(notebook: Path) -> None:
    """Tag the cell of parameters papermill injected into ``notebook`` (:data:`INJECTED_TAG`)
    with :data:`HIDDEN_TAGS`, so that the page does not show it: it names the builder's data
    folder (``data_dir``); the chapter's own ``parameters`` cell stays, and the profile each
    chapter ran in is on the intro's table of run times."""
    nb = nbformat.read(notebook, as_version=4)
    injected = [c for c in nb.cells if INJECTED_TAG in c.metadata.get("tags", [])]
    for cell in injected:
        tags = cell.metadata.setdefault("tags", [])
        tags.extend(t for t in HIDDEN_TAGS if t not in tags)
    if injected:
        nbformat.write(nb, notebook)


def _stat_fingerprint(folder: Path, digest) -> None:
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        info = path.stat()
        digest.update(f"{path.relative_to(folder)}|{info.st_size}|{info.st_mtime_ns}\n".encode())


def _content_fingerprint(paths, digest) -> None:
    for path in sorted(paths):
        digest.update(path.name.encode() + path.read_bytes())


def inputs_fingerprint(profile: str, data_root: Path, store: Path | None = None) -> str:
    """What every chapter of a build depends on besides its own notebook (``store``: the
    experiment store, by default :func:`enhance_utils.data.paths.results_dir`)."""
    digest = hashlib.sha256(profile.encode())
    package = config.PACKAGE_DIR
    _content_fingerprint([p for p in package.rglob("*") if p.suffix in {".py", ".csv"}], digest)
    _stat_fingerprint(Path(data_root), digest)
    results = Path(store) if store is not None else config.results_dir()
    for other in sorted(p for p in results.glob("*") if p.is_dir() and p.name != profile):
        _stat_fingerprint(other, digest)
    return digest.hexdigest()


def chapter_key(notebook: Path, inputs: str) -> str:
    return hashlib.sha256(inputs.encode() + notebook.read_bytes()).hexdigest()[:20]


def _assemble_sources(project: Path, src: Path) -> None:
    """Copy the book's configuration and non-notebook pages next to the executed chapters."""
    for item in (project / "book").iterdir():
        target = src / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)


def ensure_data(profile: str, notebooks: list[Path], training: str | None = None,
                workspace: config.Workspace | None = None) -> Path:
    """Check the ``workspace``'s data tree, or download what the chapters read; the data root.

    With a named data tree (``ENHANCE_DATA_DIR``) its files are checked against the registry.
    Otherwise only the files that the chapters read in ``profile`` are downloaded
    (:func:`enhance_utils.book.chapter_data.ensure`), not the whole archives. The build hands the
    root to every chapter as its ``data_dir`` parameter (:func:`chapter_parameters`).
    """
    from . import chapter_data

    workspace = workspace or config.resolve()
    if workspace.external:
        root = workspace.data
        bad = [r for r in registry.verify(root) if r["status"] != "ok"]
        for row in bad:
            print(f"warning: {row['path']}: {row['status']} {row['detail']}", flush=True)
        return root
    root = workspace.downloads
    for notebook in notebooks:
        chapter_profile = chapter_parameters(notebook.stem, profile, training)["profile"]
        root = chapter_data.ensure(notebook.stem, chapter_profile, workspace=workspace)
    return root


def build(profile: str = "smoke", project: Path | None = None, out: Path | None = None,
          only: list[str] | None = None, training: str | None = None,
          solutions: bool = True, workers: int | None = None) -> Path:
    """Execute every chapter and render the HTML; returns the folder with ``index.html``.

    Parameters
    ----------
    profile : str
        ``smoke``, ``cpu`` or ``paper`` (see :mod:`enhance_utils.profiles`).
    project : Path
        The source checkout (default: the one this package runs from).
    out : Path
        Build folder (default ``<project>/_build``).
    only : list of str
        Chapter file stems to execute (others are skipped); all by default.
    training : str
        Profile of the deep-learning chapters 06–09 (default: ``profile``); see
        :func:`chapter_parameters`.
    solutions : bool
        ``False`` for a graded course: no solution on any page
        (:func:`enhance_utils.book.teaching.without_solutions`).
    workers : int
        Chapters executed at once (default: :func:`default_workers`); see
        :func:`execute_chapters`.
    """
    get_profile(profile)
    training = training or profile
    get_profile(training)
    project = Path(project or config.project_dir() or Path.cwd()).resolve()
    notebooks = [n for n in chapters(project) if not only or n.stem in only]
    workspace = config.resolve()
    data_root = ensure_data(profile, notebooks, training, workspace)
    out = Path(out or project / "_build").resolve()
    src, cache = out / "book-src", out / "executed"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    cache.mkdir(parents=True, exist_ok=True)
    _assemble_sources(project, src)
    inputs = inputs_fingerprint(profile, data_root, workspace.store) + training
    jobs = []
    for notebook in notebooks:
        job = ChapterJob(notebook, src / notebook.relative_to(project),
                         cache / f"{notebook.stem}-{chapter_key(notebook, inputs)}.ipynb",
                         chapter_parameters(notebook.stem, profile, training,
                                            os.path.relpath(data_root, notebook.parent)))
        if job.kept.is_file():
            job.reuse(project)
        else:
            jobs.append(job)
    execute_chapters(jobs, project, workers)
    executed = [src / n.relative_to(project) for n in notebooks]
    (src / RUN_TIMES).write_text(run_times_table(executed, profile, data_root, training))
    write_scorecard(src, cache, profile, inputs)
    (src / VERSION_PAGE).write_text(version_note())
    student.write_editions(executed, notebooks, src,
                           yaml.safe_load((src / "_config.yml").read_text()))
    if not solutions:
        teaching.without_solutions(src, executed)
    page = teaching.chapters_page(notebooks, executed, profile, data_root)
    (src / teaching.PAGE).write_text(page)
    render(src)
    return src / "_build" / "html"



@dataclass(frozen=True)
class ChapterJob:
    """One chapter of a build: its source, its executed copy on the page, the copy kept in the
    build's cache (named by :func:`chapter_key`) and its papermill parameters."""

    notebook: Path
    target: Path
    kept: Path
    parameters: dict

    def reuse(self, project: Path) -> None:
        """Copy the kept execution onto the page: nothing the chapter depends on changed."""
        self.target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.kept, self.target)
        print(f"reused {self.notebook.relative_to(project)} ({self.parameters['profile']}): "
              "nothing it depends on changed", flush=True)

    def execute(self) -> float:
        """Execute the chapter and keep its copy (replacing the kept copies of older inputs);
        the seconds it took."""
        seconds = execute_chapter(self.notebook, self.target, self.parameters,
                                  cwd=self.notebook.parent)
        for stale in self.kept.parent.glob(f"{self.notebook.stem}-*.ipynb"):
            stale.unlink()
        shutil.copy2(self.target, self.kept)
        return seconds

    def executed(self, project: Path, seconds: float) -> None:
        print(f"executed {self.notebook.relative_to(project)} ({self.parameters['profile']}) "
              f"in {seconds:.1f} s", flush=True)


def default_workers() -> int:
    """Chapters executed at once: ``ENHANCE_BOOK_WORKERS``, else two where the machine has two
    cores or more (each chapter's kernel is one process, mostly on one core)."""
    return int(os.environ.get("ENHANCE_BOOK_WORKERS") or min(2, os.cpu_count() or 1))


def execute_chapters(jobs: list[ChapterJob], project: Path, workers: int | None = None) -> None:
    """Execute the chapters, ``workers`` at once, the last chapters first (the deep-learning
    chapters take longest: chapter 09 retrains, 06–08 read stores), so that two workers end
    together; chapters are independent notebooks whose shared files (ABC cache, side store)
    are written atomically. Each worker is a process of its own (papermill's kernel clients
    are not thread-safe). The first failure stops the build with its :class:`ChapterFailed`
    (chapters not started are cancelled)."""
    ordered = sorted(jobs, key=lambda job: job.notebook.stem, reverse=True)
    workers = max(1, workers or default_workers())
    if workers == 1:
        for job in ordered:
            job.executed(project, job.execute())
        return
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(job.execute): job for job in ordered}
        try:
            for future in as_completed(futures):
                futures[future].executed(project, future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def write_scorecard(src: Path, cache: Path, profile: str, inputs: str) -> None:
    """The scorecard page, its CSV and the intro's verdict counts
    (:func:`enhance_utils.book.scorecard.write_page`), computed once per set of inputs."""
    from . import scorecard

    for stale in cache.glob("scorecard-*.csv"):
        if stale.name != f"scorecard-{inputs[:20]}.csv":
            stale.unlink()
    scorecard.write_page(src, profile, cached=cache / f"scorecard-{inputs[:20]}.csv")


def run_times_table(executed: list[Path], profile: str, data_root: Path,
                    training: str | None = None) -> str:
    """A Markdown table of the executed chapters: the profile each ran in, papermill's
    recorded duration and the ISIC files it reads (the intro page includes it as
    :data:`RUN_TIMES`)."""
    from . import chapter_data

    lines = ["| chapter | profile | seconds to run | ISIC images | ISIC masks |",
             "|---|---|---|---|---|"]
    for path in executed:
        duration = json.loads(path.read_text())["metadata"].get("papermill", {}).get("duration")
        seconds = f"{duration:.0f}" if duration is not None else "not recorded"
        images = masks = "no list"  # a page that is not one of chapter_data.CHAPTERS
        chapter_profile = chapter_parameters(path.stem, profile, training)["profile"]
        if path.stem in chapter_data.CHAPTERS:
            needs = chapter_data.needs(path.stem, chapter_profile, data_root)
            images, masks = needs.n_images, needs.n_masks
        lines.append(f"| {path.stem} | `{chapter_profile}` | {seconds} | {images} | {masks} |")
    return "\n".join(lines) + "\n"


def version_note() -> str:
    """The intro's line on this build's version (:data:`enhance_utils.__version__`)."""
    from ..version import __version__

    return (f"Version **{__version__}** of the book (`enhance_utils` {__version__}). Code: MIT "
            "licence; text and figures: CC BY 4.0 (`LICENSE`, `LICENSE-text.md`); to cite it, "
            "see `CITATION.cff`. A course can pin a release: see the teaching page.\n")


def render(src: Path, strict: bool | None = None) -> None:
    """Run ``jupyter-book build`` on an assembled source folder.

    With ``strict`` (by default when ``ENHANCE_STRICT_BUILD=1``) every Sphinx warning is an
    error (``-W``): a broken reference, a missing label or an unknown directive fails the
    build. The accepted exceptions are the ``suppress_warnings`` of ``book/_config.yml``, each
    with its reason. Otherwise warnings are shown, not fatal.
    """
    if strict is None:
        strict = os.environ.get("ENHANCE_STRICT_BUILD") == "1"
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    script = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(script) if script.exists() else "jupyter-book", "build", "--keep-going",
           *(["-W"] if strict else []), str(src)]
    subprocess.run(cmd, check=True, env=env)

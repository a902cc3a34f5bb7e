"""Executors: where the runs of a training grid train.

:func:`enhance_utils.learning.training.run_grid` (and ``enhance train --executor``) hands the
missing runs of a grid to an executor, with a :class:`~enhance_utils.learning.training.GridJob`
that trains one run under its claim and writes it into the store:

``local`` (the default)
    the runs on this machine: one after the other in this process when one run takes the
    CPUs it may use, else that many side by side, each in a worker process of its own
    (:class:`LocalExecutor`: a profile's run uses
    :attr:`~enhance_utils.profiles.Training.threads` threads, so on two CPUs the ``lite``
    profile's one-thread runs train two at a time, the small CNN's two-thread runs one).
``ray``
    one `Ray <https://docs.ray.io>`_ task per run on a Ray cluster: the cluster at
    ``address`` (``ray start --head`` on one machine, ``ray start --address=…`` on the others,
    or a SLURM allocation), or a one-machine cluster started here and stopped at the end. A
    task asks for one GPU where the cluster has GPUs, else :attr:`RayExecutor.cpus_per_run`
    CPUs. Every run pins TensorFlow's thread pools at the same size wherever it trains
    (its profile's :attr:`~enhance_utils.profiles.Training.threads`), so a task gives the local
    executor's bytes on any node with the same kind of CPU;
    :attr:`RayExecutor.threads_per_run` pins another size, which changes the floating-point
    results.
    Ray retries a task whose worker or node died (:attr:`RayExecutor.max_retries`); the
    retry takes over the dead attempt's claim (same driver token, see
    :class:`enhance_utils.learning.store.Claim`) and the dead attempt never left a visible run
    folder (writes are atomic renames). The store and the data must be on storage that every node
    sees at the same path, and every node needs this package (``pip install
    enhance-utils[cluster]``).

Ray is an optional extra (``cluster``) imported only by the ``ray`` executor.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import warnings

from tqdm.auto import tqdm

#: the executors :func:`get` knows
NAMES = ("local", "ray")
#: environment of the Ray workers of a cluster started here, handed to Ray with the job
#: (``ray.init(runtime_env={"env_vars": ...})``, :func:`connect`); this process's environment
#: is not changed. A cluster started by ``ray.init`` sends no usage report (Ray turns it off
#: there; ``ray start --disable-usage-stats`` on a cluster of your own), and with
#: ``log_to_driver=False`` no worker log reaches this process to be deduplicated.
RAY_WORKER_ENV = {
    "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0",  # Ray's future default, chosen now
}
#: Ray settings that only the driver's environment carries (Ray reads them when it is
#: imported); the command line sets them (:func:`driver_settings`), unless already set
RAY_DRIVER_ENV = {
    "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",  # workers use this interpreter, never `uv run`
}
#: seconds that cancelled tasks get to release their claims when the driver is interrupted
CANCEL_WAIT = 30


@dataclasses.dataclass
class LocalExecutor:
    """The runs on this machine, ``jobs`` at a time, with one progress bar for the grid.

    One job: every run in this process, one after the other. More: a pool of that many
    worker processes (:class:`concurrent.futures.ProcessPoolExecutor`, started with
    ``spawn``), each training one run at a time in the workspace of this process
    (:func:`enhance_utils.data.paths.current`); a run gives the same bytes in a worker as
    here, since it pins its own thread pools. The first failed run, Ctrl-C or SIGTERM cancels
    the runs not yet started and raises; the runs already training finish and are stored
    first (the workers ignore Ctrl-C), so an interrupted grid loses no work.
    """

    #: runs side by side; None: as many as this process's CPUs hold at the profile's threads
    #: per run (:func:`default_jobs`)
    jobs: int | None = None
    name = "local"

    def map(self, job, specs, progress: bool = True) -> list[str]:
        """``job(spec)`` for each spec; the outcomes in the order of ``specs``."""
        jobs = min(self.jobs or default_jobs(_threads(job)), len(specs))
        if jobs <= 1:
            return [job(spec) for spec in tqdm(specs, desc="runs",
                                               disable=not progress or not specs)]
        return _map_processes(job, specs, jobs, progress)


def usable_cpus() -> int:
    """The CPUs this process may run on (``taskset``, a container's CPU set)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def default_jobs(threads: int) -> int:
    """How many runs of ``threads`` threads each fit this process's CPUs side by side (at
    least one)."""
    return max(1, usable_cpus() // threads)


def _threads(job) -> int:
    """The thread pools of every run of ``job`` (a :class:`~.training.GridJob`)."""
    return job.threads or job.profile.training.threads


#: the job of this worker process (:func:`_start_worker`)
_WORKER_JOB = None


def _start_worker(job, workspace) -> None:
    """A worker process's start: the driver's workspace, TensorFlow started with the runs'
    thread pools and without its start-up notes, and the job that every run of this process
    calls."""
    global _WORKER_JOB
    import signal

    from ..tfstart import quiet_tensorflow, start_tensorflow_quietly
    from ..data import paths

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's (see LocalExecutor)
    paths.use(workspace)
    quiet_tensorflow()
    start_tensorflow_quietly(_threads(job))
    _WORKER_JOB = job


def _run_in_worker(spec) -> str:
    return _WORKER_JOB(spec)


def _map_processes(job, specs, jobs: int, progress: bool) -> list[str]:
    """:meth:`LocalExecutor.map` with ``jobs`` worker processes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    from ..data import paths

    outcomes = [None] * len(specs)
    quiet = dataclasses.replace(job, progress=False)  # one bar: the grid's
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start_worker,
                             initargs=(quiet, paths.current())) as pool, \
            tqdm(total=len(specs), desc="runs", disable=not progress) as bar:
        index = {pool.submit(_run_in_worker, spec): k for k, spec in enumerate(specs)}
        try:
            for future in as_completed(index):
                outcomes[index[future]] = future.result()
                bar.update()
        except BrokenProcessPool:
            raise ChildProcessError(
                f"a worker process of the local executor died (killed, or out of memory) "
                f"after {sum(o is not None for o in outcomes)} of {len(specs)} runs; the "
                f"finished runs are in the store: run the same command again to train the "
                f"rest (--jobs 1 trains in this process)") from None
        except BaseException:
            pool.shutdown(cancel_futures=True)  # the runs in training finish first
            raise
    return outcomes


@dataclasses.dataclass
class RayExecutor:
    """Every run a Ray task on a cluster (see the module's description)."""

    #: a running cluster (``ray start`` prints it, e.g. ``10.0.0.1:6379``; ``"auto"`` finds
    #: the one on this machine); None: the cluster this process is connected to, or a new one
    address: str | None = None
    #: CPUs a run asks for on a cluster without GPUs (and beside its GPU on one with GPUs)
    cpus_per_run: float = 1
    #: how often Ray runs a task again whose worker process or node died
    max_retries: int = 3
    #: TensorFlow's thread pools in a task; None: the profile's
    #: (:attr:`~enhance_utils.profiles.Training.threads`), the local executor's numbers
    threads_per_run: int | None = None
    name = "ray"

    def resources(self, ray) -> dict:
        """What one run asks for: one GPU where the cluster has any, and its CPUs."""
        if ray.cluster_resources().get("GPU", 0) > 0:
            return {"num_gpus": 1, "num_cpus": self.cpus_per_run}
        return {"num_cpus": self.cpus_per_run}

    def map(self, job, specs, progress: bool = True) -> list[str]:
        """One task per spec (``job`` shipped once), one progress bar for the grid; the
        outcomes in the order of ``specs``. The first failed run cancels the rest and raises."""
        if not specs:
            return []
        ray = import_ray()
        started = connect(ray, self.address)
        try:
            resources = self.resources(ray)
            task = ray.remote(max_retries=self.max_retries, **resources)(_train)
            shipped = ray.put(dataclasses.replace(job, progress=False,
                                                  threads=self.threads_per_run or job.threads))
            index = {task.remote(shipped, spec): k for k, spec in enumerate(specs)}
            return _gather(ray, index, progress)
        finally:
            if started:
                ray.shutdown()


def _train(job, spec) -> str:
    """The body of a Ray task: one run (runs in a worker process of any node; the run pins
    TensorFlow's thread pools at ``job.threads``, which in a reused worker process are
    pinned already and stay as they are)."""
    return job(spec)


def _gather(ray, index: dict, progress: bool) -> list[str]:
    """Wait for every task of ``index`` (reference → position); cancel the rest when one
    fails or the driver is interrupted. Losing the driver's own Ray node (its raylet) ends in
    a ConnectionError that says how to resume (one ``error:`` line from ``enhance train``)."""
    outcomes = [None] * len(index)
    pending = list(index)
    with tqdm(total=len(index), desc="runs", disable=not progress) as bar:
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    outcomes[index[ref]] = ray.get(ref)
                    bar.update()
        except ray.exceptions.LocalRayletDiedError as err:  # nothing left to cancel through
            raise ConnectionError(
                f"the Ray node this driver was attached to stopped ({err.__class__.__name__}) "
                f"after {sum(o is not None for o in outcomes)} of {len(index)} runs; the "
                f"finished runs are in the store: run "
                f"the same command again to train the rest") from None
        except BaseException:
            cancel(ray, pending)
            raise
    return outcomes


def cancel(ray, refs) -> None:
    """Cancel tasks and give them :data:`CANCEL_WAIT` seconds to end: a running task gets a
    KeyboardInterrupt and releases its claim, so a restarted driver trains it at once."""
    for ref in refs:
        ray.cancel(ref)
    if refs:
        ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT)


def driver_settings() -> dict[str, str]:
    """:data:`RAY_DRIVER_ENV` less what the environment sets already: what an entry point
    (``enhance train``) adds to its environment before Ray is imported."""
    return {key: value for key, value in RAY_DRIVER_ENV.items() if key not in os.environ}


def import_ray():
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ImportError("the ray executor needs Ray: pip install 'enhance-utils[cluster]' "
                          "(or ray from requirements.txt)") from None
    return ray


#: seconds to wait for a cluster's address to answer before saying that nothing does
CONNECT_TIMEOUT = 10


def check_address(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """A ConnectionError naming ``address`` (``host:port``) when nothing accepts a connection
    there within ``timeout`` seconds: Ray itself retries for minutes. ``auto`` and ``ray://``
    client addresses are left to Ray."""
    import socket

    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"a Ray address is host:port (e.g. 10.0.0.1:6379) or auto, not "
                         f"{address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as err:
        raise ConnectionError(f"no Ray cluster answers at {address} ({err.strerror or err}); "
                              f"start one there with `ray start --head --port {port}` or "
                              f"give the address `ray start` printed") from None


def connect(ray, address: str | None) -> bool:
    """Connect this process to the cluster at ``address``, or start a one-machine cluster
    (``address`` None); True when this call connected (the caller then disconnects)."""
    if ray.is_initialized():
        return False
    options = {} if address else {"include_dashboard": False}
    with warnings.catch_warnings():  # the tip of RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO: set
        warnings.filterwarnings("ignore", message=".*RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO",
                                category=FutureWarning)
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                 runtime_env={"env_vars": dict(RAY_WORKER_ENV)}, **options)
    return True


def get(executor="local", address: str | None = None, cpus_per_run: float | None = None,
        jobs: int | None = None):
    """An executor by name (:data:`NAMES`), or ``executor`` itself when it is one already;
    a ValueError for an unknown name, for cluster options given to ``local``, for ``jobs``
    given to ``ray`` or not a positive whole number, a ConnectionError for a cluster address
    where nothing answers (:func:`check_address`)."""
    if not isinstance(executor, str):
        return executor
    if executor == "local":
        if address is not None or cpus_per_run is not None:
            raise ValueError("--address and --cpus-per-run are options of the ray executor")
        if jobs is not None and not (isinstance(jobs, int) and jobs > 0):
            raise ValueError(f"jobs (runs side by side) must be a positive whole number, "
                             f"got {jobs!r}")
        return LocalExecutor(jobs)
    if executor == "ray":
        if jobs is not None:
            raise ValueError("--jobs is an option of the local executor (a Ray cluster runs "
                             "as many runs as it has CPUs for: --cpus-per-run)")
        if cpus_per_run is not None and not cpus_per_run > 0:
            raise ValueError(f"cpus per run must be positive, got {cpus_per_run}")
        if address:
            check_address(address)  # before the grid reads its data
        return RayExecutor(address, 1 if cpus_per_run is None else cpus_per_run)
    raise ValueError(f"unknown executor {executor!r}; choose from {', '.join(NAMES)}")

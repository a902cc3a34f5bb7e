"""Executors: where the runs of a training grid train.

:func:`enhance_utils.learning.training.run_grid` (and ``enhance train --executor``) hands the
missing runs of a grid to an executor, with a :class:`~enhance_utils.learning.training.GridJob`
that trains one run under its claim and writes it into the store:

``local`` (the default)
    one run after the other in this process, as ``enhance train`` always did.
``ray``
    one `Ray <https://docs.ray.io>`_ task per run on a Ray cluster: the cluster at
    ``address`` (``ray start --head`` on one machine, ``ray start --address=…`` on the others,
    or a SLURM allocation), or a one-machine cluster started here and stopped at the end. A
    task asks for one GPU where the cluster has GPUs, else :attr:`RayExecutor.cpus_per_run`
    CPUs. Every run pins TensorFlow's thread pools at the same size wherever it trains
    (:data:`enhance_utils.learning.run.TRAINING_THREADS`), so a task gives the local
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


class LocalExecutor:
    """Every run in this process, one after the other, with one progress bar for the grid."""

    name = "local"

    def map(self, job, specs, progress: bool = True) -> list[str]:
        """``job(spec)`` for each spec, in order; the outcomes."""
        return [job(spec) for spec in tqdm(specs, desc="runs", disable=not progress or not specs)]


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
    #: TensorFlow's thread pools in a task; None: every run's
    #: (:data:`enhance_utils.learning.run.TRAINING_THREADS`), the local executor's numbers
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


def get(executor="local", address: str | None = None, cpus_per_run: float | None = None):
    """An executor by name (:data:`NAMES`), or ``executor`` itself when it is one already;
    a ValueError for an unknown name or for cluster options given to ``local``, a
    ConnectionError for a cluster address where nothing answers (:func:`check_address`)."""
    if not isinstance(executor, str):
        return executor
    if executor == "local":
        if address is not None or cpus_per_run is not None:
            raise ValueError("--address and --cpus-per-run are options of the ray executor")
        return LocalExecutor()
    if executor == "ray":
        if cpus_per_run is not None and not cpus_per_run > 0:
            raise ValueError(f"cpus per run must be positive, got {cpus_per_run}")
        if address:
            check_address(address)  # before the grid reads its data
        return RayExecutor(address, 1 if cpus_per_run is None else cpus_per_run)
    raise ValueError(f"unknown executor {executor!r}; choose from {', '.join(NAMES)}")

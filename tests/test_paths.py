"""Where the data, downloads, cache and store live: one
:class:`~enhance_utils.data.paths.Workspace` resolved at the entry points, and no environment
written by the package."""
from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from enhance_utils.data import paths

PACKAGE = Path(paths.__file__).resolve().parents[1]
#: the only functions of the package that write the environment: entry points
ENTRY_POINTS = {("tfstart.py", "quiet_tensorflow"), ("cli.py", "set_environment")}


@pytest.fixture
def bare_env(monkeypatch, tmp_path):
    """No ``ENHANCE_*`` folder set but a cache in ``tmp_path``; no current workspace."""
    for name in ("ENHANCE_DATA_DIR", "ENHANCE_DOWNLOAD_DIR", "ENHANCE_RESULTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(paths, "_CURRENT", None)
    return tmp_path.resolve()


def test_resolve_takes_arguments_before_the_environment(bare_env, monkeypatch):
    data, mirror = bare_env / "data", bare_env / "mirror"
    data.mkdir()
    mirror.mkdir()
    fresh = paths.resolve()
    assert not fresh.external and fresh.data == fresh.downloads == paths.download_dir()
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(mirror))
    monkeypatch.setenv("ENHANCE_RESULTS_DIR", str(bare_env / "store"))
    from_env = paths.resolve()
    assert from_env.external and from_env.data == mirror
    assert from_env.store == bare_env / "store" and from_env.cache == bare_env / "cache"
    given = paths.resolve(data=data, downloads=bare_env / "dl", cache=bare_env / "c",
                           store=bare_env / "s")
    assert given == paths.Workspace(data, bare_env / "dl", bare_env / "c", bare_env / "s",
                                     external=True)


def test_a_missing_data_tree_and_writes_inside_it_are_refused(bare_env):
    with pytest.raises(FileNotFoundError, match="data_dir=.*nowhere.* is not a folder"):
        paths.resolve(data=bare_env / "nowhere")
    (bare_env / "data").mkdir()
    inside = paths.resolve(data=bare_env / "data", store=bare_env / "data" / "results",
                            cache=bare_env / "data" / "cache")
    with paths.using(inside):  # refused where they are used
        assert paths.data_dir() == bare_env / "data"
        with pytest.raises(ValueError, match="results folder .* read-only"):
            paths.results_dir()
        with pytest.raises(ValueError, match="cache folder .* read-only"):
            paths.cache_dir()
    assert not (bare_env / "data" / "cache").exists()


def test_the_current_workspace_replaces_the_environment(bare_env, monkeypatch):
    (bare_env / "data").mkdir()
    workspace = paths.resolve(data=bare_env / "data", store=bare_env / "store")
    with paths.using(workspace):
        monkeypatch.setenv("ENHANCE_RESULTS_DIR", str(bare_env / "elsewhere"))
        assert paths.current() is workspace
        assert (paths.data_dir(), paths.results_dir()) == (workspace.data, workspace.store)
        assert paths.is_external_data_dir() and paths.download_dir() == workspace.downloads
    assert paths.results_dir() == bare_env / "elsewhere" and not paths.is_external_data_dir()


def _environment_writes(tree: ast.AST):
    """(function, line) of every write to ``os.environ`` or ``os.putenv`` in a module."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    for function in [tree, *(n for n in ast.walk(tree) if isinstance(n, functions))]:
        name = getattr(function, "name", "<module>")
        body = function.body if function is not tree else [
            n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        for node in (n for statement in body for n in ast.walk(statement)):
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) \
                    else [node.target]
                if any(isinstance(t, ast.Subscript) and ast.unparse(t.value).endswith("environ")
                       for t in targets):
                    yield name, node.lineno
            elif isinstance(node, ast.Call):
                func = ast.unparse(node.func)
                if func.endswith("putenv") or any(
                        func.endswith(f"environ.{m}")
                        for m in ("setdefault", "update", "pop", "clear", "popitem")):
                    yield name, node.lineno


def test_the_package_writes_the_environment_only_in_its_entry_points():
    """The chapters' setup and the command line may set TensorFlow's and Ray's variables; no
    other function of the package writes ``os.environ`` (paths travel as a Workspace)."""
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for function, line in _environment_writes(tree):
            found.add((path.relative_to(PACKAGE).as_posix(), function))
            assert (path.relative_to(PACKAGE).as_posix(), function) in ENTRY_POINTS, \
                f"{path.relative_to(PACKAGE)}:{line} writes the environment in {function}"
    assert found == ENTRY_POINTS  # the scan sees the writes that are there


def test_the_scan_finds_every_kind_of_write():
    source = ("import os\nos.environ['A'] = '1'\n"
              "def f():\n    os.environ.setdefault('B', '2')\n"
              "def g():\n    os.environ.update(C='3')\n    os.putenv('D', '4')\n"
              "def h():\n    del os.environ['A']\n    x = os.environ.get('A')\n")
    assert sorted(_environment_writes(ast.parse(source))) == [
        ("<module>", 2), ("f", 4), ("g", 6), ("g", 7), ("h", 9)]


def test_the_command_line_sets_its_own_environment(monkeypatch):
    """``enhance``'s main: TensorFlow's errors only, Ray's driver settings for ``--executor
    ray``; what is set already is kept."""
    import argparse

    from enhance_utils import cli
    from enhance_utils.learning import executors

    environ = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    monkeypatch.setattr(os, "environ", environ)
    cli.set_environment(argparse.Namespace(executor="local"))
    assert environ == {"TF_CPP_MIN_LOG_LEVEL": "0"}
    del environ["TF_CPP_MIN_LOG_LEVEL"]
    cli.set_environment(argparse.Namespace(executor="ray"))
    assert environ == {"TF_CPP_MIN_LOG_LEVEL": "2", **executors.RAY_DRIVER_ENV}


def test_ray_workers_get_their_settings_with_the_job(monkeypatch):
    """A cluster started here gets :data:`~enhance_utils.learning.executors.RAY_WORKER_ENV`
    through ``ray.init``'s ``runtime_env``; this process's environment is left as it is."""
    from enhance_utils.learning import executors

    class FakeRay:
        calls: list = []

        @staticmethod
        def is_initialized():
            return False

        @classmethod
        def init(cls, **options):
            cls.calls.append(options)

    before = dict(os.environ)
    assert executors.connect(FakeRay, None)
    (options,) = FakeRay.calls
    assert options["runtime_env"] == {"env_vars": executors.RAY_WORKER_ENV}
    assert options["address"] is None and options["include_dashboard"] is False
    assert dict(os.environ) == before


def test_shown_hides_the_builders_folders(bare_env, monkeypatch):
    """Paths on a page: relative to the project, else to the workspace's data tree, cache or
    store, else to the home folder; other paths as they are."""
    data, store = bare_env / "data", bare_env / "store"
    (data / "isic2017").mkdir(parents=True)
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data))
    monkeypatch.setenv("ENHANCE_RESULTS_DIR", str(store))
    project = paths.project_dir()
    assert paths.shown(project / "results" / "cpu") == "results/cpu"
    assert paths.shown(project) == "."
    assert paths.shown(data / "isic2017") == "<data>/isic2017"
    assert paths.shown(paths.cache_dir() / "explain-runs") == "<cache>/explain-runs"
    assert paths.shown(store / "smoke") == "<store>/smoke"
    assert paths.shown(Path.home() / "elsewhere" / "x") == "~/elsewhere/x"
    assert paths.shown("/nowhere/else") == "/nowhere/else"
    with paths.using(paths.resolve(data=project / "data", store=project / "results")):
        assert paths.shown(project / "data" / "cache") == "data/cache"  # project first


def test_an_empty_store_is_named_without_the_builders_folder(bare_env, monkeypatch, tmp_path):
    """The scorecard page shows this message for a store without runs."""
    from enhance_utils.learning import report, store

    monkeypatch.setenv("ENHANCE_RESULTS_DIR", str(bare_env / "store"))
    with pytest.raises(store.StoreError, match=r"^no finished run in <store>/smoke: train"):
        report.report("smoke", tmp_path / "out")


def test_the_data_source_is_said_without_the_builders_folder(bare_env, monkeypatch):
    """Chapter 01 prints where its data comes from: a named tree by the variable that named
    it, the download folder relative to the project; neither as an absolute folder."""
    data = bare_env / "data"
    data.mkdir()
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data))
    named = paths.data_source()
    assert "ENHANCE_DATA_DIR" in named and str(bare_env) not in named
    monkeypatch.delenv("ENHANCE_DATA_DIR")
    assert paths.data_source() == "the download folder data/downloads"

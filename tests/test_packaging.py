"""Package metadata: ranges that hold both Colab's versions and the lock; Binder's environment."""
from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from enhance_utils.book.colab import normalize, read_lock

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tools"))
import colab_check  # noqa: E402
import make_environment  # noqa: E402

METADATA = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
LOCK = read_lock(PROJECT / "requirements.txt")
BASE = [Requirement(r) for r in METADATA["dependencies"]]
EXTRAS = [Requirement(r) for reqs in METADATA["optional-dependencies"].values() for r in reqs]


@pytest.mark.parametrize("requirement", BASE + EXTRAS, ids=str)
def test_the_lock_satisfies_every_range(requirement):
    assert requirement.specifier.contains(LOCK[normalize(requirement.name)])


@pytest.mark.parametrize("requirement", BASE, ids=str)
def test_colabs_version_satisfies_every_range(requirement):
    version = colab_check.colab_pins().get(normalize(requirement.name))
    if version is None:
        pytest.skip(f"Colab lacks {requirement.name}: the setup installs the lock's version")
    assert requirement.specifier.contains(version)


def test_ranges_not_pins():
    exact = [str(r) for r in BASE if any(s.operator == "==" for s in r.specifier)]
    assert exact == []


def test_no_build_tools_for_a_colab_reader():
    names = {normalize(r.name) for r in BASE}
    assert not names & {"sphinx", "jupyter-book", "papermill", "ipykernel", "pytest"}


def test_environment_file_is_generated_from_the_lock():
    assert (PROJECT / "environment.yml").read_text() == make_environment.render()


def test_environment_file_parses_with_rar_tool_and_lock_pins():
    spec = yaml.safe_load((PROJECT / "environment.yml").read_text())
    conda = [d for d in spec["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
    assert "libarchive" in conda  # bsdtar for the PH2 RAR archive
    pins = dict(line.split("==") for line in pip if "==" in line)
    assert {normalize(n): v for n, v in pins.items()} == {
        n: v for n, v in LOCK.items() if n not in make_environment.LEFT_OUT}
    assert "-e .[book]" in pip


def test_the_package_builds_without_warnings(tmp_path):
    """A fresh install prints no page of build warnings (e.g. a data folder 'absent from the
    packages configuration'): build the wheel verbosely from a copy of the sources."""
    import shutil
    import subprocess

    for name in ("pyproject.toml", "README.md", "LICENSE", "LICENSE-text.md"):
        shutil.copy(PROJECT / name, tmp_path)
    shutil.copytree(PROJECT / "enhance_utils", tmp_path / "enhance_utils",
                    ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v",
                           "--disable-pip-version-check", "-w", str(tmp_path / "dist"), "."],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    warnings = [line.strip() for line in (done.stdout + done.stderr).splitlines()
                if "Warning:" in line]  # e.g. BuildBackendWarning, SetuptoolsDeprecationWarning
    assert warnings == []
    wheel = next((tmp_path / "dist").glob("*.whl")).name
    assert wheel.startswith("enhance_utils-")


def test_ray_only_in_the_cluster_extra():
    """Colab installs the package without extras and Binder uses environment.yml: neither
    gets Ray, which only ``enhance train --executor ray`` needs."""
    cluster = {normalize(Requirement(r).name) for r in METADATA["optional-dependencies"]["cluster"]}
    assert "ray" in cluster and "ray" not in {normalize(r.name) for r in BASE}
    binder = (PROJECT / "environment.yml").read_text()
    assert "ray==" not in binder and "-e .[book]" in binder


def _environment_pins() -> dict[str, str]:
    """``environment.yml``'s pip pins, ``{name: version}``."""
    lines = (PROJECT / "environment.yml").read_text().splitlines()
    return dict(re.match(r"\s+- ([A-Za-z0-9._-]+)==(\S+)$", line).groups() for line in lines
                if re.match(r"\s+- [A-Za-z0-9._-]+==", line))


def test_binders_server_environment_is_consistent():
    """Binder updates repo2docker's base environment (written down with its provenance by
    ``tools/binder_pins.py``) with ``environment.yml``: no server package it keeps is broken
    by our pins, and none of ours by a package it keeps (repo2docker's Notebook 7.4 needs
    JupyterLab < 4.5: the lock pins a Notebook of our JupyterLab)."""
    from importlib import metadata

    import binder_pins

    recorded = json.loads((PROJECT / "tests" / "fixtures" / "binder" /
                           "repo2docker-py3.11.json").read_text())
    assert recorded["source"]["repository"] == "jupyterhub/repo2docker"
    assert {"notebook", "jupyterlab", "jupyter-server", "jupyterhub"} <= set(recorded["base"])
    pins = _environment_pins()
    pinned_requires = {name: metadata.requires(name) for name in pins}
    assert binder_pins.conflicts(recorded, pins, pinned_requires) == []
    without_notebook = {n: v for n, v in pins.items() if n != "notebook"}
    broken = binder_pins.conflicts(recorded, without_notebook, pinned_requires)
    assert any(c.startswith("notebook 7.4") and "jupyterlab" in c for c in broken), broken

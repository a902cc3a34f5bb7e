"""The book's repository address, set once in ``pyproject.toml``, and the URLs made from it.

``[tool.enhance] repository`` (a GitHub address) is the one place the address is written by
hand; ``tools/release.py --repository URL`` changes it and rewrites every file that repeats
it (:data:`COPIES`: the book's configuration, the citation, the chapters' setup cells, the
cluster page, the editions). The book's site is ``[tool.enhance] site`` when set, else the
repository's GitHub Pages address (``https://ORG.github.io/REPO``).
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import quote

#: the checkout this package lies in (its value is this machine's folder: not on the API page)
#:
#: :meta hide-value:
ROOT = Path(__file__).resolve().parents[2]
#: folder of the live editions and of the student editions, relative to the checkout
LIVE, STUDENTS = "editions/live", "editions/students"
#: files that repeat the address, with the text that holds it (checked by tests/test_release.py)
COPIES = {
    "book/_config.yml": "  url: {url}\n",
    "CITATION.cff": "repository-code: {url}\n",
    "book/cluster.md": "git clone {url} ",
}


def settings(root: Path = ROOT) -> dict:
    """The ``[tool.enhance]`` table of ``root/pyproject.toml``."""
    with open(Path(root) / "pyproject.toml", "rb") as file:
        return tomllib.load(file).get("tool", {}).get("enhance", {})


def address(root: Path = ROOT) -> str:
    """The repository's address, ``https://github.com/ORG/REPO``."""
    url = settings(root).get("repository")
    if not url or not url.startswith("https://github.com/"):
        raise ValueError(f"[tool.enhance] repository in pyproject.toml is not a GitHub "
                         f"address: {url!r}")
    return url.rstrip("/")


def org_repo(url: str) -> tuple[str, str]:
    """``(ORG, REPO)`` of a GitHub address."""
    org, repo = url.removeprefix("https://github.com/").split("/")[:2]
    return org, repo.removesuffix(".git")


def site(root: Path = ROOT) -> str:
    """The book's web address (no trailing slash)."""
    org, repo = org_repo(address(root))
    return settings(root).get("site", f"https://{org}.github.io/{repo}").rstrip("/")


def colab(url: str, ref: str, path: str) -> str:
    """Colab's address of the notebook ``path`` of the repository ``url`` at ``ref``."""
    org, repo = org_repo(url)
    return f"https://colab.research.google.com/github/{org}/{repo}/blob/{ref}/{quote(path)}"


def binder(url: str, ref: str, path: str, hub: str = "https://mybinder.org",
           interface: str = "tree") -> str:
    """Binder's address that opens ``path`` of the repository ``url`` at ``ref``."""
    org, repo = org_repo(url)
    return f"{hub.rstrip('/')}/v2/gh/{org}/{repo}/{ref}?urlpath={interface}/{quote(path)}"

"""The package's version, in one place (``tools/release.py`` writes it; ``pyproject.toml``,
``enhance --version``, the book's intro and every ``run.json`` read it)."""
__version__ = "0.1.0"

"""The package version (one place; ``sim.__version__`` and every manifest read it)."""

__version__ = "0.1.0"

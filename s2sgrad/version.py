"""The version of s2sgrad (one place: the package, the CLI and written modules read it)."""
__version__ = "0.1.0"

"""The package version, at the base so any layer can stamp it without importing the package facade."""

__version__ = "0.1.0"

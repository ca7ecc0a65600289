"""Deploy Mixpeek Apps from a terminal, a script, a CI job or a git hook."""

__version__ = "0.1.0"

"""The ``negsim`` command."""

from sim.cli.commands import main

__all__ = ["main"]

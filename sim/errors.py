"""Errors a user can act on: every one names the file, the line and the key path."""

from __future__ import annotations


class ScenarioError(Exception):
    """A scenario file (or a ``--set`` override) that negsim cannot use.

    Attributes:
        file: Path of the YAML file the problem is in (``"--set"`` for a command-line
            override, ``None`` when no file is involved).
        line: 1-based line number in ``file``, or ``None`` when unknown.
        path: Dotted key path inside the scenario, e.g. ``actors.us.resolve``.
        problem: What is wrong, in one sentence.
        allowed: What would be accepted instead (values, range or keys), or ``None``.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
        allowed: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.path = path
        self.problem = problem
        self.allowed = allowed
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The one-line message shown to users: ``file:line: key.path: problem (allowed: ...)``."""
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        key = f"{self.path}: " if self.path else ""
        allowed = f" (allowed: {self.allowed})" if self.allowed else ""
        return f"{where}{key}{self.problem}{allowed}"


class RunError(Exception):
    """A run that cannot start or finish for a reason other than the scenario (e.g. output folder)."""

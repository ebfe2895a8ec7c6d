"""How long-running library code reports progress without printing.

Library functions take a `Reporter` and call it; the CLI passes one that draws
rich progress bars and prints summary lines, tests and `--quiet` pass the
silent base class.
"""

from __future__ import annotations


class Reporter:
    """Silent progress reporting; subclasses draw it."""

    def start(self, description: str, total: int) -> None:
        """Begin a task of `total` steps."""

    def advance(self, steps: int = 1, **info: float) -> None:
        """Mark `steps` more steps done; `info` holds running figures to show."""

    def finish(self) -> None:
        """End the current task."""

    def summary(self, text: str) -> None:
        """A one-line summary worth showing, such as the result of an epoch."""

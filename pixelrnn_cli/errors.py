"""The one exception type for mistakes a user can make.

The CLI turns a `PixelrnnError` into one red line and a non-zero exit; anything
else that escapes is a bug in pixelrnn and keeps its traceback.
"""


class PixelrnnError(Exception):
    """A problem with the user's input: a file, an option value, a run name."""


class TrainingInterrupted(PixelrnnError):
    """Training was stopped by Ctrl-C after saving what was complete."""

    def __init__(self, message: str, resume_command: str) -> None:
        super().__init__(message)
        self.resume_command = resume_command

"""One error type for bad input, and redaction of secrets.

A HarnessError is raised for anything the user can fix (a config field, a data row, a missing
file). The CLI prints it as one line and exits with code 2; nothing already computed is lost
because every stage writes its outputs atomically before the next one starts.
"""
from __future__ import annotations

import functools
import os
import re


class HarnessError(Exception):
    """A user-fixable problem, printed as `file:row: field: message`."""

    def __init__(self, message: str, *, file: str | os.PathLike | None = None,
                 row: int | None = None, field: str | None = None) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.field = field
        super().__init__(self.one_line())

    def __reduce__(self):
        """Pickled whole (file, row, field), so an error raised in a job's child process or Ray worker
        reaches the CLI as the same one line."""
        return functools.partial(HarnessError, file=self.file, row=self.row, field=self.field), (self.message,)

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.row}" if self.row is not None else "") + ": "
        elif self.row is not None:
            where = f"row {self.row}: "
        field = f"{self.field}: " if self.field else ""
        return redact((where + field + self.message).replace("\n", " "))


_SECRET_PATTERNS = [
    re.compile(r"sk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.]{8,}"),
]


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Remove API keys from text bound for logs, results or tracebacks.

    Known secret values (e.g. the judge's key read from its environment variable) are replaced
    verbatim; anything shaped like an OpenAI-style key or a bearer token is replaced too.
    """
    for secret in secrets or []:
        if secret:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "***", text)
    return text

"""The exceptions sourcediff raises. Each names the file, the line and the construct."""
from __future__ import annotations


class SourcediffError(Exception):
    """Base class of every error sourcediff raises on purpose."""

    def __init__(self, message: str, *, filename: str | None = None, lineno: int | None = None,
                 source_line: str | None = None, hint: str | None = None):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.source_line = source_line
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.filename is not None:
            where = f'  File "{self.filename}"'
            if self.lineno is not None:
                where += f", line {self.lineno}"
            parts.append(where)
        if self.source_line:
            parts.append("    " + self.source_line.strip())
        if self.hint:
            parts.append("What to do: " + self.hint)
        return "\n".join(parts)


class SourceNotFoundError(SourcediffError):
    """The source of the function cannot be read (REPL, exec, builtins)."""


class UnsupportedSyntaxError(SourcediffError):
    """A construct the transformer does not handle yet."""


class MissingRuleError(SourcediffError):
    """A call to a function that has no derivative rule."""


class NonScalarOutputError(SourcediffError):
    """``grad`` was asked to differentiate a function whose output is not a scalar."""


class ArgnumsError(SourcediffError):
    """``argnums`` names arguments the function does not have."""


class NonDifferentiableArgumentError(SourcediffError):
    """An argument of a kind that cannot carry a gradient."""

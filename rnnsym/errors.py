"""The error classes of rnnsym.

Every error rnnsym raises on purpose derives from :class:`RnnsymError`; each
subclass also inherits the builtin a caller would naturally catch, so
``except ValueError`` keeps working.  A message names the field, the value it
got and what was expected.

>>> from rnnsym.errors import InputError
>>> try:
...     raise InputError("model.steps", 0, "an integer >= 1")
... except ValueError as error:
...     print(error)
model.steps: got 0, expected an integer >= 1
"""

from __future__ import annotations

__all__ = ["RnnsymError", "InputError", "InputTypeError", "LimitError", "TeXError", "NoVariantError"]


class RnnsymError(Exception):
    """Root of every error raised by rnnsym."""


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


class InputError(RnnsymError, ValueError):
    """A value given by the user is not one rnnsym can use.

    ``field`` names where the value came from (``"values.W_x"``,
    ``"model.activation"``), ``value`` is what was given and ``expected`` says
    what would have been accepted.
    """

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field}: got {_describe(value)}, expected {expected}")


class InputTypeError(InputError, TypeError):
    """A value given by the user has the wrong type (also an :class:`InputError`)."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        InputError.__init__(self, field, value, expected)
        self.args = (f"{field}: got {_describe(value)} of type {type(value).__name__}, expected {expected}",)


class LimitError(InputError):
    """A value is beyond one of the stated limits of :mod:`rnnsym.limits`.

    ``expected`` names the limit (``"at most 10000 steps"``), so the message
    reads ``model.steps: got 1000000, expected at most 10000 steps (a stated limit of
    rnnsym, see docs/exercise-files.md)``.
    """


class TeXError(RnnsymError, RuntimeError):
    """TeX failed to build a document.

    The message gives TeX's own error (its ``!`` line) and, when it can be
    traced, the line of the LaTeX and the exercise key it was written from;
    ``line``, ``origin`` and ``tex_message`` hold them apart (``None`` when
    unknown).
    """

    def __init__(self, message: str, line: int | None = None, origin: str | None = None,
                 tex_message: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.origin = origin
        self.tex_message = tex_message


class NoVariantError(RnnsymError, RuntimeError):
    """Fewer variants of an exercise than asked for satisfy its constraints within
    the bound on draws (:func:`rnnsym.variants.draw`).

    The message says how many draws were tried, how many variants were found of
    how many asked for, and which constraint rejected most draws; ``found``,
    ``count``, ``attempts`` and ``rejections`` (draws rejected per constraint)
    hold them apart.
    """

    def __init__(self, message: str, found: int = 0, count: int = 0, attempts: int = 0,
                 rejections: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.found = found
        self.count = count
        self.attempts = attempts
        self.rejections = dict(rejections or {})

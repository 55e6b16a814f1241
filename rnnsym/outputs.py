"""Output files that never destroy: checked before any work, written whole or not at all.

An output is refused when it is one of the command's inputs (the exercise it
is made from, an answer key), when it exists and is not a regular file (a
directory, a device, a pipe), when its name is longer than the file system
allows, or when its folder is missing or not writable.  A file is written to
a temporary name beside it and renamed into place, so no partial file is
ever left, and it gets the mode any new file would get under the umask (an
existing file keeps its mode).  A symbolic link to a regular file is written
through: the file it names is replaced, the link stays.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> exercise = folder / "ex.toml"
>>> _ = exercise.write_text("[model]")
>>> check_output(exercise, inputs=[exercise])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
rnnsym.errors.InputError: output: got '.../ex.toml', expected a file other than the input it is made from (.../ex.toml)
>>> write_file(folder / "sheet.tex", "hello")
>>> (folder / "sheet.tex").read_text()
'hello'
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable

from .errors import InputError

__all__ = ["check_output", "write_file"]


def _describe(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def check_output(path: str | Path, inputs: Iterable[str | Path] = (), field: str = "output") -> Path:
    """``path`` if an output may be written there, else :class:`~rnnsym.errors.InputError`
    naming ``field``.  ``inputs`` are the files the output is made from."""
    path = Path(path)
    if not str(path) or path.name in ("", ".", ".."):
        raise InputError(field, str(path), "a file name")
    parent = path.parent
    try:
        name_max = os.pathconf(parent if parent.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    # the temporary file beside the output has a short name of its own, so any valid name works
    if len(os.fsencode(path.name)) > name_max:
        raise InputError(field, _short(path), f"a file name of at most {name_max} bytes")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except NotADirectoryError:
        raise InputError(field, str(path), f"a path in an existing directory ({parent} is not one)") from None
    except OSError as error:
        raise InputError(field, _short(path), f"a path that can be written ({error.strerror})") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise InputError(field, str(path), "a file path, not a directory")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(field, str(path), f"a regular file or a new name ({path} is {_describe(info.st_mode)})")
        for source in inputs:
            try:
                same = os.path.samefile(path, source)
            except OSError:
                same = False
            if same:
                raise InputError(field, str(path), f"a file other than the input it is made from ({source})")
    if not parent.is_dir():
        raise InputError(field, str(path), f"a path in an existing directory ({parent} is not one)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(field, str(path), f"a path in a writable directory ({parent} is not writable)")
    return path


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 80 else text[:60] + "..." + text[-17:]


def _new_file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_file(path: str | Path, data: str | bytes, inputs: Iterable[str | Path] = (), field: str = "output") -> None:
    """Write ``data`` to ``path`` whole, through a temporary file in the same folder.

    The checks of :func:`check_output` run again just before writing.  On any
    failure nothing is left behind and :class:`~rnnsym.errors.InputError`
    names ``field``.
    """
    path = check_output(path, inputs, field)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = _new_file_mode()
    except OSError as error:
        raise InputError(field, str(path), f"a writable path ({error.strerror})") from None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".rnnsym-", suffix=".tmp")
    except OSError as error:
        raise InputError(field, str(path), f"a writable path ({error.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, target)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            reason = error.strerror or errno.errorcode.get(error.errno or 0, str(error))
            raise InputError(field, str(path), f"a writable path ({reason})") from None
        raise

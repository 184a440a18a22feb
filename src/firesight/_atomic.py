"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The data goes to a temporary file with a unique name in the target's own folder (so the
final ``os.replace`` stays within one filesystem, where POSIX makes it atomic), is flushed
and fsynced, then replaces the target; the folder is fsynced so that the rename survives
a power cut. On any error the temporary file is removed and the target is left as it was.
Only the standard library is used, so every layer may import this module. (The
``atomicwrites`` package that did this is archived by its author.)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic"]

#: Permissions of a written file unless the caller asks otherwise (owner rw, others r).
DEFAULT_MODE = 0o644


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform or filesystem that cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, mode: int = DEFAULT_MODE) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that needs a file name (a
    plot's ``savefig``, ``to_parquet``); when the block ends without an error the file is
    fsynced, given ``mode`` and moved onto ``path``.

    The temporary name keeps the target's suffix (``.png``, ``.parquet``) so that writers
    which infer the format from it still do.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; its folder is created if missing.
    mode : int
        Permission bits of the result (0o600 for secrets).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}",
                                dir=target.parent)
    tmp = Path(name)
    try:
        os.close(fd)
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_folder(target.parent)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, mode: int = DEFAULT_MODE) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring); returns the path.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; its folder is created if missing.
    data : bytes
        The whole new content.
    mode : int
        Permission bits of the result (0o600 for secrets).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    _fsync_folder(target.parent)
    return target


def write_text_atomic(path: str | os.PathLike, text: str, *, mode: int = DEFAULT_MODE,
                      encoding: str = "utf-8") -> Path:
    """Write ``text`` (encoded with ``encoding``) to ``path`` atomically; returns the path."""
    return write_bytes_atomic(path, text.encode(encoding), mode=mode)

"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The data goes to a temporary file with a unique name in the target's own folder (so the
final ``os.replace`` stays within one filesystem, where POSIX makes it atomic), is flushed
and fsynced, then replaces the target; the folder is fsynced so that the rename survives
a power cut. On any error the temporary file is removed and the target is left as it was.
A folder (a model bundle) is written the same way by :func:`atomic_folder`: built in a
temporary folder beside the target, fsynced, then swapped with the target in one step.
Only the standard library is used, so every layer may import this module. (The
``atomicwrites`` package that did this is archived by its author.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_folder", "atomic_path", "write_bytes_atomic", "write_text_atomic"]

#: Permissions of a written file unless the caller asks otherwise (owner rw, others r).
DEFAULT_MODE = 0o644
#: Permissions of a written folder unless the caller asks otherwise (owner rwx, others rx).
DEFAULT_FOLDER_MODE = 0o755


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


def _fsync_tree(root: Path) -> None:
    """fsync every file under ``root``, then every folder, deepest first."""
    for folder, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_folder(Path(folder))


def _exchange(new: Path, target: Path) -> bool:
    """Swap ``new`` and ``target`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False
    where the system or the filesystem does not offer it."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except AttributeError:  # a C library without renameat2 (glibc < 2.28, some musl)
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(new), at_fdcwd, os.fsencode(target), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(target))


def _replace_folder(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``; afterwards ``new`` holds the old content (or is gone)."""
    if not target.exists():
        os.rename(new, target)
        return
    if _exchange(new, target):
        return
    # No one-step swap: move the old folder aside, the new one in, and put the old one
    # back if the second rename fails. A reader may find no folder for that instant.
    aside = target.with_name(f".{target.name}.old-{uuid.uuid4().hex}")
    os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(aside, target)
        raise
    os.rename(aside, new)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, *, mode: int = DEFAULT_FOLDER_MODE) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path`` to fill; when the block ends without
    an error, its files are fsynced and it takes the place of ``path`` (an existing folder
    is swapped out in one step where Linux's ``renameat2`` allows, then removed).

    On any error the temporary folder is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        Target folder; its parent is created if missing.
    mode : int
        Permission bits of the new folder (``mkdtemp`` alone would make it 0o700).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        os.chmod(tmp, mode)
        yield tmp
        _fsync_tree(tmp)
        _replace_folder(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # after a swap: the old content
    _fsync_folder(target.parent)

"""Atomic file writes: a temporary file in the same folder, flushed to disk and renamed over the final
name (os.replace), so a crash leaves either the old or the new file, never half of one. A write that
fails (a full disk, say) removes its temporary file and leaves the old file as it was."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TMP_SUFFIX = ".tmp"


def fsync_dir(path: Path) -> None:
    """Make renames in the folder `path` durable, where the platform lets a folder be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(path: Path, *, per_process: bool = False) -> Iterator[Any]:
    """A binary file object whose content replaces `path` only once it is complete and on disk.

    The temporary file is `.{name}.tmp` in the same folder, `.{name}.{pid}.tmp` with per_process.
    When the disk (or quota) is full, raises an OSError naming `path` and saying so.
    """
    tag = f".{os.getpid()}" if per_process else ""
    tmp = path.with_name(f".{path.name}{tag}{TMP_SUFFIX}")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise_if_disk_full(err, path)
        raise
    fsync_dir(path.parent)


_FULL = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e is not None)


def raise_if_disk_full(err: BaseException, path: Path) -> None:
    """Raise a clear OSError for `path` when `err` (or what it was raised from, as torch.save's
    RuntimeError is) is a full disk or quota; otherwise return."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno in _FULL:
            raise OSError(
                cause.errno,
                f"No space left on device writing {path} ({cause.strerror}): the file is as it was "
                "before this write, nothing partial left; free some space and run again",
            ) from err
        cause = cause.__cause__ or cause.__context__


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

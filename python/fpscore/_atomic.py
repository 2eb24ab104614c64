"""Atomic file writes: a temporary file in the same folder, flushed to disk and renamed over the final
name (os.replace), so a crash leaves either the old or the new file, never half of one."""

from __future__ import annotations

import contextlib
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
    """
    tag = f".{os.getpid()}" if per_process else ""
    tmp = path.with_name(f".{path.name}{tag}{TMP_SUFFIX}")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

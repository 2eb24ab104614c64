"""Checkpoints: state_dicts only, written atomically, checksummed, rotated, loaded with weights_only.

A run folder's `checkpoints/` holds

    ckpt-00001000.pt          torch.save of a dict of tensors and plain data (no pickled modules)
    ckpt-00001000.pt.sha256   its SHA-256, written after the .pt file
    latest                    the file name of the newest complete checkpoint

Every file is written to a temporary name in the same folder, flushed to disk and renamed over its
final name (os.replace), so a crash leaves either the old or the new file, never half of one. Only
the `keep` most recently written checkpoints are kept (write order, not step order: a run resumed
from an older checkpoint writes lower steps than files already there, and the file just written,
which `latest` names, is never the one deleted). Loading checks the checksum and the structure
and, when the newest checkpoint is damaged (truncated, corrupted, its checksum missing), warns and
uses the one before it. A save that fails part-way (a full disk: an OSError saying so) removes what it wrote
and leaves `latest` and the earlier checkpoints as they were; temporary files a killed save left
are removed by the next save.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._atomic import atomic_write, sha256_file
from .._torch import torch

LATEST = "latest"
REQUIRED_KEYS = ("model", "ema", "optimizer", "step", "rng", "config", "fpscore_version")
_NAME = re.compile(r"^ckpt-(\d{8,})\.pt$")
_STALE = re.compile(r"^\.(ckpt-\d{8,}\.pt(\.sha256)?|latest)\.tmp$")


class CheckpointError(ValueError):
    """No usable checkpoint: the message lists every file tried and what was wrong with it."""


class CheckpointWarning(UserWarning):
    """A damaged checkpoint was skipped in favour of an older one."""


def checkpoint_dir(run_dir: str | os.PathLike[str]) -> Path:
    return Path(run_dir) / "checkpoints"


def checkpoint_name(step: int) -> str:
    return f"ckpt-{int(step):08d}.pt"


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[Path]:
    """The checkpoint files of a run, oldest first."""
    d = checkpoint_dir(run_dir)
    if not d.is_dir():
        return []
    found = [(int(m[1]), p) for p in d.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(run_dir: str | os.PathLike[str], state: Mapping[str, Any], *, keep: int = 3) -> Path:
    """Write `state` (with an int "step") as the newest checkpoint, point `latest` at it, keep `keep`."""
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise ValueError(f"a checkpoint needs the keys {REQUIRED_KEYS}; missing {missing}")
    d = checkpoint_dir(run_dir)
    d.mkdir(parents=True, exist_ok=True)
    path = d / checkpoint_name(state["step"])
    digest = path.with_name(path.name + ".sha256")
    with atomic_write(path) as f:
        torch.save(dict(state), f)
    files = list_checkpoints(run_dir)  # one listing serves the mtime mark and the rotation
    try:
        _mark_newest(path, files)
        with atomic_write(digest) as f:
            f.write(f"{sha256_file(path)}  {path.name}\n".encode())
        with atomic_write(d / LATEST) as f:
            f.write(f"{path.name}\n".encode())
    except BaseException:  # `latest` still names the previous checkpoint: leave no half of this one
        for p in (digest, path):
            with contextlib.suppress(OSError):
                p.unlink()
        raise
    for old in _rotated_out(files, path, keep):
        for p in (old, old.with_name(old.name + ".sha256")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    for stale in d.iterdir():  # temporary files of a save that was killed before its rename
        if _STALE.match(stale.name):
            with contextlib.suppress(OSError):
                stale.unlink()
    return path


def _mark_newest(path: Path, files: list[Path]) -> None:
    """Give `path` a modification time after every other checkpoint's, so write order is the
    order of modification times even where the clock is coarser than the time between two saves."""
    before = [p.stat().st_mtime_ns for p in files if p != path and p.exists()]
    st = path.stat()
    if before and st.st_mtime_ns <= max(before):
        os.utime(path, ns=(st.st_atime_ns, max(before) + 1))


def _rotated_out(files: list[Path], newest: Path, keep: int) -> list[Path]:
    """The checkpoints to delete so that `keep` remain: `newest` (just written) always stays, then
    the others by write order (modification time, step order among equal times), newest first."""

    step_order = {p: k for k, p in enumerate(files)}

    def written(p: Path) -> tuple[int, int]:
        try:
            return p.stat().st_mtime_ns, step_order[p]
        except OSError:  # removed meanwhile: nothing to keep
            return -1, step_order[p]

    others = sorted((p for p in files if p != newest), key=written, reverse=True)
    return others[keep - 1 :]


def _read(path: Path, map_location: Any) -> dict[str, Any]:
    """Load one checkpoint or raise CheckpointError saying what is wrong with it."""
    digest_file = path.with_name(path.name + ".sha256")
    if not digest_file.is_file():
        raise CheckpointError(
            f"{path.name}: its checksum file {digest_file.name} is missing (an interrupted save?)"
        )
    expected = digest_file.read_text(encoding="utf-8").split()[0] if digest_file.stat().st_size else ""
    actual = sha256_file(path)
    if actual != expected:
        raise CheckpointError(
            f"{path.name}: SHA-256 {actual[:12]}… does not match the recorded {expected[:12] or '(empty)'}… "
            "(the file is truncated or corrupted)"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path.name}: torch.load(weights_only=True) failed: {err}") from err
    if not isinstance(state, dict):
        raise CheckpointError(f"{path.name}: holds a {type(state).__name__}, not a dict of state")
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path.name}: missing the entries {missing}")
    return state


def load_checkpoint(
    run_dir: str | os.PathLike[str], *, path: str | os.PathLike[str] | None = None, map_location: Any = "cpu"
) -> tuple[dict[str, Any], Path]:
    """The newest usable checkpoint of a run (or exactly `path`) and its file.

    Starts from the file named in `latest` (or the newest file when `latest` is missing) and goes
    back through older ones, with a CheckpointWarning for each damaged file it skips. Raises
    CheckpointError when none loads.
    """
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise CheckpointError(f"checkpoint {p} does not exist")
        return _read(p, map_location), p
    files = list_checkpoints(run_dir)
    if not files:
        raise CheckpointError(f"no checkpoints in {checkpoint_dir(run_dir)}")
    pointer = checkpoint_dir(run_dir) / LATEST
    candidates = list(reversed(files))
    if pointer.is_file():
        name = pointer.read_text(encoding="utf-8").strip()
        named = [p for p in candidates if p.name == name]
        if named:  # the pointer's file first, then everything older than it
            start = candidates.index(named[0])
            candidates = candidates[start:] + candidates[:start]
    errors = []
    for p in candidates:
        try:
            state = _read(p, map_location)
        except CheckpointError as err:
            errors.append(str(err))
            warnings.warn(f"skipping damaged checkpoint {err}", CheckpointWarning, stacklevel=2)
            continue
        return state, p
    raise CheckpointError(f"no usable checkpoint in {checkpoint_dir(run_dir)}:\n  " + "\n  ".join(errors))

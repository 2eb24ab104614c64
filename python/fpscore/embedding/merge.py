"""Joining the parts of a pre-computation made with `precompute(shard="i/n")` into one cache.

The parts must record the same computation (format, fpscore version, parameters, data) and together
hold every shard exactly once; a gap or an overlap is an error that names the parts. Shard files are
hard-linked into the new cache where the file system allows (nothing copied; the parts stay valid),
else copied atomically. The manifest is written last, so an interrupted merge leaves no manifest and
is simply run again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._atomic import atomic_write, fsync_dir, sha256_file
from .cache import MANIFEST, read_manifest
from .cache_files import (
    SHARD_KINDS,
    manifest_differences,
    owned_files,
    shard_ok,
    write_manifest,
    writer_lock,
)

# What makes two parts the same computation (a manifest's other keys describe the part itself).
_IDENTITY = (
    "format",
    "format_version",
    "fpscore_version",
    "parameters",
    "data",
    "num_shards",
    "times",
    "levels",
)


@dataclass(frozen=True)
class MergeSummary:
    """What `merge_caches` did: files hard-linked or copied, bytes copied, wall time."""

    cache_dir: Path
    num_images: int
    num_shards: int
    parts: int
    linked_files: int
    copied_files: int
    copied_bytes: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.cache_dir}: {self.num_images} images in {self.num_shards} shards from {self.parts} "
            f"parts; {self.linked_files} files linked, {self.copied_files} copied "
            f"({self.copied_bytes} bytes); {self.seconds:.2f} s"
        )


def merge_caches(
    out_dir: str | os.PathLike[str],
    parts: Sequence[str | os.PathLike[str]],
    *,
    copy: bool = False,
    verify: bool = False,
) -> MergeSummary:
    """Build the cache `out_dir` from the part caches `parts` (any order).

    copy: copy the shard files even where hard links would do. verify: check every file's SHA-256
    against its part's manifest first (otherwise only the .npy headers and sizes are checked).
    `out_dir` must be missing, empty, or what an interrupted merge left (shard files, no manifest).
    """
    started = time.perf_counter()
    if isinstance(parts, (str, os.PathLike)) or not parts:
        raise ValueError("merge_caches needs a list of one or more part caches")
    folders = [Path(p) for p in parts]
    manifests = [_part_manifest(p) for p in folders]
    _check_same_computation(folders, manifests)
    owner = _check_coverage(folders, manifests)
    first = manifests[0]
    params = first["parameters"]
    image_shape = tuple(int(v) for v in first["data"]["image_shape"])
    bins = len(first["times"])
    entries: dict[int, dict[str, Any]] = {}
    for index, part in sorted(owner.items()):
        entry = next(e for e in manifests[part]["shards"] if int(e["index"]) == index)
        if not shard_ok(folders[part], entry, bins, image_shape, params):
            raise ValueError(f"{folders[part]}: shard {index} is damaged or missing; compute that part again")
        if verify:
            for kind in SHARD_KINDS:
                if kind in entry and sha256_file(folders[part] / entry[kind]) != entry[f"{kind}_sha256"]:
                    raise ValueError(f"{folders[part] / entry[kind]} does not match its checksum")
        entries[index] = entry

    out = Path(out_dir)
    if out.resolve() in {p.resolve() for p in folders}:
        raise ValueError(f"the merged cache {out} must be a new folder, not one of the parts")
    out.mkdir(parents=True, exist_ok=True)
    linked = copied = copied_bytes = 0
    with writer_lock(out):
        _prepare_output(out)
        for index, entry in entries.items():
            for kind in SHARD_KINDS:
                if kind in entry:
                    source, target = folders[owner[index]] / entry[kind], out / entry[kind]
                    if not copy and _hard_link(source, target):
                        linked += 1
                    else:
                        copied_bytes += _copy(source, target)
                        copied += 1
        fsync_dir(out)
        manifest = {k: v for k, v in first.items() if k not in ("slice", "shards", "complete")}
        manifest["shards"] = [entries[k] for k in sorted(entries)]
        manifest["complete"] = True
        manifest["merged_from"] = [
            {"path": str(folders[i]), "slice": manifests[i].get("slice")} for i in range(len(folders))
        ]
        write_manifest(out, manifest)
    return MergeSummary(
        cache_dir=out,
        num_images=int(first["num_images"]),
        num_shards=len(entries),
        parts=len(folders),
        linked_files=linked,
        copied_files=copied,
        copied_bytes=copied_bytes,
        seconds=time.perf_counter() - started,
    )


def _part_manifest(folder: Path) -> dict[str, Any]:
    manifest = read_manifest(folder)
    if not manifest.get("complete"):
        what = manifest.get("slice") or {}
        raise ValueError(
            f"the part {folder} (shard {what.get('index')}/{what.get('count')}) is unfinished: run its "
            "`fpscore precompute --shard` again to complete it"
        )
    if not isinstance(manifest.get("shards"), list):
        raise ValueError(f"the manifest of {folder} is damaged (no shard list)")
    return manifest


def _check_same_computation(folders: Sequence[Path], manifests: Sequence[dict[str, Any]]) -> None:
    reference = {k: manifests[0].get(k) for k in _IDENTITY}
    for folder, manifest in zip(folders[1:], manifests[1:], strict=True):
        diff = manifest_differences(reference, {k: manifest.get(k) for k in _IDENTITY})
        if diff:
            shown = "\n  ".join(diff[:20])
            raise ValueError(
                f"the parts {folders[0]} and {folder} are not the same pre-computation "
                f"({folders[0].name} → {folder.name}):\n  {shown}"
            )


def _ranges(indices: Sequence[int]) -> str:
    """[0, 1, 2, 5, 7, 8] → "0..2, 5, 7..8"."""
    out: list[str] = []
    values = sorted(indices)
    start = prev = values[0]
    for v in [*values[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(str(start) if start == prev else f"{start}..{prev}")
        if v is not None:
            start = prev = v
    return ", ".join(out)


def _check_coverage(folders: Sequence[Path], manifests: Sequence[dict[str, Any]]) -> dict[int, int]:
    """shard index → the part holding it; every shard exactly once."""
    n_shards = int(manifests[0]["num_shards"])
    holders: dict[int, list[int]] = {}
    for part, manifest in enumerate(manifests):
        for entry in manifest["shards"]:
            holders.setdefault(int(entry["index"]), []).append(part)
    overlaps: dict[tuple[int, ...], list[int]] = {}
    for index, held_by in holders.items():
        if len(held_by) > 1:
            overlaps.setdefault(tuple(held_by), []).append(index)
    if overlaps:
        lines = [
            f"shards {_ranges(idx)} are in each of {', '.join(str(folders[p]) for p in who)}"
            for who, idx in overlaps.items()
        ]
        raise ValueError("the parts overlap: " + "; ".join(lines))
    missing = [k for k in range(n_shards) if k not in holders]
    if missing:
        counts = {(m.get("slice") or {}).get("count") for m in manifests}
        hint = ""
        if len(counts) == 1 and None not in counts:
            count = counts.pop()
            present = {m["slice"]["index"] for m in manifests}
            absent = [f"{i}/{count}" for i in range(count) if i not in present]
            if absent:
                hint = f" (no part given for --shard {', '.join(absent)})"
        raise ValueError(
            f"the parts leave a gap: shards {_ranges(missing)} of 0..{n_shards - 1} are in none{hint}"
        )
    return {index: held_by[0] for index, held_by in holders.items()}


def _prepare_output(out: Path) -> None:
    """Empty the output folder of what an interrupted merge left; refuse anything else."""
    if (out / MANIFEST).exists():
        raise ValueError(f"{out} already holds a cache: choose a new folder for the merged cache")
    leftovers = set(owned_files(out))
    foreign = [p.name for p in out.iterdir() if p not in leftovers and p.name != ".lock"]
    if foreign:
        raise ValueError(f"{out} is not empty ({', '.join(sorted(foreign)[:5])}): choose a new folder")
    for p in leftovers:
        p.unlink()


def _hard_link(source: Path, target: Path) -> bool:
    """Hard-link; False where the file system cannot (another device, no link support)."""
    try:
        os.link(source, target)
    except OSError as err:
        if err.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            return False
        raise
    return True


def _copy(source: Path, target: Path) -> int:
    with open(source, "rb") as src, atomic_write(target, per_process=True) as dst:
        shutil.copyfileobj(src, dst, 1 << 22)
    return source.stat().st_size


__all__ = ["MergeSummary", "merge_caches"]

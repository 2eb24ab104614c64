"""Images for the embedding pre-computation, as float32 arrays (N, C, H, W) with values in [0, 1].

Sources (nothing is ever downloaded):

- `load_sample_images`: photographs that scikit-image ships (astronaut, chelsea, coffee, ...).
- `load_faces`: the 200 25×25 grayscale crops of `skimage.data.lfw_subset()` (100 faces, then
  100 non-faces).
- `load_cifar10`: CIFAR-10 batches in the python-pickle format (`data_batch_1` ... `data_batch_5`,
  `test_batch`: a dict with b"data" (N, 3072) uint8 and b"labels") or the binary format
  (`data_batch_1.bin` ...: records of 1 label byte + 3072 bytes). Both store each image as 1024 red,
  1024 green, 1024 blue bytes in row-major order.
- `load_array`: `.npy` / `.npz` arrays, uint8 (0..255) or float (0..1), layout detected (below).
- `load_folder`: a folder of image files read with Pillow; sub-folders are classes.
- `load(source, ...)`: any of these, chosen from a name ("samples", "faces") or a path.

Every loader selects images in the same way: first by `classes` (label values or class names), then
either by `indices` (positions among the images left) or by `count` (the first `count` of them).
`size` (an int for square, or (H, W)) resizes with Pillow's antialiased Lanczos filter after a
centred crop to the target's aspect ratio (so nothing is distorted); results are clipped to [0, 1].
`channels` converts: 3 from 1 replicates the gray channel, 1 from 3 takes the luminance
0.299 R + 0.587 G + 0.114 B, an alpha channel is dropped.

lazy=True (`load_array`, `load_cifar10`, `load_folder`; what `fpscore precompute` uses) selects
the images without decoding them: `ImageSet.images` is then a `LazyImages` that decodes each slice
when it is indexed, with the same conversions, so its slices equal the eager images bit for bit and
memory stays bounded however many images there are. What the lazy sources read up front:

- `.npy`: the header (np.load with mmap_mode="r"); each slice is read through a fresh memory map.
  A `.npz` member cannot be memory-mapped (it is a zip entry, often compressed): a lazy `.npz` load
  reads the image member once, in its stored dtype, and converts slices on demand. For a large
  array save it as `.npy`.
- CIFAR-10: the labels of every batch (one batch in memory at a time); binary batches are then
  memory-mapped per slice, pickled ones read one batch file at a time when a slice needs it.
- A folder: the file list, and each selected file's header (Pillow's Image.open reads no pixels),
  which gives the common size when size=None. With skip_corrupt, a file whose header cannot be read
  is skipped (listed in source["skipped"]); a file that fails later, while its pixels are decoded,
  raises ValueError naming it: image positions are fixed by then, so it cannot be skipped.

`ImageSet.fingerprint()` identifies the data in a cache manifest. Arrays and CIFAR-10: the SHA-256
of the shape and the float32 pixels, computed chunk by chunk, the same for an eager and a lazy load.
Folders (eager or lazy, the same rule): the SHA-256 of the image shape and of each selected file's
relative path and byte size, so no pixel is decoded for it; a file edited in place that keeps its
size (possible in uncompressed formats such as BMP or PPM) is not noticed.
"""

from __future__ import annotations

import functools
import hashlib
import numbers
import os
import pickle
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .cifar_batches import cifar_binary_records, cifar_images, read_cifar_binary, read_cifar_pickle
from .convert import finish, read_image, to_unit_float
from .lazy import LazyImages, pixel_fingerprint
from .lazy_sources import IMAGE_ERRORS, ArrayImages, CifarImages, FolderImages

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

# Photographs scikit-image ships inside its package (no download). Gray ones get C = 3 by
# replication unless channels=1 is asked for.
SAMPLE_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "camera",
    "coins",
    "moon",
    "grass",
    "gravel",
    "brick",
)
FACE_CLASSES = ("face", "non-face")

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")

SizeLike = int | tuple[int, int] | None
ClassesLike = Iterable[int | str] | None


@dataclass(frozen=True)
class ImageSet:
    """Images ready for the pre-computation.

    images: (N, C, H, W) float32 in [0, 1], an ndarray or (lazy=True) a `LazyImages` that decodes
    the slices it is indexed with; labels: (N,) int64 class indices or None; class_names: the names
    of the label values; source: a JSON-ready description of where the images came from and how
    they were selected (it goes into the cache manifest); identity: when set, what `fingerprint`
    returns instead of a hash of the pixels (folder sources: their files' paths and sizes).
    """

    images: NDArray[np.float32] | LazyImages
    labels: NDArray[np.int64] | None
    class_names: tuple[str, ...] = ()
    source: dict[str, Any] = field(default_factory=dict)
    identity: str | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def fingerprint(self) -> str:
        """Identifies the data in a cache manifest: `identity` when set, else the SHA-256 of the
        shape and the float32 values (hashed chunk by chunk; lazy images are decoded once for it,
        one chunk at a time)."""
        return self.identity if self.identity is not None else pixel_fingerprint(self.images)


# --------------------------------------------------------------------------------------------------
# Selection, conversion, resizing
# --------------------------------------------------------------------------------------------------


def _size(size: SizeLike) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (int(size), int(size))
    if (
        not isinstance(size, tuple | list)
        or len(size) != 2
        or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size)
    ):
        raise TypeError(f"size must be an int or a pair (H, W) of ints, got {size!r}")
    if min(size) < 1:
        raise ValueError(f"size must be positive, got {tuple(size)}")
    return int(size[0]), int(size[1])


def _channels(channels: int | None) -> int | None:
    if channels is None:
        return None
    if isinstance(channels, bool) or channels not in (1, 3):
        raise ValueError(f"channels must be 1, 3 or None (keep), got {channels!r}")
    return int(channels)


def _select(
    n: int,
    labels: NDArray[np.int64] | None,
    class_names: Sequence[str],
    classes: ClassesLike,
    indices: Sequence[int] | None,
    count: int | None,
    what: str,
) -> NDArray[np.int64]:
    """Positions in the source: by class, then by index list or count."""
    positions = np.arange(n, dtype=np.int64)
    if classes is not None:
        if isinstance(classes, str | int):
            classes = [classes]
        if labels is None:
            raise ValueError(f"{what} has no labels, so it cannot be selected by classes")
        wanted = []
        for c in classes:
            if isinstance(c, str):
                if c not in class_names:
                    raise ValueError(
                        f"unknown class {c!r} in {what}; available: {', '.join(map(repr, class_names))}"
                    )
                wanted.append(class_names.index(c))
            elif isinstance(c, numbers.Integral) and not isinstance(c, bool):
                if class_names and not 0 <= c < len(class_names):
                    raise ValueError(f"class {c} out of range: {what} has classes 0..{len(class_names) - 1}")
                wanted.append(int(c))
            else:
                raise TypeError(f"classes must hold ints or class names, got {c!r}")
        positions = positions[np.isin(labels, wanted)]
        if positions.size == 0:
            raise ValueError(f"no image of {what} has class {list(classes)!r}")
    if indices is not None and count is not None:
        raise ValueError("give either indices or count, not both")
    if indices is not None:
        idx = np.asarray(list(indices))
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise TypeError(f"indices must be a list of integers, got {indices!r}")
        if idx.size == 0:
            raise ValueError("indices is empty: no image selected")
        bad = idx[(idx < 0) | (idx >= positions.size)]
        if bad.size:
            raise ValueError(
                f"indices {bad.tolist()} out of range: {what} has {positions.size} image(s) "
                f"{'of the chosen classes ' if classes is not None else ''}(0..{positions.size - 1})"
            )
        positions = positions[idx.astype(np.int64)]
    elif count is not None:
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
            raise ValueError(f"count must be an integer >= 1, got {count!r}")
        if count > positions.size:
            raise ValueError(f"count={count}, but {what} has only {positions.size} image(s) to choose from")
        positions = positions[: int(count)]
    return positions


def _describe(
    kind: str,
    size: tuple[int, int] | None,
    channels: int | None,
    classes: ClassesLike,
    indices: Sequence[int] | None,
    count: int | None,
    path: Path | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The `source` of an ImageSet: kind, the resolved path (for files and folders), the loader's
    own entries, the selection, size and channels."""
    out: dict[str, Any] = {"kind": kind}
    if path is not None:
        out["path"] = str(path.resolve())
    out.update(extra)
    out.update(_selection(classes, indices, count))
    out["size"] = list(size) if size is not None else None
    out["channels"] = channels
    return out


def _selection(classes: ClassesLike, indices: Sequence[int] | None, count: int | None) -> dict[str, Any]:
    if isinstance(classes, str | int):
        classes = [classes]
    return {
        "classes": list(classes) if classes is not None else None,
        "indices": [int(i) for i in indices] if indices is not None else None,
        "count": count,
    }


# --------------------------------------------------------------------------------------------------
# Bundled sample data (scikit-image)
# --------------------------------------------------------------------------------------------------


def load_sample_images(
    *,
    classes: ClassesLike = None,
    indices: Sequence[int] | None = None,
    count: int | None = None,
    size: SizeLike = 32,
    channels: int | None = 3,
) -> ImageSet:
    """The photographs scikit-image ships (`SAMPLE_PHOTOS`), resized to `size` (default 32×32).

    Each photograph is its own class, named as in `SAMPLE_PHOTOS` (e.g. classes=["astronaut",
    "coffee"]). channels=3 (default) replicates the gray photographs (camera, coins, moon, grass,
    gravel, brick) to RGB; channels=1 turns the colour ones into luminance; None keeps each as is
    (then only a selection with one kind can be stacked).
    """
    from skimage import data as skdata

    size, channels = _size(size), _channels(channels)
    labels = np.arange(len(SAMPLE_PHOTOS), dtype=np.int64)
    pos = _select(len(SAMPLE_PHOTOS), labels, SAMPLE_PHOTOS, classes, indices, count, "the sample photos")
    raw = []
    for p in pos:
        arr = np.asarray(getattr(skdata, SAMPLE_PHOTOS[p])())
        arr = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
        raw.append(to_unit_float(arr, f"skimage.data.{SAMPLE_PHOTOS[p]}"))
    images = finish(raw, size, channels, "the sample photos")
    names = [SAMPLE_PHOTOS[p] for p in pos]
    source = _describe("samples", size, channels, classes, indices, count, names=names)
    return ImageSet(images, labels[pos], SAMPLE_PHOTOS, source)


def load_faces(
    *,
    classes: ClassesLike = None,
    indices: Sequence[int] | None = None,
    count: int | None = None,
    size: SizeLike = None,
    channels: int | None = 1,
) -> ImageSet:
    """`skimage.data.lfw_subset()`: 200 grayscale 25×25 crops, the first 100 faces (class 0, "face"),
    the other 100 background (class 1, "non-face").

    channels=1 (default) keeps them gray (C = 1); channels=3 replicates the gray value into three
    channels for models that expect RGB. size=None keeps 25×25.
    """
    from skimage import data as skdata

    size, channels = _size(size), _channels(channels)
    faces = np.asarray(skdata.lfw_subset())
    labels = np.repeat(np.arange(2, dtype=np.int64), faces.shape[0] // 2)
    pos = _select(faces.shape[0], labels, FACE_CLASSES, classes, indices, count, "the face crops")
    images = to_unit_float(faces[pos][:, None], "skimage.data.lfw_subset")
    images = finish(list(images), size, channels, "the face crops")
    source = _describe("faces", size, channels, classes, indices, count)
    return ImageSet(images, labels[pos], FACE_CLASSES, source)


# --------------------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------------------


def _cifar_files(path: Path, split: str) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no CIFAR-10 batch or folder at {path}")
    stems = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    for suffix in ("", ".bin"):
        found = [path / (s + suffix) for s in stems if (path / (s + suffix)).is_file()]
        if found:
            return found
    raise FileNotFoundError(
        f"{path} holds no CIFAR-10 {split} batches ({stems[0]} or {stems[0]}.bin, python or binary format)"
    )


def _is_cifar_dir(path: Path) -> bool:
    names = ("data_batch_1", "data_batch_1.bin", "test_batch", "test_batch.bin")
    return path.is_dir() and any((path / n).is_file() for n in names)


def _cifar_batch(file: Path, lazy: bool) -> tuple[NDArray[np.uint8] | None, NDArray[np.int64]]:
    """(pixels, labels) of one batch; lazy: (None, labels), holding no pixels."""
    if file.suffix == ".bin":
        if lazy:
            return None, cifar_binary_records(file)[:, 0].astype(np.int64)
        return read_cifar_binary(file)
    pixels, labels = read_cifar_pickle(file)
    return (None if lazy else pixels), labels


def load_cifar10(
    path: str | os.PathLike[str],
    *,
    split: str = "train",
    classes: ClassesLike = None,
    indices: Sequence[int] | None = None,
    count: int | None = None,
    size: SizeLike = None,
    channels: int | None = None,
    skip_corrupt: bool = False,
    lazy: bool = False,
) -> ImageSet:
    """CIFAR-10 from a folder of batches (`split="train"`: data_batch_1..5; "test": test_batch) or
    from one batch file. Python-pickle and binary (`.bin`) batches are both read; files named
    `.bin` are binary. Classes by index or name (`CIFAR10_CLASSES`). size=None keeps 32×32.

    A batch that cannot be read raises ValueError naming its path, or with skip_corrupt=True is
    skipped with a warning (and listed under "skipped" in `source`). lazy=True reads only the
    labels now (every batch once, one at a time) and the pixels of each slice when it is indexed.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    path = Path(path)
    size, channels = _size(size), _channels(channels)
    data, labels, skipped, used = [], [], [], []
    for file in _cifar_files(path, split):
        try:
            d, lab = _cifar_batch(file, lazy)
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, TypeError) as err:
            message = f"cannot read CIFAR-10 batch {file}: {err}"
            if not skip_corrupt:
                raise ValueError(message) from err
            warnings.warn(f"skipping: {message}", stacklevel=2)
            skipped.append(str(file))
            continue
        bad = lab[(lab < 0) | (lab > 9)]
        if bad.size:
            raise ValueError(f"{file}: CIFAR-10 labels must be 0..9, got {sorted(set(bad.tolist()))[:5]}")
        data.append(d)
        labels.append(lab)
        used.append(file)
    if not used:
        raise ValueError(f"no readable CIFAR-10 batch in {path}")
    all_labels = np.concatenate(labels)
    what = f"CIFAR-10 {path}"
    pos = _select(all_labels.shape[0], all_labels, CIFAR10_CLASSES, classes, indices, count, what)
    if lazy:
        images: NDArray[np.float32] | LazyImages = CifarImages(
            used, [lab.shape[0] for lab in labels], pos, size, channels, what
        )
    else:
        images = cifar_images(np.concatenate(data)[pos], size, channels, what)
    source = _describe(
        "cifar10",
        size,
        channels,
        classes,
        indices,
        count,
        path=path,
        split=split,
        files=[f.name for f in used],
        skipped=skipped,
    )
    return ImageSet(images, all_labels[pos], CIFAR10_CLASSES, source)


# --------------------------------------------------------------------------------------------------
# .npy / .npz arrays
# --------------------------------------------------------------------------------------------------

_CHANNEL_COUNTS = (1, 3, 4)


def _detect_layout(shape: tuple[int, ...], layout: str, what: str) -> str:
    if layout not in ("auto", "NCHW", "NHWC", "NHW"):
        raise ValueError(f"layout must be 'auto', 'NCHW', 'NHWC' or 'NHW', got {layout!r}")
    if len(shape) == 3:
        if layout not in ("auto", "NHW"):
            raise ValueError(f"{what}: a 3-D array {shape} is (N, H, W) grayscale, not {layout}")
        return "NHW"
    if len(shape) != 4:
        raise ValueError(
            f"{what}: expected images (N, H, W), (N, H, W, C) or (N, C, H, W), got shape {shape}"
        )
    if layout != "auto":
        if layout == "NHW":
            raise ValueError(f"{what}: layout 'NHW' needs a 3-D array, got shape {shape}")
        return layout
    first, last = shape[1] in _CHANNEL_COUNTS, shape[3] in _CHANNEL_COUNTS
    if first and not last:
        return "NCHW"
    if last and not first:
        return "NHWC"
    raise ValueError(
        f"{what}: cannot tell channels-first from channels-last in shape {shape}; "
        "pass layout='NCHW' or 'NHWC'"
    )


def load_array(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    labels_key: str | None = None,
    layout: str = "auto",
    classes: ClassesLike = None,
    indices: Sequence[int] | None = None,
    count: int | None = None,
    size: SizeLike = None,
    channels: int | None = None,
    lazy: bool = False,
) -> ImageSet:
    """Images from a `.npy` file or a `.npz` archive.

    Values: uint8 (or other integers) 0..255, divided by 255; or floats already in [0, 1] (anything
    else is a ValueError). Layout: (N, H, W) gray; (N, H, W, C) channels-last or (N, C, H, W)
    channels-first, C in {1, 3, 4}, detected from which axis has a channel count (an ambiguous shape
    such as (N, 3, 8, 3) needs layout="NCHW" or "NHWC"). In a `.npz`: the images are `key`, else
    the only array, else the first of "images", "x", "data", "arr_0"; labels (for `classes`) are
    `labels_key`, else "labels" or "y" when present.

    lazy=True memory-maps a `.npy` and converts only the slices that are indexed (an out-of-range
    value then raises when its slice is read, naming the image). A `.npz` member cannot be
    memory-mapped: lazy then reads the image member once, unconverted, and converts slices.
    """
    path = Path(path)
    what = str(path)
    size, channels = _size(size), _channels(channels)
    labels = None
    try:
        loaded = np.load(path, mmap_mode="r" if lazy else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise ValueError(f"cannot read array file {path}: {err}") from err
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = list(loaded.files)
            if key is None:
                candidates = [n for n in ("images", "x", "data", "arr_0") if n in names]
                if len(names) == 1:
                    key = names[0]
                elif candidates:
                    key = candidates[0]
                else:
                    raise ValueError(f"{path}: which array holds the images? pass key=, one of {names}")
            if key not in names:
                raise ValueError(f"{path}: no array {key!r}; it holds {names}")
            if labels_key is None:
                labels_key = next((n for n in ("labels", "y") if n in names), None)
            elif labels_key not in names:
                raise ValueError(f"{path}: no array {labels_key!r}; it holds {names}")
            arr = loaded[key]
            if labels_key is not None:
                labels = np.asarray(loaded[labels_key]).astype(np.int64).reshape(-1)
    else:
        if key is not None or labels_key is not None:
            raise ValueError(f"{path} is a single array (.npy): key and labels_key apply to .npz archives")
        arr = loaded
    layout = _detect_layout(arr.shape, layout, what)
    if labels is not None and labels.shape[0] != arr.shape[0]:
        raise ValueError(f"{path}: {arr.shape[0]} images but {labels.shape[0]} labels")
    pos = _select(arr.shape[0], labels, (), classes, indices, count, what)
    if isinstance(arr, np.memmap):  # lazy .npy: a fresh map per slice, its touched pages go with it
        open_array = functools.partial(np.load, path, mmap_mode="r", allow_pickle=False)
    else:  # in memory: an eager load, or a .npz member
        open_array = functools.partial(np.asarray, arr)
    lazy_images = ArrayImages(open_array, pos, layout, size, channels, what)
    images = lazy_images if lazy else lazy_images[:]
    source = _describe("array", size, channels, classes, indices, count, path=path, key=key, layout=layout)
    return ImageSet(images, labels[pos] if labels is not None else None, (), source)


# --------------------------------------------------------------------------------------------------
# Folders of image files
# --------------------------------------------------------------------------------------------------


def _image_files(root: Path) -> list[str]:
    """The image files under `root` as sorted relative POSIX paths (strings: a million Path
    objects would take several hundred MB)."""
    files = [
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    ]
    files.sort()
    return files


def _image_size(file: Path) -> tuple[int, int]:
    """(H, W) from a file's header: Pillow's Image.open reads no pixels."""
    from PIL import Image

    with Image.open(file) as im:
        width, height = im.size
    return int(height), int(width)


def _folder_identity(root: Path, files: Sequence[str], shape: tuple[int, ...]) -> str:
    """What identifies a folder source: the image shape, and each file's relative path and size."""
    digest = hashlib.sha256(f"fpscore folder {tuple(int(s) for s in shape)!r}\n".encode())
    for rel in files:
        digest.update(f"{rel}\t{(root / rel).stat().st_size}\n".encode())
    return digest.hexdigest()


def _progress(items: Sequence[Any], what: str) -> Iterable[Any]:
    """`items`, with a tqdm bar on a terminal when there are many of them."""
    if len(items) < 1000 or not sys.stderr.isatty():
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=what, unit="file", leave=False, dynamic_ncols=True)


def load_folder(
    path: str | os.PathLike[str],
    *,
    classes: ClassesLike = None,
    indices: Sequence[int] | None = None,
    count: int | None = None,
    size: SizeLike = None,
    channels: int = 3,
    skip_corrupt: bool = False,
    lazy: bool = False,
) -> ImageSet:
    """Image files (`IMAGE_EXTENSIONS`) under a folder, read with Pillow, in sorted path order.

    Files directly in sub-folders give classes named after the sub-folders (sorted; images in the
    folder itself have no class then). channels=3 converts every file to RGB, channels=1 to
    luminance. The selection picks files before any is decoded; a file that cannot be read raises
    ValueError naming it, or with skip_corrupt=True is skipped with a warning (so fewer images
    than selected may come back; the skipped paths are listed in `source`). size=None needs all
    files to have one size.

    lazy=True reads only each selected file's header now (skip_corrupt skips the files whose
    header cannot be read) and decodes a file when its image is indexed; a file that fails then
    raises ValueError naming it, even with skip_corrupt, as the image positions are fixed.
    Eager or lazy, `fingerprint()` hashes the selected files' relative paths and sizes, not pixels.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"no folder of images at {root}")
    size = _size(size)
    if channels not in (1, 3) or isinstance(channels, bool):
        raise ValueError(f"channels must be 1 or 3 for image files, got {channels!r}")
    files = _image_files(root)
    if not files:
        raise ValueError(f"{root} holds no image files ({', '.join(IMAGE_EXTENSIONS)})")
    subdirs = sorted({f.split("/", 1)[0] for f in files if "/" in f})
    labels = None
    if subdirs:
        class_of = {name: k for k, name in enumerate(subdirs)}
        labels = np.array([class_of[f.split("/", 1)[0]] if "/" in f else -1 for f in files], dtype=np.int64)
    what = f"folder {root}"
    pos = _select(len(files), labels, tuple(subdirs), classes, indices, count, what)
    raw, sizes, kept, skipped = [], set(), [], []
    for p in _progress(pos, "reading headers" if lazy else "decoding"):
        file = root / files[p]
        try:
            if lazy:
                sizes.add(_image_size(file))  # a set: one entry per distinct size, not per file
            else:
                raw.append(read_image(file, channels))
            kept.append(p)
        except IMAGE_ERRORS as err:
            message = f"cannot read image {file}: {err}"
            if not skip_corrupt:
                raise ValueError(message) from err
            warnings.warn(f"skipping: {message}", stacklevel=2)
            skipped.append(files[p])
    if not kept:
        raise ValueError(f"no readable image selected in {root} ({len(skipped)} unreadable)")
    kept_files = [files[p] for p in kept]
    if lazy:
        if size is None and len(sizes) > 1:
            shown = [(channels, *s) for s in sorted(sizes)[:4]]
            raise ValueError(
                f"{what}: images have different shapes {shown}; pass size=(H, W) (and channels) to unify"
            )
        shape = (len(kept), channels, *(size if size is not None else sizes.pop()))
        images: NDArray[np.float32] | LazyImages = FolderImages(
            root, kept_files, shape, size, skip_corrupt, what
        )
    else:
        images = finish(raw, size, channels, what)
    kept_pos = np.asarray(kept, dtype=np.int64)
    source = _describe(
        "folder", size, channels, classes, indices, count, path=root, files=kept_files, skipped=skipped
    )
    identity = _folder_identity(root, kept_files, images.shape)
    return ImageSet(
        images, labels[kept_pos] if labels is not None else None, tuple(subdirs), source, identity
    )


# --------------------------------------------------------------------------------------------------
# One entry point
# --------------------------------------------------------------------------------------------------

_CIFAR_FILE = re.compile(r"^(data_batch_\d+|test_batch)(\.bin)?$")


def loader(source: str | os.PathLike[str]) -> tuple[Callable[..., ImageSet], tuple[Any, ...]]:
    """The loader `load` uses for `source`, and the positional arguments it passes to it."""
    if isinstance(source, str) and source in ("samples", "faces"):
        return (load_sample_images if source == "samples" else load_faces), ()
    path = Path(source)
    if path.is_file() and path.suffix.lower() in (".npy", ".npz"):
        return load_array, (path,)
    if (path.is_file() and (_CIFAR_FILE.match(path.name) or path.suffix == ".bin")) or _is_cifar_dir(path):
        return load_cifar10, (path,)
    if path.is_dir():
        return load_folder, (path,)
    if not path.exists():
        raise FileNotFoundError(
            f"no data at {str(source)!r}: expected 'samples', 'faces', a .npy/.npz file, "
            "a CIFAR-10 batch or folder, or a folder of images"
        )
    raise ValueError(
        f"cannot tell what kind of data {path} is (expected .npy, .npz, a CIFAR-10 batch, a folder)"
    )


def load(source: str | os.PathLike[str], **options: Any) -> ImageSet:
    """Images from `source`: "samples" (`load_sample_images`), "faces" (`load_faces`), or a path: a
    `.npy`/`.npz` file (`load_array`), a CIFAR-10 batch file or a folder of CIFAR-10 batches
    (`load_cifar10`), any other folder (`load_folder`). `options` go to that loader.
    """
    function, args = loader(source)
    return function(*args, **options)

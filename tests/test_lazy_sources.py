"""Lazy image sources (`lazy=True`): slices equal the eager images bit for bit, only the slices asked
for are decoded, fingerprints let a cache made from an eager load resume from a lazy one, and broken
files are reported as documented."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fpscore
from fpscore import cli, data
from fpscore.data import lazy as lazy_module
from fpscore.data import lazy_sources
from fpscore.data.lazy import LazyImages

RNG = np.random.default_rng(17)
FAST = {"n_steps": 3, "shard_size": 4, "progress": False}

# index expressions a caller may use, checked against numpy on the eager array
KEYS = [
    0,
    -1,
    5,
    slice(None),
    slice(2, 9),
    slice(None, None, 3),
    slice(10, 1, -2),
    slice(8, 3),
    [4, 0, 1, 2, 11],
    np.array([-2, 3, 3]),
    (slice(1, 6), 0),
    (3, slice(None), 1),
    (Ellipsis,),
]


def _assert_same(lazy: data.ImageSet, eager: data.ImageSet) -> None:
    """Every slice of the lazy set is the eager one, bit for bit, and both describe the same data."""
    assert isinstance(lazy.images, LazyImages) and isinstance(eager.images, np.ndarray)
    assert lazy.images.shape == eager.images.shape and len(lazy) == len(eager)
    full = np.asarray(lazy.images)
    assert full.dtype == np.float32
    np.testing.assert_array_equal(full, eager.images, strict=True)
    for start in range(0, len(eager), 3):  # uneven chunks, as the shards of a pre-computation
        np.testing.assert_array_equal(lazy.images[start : start + 3], eager.images[start : start + 3])
    if lazy.labels is None:
        assert eager.labels is None
    else:
        np.testing.assert_array_equal(lazy.labels, eager.labels)
    assert lazy.source == eager.source
    assert lazy.fingerprint() == eager.fingerprint()


# --------------------------------------------------------------------------------------------------
# The array-like interface
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def npy(tmp_path: Path) -> tuple[Path, np.ndarray]:
    hwc = RNG.integers(0, 256, (13, 6, 5, 3), dtype=np.uint8)
    np.save(tmp_path / "a.npy", hwc)
    return tmp_path / "a.npy", hwc


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_indexing_matches_numpy(npy: tuple[Path, np.ndarray], key: object) -> None:
    path, hwc = npy
    reference = (np.moveaxis(hwc, -1, 1) / np.float32(255.0)).astype(np.float32)
    images = data.load_array(path, lazy=True).images
    np.testing.assert_array_equal(images[key], reference[key], strict=True)


def test_indexing_errors_and_array_protocol(npy: tuple[Path, np.ndarray]) -> None:
    images = data.load_array(npy[0], lazy=True).images
    mask = np.zeros(13, dtype=bool)
    mask[[1, 7]] = True
    np.testing.assert_array_equal(images[mask], images[[1, 7]])
    with pytest.raises(IndexError, match="13"):
        images[13]
    with pytest.raises(IndexError, match=r"\[20\]"):
        images[[0, 20]]
    with pytest.raises(IndexError, match=r"\(13,\)"):
        images[np.ones(4, dtype=bool)]
    with pytest.raises(TypeError, match="indexed by"):
        images[[0.5]]
    assert (len(images), images.ndim, images.dtype) == (13, 4, np.float32)
    assert np.asarray(images, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="copy"):
        np.asarray(images, copy=False)
    starts = [start for start, _ in images.chunks(5)]
    assert starts == [0, 5, 10]
    with pytest.raises(ValueError, match="chunk length"):
        next(images.chunks(0))


def test_lazy_images_pickle_without_pixels(npy: tuple[Path, np.ndarray], cifar, folder) -> None:
    # what a worker process receives: the recipe (paths, positions), decoded there
    for lazy in (
        data.load_array(npy[0], lazy=True),
        data.load_cifar10(cifar[1], lazy=True),
        data.load_folder(folder, lazy=True),
    ):
        blob = pickle.dumps(lazy.images)
        assert len(blob) < lazy.images.shape[0] * 4 * int(np.prod(lazy.images.shape[1:]))
        np.testing.assert_array_equal(pickle.loads(blob)[2:5], lazy.images[2:5])


def test_fingerprint_is_hashed_chunk_by_chunk(npy: tuple[Path, np.ndarray], monkeypatch) -> None:
    eager = data.load_array(npy[0])
    lazy = data.load_array(npy[0], lazy=True)
    reads: list[int] = []
    original = type(lazy.images)._read

    def counting(self: LazyImages, start: int, stop: int) -> np.ndarray:
        reads.append(stop - start)
        return original(self, start, stop)

    monkeypatch.setattr(type(lazy.images), "_read", counting)
    monkeypatch.setattr(lazy_module, "CHUNK_BYTES", 4 * 3 * 6 * 5 * 4)  # four images
    assert lazy.fingerprint() == eager.fingerprint()
    assert reads == [4, 4, 4, 1]
    # the digest of the unchunked definition: repr(shape), then all float32 values in C order
    import hashlib

    whole = hashlib.sha256(repr(eager.images.shape).encode())
    whole.update(eager.images.tobytes())
    assert lazy.fingerprint() == whole.hexdigest()


# --------------------------------------------------------------------------------------------------
# .npy / .npz
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"indices": [9, 2, 3, 4, 0]}, {"count": 7, "size": (4, 3), "channels": 1}, {"size": 8}],
    ids=["all", "indices", "count-resize-gray", "upsize"],
)
def test_npy_lazy_equals_eager(npy: tuple[Path, np.ndarray], options: dict[str, object]) -> None:
    _assert_same(data.load_array(npy[0], lazy=True, **options), data.load_array(npy[0], **options))


def test_npy_layouts_and_float_values(tmp_path: Path) -> None:
    chw = RNG.random((6, 3, 5, 7)).astype(np.float64)
    np.save(tmp_path / "chw.npy", chw)
    _assert_same(data.load_array(tmp_path / "chw.npy", lazy=True), data.load_array(tmp_path / "chw.npy"))
    np.testing.assert_array_equal(
        data.load_array(tmp_path / "chw.npy", lazy=True).images[2:4], chw[2:4].astype(np.float32)
    )
    gray = RNG.integers(0, 256, (5, 4, 4), dtype=np.uint8)
    np.save(tmp_path / "gray.npy", gray)
    lazy = data.load_array(tmp_path / "gray.npy", channels=3, lazy=True)
    _assert_same(lazy, data.load_array(tmp_path / "gray.npy", channels=3))
    np.testing.assert_array_equal(lazy.images[1, 2], gray[1] / np.float32(255.0))


def test_npy_values_are_checked_per_slice(tmp_path: Path) -> None:
    values = RNG.random((10, 1, 4, 4)).astype(np.float32)
    values[7, 0, 1, 1] = 1.5
    values[8, 0, 0, 0] = np.nan
    np.save(tmp_path / "v.npy", values)
    lazy = data.load_array(tmp_path / "v.npy", layout="NCHW", lazy=True)  # image 7 is not read yet
    np.testing.assert_array_equal(lazy.images[:7], values[:7])
    with pytest.raises(ValueError, match=r"image 7 of the selection \(index 7 in the array\).*\[0, 1\]"):
        lazy.images[5:9]
    with pytest.raises(ValueError, match=r"image 0 of the selection \(index 8 in the array\).*NaN"):
        data.load_array(tmp_path / "v.npy", layout="NCHW", indices=[8, 0], lazy=True)
    with pytest.raises(ValueError, match=r"image 7 .*\[0, 1\]"):
        data.load_array(tmp_path / "v.npy", layout="NCHW")  # eager: the same message, at load time


def test_npy_is_memory_mapped_per_slice(npy: tuple[Path, np.ndarray], monkeypatch) -> None:
    calls: list[object] = []
    real_load = np.load

    def recording_load(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("mmap_mode"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", recording_load)
    lazy = data.load_array(npy[0], lazy=True)
    calls.clear()
    lazy.images[0:4]
    lazy.images[4:8]
    assert calls == ["r", "r"]


def test_npz_lazy(tmp_path: Path) -> None:
    hwc = RNG.integers(0, 256, (9, 5, 5, 3), dtype=np.uint8)
    labels = RNG.integers(0, 3, 9)
    np.savez_compressed(tmp_path / "a.npz", images=hwc, labels=labels)
    for options in ({}, {"classes": [1, 2]}, {"count": 4, "channels": 1}):
        _assert_same(
            data.load_array(tmp_path / "a.npz", lazy=True, **options),
            data.load_array(tmp_path / "a.npz", **options),
        )
    np.testing.assert_array_equal(
        data.load_array(tmp_path / "a.npz", lazy=True).images[3], np.moveaxis(hwc[3], -1, 0) / np.float32(255)
    )


# --------------------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def cifar(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    pick, binary = tmp_path / "py", tmp_path / "bin"
    pick.mkdir()
    binary.mkdir()
    rng = np.random.default_rng(4)
    pixels, labels = [], []
    for b, n in ((1, 6), (2, 5), (3, 4)):
        px, lab = rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n)
        with open(pick / f"data_batch_{b}", "wb") as f:
            pickle.dump({b"data": px, b"labels": [int(v) for v in lab]}, f, protocol=2)
        np.concatenate([lab.astype(np.uint8)[:, None], px], axis=1).tofile(binary / f"data_batch_{b}.bin")
        pixels.append(px)
        labels.append(lab)
    return pick, binary, np.concatenate(pixels), np.concatenate(labels)


@pytest.mark.parametrize(
    "options",
    [{}, {"indices": [12, 0, 7, 1, 14, 6]}, {"count": 9, "size": 16, "channels": 1}, {"classes": [0, 3, 5]}],
    ids=["all", "indices-across-batches", "count-resize-gray", "classes"],
)
@pytest.mark.parametrize("fmt", ["pickle", "binary"])
def test_cifar_lazy_equals_eager(cifar, options: dict[str, object], fmt: str) -> None:
    folder = cifar[0] if fmt == "pickle" else cifar[1]
    _assert_same(data.load_cifar10(folder, lazy=True, **options), data.load_cifar10(folder, **options))


def test_cifar_lazy_pixels(cifar) -> None:
    pick, _, pixels, labels = cifar
    lazy = data.load_cifar10(pick, lazy=True)
    np.testing.assert_array_equal(lazy.labels, labels)
    expected = pixels[4:9].reshape(-1, 3, 32, 32) / np.float32(255.0)  # spans batches 1 and 2
    np.testing.assert_array_equal(lazy.images[4:9], expected)


def test_cifar_reads_one_pickled_batch_at_a_time(cifar, monkeypatch) -> None:
    pick = cifar[0]
    lazy = data.load_cifar10(pick, lazy=True)
    read: list[str] = []
    real = lazy_sources.read_cifar_pickle

    def recording(path: Path) -> tuple[np.ndarray, np.ndarray]:
        read.append(path.name)
        return real(path)

    monkeypatch.setattr(lazy_sources, "read_cifar_pickle", recording)
    for start in range(0, 15, 2):
        lazy.images[start : start + 2]
    # batch 1 was cached when the set was made (its first image gave the shape)
    assert read == ["data_batch_2", "data_batch_3"]


def test_cifar_lazy_skips_unreadable_batches(cifar) -> None:
    pick = cifar[0]
    (pick / "data_batch_2").write_bytes(b"\x80\x02 not a pickle")
    with pytest.raises(ValueError, match="data_batch_2"):
        data.load_cifar10(pick, lazy=True)
    with pytest.warns(UserWarning, match="data_batch_2"):
        kept = data.load_cifar10(pick, lazy=True, skip_corrupt=True)
    assert len(kept) == 10 and kept.source["skipped"] == [str(pick / "data_batch_2")]
    np.testing.assert_array_equal(kept.images[6:], cifar[2][11:].reshape(-1, 3, 32, 32) / np.float32(255))


# --------------------------------------------------------------------------------------------------
# Folders of image files
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "train"
    for cls, n in (("n01", 3), ("n02", 4)):
        (root / cls).mkdir(parents=True)
        for k in range(n):
            Image.fromarray(RNG.integers(0, 256, (10, 14, 3), dtype=np.uint8)).save(root / cls / f"{k}.png")
    Image.fromarray(RNG.integers(0, 256, (10, 14), dtype=np.uint8)).save(root / "n02" / "gray.jpg")
    return root


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"size": 6},
        {"classes": ["n02"], "count": 3, "size": (5, 7), "channels": 1},
        {"indices": [6, 1, 2]},
    ],
    ids=["all", "resize", "class-count-gray", "indices"],
)
def test_folder_lazy_equals_eager(folder: Path, options: dict[str, object]) -> None:
    _assert_same(data.load_folder(folder, lazy=True, **options), data.load_folder(folder, **options))


def test_folder_lazy_decodes_on_demand(folder: Path, monkeypatch) -> None:
    decoded: list[str] = []
    real = lazy_sources.read_image

    def recording(path: Path, channels: int) -> np.ndarray:
        decoded.append(path.name)
        return real(path, channels)

    monkeypatch.setattr(lazy_sources, "read_image", recording)
    lazy = data.load_folder(folder, lazy=True)
    assert lazy.images.shape == (8, 3, 10, 14)  # from the headers
    assert lazy.fingerprint() and decoded == []
    expected = np.moveaxis(np.asarray(Image.open(folder / "n01" / "2.png")), -1, 0) / np.float32(255.0)
    np.testing.assert_array_equal(lazy.images[2], expected)
    assert decoded == ["2.png"]


def test_folder_fingerprint_follows_paths_and_sizes(folder: Path) -> None:
    before = data.load_folder(folder, lazy=True).fingerprint()
    assert data.load_folder(folder).fingerprint() == before
    assert data.load_folder(folder, lazy=True, size=5).fingerprint() != before  # another shape
    (folder / "n01" / "2.png").rename(folder / "n01" / "5.png")
    renamed = data.load_folder(folder, lazy=True).fingerprint()
    assert renamed != before
    Image.fromarray(np.zeros((10, 14, 3), dtype=np.uint8)).save(folder / "n01" / "5.png")  # other bytes
    assert data.load_folder(folder, lazy=True).fingerprint() not in (before, renamed)


def test_folder_sizes_come_from_headers(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((8, 10), np.uint8)).save(tmp_path / "b.png")
    with pytest.raises(ValueError, match=r"different shapes \[\(3, 8, 8\), \(3, 8, 10\)\].*size="):
        data.load_folder(tmp_path, lazy=True)
    assert data.load_folder(tmp_path, lazy=True, size=4).images[:].shape == (2, 3, 4, 4)


def test_folder_corrupt_files(folder: Path) -> None:
    (folder / "n01" / "9_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(ValueError, match=r"cannot read image .*9_broken\.png"):
        data.load_folder(folder, lazy=True)
    with pytest.warns(UserWarning, match=r"9_broken\.png"):
        kept = data.load_folder(folder, lazy=True, skip_corrupt=True)
    assert kept.source["skipped"] == ["n01/9_broken.png"] and len(kept) == 8
    with pytest.warns(UserWarning, match=r"9_broken\.png"):
        _assert_same(kept, data.load_folder(folder, skip_corrupt=True))

    # a file whose header reads but whose pixels do not: found only when its slice is decoded
    whole = (folder / "n02" / "1.png").read_bytes()
    (folder / "n02" / "1.png").write_bytes(whole[: len(whole) // 2])
    with pytest.warns(UserWarning, match=r"9_broken\.png"):
        late = data.load_folder(folder, lazy=True, skip_corrupt=True)
    assert late.source["skipped"] == ["n01/9_broken.png"]
    late.images[:4]
    late_failure = r"(?s)n02/1\.png \(image 4\).*cannot skip it now.*positions are fixed"
    with pytest.raises(ValueError, match=late_failure):
        late.images[3:6]
    strict = data.load_folder(folder, classes=["n02"], lazy=True)
    with pytest.raises(ValueError, match=r"n02/1\.png \(image 1\)") as info:
        strict.images[:]
    assert "cannot skip" not in str(info.value)


# --------------------------------------------------------------------------------------------------
# Pre-computation: lazy input, resuming a cache made from an eager load, the CLI
# --------------------------------------------------------------------------------------------------


def _shard_bytes(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(cache.glob("embedded_*.npy"))}


@pytest.mark.parametrize("kind", ["npy", "cifar", "folder"])
def test_eager_cache_resumes_from_lazy_load(tmp_path: Path, npy, cifar, folder, kind: str) -> None:
    load = {
        "npy": lambda lazy: data.load_array(npy[0], size=12, lazy=lazy),
        "cifar": lambda lazy: data.load_cifar10(cifar[1], count=9, size=12, lazy=lazy),
        "folder": lambda lazy: data.load_folder(folder, size=12, lazy=lazy),
    }[kind]
    sde = fpscore.VESDE(2.0)
    cache = tmp_path / "cache"
    fpscore.precompute(load(False), cache, sde, **FAST)
    complete = _shard_bytes(cache)
    (cache / "embedded_00001.npy").unlink()  # as if the run had stopped before shard 1
    with pytest.warns(UserWarning, match="shard 1"):
        summary = fpscore.precompute(load(True), cache, sde, **FAST)
    assert summary.computed_shards == 1 and summary.num_shards == len(complete)
    assert _shard_bytes(cache) == complete


def test_cli_precompute_is_lazy_and_resumes_an_eager_cache(tmp_path: Path, npy, folder, capsys) -> None:
    sde = fpscore.VESDE(2.0)
    for name, source, eager in (
        ("npy", npy[0], data.load_array(npy[0], size=12)),
        ("folder", folder, data.load_folder(folder, size=12)),
    ):
        cache = tmp_path / name
        fpscore.precompute(eager, cache, sde, **FAST)
        manifest = json.loads((cache / "manifest.json").read_text())
        args = ["precompute", str(source), str(cache), "--size", "12", "--n-steps", "3"]
        assert cli.main([*args, "--shard-size", "4", "--sigma", "2", "--no-progress", "--dry-run"]) == 0
        assert json.loads(capsys.readouterr().out)["data_options"]["lazy"] is True
        assert cli.main([*args, "--shard-size", "4", "--sigma", "2", "--no-progress"]) == 0
        assert "0 computed now" in capsys.readouterr().out
        assert json.loads((cache / "manifest.json").read_text())["data"] == manifest["data"]

"""The image loaders of fpscore.data on small files written here and on the bundled sample images."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fpscore import data

RNG = np.random.default_rng(3)


def _cifar_records(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).astype(np.int64)


def _write_cifar_pickle(path: Path, pixels: np.ndarray, labels: np.ndarray) -> None:
    batch = {b"batch_label": b"test", b"data": pixels, b"labels": [int(v) for v in labels]}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


def _write_cifar_binary(path: Path, pixels: np.ndarray, labels: np.ndarray) -> None:
    np.concatenate([labels.astype(np.uint8)[:, None], pixels], axis=1).tofile(path)


def _expected_cifar(pixels: np.ndarray) -> np.ndarray:
    # 1024 red, 1024 green, 1024 blue bytes, each plane row-major 32×32
    out = np.empty((pixels.shape[0], 3, 32, 32), dtype=np.float32)
    for c in range(3):
        out[:, c] = pixels[:, c * 1024 : (c + 1) * 1024].reshape(-1, 32, 32) / np.float32(255.0)
    return out


# --------------------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def cifar_dirs(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    p1, l1 = _cifar_records(6, 1)
    p2, l2 = _cifar_records(5, 2)
    pick, binary = tmp_path / "py", tmp_path / "bin"
    pick.mkdir()
    binary.mkdir()
    _write_cifar_pickle(pick / "data_batch_1", p1, l1)
    _write_cifar_pickle(pick / "data_batch_2", p2, l2)
    _write_cifar_binary(binary / "data_batch_1.bin", p1, l1)
    _write_cifar_binary(binary / "data_batch_2.bin", p2, l2)
    return pick, binary, np.concatenate([p1, p2]), np.concatenate([l1, l2])


def test_cifar_pickle_and_binary(cifar_dirs: tuple[Path, Path, np.ndarray, np.ndarray]) -> None:
    pick, binary, pixels, labels = cifar_dirs
    a = data.load_cifar10(pick)
    b = data.load_cifar10(binary)
    assert a.images.shape == (11, 3, 32, 32) and a.images.dtype == np.float32
    np.testing.assert_array_equal(a.images, _expected_cifar(pixels))
    np.testing.assert_array_equal(b.images, a.images)
    np.testing.assert_array_equal(a.labels, labels)
    np.testing.assert_array_equal(b.labels, labels)
    assert a.source["kind"] == "cifar10" and a.source["files"] == ["data_batch_1", "data_batch_2"]
    assert data.load(pick).images.shape == (11, 3, 32, 32)
    _write_cifar_binary(binary / "test_batch.bin", pixels[:2], labels[:2])
    np.testing.assert_array_equal(data.load_cifar10(binary, split="test").images, a.images[:2])
    assert data.load(binary / "data_batch_2.bin").images.shape == (5, 3, 32, 32)


def test_cifar_selection_and_resize(cifar_dirs: tuple[Path, Path, np.ndarray, np.ndarray]) -> None:
    pick, _, pixels, labels = cifar_dirs
    cls = int(labels[0])
    chosen = data.load_cifar10(pick, classes=[data.CIFAR10_CLASSES[cls]])
    assert np.all(chosen.labels == cls)
    np.testing.assert_array_equal(chosen.images, _expected_cifar(pixels[labels == cls]))
    np.testing.assert_array_equal(data.load_cifar10(pick, classes=[cls]).images, chosen.images)
    picked = data.load_cifar10(pick, indices=[4, 0])
    np.testing.assert_array_equal(picked.images, _expected_cifar(pixels[[4, 0]]))
    first = data.load_cifar10(pick, count=3, size=16, channels=1)
    assert first.images.shape == (3, 1, 16, 16)
    assert 0.0 <= first.images.min() and first.images.max() <= 1.0
    assert first.source["count"] == 3 and first.source["size"] == [16, 16]


def test_cifar_corrupt_batch(tmp_path: Path) -> None:
    p, lab = _cifar_records(3, 5)
    _write_cifar_pickle(tmp_path / "data_batch_1", p, lab)
    (tmp_path / "data_batch_2").write_bytes(b"\x80\x02 not a pickle at all")
    with pytest.raises(ValueError, match="data_batch_2"):
        data.load_cifar10(tmp_path)
    with pytest.warns(UserWarning, match="data_batch_2"):
        kept = data.load_cifar10(tmp_path, skip_corrupt=True)
    assert len(kept) == 3 and kept.source["skipped"] == [str(tmp_path / "data_batch_2")]
    (tmp_path / "bad.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match=r"bad\.bin.*3073-byte records"):
        data.load_cifar10(tmp_path / "bad.bin")


def test_cifar_pickle_may_not_run_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    with pytest.raises(ValueError, match=r"refusing to load builtins\.print"):
        data.load_cifar10(tmp_path)


# --------------------------------------------------------------------------------------------------
# .npy / .npz
# --------------------------------------------------------------------------------------------------


def test_npz_uint8_channels_last_with_labels(tmp_path: Path) -> None:
    hwc = RNG.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    labels = np.array([0, 1, 0, 2, 1])
    np.savez(tmp_path / "a.npz", images=hwc, labels=labels)
    s = data.load(tmp_path / "a.npz")
    assert s.source["layout"] == "NHWC"
    np.testing.assert_array_equal(s.images, np.moveaxis(hwc, -1, 1) / np.float32(255.0))
    sel = data.load_array(tmp_path / "a.npz", classes=[1])
    np.testing.assert_array_equal(sel.labels, [1, 1])
    np.testing.assert_array_equal(sel.images, s.images[[1, 4]])


def test_npy_float_channels_first_and_gray(tmp_path: Path) -> None:
    chw = RNG.random((4, 3, 6, 10)).astype(np.float32)
    np.save(tmp_path / "a.npy", chw)
    s = data.load_array(tmp_path / "a.npy")
    assert s.source["layout"] == "NCHW"
    np.testing.assert_array_equal(s.images, chw)
    assert s.labels is None
    resized = data.load_array(tmp_path / "a.npy", size=(3, 5), count=2)
    assert resized.images.shape == (2, 3, 3, 5)
    gray = RNG.random((2, 5, 5))
    np.save(tmp_path / "g.npy", gray)
    g = data.load_array(tmp_path / "g.npy", channels=3)
    assert g.images.shape == (2, 3, 5, 5)
    np.testing.assert_array_equal(g.images[:, 0], g.images[:, 2])


def test_array_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "amb.npy", np.zeros((2, 3, 5, 3)))
    with pytest.raises(ValueError, match="layout='NCHW' or 'NHWC'"):
        data.load_array(tmp_path / "amb.npy")
    assert data.load_array(tmp_path / "amb.npy", layout="NCHW").images.shape == (2, 3, 5, 3)
    np.save(tmp_path / "range.npy", np.full((2, 3, 5, 5), 1.5))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.load_array(tmp_path / "range.npy")
    np.save(tmp_path / "nan.npy", np.full((2, 3, 5, 5), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        data.load_array(tmp_path / "nan.npy")
    (tmp_path / "junk.npy").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"junk\.npy"):
        data.load(tmp_path / "junk.npy")
    np.savez(tmp_path / "two.npz", a=np.zeros((1, 4, 4)), b=np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="pass key="):
        data.load_array(tmp_path / "two.npz")
    assert data.load_array(tmp_path / "two.npz", key="b").images.shape == (1, 1, 4, 4)


# --------------------------------------------------------------------------------------------------
# Folders of image files
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "imgs"
    for cls, n in (("cats", 2), ("dogs", 3)):
        (root / cls).mkdir(parents=True)
        for k in range(n):
            arr = RNG.integers(0, 256, (12, 12, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / cls / f"{k}.png")
    (root / "dogs" / "9_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    return root


def test_folder_of_pngs(folder: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot read image .*9_broken\.png"):
        data.load_folder(folder)
    with pytest.warns(UserWarning, match=r"9_broken\.png"):
        s = data.load(folder, skip_corrupt=True)
    assert s.images.shape == (5, 3, 12, 12) and s.class_names == ("cats", "dogs")
    np.testing.assert_array_equal(s.labels, [0, 0, 1, 1, 1])
    assert s.source["skipped"] == ["dogs/9_broken.png"]
    expected = np.asarray(Image.open(folder / "cats" / "1.png")).transpose(2, 0, 1) / np.float32(255.0)
    np.testing.assert_array_equal(s.images[1], expected)
    dogs = data.load_folder(folder, classes=["dogs"], count=2, size=6, channels=1)
    assert dogs.images.shape == (2, 1, 6, 6)
    np.testing.assert_array_equal(dogs.labels, [1, 1])
    assert dogs.source["files"] == ["dogs/0.png", "dogs/1.png"]


def test_folder_needs_one_size(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((8, 10), np.uint8)).save(tmp_path / "b.png")
    with pytest.raises(ValueError, match="size="):
        data.load_folder(tmp_path)
    assert data.load_folder(tmp_path, size=4).images.shape == (2, 3, 4, 4)


# --------------------------------------------------------------------------------------------------
# Resizing and selection
# --------------------------------------------------------------------------------------------------


def test_resize_crops_to_the_aspect_ratio(tmp_path: Path) -> None:
    wide = np.ones((1, 20, 40), dtype=np.float32)
    wide[:, :, :10] = 0.0  # the left quarter is cropped away for a square target
    wide[:, :, 30:] = 0.0
    np.save(tmp_path / "w.npy", wide)
    out = data.load_array(tmp_path / "w.npy", size=10, layout="NHW").images
    assert out.shape == (1, 1, 10, 10)
    np.testing.assert_allclose(out, 1.0, atol=1e-6)
    const = np.full((1, 3, 33, 17), 0.25, dtype=np.float32)
    np.save(tmp_path / "c.npy", const)
    np.testing.assert_allclose(data.load_array(tmp_path / "c.npy", size=(7, 5)).images, 0.25, atol=1e-6)


def test_selection_errors() -> None:
    with pytest.raises(ValueError, match="either indices or count"):
        data.load_sample_images(indices=[0], count=1)
    with pytest.raises(ValueError, match="only 13"):
        data.load_sample_images(count=50)
    with pytest.raises(ValueError, match="unknown class 'zebra'"):
        data.load_sample_images(classes=["zebra"])
    with pytest.raises(ValueError, match=r"indices \[100\] out of range.*100 image\(s\) of the chosen"):
        data.load_faces(classes=["non-face"], indices=[99, 100])
    with pytest.raises(FileNotFoundError, match="no data"):
        data.load("/nonexistent/place")


# --------------------------------------------------------------------------------------------------
# Bundled sample data
# --------------------------------------------------------------------------------------------------


def test_sample_images() -> None:
    s = data.load_sample_images(count=3, size=16)
    assert s.images.shape == (3, 3, 16, 16) and s.images.dtype == np.float32
    assert 0.0 <= s.images.min() and s.images.max() <= 1.0 and s.images.std() > 0.05
    assert s.source["names"] == ["astronaut", "chelsea", "coffee"]
    by_name = data.load_sample_images(classes=["coffee", "camera"], size=(8, 12))
    assert by_name.images.shape == (2, 3, 8, 12)
    np.testing.assert_array_equal(by_name.labels, [2, 7])
    camera = by_name.images[1]
    np.testing.assert_array_equal(camera[0], camera[1])  # gray replicated to RGB
    idx = data.load_sample_images(indices=[7, 0], size=8, channels=1)
    assert idx.images.shape == (2, 1, 8, 8)
    # antialiased: close to the mean over each 64×64 block of the 512×512 photograph
    from skimage import data as skdata

    blocks = skdata.camera().reshape(8, 64, 8, 64).mean(axis=(1, 3)) / 255.0
    assert np.abs(idx.images[0, 0] - blocks).mean() < 0.03
    assert data.load("samples", count=1, size=8).images.shape == (1, 3, 8, 8)


def test_faces() -> None:
    f = data.load_faces()
    assert f.images.shape == (200, 1, 25, 25)
    assert 0.0 <= f.images.min() and f.images.max() <= 1.0
    faces = data.load("faces", classes=["face"], count=4, size=16, channels=3)
    assert faces.images.shape == (4, 3, 16, 16)
    np.testing.assert_array_equal(faces.labels, [0, 0, 0, 0])
    np.testing.assert_array_equal(
        data.load_faces(classes=["non-face"], indices=[0]).images, f.images[100:101]
    )


def test_image_grid_and_png(tmp_path: Path) -> None:
    from fpscore.data.images import fit, grid, to_image, write_png

    gray = np.linspace(0.0, 1.0, 3 * 4 * 5, dtype=np.float32).reshape(3, 1, 4, 5)
    canvas = grid(gray, cols=2)
    assert canvas.shape == (3, 2 * 6, 2 * 7)
    np.testing.assert_array_equal(canvas[:, 6:10, 0:5], np.repeat(gray[2], 3, axis=0))
    assert np.all(canvas[:, 6:, 7:] == 1.0)  # the empty fourth place stays white
    path = write_png(to_image(canvas, scale=2), tmp_path / "sub" / "g.png")
    with Image.open(path) as im:
        assert im.size == (28, 24) and im.mode == "RGB"
        back = np.asarray(im)[::2, ::2, 0] / 255.0
    np.testing.assert_allclose(back[6:10, 0:5], gray[2, 0], atol=0.5 / 255)
    assert to_image(gray[0]).mode == "L"
    first = gray[0]
    assert fit(first, (2, 2)).shape == (1, 2, 2) and fit(first, None) is first

"""Images in and out of fpscore.

`fpscore.data.load` and the loaders (`loaders`, no torch) read image sets for the pre-computation,
eagerly or (lazy=True, `lazy`) slice by slice;
`images` resizes and writes images; `dataset` (`EmbeddedDataset`) and `training` (the clean image
behind each training sample) serve an embedding cache to the trainer and need torch;
`on_the_fly` (`OnTheFlyDataset`) serves the same with no cache, embedding each batch as it is drawn.
"""

from .lazy import LazyImages
from .loaders import (
    CIFAR10_CLASSES,
    FACE_CLASSES,
    IMAGE_EXTENSIONS,
    SAMPLE_PHOTOS,
    ImageSet,
    load,
    load_array,
    load_cifar10,
    load_faces,
    load_folder,
    load_sample_images,
    loader,
)

__all__ = [
    "CIFAR10_CLASSES",
    "FACE_CLASSES",
    "IMAGE_EXTENSIONS",
    "SAMPLE_PHOTOS",
    "ImageSet",
    "LazyImages",
    "load",
    "load_array",
    "load_cifar10",
    "load_faces",
    "load_folder",
    "load_sample_images",
    "loader",
]

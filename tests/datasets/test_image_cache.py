"""The in-memory image cache hands out what the uncached loader decodes."""

from __future__ import annotations

import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile

from decoupled_rcnn.datasets import image_cache
from decoupled_rcnn.datasets.image_cache import (
    CachedLoadImageFromFile,
    clear_image_cache,
    image_cache_info,
)
from decoupled_rcnn.datasets.synthetic import generate_synthetic


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    generate_synthetic(root, seed=3, num_train=3, num_val=1, size=64)
    return sorted((root / "images" / "train").glob("*.png"))


def _load(transform, path):
    return transform({"img_path": str(path)})


def test_cached_images_equal_decoded_ones_and_are_copies(images):
    clear_image_cache()
    plain, cached = LoadImageFromFile(), CachedLoadImageFromFile()
    for _ in range(2):  # first pass fills the cache, the second reads it
        for path in images:
            want, got = _load(plain, path), _load(cached, path)
            assert got["img"].dtype == want["img"].dtype == np.uint8
            np.testing.assert_array_equal(got["img"], want["img"])
            assert got["img_shape"] == want["img_shape"] == (64, 64)
            assert got["ori_shape"] == want["ori_shape"]
    assert image_cache_info() == (3, 3 * 64 * 64 * 3)
    first = _load(cached, images[0])
    first["img"][:] = 0  # a later transform changing the image in place
    np.testing.assert_array_equal(_load(cached, images[0])["img"], _load(plain, images[0])["img"])


def test_a_full_cache_decodes_without_keeping(images, monkeypatch):
    clear_image_cache()
    monkeypatch.setattr(image_cache, "MAX_BYTES", 64 * 64 * 3)  # room for one image
    cached = CachedLoadImageFromFile()
    for path in images:
        _load(cached, path)
    assert image_cache_info() == (1, 64 * 64 * 3)
    np.testing.assert_array_equal(_load(cached, images[2])["img"],
                                  _load(LoadImageFromFile(), images[2])["img"])
    clear_image_cache()
    assert image_cache_info() == (0, 0)

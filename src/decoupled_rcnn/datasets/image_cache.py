"""Decoded images held in memory for a whole job: each image file is read and decoded once.

The tiny setting (:func:`decoupled_rcnn.embedded.tiny.make_tiny`) puts
:class:`CachedLoadImageFromFile` in place of mmcv's ``LoadImageFromFile``: a 200-iteration
training of batch 4 reads 800 images of the 1,000 stand-in ones, and a job that trains
several seeds reads them again per seed; decoding a 160 px PNG costs more than the copy of
the decoded array (77 kB) that the cache hands out. The cache is per process and bounded
(:data:`MAX_BYTES`); once full, further images are decoded as usual, so a large dataset
costs no more memory than the bound.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmdet.registry import TRANSFORMS

__all__ = ["MAX_BYTES", "CachedLoadImageFromFile", "clear_image_cache", "image_cache_info"]

#: The most decoded-image bytes one process keeps (1,000 stand-in images of 160 px: 77 MB).
MAX_BYTES = 512 * 2**20

_CACHE: dict[tuple[str, str, bool, str], np.ndarray] = {}
_SIZE = [0]


def clear_image_cache() -> None:
    """Forget every cached image (tests; a job never needs to)."""
    _CACHE.clear()
    _SIZE[0] = 0


def image_cache_info() -> tuple[int, int]:
    """(images, bytes) held by this process's cache."""
    return len(_CACHE), _SIZE[0]


@TRANSFORMS.register_module()
class CachedLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that decodes each file once per process.

    Returns exactly what ``LoadImageFromFile`` returns (same keys, dtype and values); the
    image is a copy of the cached array, so later transforms may change it in place.
    """

    def transform(self, results: dict[str, Any]) -> dict[str, Any] | None:
        key = (str(results["img_path"]), self.color_type, self.to_float32,
               self.imdecode_backend)
        cached = _CACHE.get(key)
        if cached is None:
            results = super().transform(results)
            if results is None:  # ignore_empty and the file is missing
                return None
            img = results["img"]
            if _SIZE[0] + img.nbytes <= MAX_BYTES:
                _CACHE[key] = img.copy()
                _SIZE[0] += img.nbytes
            return results
        img = cached.copy()
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results

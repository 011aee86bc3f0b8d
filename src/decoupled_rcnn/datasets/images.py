"""Cheap image checks before training: readable header, complete file, size as annotated.

A corrupt, truncated or wrongly sized image otherwise surfaces hours into a training, as an
``imdecode`` failure (``None`` image) in a dataloader worker or as boxes drawn on the wrong
pixels. :func:`check_image` reads only what it must:

* the header, with Pillow's lazy ``Image.open`` (format and size; no pixel is decoded);
* the file's tail (at most :data:`TAIL_BYTES`), where a complete JPEG has its end-of-image
  marker ``FF D9``, a PNG its ``IEND`` chunk and a GIF its ``;`` trailer; a BMP's header
  states its file size. Other formats (TIFF, WebP ...) are checked by header only.

**EXIF orientation.** mmcv's ``LoadImageFromFile`` decodes with ``color_type='color'``: the
cv2 backend's ``IMREAD_COLOR`` and the pillow backend's ``exif_transpose`` both apply the
EXIF orientation tag, so an image tagged 5-8 (rotated by 90 degrees) reaches the model with
width and height swapped. The size that must equal the annotation's ``width``/``height`` is
therefore the size *after* the EXIF rotation; the error says so when the tag is the cause.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from decoupled_rcnn.datasets.common import DatasetError

__all__ = ["TAIL_BYTES", "ImageInfo", "check_image"]

#: How much of a file's end the truncation check reads (trailing padding after the end marker
#: of a few bytes to a couple of KiB occurs in real JPEGs).
TAIL_BYTES = 4096
_EXIF_ORIENTATION = 0x0112
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})  # transpose, rotate 90/270, transverse
_END_MARKERS = {"JPEG": b"\xff\xd9", "MPO": b"\xff\xd9", "PNG": b"IEND", "GIF": b";"}


@dataclass(frozen=True)
class ImageInfo:
    """What the header says.

    Attributes:
        format: Pillow's format name (``JPEG``, ``PNG`` ...).
        width: Width as mmcv decodes it (EXIF orientation applied).
        height: Height as mmcv decodes it.
        orientation: The EXIF orientation tag (1: none).
    """

    format: str
    width: int
    height: int
    orientation: int = 1


def _header(path: Path, where: str) -> ImageInfo:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            fmt, (width, height) = str(img.format), img.size
            orientation = 1
            if fmt in ("JPEG", "MPO", "TIFF"):  # EXIF sits in the header: no decode
                orientation = int(img.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    except UnidentifiedImageError as err:
        raise DatasetError(path, f"not a readable image (corrupt or unknown format){where}"
                           ) from err
    except (OSError, SyntaxError, ValueError) as err:
        raise DatasetError(path, f"corrupt image header ({err}){where}") from err
    if orientation in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return ImageInfo(fmt, width, height, orientation)


def _truncated(path: Path, fmt: str, size: int) -> str:
    """Why the file looks cut short, or ``""``; reads at most :data:`TAIL_BYTES`."""
    if fmt == "BMP":
        with path.open("rb") as f:
            declared = int.from_bytes(f.read(6)[2:6], "little")
        return f"BMP header says {declared} bytes, the file has {size}" if size < declared else ""
    marker = _END_MARKERS.get(fmt)
    if marker is None:
        return ""
    with path.open("rb") as f:
        f.seek(max(0, size - TAIL_BYTES))
        tail = f.read()
    if fmt == "GIF":
        found = tail.rstrip(b"\x00").endswith(marker)
    else:
        found = marker in tail
    return "" if found else f"no {fmt} end marker ({marker!r}) at the end of the file"


def check_image(path: str | os.PathLike, *, width: int | float | None = None,
                height: int | float | None = None,
                ann_file: str | os.PathLike | None = None) -> ImageInfo:
    """Check that ``path`` is a complete image of the annotated size, without decoding it.

    Args:
        path: The image file.
        width: The annotation's width (None: not checked).
        height: The annotation's height (None: not checked).
        ann_file: The annotation file, named in the error.

    Returns:
        The header's format and (EXIF-oriented) size.

    Raises:
        DatasetError: ``"<image>: <what is wrong> (annotated in <ann_file>)"``, one line: an
            empty, unreadable, corrupt or truncated file, or a size other than annotated.
    """
    path = Path(path)
    where = f" (annotated in {ann_file})" if ann_file is not None else ""
    try:
        size = path.stat().st_size
    except OSError as err:
        raise DatasetError(path, f"image unreadable: {err.strerror or err}{where}") from err
    if size == 0:
        raise DatasetError(path, f"empty image file (0 bytes){where}")
    info = _header(path, where)
    try:
        why = _truncated(path, info.format, size)
    except OSError as err:
        raise DatasetError(path, f"image unreadable: {err.strerror or err}{where}") from err
    if why:
        raise DatasetError(path, f"truncated image: {why}{where}")
    if width is not None and height is not None and (info.width, info.height) != (width, height):
        note = (f", after its EXIF orientation {info.orientation} (mmcv rotates it on load)"
                if info.orientation in _SWAPPING_ORIENTATIONS else "")
        raise DatasetError(path, f"image is {info.width}x{info.height} pixels{note} but "
                           f"{ann_file or 'its annotation'} says {width:g}x{height:g}")
    return info

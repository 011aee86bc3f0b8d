"""Cut large annotated images into fixed-size tiles, written as a VOC-format dataset.

Aerial and microscopy images are often thousands of pixels wide with objects of a few dozen:
resized whole, the objects vanish; tiled, they keep their native size. :func:`tile_image`
cuts one image into a grid of ``tile`` x ``tile`` windows (the last row and column shifted
back inside the image, so every tile is full-size and the edges are covered), keeping each box
whose clipped part holds at least ``min_visible`` of its area (clipped to the tile);
:func:`write_voc_tiles` writes ``Annotations/<id>.xml`` and ``JPEGImages/<id>.png`` for
``data.custom`` (``format: voc``). Tiles without a box are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

__all__ = ["Tile", "tile_image", "tile_origins", "voc_tile_xml", "write_voc_tiles"]


@dataclass(frozen=True)
class Tile:
    """One tile: its id, pixels and boxes ``(name, xmin, ymin, xmax, ymax)`` in tile pixels."""

    tile_id: str
    pixels: np.ndarray
    boxes: tuple[tuple[str, float, float, float, float], ...]


def tile_origins(length: int, tile: int) -> list[int]:
    """Start offsets of tiles along one side: 0, tile, 2 tile, ..., the last one shifted so
    it ends at ``length`` (one tile at 0 when ``length <= tile``)."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, tile))
    return [*starts, length - tile]


def tile_image(image_id: str, pixels: np.ndarray,
               boxes: Sequence[tuple[str, float, float, float, float]], tile: int = 400,
               min_visible: float = 0.5) -> list[Tile]:
    """Cut one image (H, W, C) with its xyxy boxes into tiles (see the module doc).

    Returns:
        Tiles with at least one kept box, ids ``<image_id>_<x0>_<y0>``.
    """
    height, width = pixels.shape[:2]
    found = []
    for y0 in tile_origins(height, tile):
        for x0 in tile_origins(width, tile):
            x1, y1 = min(x0 + tile, width), min(y0 + tile, height)
            kept = []
            for name, bx0, by0, bx1, by1 in boxes:
                cx0, cy0 = max(bx0, x0), max(by0, y0)
                cx1, cy1 = min(bx1, x1), min(by1, y1)
                area = (bx1 - bx0) * (by1 - by0)
                if cx1 <= cx0 or cy1 <= cy0 or area <= 0:
                    continue
                if (cx1 - cx0) * (cy1 - cy0) >= min_visible * area:
                    kept.append((name, cx0 - x0, cy0 - y0, cx1 - x0, cy1 - y0))
            if kept:
                found.append(Tile(f"{image_id}_{x0}_{y0}", pixels[y0:y1, x0:x1], tuple(kept)))
    return found


def voc_tile_xml(filename: str, width: int, height: int,
                 boxes: Iterable[tuple[str, float, float, float, float]]) -> str:
    """A VOC annotation of one tile (1-based pixel corners, as VOC writes them)."""
    objects = "".join(
        f"<object><name>{escape(name)}</name><difficult>0</difficult><bndbox>"
        f"<xmin>{round(x0) + 1}</xmin><ymin>{round(y0) + 1}</ymin>"
        f"<xmax>{round(x1)}</xmax><ymax>{round(y1)}</ymax></bndbox></object>"
        for name, x0, y0, x1, y1 in boxes)
    return (f"<annotation><filename>{escape(filename)}</filename><size><width>{width}</width>"
            f"<height>{height}</height><depth>3</depth></size>{objects}</annotation>\n")


def write_voc_tiles(tiles: Iterable[Tile], root: str | os.PathLike) -> list[str]:
    """Write tiles as ``root/Annotations/<id>.xml`` and ``root/JPEGImages/<id>.png``.

    Returns:
        The tile ids written, in order.
    """
    import cv2

    root = Path(root)
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    ids = []
    for t in tiles:
        name = f"{t.tile_id}.png"
        if not cv2.imwrite(str(root / "JPEGImages" / name), t.pixels):
            raise OSError(f"could not write {root / 'JPEGImages' / name}")
        height, width = t.pixels.shape[:2]
        (root / "Annotations" / f"{t.tile_id}.xml").write_text(
            voc_tile_xml(name, width, height, t.boxes), encoding="utf-8")
        ids.append(t.tile_id)
    return ids

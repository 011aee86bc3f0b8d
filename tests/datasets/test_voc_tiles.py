"""Tiling large annotated images into a VOC-format dataset (the DeepForest acceptance data)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from custom_testlib import voc_custom  # noqa: E402

from decoupled_rcnn.datasets.custom_check import check_custom  # noqa: E402
from decoupled_rcnn.datasets.voc_tiles import (  # noqa: E402
    tile_image,
    tile_origins,
    write_voc_tiles,
)


def test_tile_origins_cover_the_side_with_full_tiles():
    assert tile_origins(400, 400) == [0] and tile_origins(300, 400) == [0]
    assert tile_origins(1000, 400) == [0, 400, 600]  # the last one shifted back inside
    assert tile_origins(800, 400) == [0, 400]


def test_boxes_are_clipped_kept_by_visible_share_and_empty_tiles_skipped():
    pixels = np.zeros((400, 1000, 3), np.uint8)
    boxes = [("tree", 10, 10, 50, 50),        # inside tile x0=0 only
             ("tree", 380, 100, 420, 140),    # half in x0=0 (kept), half in x0=400 (kept)
             ("tree", 390, 200, 430, 240),    # 1/4 in x0=0 (dropped), 3/4 in x0=400
             ("tree", 900, 300, 950, 350)]    # in x0=600 only (x 300-350 there)
    tiles = tile_image("img", pixels, boxes, tile=400, min_visible=0.5)
    assert [t.tile_id for t in tiles] == ["img_0_0", "img_400_0", "img_600_0"]
    assert tiles[0].boxes == (("tree", 10, 10, 50, 50), ("tree", 380, 100, 400, 140))
    assert tiles[1].boxes == (("tree", 0, 100, 20, 140), ("tree", 0, 200, 30, 240))
    assert tiles[2].boxes == (("tree", 300, 300, 350, 350),)
    assert all(t.pixels.shape == (400, 400, 3) for t in tiles)
    assert tile_image("none", pixels, []) == []


def test_written_tiles_are_a_clean_custom_dataset(tmp_path: Path):
    pixels = np.full((400, 800, 3), 90, np.uint8)
    tiles = tile_image("a", pixels, [("tree", 10, 10, 60, 60), ("tree", 500, 20, 540, 90)])
    assert write_voc_tiles(tiles, tmp_path) == ["a_0_0", "a_400_0"]
    check = check_custom(voc_custom(tmp_path, val_every=2))
    assert check.problems == [] and check.classes == ("tree",)
    train, val = check.splits
    assert (train.images, train.boxes, val.images, val.boxes) == (1, 1, 1, 1)

"""Scale and schedule from the data: hand cases of image and box sizes, epochs to iterations."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from custom_testlib import (  # noqa: E402
    coco_custom,
    make_coco_dataset,
    make_voc_dataset,
    voc_custom,
)

from decoupled_rcnn.datasets.common import DatasetError  # noqa: E402
from decoupled_rcnn.datasets.data_profile import (  # noqa: E402
    DataProfile,
    choose_input_size,
    cpu_estimate,
    crop_size_for,
    custom_sizing,
    dets_per_image,
    profile_boxes,
    profile_custom,
    schedule_iters,
)


def _profile(long: float, box: float, images: int = 10) -> DataProfile:
    return DataProfile(images=images, median_long=long, boxes=5, median_box=box)


def test_profile_takes_medians_of_longest_sides_and_box_sides():
    p = profile_boxes([(400, 300), (200, 500), (100, 100)], [(4, 9), (10, 10), (0, 5), (8, 2)])
    # longest sides 400, 500, 100 -> 400; box sides sqrt(36)=6, 10, 4 (the 0-wide one skipped)
    assert p == DataProfile(images=3, median_long=400.0, boxes=3, median_box=6.0)
    assert profile_boxes([], []) == DataProfile(0, 0.0, 0, 0.0)
    assert profile_boxes([(10, 10)], [(2, 2)], per_image=[3, 9, 0]).max_per_image == 9


@pytest.mark.parametrize(("busiest", "expected"), [
    (0, 20), (10, 20),  # 15 -> 20, the floor
    (14, 30),           # 21 -> 30
    (61, 100),          # 91.5 -> 100
    (200, 100),         # the cap
])
def test_detections_per_image_follow_the_busiest_image(busiest, expected):
    assert dets_per_image(DataProfile(1, 100.0, busiest, 10.0, busiest)) == expected


def test_downscales_while_the_median_box_stays_24_px():
    # 400 px tiles, 40 px boxes: 400 * 24 / 40 = 240 px keeps the median box at 24 px
    scale = choose_input_size(_profile(400, 40))
    assert (scale.size, scale.median_box) == (240, 24.0)
    assert "downscaled as far as the median box stays 24 px" in scale.reason


def test_keeps_native_when_boxes_are_small():
    # 400 px, 20 px boxes: 24 px would need 480 px; never upscale: native 400, box 20 px
    scale = choose_input_size(_profile(400, 20))
    assert (scale.size, scale.median_box) == (400, 20.0)
    assert "native resolution kept" in scale.reason and "small objects" in scale.reason


def test_caps_large_images_and_says_to_tile():
    # 3000 px, 30 px boxes: 2400 px needed, capped at 640 (box 6.4 px)
    scale = choose_input_size(_profile(3000, 30))
    assert (scale.size, scale.median_box) == (640, 6.4)
    assert "capped at 640 px" in scale.reason and "tiling" in scale.reason


def test_floor_and_small_images():
    # 1000 px, 500 px boxes: 48 px would do, the floor is 160 (box 80 px)
    scale = choose_input_size(_profile(1000, 500))
    assert (scale.size, scale.median_box) == (160, 80.0)
    assert "160 px floor" in scale.reason
    # 96 px images are kept as they are (below the floor, never upscaled)
    assert choose_input_size(_profile(96, 40)).size == 96


def test_no_images_is_an_error_and_no_boxes_keeps_native():
    with pytest.raises(DatasetError, match="no training images"):
        choose_input_size(DataProfile(0, 0.0, 0, 0.0))
    assert choose_input_size(DataProfile(3, 300.0, 0, 0.0)).size == 300


@pytest.mark.parametrize(("epochs", "images", "batch", "expected"), [
    (60, 44, 4, 660),    # 60 * 44 / 4
    (10, 45, 4, 200),    # ceil(112.5) = 113, raised to the floor
    (100, 500, 2, 2000),  # 25000, cut to the cap
    (1.5, 7, 4, 200),
])
def test_epochs_to_iterations(epochs, images, batch, expected):
    assert schedule_iters(epochs, images, batch, floor=200, cap=2000) == expected


def test_epochs_to_iterations_rounds_up_and_checks_its_bounds():
    assert schedule_iters(10, 45, 4, floor=1, cap=10_000) == 113
    with pytest.raises(ValueError):
        schedule_iters(10, 45, 4, floor=300, cap=200)


def test_crop_size_and_cpu_estimate():
    assert crop_size_for(24.0) == 32   # 1.3 * 24 = 31.2 -> 32
    assert crop_size_for(50.0) == 64   # 65 -> 64
    assert crop_size_for(10.0) == 32 and crop_size_for(200.0) == 96  # the bounds
    # 320 px is 4x the pixels of 160: 0.2 * (0.7 + 0.3 * 4) * 100 iterations * 3 runs = 114
    assert cpu_estimate(320, 100, 3, per_iter_160=0.2) == pytest.approx(114.0)
    assert cpu_estimate(160, 100, 1, batch_size=8, per_iter_160=0.2) == pytest.approx(40.0)


def _wcfg(custom: dict, **short) -> dict:
    return {"manifest": "configs/paper/manifest.yaml", "tables": ["V"], "seeds": 2,
            "data": {"source": "custom", "custom": custom},
            "schedule": {"short": {"iters": 50, "batch_size": 4, **short}}}


def test_custom_sizing_of_a_voc_dataset(tmp_path: Path):
    root = make_voc_dataset(tmp_path / "widgets")
    profile = profile_custom(voc_custom(root))
    # train: img00-03, 05-08 (val_every 5); longest sides 96 each; non-difficult boxes
    assert (profile.images, profile.median_long) == (8, 96.0)
    sizing = custom_sizing(_wcfg(voc_custom(root, epochs=60, min_iters=10, max_iters=500)),
                           experiments=3)
    assert sizing.scale.size == 96  # small images: native kept
    assert sizing.iters == 120 and "60 epochs x 8 train images / batch 4 = 120" in \
        sizing.iters_reason
    assert sizing.runs == 6  # 3 experiments x 2 seeds
    assert profile.max_per_image == 3 and sizing.max_dets == 20  # bolt, nut, washer
    given = custom_sizing(_wcfg(voc_custom(root, input_size=64, epochs=None, crop_size=40)),
                          experiments=1)
    assert given.scale.size == 64 and "data.custom.input_size" in given.scale.reason
    assert given.iters == 50 and given.crop_size == 40


def test_profile_of_a_coco_dataset_leaves_crowd_regions_out(tmp_path: Path):
    root = make_coco_dataset(tmp_path / "cells")
    # 8 train images of 64x96 / 96x72 (longest 96); 8 cells 26x26 and 5 non-crowd debris
    # 26x30 (side 27.9): the median of 13 sides is 26; at most 2 boxes in an image
    assert profile_custom(coco_custom(root)) == DataProfile(8, 96.0, 13, 26.0, 2)

"""The generated benchmark: seeded, tight boxes, all area bands, written atomically."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from decoupled_rcnn.cli import main
from decoupled_rcnn.datasets import (
    SYNTHETIC_CLASSES,
    DatasetError,
    check_coco_json,
    generate_synthetic,
)
from decoupled_rcnn.datasets import synthetic as synthetic_module
from decoupled_rcnn.datasets.synthetic import render_image


def box_iou(a, b) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path):
    import cv2

    a = generate_synthetic(tmp_path / "a", seed=3, num_train=4, num_val=2)
    b = generate_synthetic(tmp_path / "b", seed=3, num_train=4, num_val=2)
    c = generate_synthetic(tmp_path / "c", seed=4, num_train=4, num_val=2)
    for split in ("train", "val"):
        assert a.ann_file(split).read_bytes() == b.ann_file(split).read_bytes()
        assert a.ann_file(split).read_bytes() != c.ann_file(split).read_bytes()
    for name in ("train/000000.png", "val/000001.png"):
        img_a = cv2.imread(str(a.root / "images" / name))
        img_b = cv2.imread(str(b.root / "images" / name))
        assert img_a.shape == (160, 160, 3) and np.array_equal(img_a, img_b)
        assert not np.array_equal(img_a, cv2.imread(str(c.root / "images" / name)))


def test_output_is_a_valid_coco_dataset(tmp_path: Path):
    summary = generate_synthetic(tmp_path / "syn", seed=0, num_train=5, num_val=3, size=96)
    for split, num in (("train", 5), ("val", 3)):
        checked = check_coco_json(summary.ann_file(split), summary.root / "images")
        assert checked.num_images == num and checked.num_dropped == 0
        assert checked.categories == SYNTHETIC_CLASSES
        assert checked.num_annotations == summary.counts[split]["annotations"] >= num
        doc = json.loads(summary.ann_file(split).read_text())
        assert doc["info"]["seed"] == 0 and doc["info"]["size"] == 96
        assert all(img["width"] == img["height"] == 96 for img in doc["images"])
        assert sorted(p.name for p in (summary.root / "images" / split).iterdir()) == [
            f"{i:06d}.png" for i in range(num)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syn"]  # no temp folder left


@pytest.mark.parametrize("seed", range(6))
def test_boxes_are_tight_around_the_visible_pixels(seed: int):
    img, objects = render_image(np.random.default_rng(seed), size=160, with_masks=True)
    assert img.shape == (160, 160, 3) and img.dtype == np.uint8
    assert 1 <= len(objects) <= 6
    union = np.zeros((160, 160), bool)
    for obj in objects:
        x, y, w, h = obj["bbox"]
        mask = obj["mask"]
        assert not (union & mask).any()  # visible masks are disjoint (occlusion applied)
        union |= mask
        ys, xs = np.nonzero(mask)
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x, y, x + w, y + h)
        assert 0 <= x and 0 <= y and x + w <= 160 and y + h <= 160
        assert 1 <= obj["category_id"] <= len(SYNTHETIC_CLASSES)


def test_scale_class_and_overlap_coverage(tmp_path: Path):
    summary = generate_synthetic(tmp_path / "syn", seed=0, num_train=60, num_val=1)
    counts = summary.counts["train"]
    assert counts["small"] + counts["medium"] + counts["large"] == counts["annotations"]
    assert min(counts["small"], counts["medium"], counts["large"]) >= 10  # every COCO band
    doc = json.loads(summary.ann_file("train").read_text())
    assert {a["category_id"] for a in doc["annotations"]} == set(range(1, 6))
    aspects = [a["bbox"][2] / a["bbox"][3] for a in doc["annotations"]]
    assert min(aspects) < 0.6 and max(aspects) > 1.7
    by_image: dict[int, list] = {}
    for a in doc["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a["bbox"])
    overlaps = [box_iou(p, q) for boxes in by_image.values() for p, q in combinations(boxes, 2)]
    assert sum(v > 0.05 for v in overlaps) >= 5  # partial overlaps occur
    assert all(a["area"] == a["bbox"][2] * a["bbox"][3] for a in doc["annotations"])


def test_existing_output_is_kept_unless_overwrite(tmp_path: Path):
    out = tmp_path / "syn"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not empty"):
        generate_synthetic(out, num_train=1, num_val=1)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    generate_synthetic(out, num_train=1, num_val=1, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["annotations", "images"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syn"]


def test_failure_midway_leaves_nothing(tmp_path: Path, monkeypatch):
    calls = []
    real = synthetic_module.render_image

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(synthetic_module, "render_image", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        generate_synthetic(tmp_path / "syn", num_train=4, num_val=1)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_rejected(tmp_path: Path):
    with pytest.raises(ValueError, match="at least one image"):
        generate_synthetic(tmp_path / "x", num_train=0)
    with pytest.raises(ValueError, match="at least 64"):
        generate_synthetic(tmp_path / "x", size=32)
    assert list(tmp_path.iterdir()) == []


def test_make_synthetic_command(tmp_path: Path, capsys):
    argv = ["make-synthetic", "--out", str(tmp_path / "s"), "--seed", "1", "--num-train", "2",
            "--num-val", "1", "--size", "80"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["train"]["images"] == 2 and report["classes"] == list(
        SYNTHETIC_CLASSES)
    assert main(argv) == 2  # exists, no --overwrite
    assert "not empty" in capsys.readouterr().err

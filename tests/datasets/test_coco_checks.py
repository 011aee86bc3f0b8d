"""COCO root and json checks: a valid root passes, every bad input is a one-line error."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from decoupled_rcnn.datasets import DatasetError, check_coco_json, check_coco_root


def coco_doc(num_images: int = 2, boxes=None) -> dict:
    boxes = boxes if boxes is not None else [(1, 1, [10, 10, 20, 30]), (2, 2, [0, 0, 50, 40])]
    return {
        "images": [{"id": i, "file_name": f"{i:012d}.jpg", "width": 64, "height": 48}
                   for i in range(1, num_images + 1)],
        "annotations": [{"id": k + 1, "image_id": img, "category_id": cat, "bbox": box,
                         "area": box[2] * box[3], "iscrowd": 0}
                        for k, (img, cat, box) in enumerate(boxes)],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "bicycle"}],
    }


def image_bytes(width: int, height: int, fmt: str = "JPEG") -> bytes:
    """A real, complete image of that size (the checks read its header and end marker)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 90, 60)).save(buffer, fmt)
    return buffer.getvalue()


def write_split(root: Path, ann_rel: str, img_rel: str, doc: dict) -> Path:
    (root / img_rel).mkdir(parents=True, exist_ok=True)
    for img in doc["images"]:
        (root / img_rel / img["file_name"]).write_bytes(image_bytes(img["width"], img["height"]))
    ann = root / ann_rel
    ann.parent.mkdir(parents=True, exist_ok=True)
    ann.write_text(json.dumps(doc))
    return ann


@pytest.fixture()
def coco_root(tmp_path: Path) -> Path:
    root = tmp_path / "coco"
    write_split(root, "annotations/instances_train2017.json", "train2017", coco_doc(3))
    write_split(root, "annotations/instances_val2017.json", "val2017", coco_doc(2))
    return root


def one_line_error(func, *args, **kwargs) -> str:
    with pytest.raises(DatasetError) as err:
        func(*args, **kwargs)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_valid_root_passes_with_counts(coco_root: Path):
    summaries = check_coco_root(coco_root)
    train = summaries["train2017"]
    assert (train.num_images, train.num_annotations, train.num_dropped) == (3, 2, 0)
    assert train.categories == ("person", "bicycle")
    assert train.img_dir == coco_root / "train2017"
    assert summaries["val2017"].num_images == 2


def test_test_dev_needs_no_annotations(coco_root: Path):
    doc = coco_doc(2)
    del doc["annotations"]
    write_split(coco_root, "annotations/image_info_test-dev2017.json", "test2017", doc)
    summary = check_coco_root(coco_root, ["test-dev2017"])["test-dev2017"]
    assert (summary.num_images, summary.num_annotations) == (2, 0)


def test_missing_root_says_which_key_to_set_and_layout(tmp_path: Path):
    message = one_line_error(check_coco_root, tmp_path / "absent")
    assert message.startswith(str(tmp_path / "absent"))
    assert "set data.coco_root" in message and "annotations/instances_train2017.json" in message
    assert "set my.key" in one_line_error(check_coco_root, "", config_key="my.key")


def test_missing_annotation_file_is_named(coco_root: Path):
    (coco_root / "annotations/instances_val2017.json").unlink()
    message = one_line_error(check_coco_root, coco_root)
    assert message.startswith(str(coco_root / "annotations/instances_val2017.json"))
    assert "not found" in message


def edit(doc_edit):
    def apply(ann: Path, img_dir: Path) -> None:
        doc = json.loads(ann.read_text())
        doc_edit(doc)
        ann.write_text(json.dumps(doc))
    return apply


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda ann, d: ann.write_text('{"images": [}'), "malformed json"),
        (lambda ann, d: ann.write_bytes(b"\xff\xfe\x00"), "malformed json"),
        (lambda ann, d: ann.write_text("[]"), "top level is not an object"),
        (edit(lambda doc: doc.pop("images")), "'images' is missing"),
        (edit(lambda doc: doc["annotations"][0].update(image_id=99)),
         "points at image id 99, which is not in 'images'"),
        (lambda ann, d: (d / "000000000002.jpg").unlink(), "missing image file"),
        (lambda ann, d: __import__("shutil").rmtree(d), "image folder"),
        (edit(lambda doc: doc["annotations"][0].update(category_id=5)), "unknown category id 5"),
        (edit(lambda doc: doc["annotations"][0].update(bbox=[1, 2, 3])), "bbox is not"),
        (edit(lambda doc: doc["annotations"][0].update(bbox=[1, 2, "a", 4])), "bbox is not"),
        (edit(lambda doc: doc["images"].append(dict(doc["images"][0]))), "duplicate image id"),
        (edit(lambda doc: doc["images"][0].pop("width")), "width/height"),
        (edit(lambda doc: doc.update(images=[], annotations=[])), "empty split: no images"),
        (edit(lambda doc: doc.update(annotations=[])), "empty split: no valid annotations"),
    ],
)
def test_bad_json_is_a_one_line_error_naming_the_file(coco_root, damage, fragment):
    ann = coco_root / "annotations/instances_train2017.json"
    damage(ann, coco_root / "train2017")
    message = one_line_error(check_coco_root, coco_root, ["train2017"])
    assert fragment in message
    assert message.startswith(str(ann)) or message.startswith(str(coco_root / "train2017"))


def test_degenerate_and_outside_boxes_are_dropped_and_logged(tmp_path: Path, caplog):
    boxes = [
        (1, 1, [10, 10, 0, 5]),  # zero width
        (1, 1, [10, 10, 5, -2]),  # negative height
        (1, 2, [10, 10, 0.5, 5]),  # below one pixel
        (1, 2, [70, 10, 10, 10]),  # right of the 64-px image
        (1, 2, [-20, 10, 10, 10]),  # left of it
        (1, 1, [60, 40, 10, 10]),  # partly outside: kept, as mmdet keeps it
        (2, 1, [0, 0, 64, 48]),
    ]
    ann = write_split(tmp_path, "a.json", "img", coco_doc(2, boxes))
    with caplog.at_level(logging.WARNING):
        summary = check_coco_json(ann, tmp_path / "img")
    assert (summary.num_annotations, summary.num_dropped) == (2, 5)
    assert f"{ann}: dropped 5 of 7 boxes" in caplog.text
    only_bad = write_split(tmp_path, "b.json", "img", coco_doc(1, boxes[:5]))
    assert "empty split" in one_line_error(check_coco_json, only_bad, tmp_path / "img")


def test_image_files_check_can_be_skipped(tmp_path: Path):
    ann = tmp_path / "a.json"
    ann.write_text(json.dumps(coco_doc(2)))
    (tmp_path / "img").mkdir()
    assert "missing image file" in one_line_error(check_coco_json, ann, tmp_path / "img")
    assert check_coco_json(ann, tmp_path / "img", check_files=False).num_images == 2

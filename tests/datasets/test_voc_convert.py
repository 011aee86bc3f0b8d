"""VOC XML -> COCO json: conventions, agreement with mmdet's VOCDataset, and bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from decoupled_rcnn.cli import main
from decoupled_rcnn.datasets import VOC_CLASSES, DatasetError, convert_voc0712, convert_voc_to_coco
from decoupled_rcnn.datasets.voc import parse_voc_xml


def xml_text(objects, width=64, height=48) -> str:
    """objects: (name, difficult or None, (xmin, ymin, xmax, ymax))."""
    parts = []
    for name, difficult, (x1, y1, x2, y2) in objects:
        diff = "" if difficult is None else f"<difficult>{difficult}</difficult>"
        parts.append(
            f"<object><name>{name}</name>{diff}<bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
            f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
        )
    return (f"<annotation><size><width>{width}</width><height>{height}</height>"
            f"<depth>3</depth></size>{''.join(parts)}</annotation>")


def make_voc(root: Path, years: dict, write_images: bool = True) -> Path:
    """years: {"VOC2007": {"trainval": {img_id: objects}, "test": {...}}}; 64x48 JPEGs."""
    for year, sets in years.items():
        for sub in ("Annotations", "ImageSets/Main", "JPEGImages"):
            (root / year / sub).mkdir(parents=True, exist_ok=True)
        for image_set, images in sets.items():
            (root / year / "ImageSets/Main" / f"{image_set}.txt").write_text(
                "".join(f"{i}\n" for i in images))
            for img_id, objects in images.items():
                (root / year / "Annotations" / f"{img_id}.xml").write_text(xml_text(objects))
                jpg = root / year / "JPEGImages" / f"{img_id}.jpg"
                # Real images always: the conversion checks each one's header and size.
                import cv2

                cv2.imwrite(str(jpg), np.full((48, 64, 3), 127, np.uint8))
    return root


STANDARD = {
    "VOC2007": {
        "trainval": {
            "000005": [("chair", 0, (10, 20, 50, 40)), ("person", 1, (1, 1, 64, 48))],
            "000007": [("car", None, (5, 6, 30, 31))],
        },
        "test": {"000001": [("dog", 0, (2, 3, 12, 13)), ("cat", 1, (20, 20, 40, 40))]},
    },
    "VOC2012": {"trainval": {"2008_000002": [("tvmonitor", 0, (3, 4, 60, 44))]}},
}


@pytest.fixture()
def voc_root(tmp_path: Path) -> Path:
    return make_voc(tmp_path / "VOCdevkit", STANDARD)


def test_converts_trainval_0712_with_mmdet_box_convention(voc_root: Path, tmp_path: Path):
    out = tmp_path / "out" / "trainval.json"
    summary = convert_voc_to_coco(voc_root, out)
    doc = json.loads(out.read_text())
    assert [c["name"] for c in doc["categories"]] == list(VOC_CLASSES)
    assert [c["id"] for c in doc["categories"]] == list(range(1, 21))
    assert [i["file_name"] for i in doc["images"]] == [
        "VOC2007/JPEGImages/000005.jpg", "VOC2007/JPEGImages/000007.jpg",
        "VOC2012/JPEGImages/2008_000002.jpg"]
    assert [i["id"] for i in doc["images"]] == [1, 2, 3]
    anns = doc["annotations"]
    # (xmin, ymin, xmax, ymax) = (10, 20, 50, 40) -> [xmin-1, ymin-1, xmax-xmin, ymax-ymin]
    assert anns[0] == {"id": 1, "image_id": 1, "category_id": VOC_CLASSES.index("chair") + 1,
                       "bbox": [9, 19, 40, 20], "area": 800, "iscrowd": 0}
    assert anns[1]["bbox"] == [0, 0, 63, 47] and anns[1]["iscrowd"] == 1  # difficult
    assert anns[2]["iscrowd"] == 0  # no <difficult> tag means not difficult
    assert anns[3]["image_id"] == 3 and anns[3]["category_id"] == 20
    assert (summary.num_images, summary.num_annotations, summary.num_difficult,
            summary.num_dropped) == (3, 4, 1, 0)
    assert sorted(p.name for p in out.parent.iterdir()) == ["trainval.json"]  # no temp left


def test_convert_voc0712_writes_trainval_and_test(voc_root: Path, tmp_path: Path):
    summaries = convert_voc0712(voc_root, tmp_path / "ann")
    assert summaries["trainval"].out_file == tmp_path / "ann" / "voc0712_trainval.json"
    test_doc = json.loads((tmp_path / "ann" / "voc07_test.json").read_text())
    assert [a["iscrowd"] for a in test_doc["annotations"]] == [0, 1]
    assert summaries["test"].num_images == 1


def test_cocodataset_matches_mmdet_vocdataset_and_ignores_difficult(tmp_path: Path):
    from mmdet.datasets import CocoDataset, VOCDataset
    from mmdet.utils import register_all_modules

    register_all_modules()
    root = make_voc(tmp_path / "VOCdevkit", STANDARD, write_images=True)
    convert_voc_to_coco(root, tmp_path / "test.json", [("VOC2007", "test")])
    pipeline = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_bbox=True),
                dict(type="PackDetInputs")]
    coco = CocoDataset(data_root=str(root), ann_file=str(tmp_path / "test.json"),
                       data_prefix=dict(img=""), metainfo=dict(classes=VOC_CLASSES),
                       pipeline=pipeline)
    voc = VOCDataset(data_root=str(root), ann_file="VOC2007/ImageSets/Main/test.txt",
                     data_prefix=dict(sub_data_root="VOC2007/"), pipeline=pipeline)
    (coco_info,), (voc_info,) = coco.load_data_list(), voc.load_data_list()
    strip = [{k: i[k] for k in ("bbox", "bbox_label", "ignore_flag")}
             for i in coco_info["instances"]]
    assert strip == voc_info["instances"]  # same boxes, labels and ignore flags as VOCDataset
    assert [i["ignore_flag"] for i in strip] == [0, 1]
    sample = coco[0]["data_samples"]  # difficult object is an ignored instance, not a target
    assert sample.gt_instances.bboxes.tensor.tolist() == [[1.0, 2.0, 11.0, 12.0]]
    assert sample.ignored_instances.bboxes.tensor.tolist() == [[19.0, 19.0, 39.0, 39.0]]
    assert sample.ignored_instances.labels.tolist() == [VOC_CLASSES.index("cat")]


def one_line_error(func, *args, **kwargs) -> str:
    with pytest.raises(DatasetError) as err:
        func(*args, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_missing_root_names_config_key_and_layout(tmp_path: Path):
    message = one_line_error(convert_voc_to_coco, tmp_path / "nowhere", tmp_path / "o.json")
    assert message.startswith(str(tmp_path / "nowhere"))
    assert "data.voc_root" in message and "VOC2007/" in message and "ImageSets/Main" in message
    assert "data.voc_root" in one_line_error(convert_voc_to_coco, None, tmp_path / "o.json")
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda r: (r / "VOC2007/ImageSets/Main/trainval.txt").unlink(), "list not found"),
        (lambda r: (r / "VOC2007/ImageSets/Main/trainval.txt").write_text("\n"), "empty split"),
        (lambda r: (r / "VOC2007/Annotations/000007.xml").write_text("<annotation><size>"),
         "malformed XML"),
        (lambda r: (r / "VOC2007/Annotations/000007.xml").unlink(), "annotation file not found"),
        (lambda r: (r / "VOC2007/JPEGImages/000007.jpg").unlink(), "missing image"),
        (lambda r: (r / "VOC2007/Annotations/000007.xml").write_text(
            xml_text([("unicorn", 0, (1, 1, 5, 5))])), "unknown category 'unicorn'"),
        (lambda r: (r / "VOC2007/Annotations/000007.xml").write_text(
            "<annotation><object><name>cat</name></object></annotation>"), "missing <size>"),
    ],
)
def test_bad_input_is_rejected_and_nothing_written(voc_root, tmp_path, damage, fragment):
    damage(voc_root)
    out = tmp_path / "out" / "trainval.json"
    message = one_line_error(convert_voc_to_coco, voc_root, out)
    assert fragment in message and str(voc_root / "VOC2007") in message
    assert not out.parent.exists()  # nothing written, not even the output folder


def test_degenerate_and_outside_boxes_are_dropped_with_logged_count(tmp_path, caplog):
    root = make_voc(tmp_path / "VOCdevkit", {"VOC2007": {"test": {"1": [
        ("cat", 0, (10, 10, 10, 30)),  # zero width
        ("cat", 0, (20, 20, 15, 30)),  # negative width
        ("dog", 0, (70, 10, 90, 20)),  # right of the 64-px-wide image
        ("dog", 0, (5, 5, 20, 20)),  # fine
    ]}}})
    with caplog.at_level(logging.WARNING):
        summary = convert_voc_to_coco(root, tmp_path / "t.json", [("VOC2007", "test")])
    assert (summary.num_annotations, summary.num_dropped) == (1, 3)
    assert "dropped 3 of 4" in caplog.text
    assert json.loads((tmp_path / "t.json").read_text())["annotations"][0]["bbox"] == [4, 4, 15, 15]


def test_parse_voc_xml_reads_float_coordinates_like_mmdet(tmp_path: Path):
    xml = tmp_path / "a.xml"
    xml.write_text(xml_text([("bus", 1, ("10.7", "20.2", "30.9", "40.0"))]))
    record = parse_voc_xml(xml)
    assert (record.width, record.height) == (64, 48)
    obj = record.objects[0]
    assert (obj.name, obj.difficult, obj.xmin, obj.ymin, obj.xmax, obj.ymax) == (
        "bus", True, 10, 20, 30, 40)


def test_voc2coco_command(voc_root: Path, tmp_path: Path, capsys):
    out = tmp_path / "t.json"
    assert main(["voc2coco", "--voc-root", str(voc_root), "--out", str(out),
                 "--subset", "VOC2007:test"]) == 0
    assert "1 images, 2 boxes (1 difficult), 0 dropped" in capsys.readouterr().out
    assert len(json.loads(out.read_text())["images"]) == 1
    assert main(["voc2coco", "--voc-root", str(tmp_path / "no"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "data.voc_root" in err

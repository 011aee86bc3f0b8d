"""Your own dataset: classes from the data, VOC XML conversion, checks and one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from custom_testlib import (  # noqa: E402
    COCO_CLASSES,
    COCO_COUNTS,
    VOC_CLASSES,
    VOC_COUNTS,
    coco_custom,
    make_coco_dataset,
    make_voc_dataset,
    voc_custom,
    voc_xml,
)

from decoupled_rcnn.datasets import DatasetError  # noqa: E402
from decoupled_rcnn.datasets.custom import (  # noqa: E402
    CustomSource,
    custom_classes,
    voc_split_ids,
)
from decoupled_rcnn.datasets.custom_check import (  # noqa: E402
    check_custom,
    format_check,
    prepare_custom,
)
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def widgets(tmp_path: Path) -> Path:
    return make_voc_dataset(tmp_path / "widgets")


@pytest.fixture
def cells(tmp_path: Path) -> Path:
    return make_coco_dataset(tmp_path / "cells")


def _source(custom: dict) -> CustomSource:
    return CustomSource.from_config(custom)


def _one_line_error(func, *args, **kwargs) -> str:
    with pytest.raises(DatasetError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_classes_come_from_the_data(widgets: Path, cells: Path):
    assert custom_classes(_source(voc_custom(widgets))) == VOC_CLASSES  # sorted names
    given = ("washer", "nut", "bolt", "spring")  # a given list: its order, unused ones too
    assert custom_classes(_source(voc_custom(widgets, classes=list(given)))) == given
    assert custom_classes(_source(coco_custom(cells))) == COCO_CLASSES  # the json's order


def test_the_split_rule_puts_every_fifth_sorted_id_in_val(widgets: Path):
    split = voc_split_ids(_source(voc_custom(widgets)))
    assert split["val"] == ["img04", "img09"]
    assert len(split["train"]) == 8
    (widgets / "train.txt").write_text("img00\nimg01\n")
    (widgets / "val.txt").write_text("img02\n")
    files = voc_custom(widgets, train_split="train.txt", val_split="val.txt")
    assert voc_split_ids(_source(files)) == {"train": ["img00", "img01"], "val": ["img02"]}


def test_voc_conversion_keeps_border_boxes_difficult_and_any_image_format(widgets, tmp_path):
    summary = prepare_custom(_source(voc_custom(widgets)), tmp_path / "out")
    assert summary["classes"] == list(VOC_CLASSES)
    for split in ("train", "val"):
        assert summary["splits"][split]["per_class"] == VOC_COUNTS[split]
        assert summary["splits"][split]["dropped"] == 0
    train = json.loads((tmp_path / "out" / "train.json").read_text())
    assert [c["name"] for c in train["categories"]] == list(VOC_CLASSES)
    names = {i["file_name"] for i in train["images"]}
    assert {"img00.png", "img01.jpg", "img02.tif"} <= names  # <filename> of each XML
    washer = [a for a in train["annotations"] if a["category_id"] == 3]
    assert washer[0]["bbox"] == [0, 0, 79, 19]  # img00 is 80 px wide: touches three borders
    crowd = [a for a in train["annotations"] if a["iscrowd"]]
    assert len(crowd) == 1 and crowd[0]["category_id"] == 2  # img02's difficult nut


def test_coco_dataset_is_checked_and_counted(cells: Path, tmp_path: Path):
    summary = prepare_custom(_source(coco_custom(cells)), tmp_path / "unused")
    assert summary["classes"] == list(COCO_CLASSES)
    assert {s: v["per_class"] for s, v in summary["splits"].items()} == COCO_COUNTS
    assert summary["splits"]["train"]["ignored"] == 1
    assert not (tmp_path / "unused").exists()  # COCO json is read where it is


def _xml(widgets: Path, image_id: str, text: str) -> Path:
    path = widgets / "Annotations" / f"{image_id}.xml"
    path.write_text(text)
    return path


def test_bad_voc_inputs_give_one_line_errors_naming_the_file(widgets: Path, tmp_path: Path):
    source = _source(voc_custom(widgets))
    (widgets / "JPEGImages" / "img01.jpg").unlink()
    message = _one_line_error(prepare_custom, source, tmp_path / "a")
    assert message.startswith(str(widgets / "Annotations" / "img01.xml"))
    assert "missing image" in message and "img01.jpg" in message
    make_voc_dataset(tmp_path / "w2")
    bad = _xml(tmp_path / "w2", "img05", voc_xml("img05.jpg", 96, 80,
                                                 [("bolt", 0, 50, 5, 10, 40)]))
    message = _one_line_error(prepare_custom, _source(voc_custom(tmp_path / "w2")),
                              tmp_path / "b")
    assert message.startswith(str(bad)) and "inverted box: xmin 50" in message
    make_voc_dataset(tmp_path / "w3")
    broken = _xml(tmp_path / "w3", "img06", "<annotation><size><width>3")
    message = _one_line_error(custom_classes, _source(voc_custom(tmp_path / "w3")))
    assert message.startswith(str(broken)) and "malformed XML" in message


def test_an_empty_class_list_is_an_error(tmp_path: Path, cells: Path):
    empty = tmp_path / "empty"
    (empty / "Annotations").mkdir(parents=True)
    (empty / "JPEGImages").mkdir()
    for k in range(5):
        _xml(empty, f"e{k}", voc_xml(f"e{k}.png", 32, 32, []))
    message = _one_line_error(custom_classes, _source(voc_custom(empty)))
    assert message.startswith(str(empty / "Annotations")) and "empty class list" in message
    message = _one_line_error(custom_classes, _source(voc_custom(empty, classes=[])))
    assert "data.custom.classes: empty class list" in message
    ann = cells / "annotations" / "train.json"
    doc = json.loads(ann.read_text())
    ann.write_text(json.dumps({**doc, "categories": []}))
    message = _one_line_error(custom_classes, _source(coco_custom(cells)))
    assert message.startswith(str(ann)) and "empty class list" in message


def test_coco_val_categories_must_match_train(cells: Path):
    val = cells / "annotations" / "val.json"
    doc = json.loads(val.read_text())
    val.write_text(json.dumps({**doc, "categories": doc["categories"][::-1]}))
    message = _one_line_error(custom_classes, _source(coco_custom(cells)))
    assert message.startswith(str(val)) and "categories differ" in message


def test_a_name_outside_a_given_class_list_is_rejected(widgets: Path, tmp_path: Path):
    source = _source(voc_custom(widgets, classes=["bolt", "nut"]))
    message = _one_line_error(prepare_custom, source, tmp_path / "out")
    assert "unknown category 'washer'" in message and message.startswith(str(widgets))


def test_check_lists_every_problem_and_the_counts(widgets: Path):
    good = format_check(check_custom(voc_custom(widgets)))
    assert "train: 8 images" in good and "per class: bolt 8, nut 8, washer 3" in good
    assert "box area (COCO bands): small 0 (0 %), medium 19 (100 %), large 0" in good
    assert good.endswith("problems: 0 (none)")
    (widgets / "JPEGImages" / "img01.jpg").unlink()
    _xml(widgets, "img07", voc_xml("img07.jpg", 96, 80, [("nut", 0, 60, 5, 10, 40)]))
    check = check_custom(voc_custom(widgets))
    assert len(check.problems) == 2
    assert any(p.startswith(str(widgets / "Annotations" / "img01.xml")) for p in check.problems)
    assert any(p.startswith(str(widgets / "Annotations" / "img07.xml")) for p in check.problems)
    assert [s.images for s in check.splits] == [6, 2]  # the bad files are left out


def test_the_example_workflow_config_validates():
    wcfg = load_workflow_config(REPO / "configs" / "workflow" / "custom.yaml")
    assert wcfg["data"]["source"] == "custom"
    assert wcfg["data"]["custom"]["format"] == "voc"

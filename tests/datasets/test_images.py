"""Bad data is a one-line error naming the file, before any training: images and annotations."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from decoupled_rcnn.datasets import DatasetError, check_coco_json, generate_synthetic
from decoupled_rcnn.datasets.common import load_json
from decoupled_rcnn.datasets.images import check_image
from decoupled_rcnn.datasets.voc import convert_voc_to_coco, parse_voc_xml


def image_bytes(width: int = 64, height: int = 48, fmt: str = "JPEG", **save) -> bytes:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **save)
    return buffer.getvalue()


def one_line(func, *args, **kwargs) -> str:
    with pytest.raises(DatasetError) as err:
        func(*args, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    return message


def coco_split(tmp_path: Path, data: bytes, width: int = 64, height: int = 48) -> tuple[Path, Path]:
    """A one-image COCO split whose image file holds ``data``."""
    img_dir = tmp_path / "images"
    img_dir.mkdir()
    (img_dir / "a.jpg").write_bytes(data)
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg", "width": width, "height": height}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 20, 20],
                         "area": 400, "iscrowd": 0}],
        "categories": [{"id": 1, "name": "thing"}]}))
    return ann, img_dir


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "GIF", "TIFF"])
def test_complete_images_pass_with_their_size(tmp_path, fmt):
    path = tmp_path / f"a.{fmt.lower()}"
    path.write_bytes(image_bytes(fmt=fmt))
    info = check_image(path, width=64, height=48)
    assert (info.format, info.width, info.height) == (fmt, 64, 48)


@pytest.mark.parametrize(("data", "says"), [
    (b"", "empty image file (0 bytes)"),
    (bytes(np.random.default_rng(1).integers(0, 255, 3000, dtype=np.uint8)),
     "not a readable image"),
    (image_bytes()[: len(image_bytes()) // 2], "truncated image: no JPEG end marker"),
    (image_bytes(fmt="PNG")[:-40], "truncated image: no PNG end marker"),
    (image_bytes(fmt="BMP")[:-100], "truncated image: BMP header says"),
])
def test_a_bad_image_names_the_image_and_the_annotation_file(tmp_path, data, says):
    ann, img_dir = coco_split(tmp_path, data)
    message = one_line(check_coco_json, ann, img_dir)
    assert message.startswith(f"{img_dir / 'a.jpg'}: {says}"), message
    assert f"(annotated in {ann})" in message


def test_an_image_of_another_size_than_annotated_is_rejected(tmp_path):
    ann, img_dir = coco_split(tmp_path, image_bytes(64, 48), width=80, height=48)
    message = one_line(check_coco_json, ann, img_dir)
    assert message == f"{img_dir / 'a.jpg'}: image is 64x48 pixels but {ann} says 80x48"


def test_exif_rotation_counts_as_mmcv_decodes_it(tmp_path):
    """A 64x48 JPEG tagged 'rotate 90' (orientation 6) is 48x64 once loaded by mmcv."""
    import mmcv

    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    path.write_bytes(image_bytes(64, 48, exif=exif.tobytes()))
    height, width = mmcv.imfrombytes(path.read_bytes(), flag="color").shape[:2]
    assert (width, height) == (48, 64)  # what LoadImageFromFile hands the model
    info = check_image(path, width=48, height=64)
    assert (info.width, info.height, info.orientation) == (48, 64, 6)
    message = one_line(check_image, path, width=64, height=48, ann_file="ann.json")
    assert "after its EXIF orientation 6 (mmcv rotates it on load)" in message


def test_a_zero_byte_annotation_file_is_named(tmp_path):
    ann = tmp_path / "instances_val2017.json"
    ann.write_bytes(b"")
    assert one_line(load_json, ann) == f"{ann}: empty file (0 bytes): expected a json document"
    assert one_line(check_coco_json, ann, tmp_path).startswith(f"{ann}: empty file")


def test_the_generated_stand_in_passes_the_image_checks(tmp_path):
    summary = generate_synthetic(tmp_path / "data", seed=0, num_train=3, num_val=2, size=64)
    for split in ("train", "val"):
        found = check_coco_json(summary.ann_file(split), summary.root / "images")
        assert found.num_images == (3 if split == "train" else 2)


# --- VOC XML ----------------------------------------------------------------------------

def voc_xml(box: str, size: str = "<width>64</width><height>48</height>") -> str:
    return (f"<annotation><size>{size}<depth>3</depth></size><object><name>dog</name>"
            f"<difficult>0</difficult>{box}</object></annotation>")


BOX = "<bndbox><xmin>2</xmin><ymin>3</ymin><xmax>30</xmax><ymax>40</ymax></bndbox>"


@pytest.mark.parametrize(("xml", "says"), [
    (voc_xml(""), "object 'dog' has no <bndbox>"),
    (voc_xml(BOX.replace("<xmax>30</xmax>", "<xmax>3O</xmax>")), "<xmax> is not a number: '3O'"),
    (voc_xml(BOX.replace("<ymin>3</ymin>", "<ymin> </ymin>")), "missing <ymin> in <bndbox>"),
    (voc_xml(BOX.replace("<ymin>3</ymin>", "")), "missing <ymin> in <bndbox>"),
    (voc_xml(BOX, size="<width>wide</width><height>48</height>"), "<width> is not a number"),
    ("", "malformed XML"),
])
def test_a_bad_voc_xml_names_the_file(tmp_path, xml, says):
    path = tmp_path / "000005.xml"
    path.write_text(xml)
    message = one_line(parse_voc_xml, path)
    assert message.startswith(f"{path}: ") and says in message, message


def test_voc_conversion_checks_each_image_against_its_xml_size(tmp_path):
    year = tmp_path / "VOCdevkit" / "VOC2007"
    for sub in ("Annotations", "ImageSets/Main", "JPEGImages"):
        (year / sub).mkdir(parents=True)
    (year / "ImageSets/Main/test.txt").write_text("000001\n")
    xml = year / "Annotations" / "000001.xml"
    xml.write_text(voc_xml(BOX, size="<width>64</width><height>64</height>"))
    jpg = year / "JPEGImages" / "000001.jpg"
    jpg.write_bytes(image_bytes(64, 48))
    out = tmp_path / "out.json"
    message = one_line(convert_voc_to_coco, tmp_path / "VOCdevkit", out, (("VOC2007", "test"),))
    assert message == f"{jpg}: image is 64x48 pixels but {xml} says 64x64"
    assert not out.exists()

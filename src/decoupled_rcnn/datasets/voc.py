"""PASCAL VOC XML annotations to one COCO json, for mmdet's ``CocoDataset`` and COCOeval.

The paper trains on VOC2007+2012 trainval and tests on VOC2007 test with COCO-style AP, so the
VOC splits are converted once and then handled exactly like COCO.

Conventions:
    * Categories are VOC's 20 classes in the usual order, ids 1..20.
    * Difficult objects get ``iscrowd=1``: COCOeval then ignores them (a detection on one is
      neither a true nor a false positive, and missing one is no miss), and mmdet's
      ``CocoDataset`` marks them ``ignore_flag=1`` so they land in ``ignored_instances``
      instead of being trained on. Note COCOeval matches a detection to an ignored region by
      intersection over the *detection's* area, a little more lenient than VOC's IoU >= 0.5.
    * Boxes: VOC stores 1-based inclusive pixel corners. We convert like mmdet's own
      ``VOCDataset`` and ``tools/dataset_converters/pascal_voc.py`` (coordinates truncated to
      int, then ``xmin - 1, ymin - 1``), giving ``[xmin - 1, ymin - 1, xmax - xmin,
      ymax - ymin]``, so a model trained here sees the same boxes as with ``VOCDataset``.
    * Image ``file_name`` is relative to the VOCdevkit root (``VOC2007/JPEGImages/x.jpg``),
      so one ``data_root`` and an empty image prefix serve both years.
    * A box with ``w < 1`` or ``h < 1``, or outside its image, is dropped with a logged count
      (mmdet's ``CocoDataset`` would skip it anyway); an unknown class name is rejected.
    * Other class lists (your own dataset, :mod:`decoupled_rcnn.datasets.custom`): pass
      ``classes=``; ids are 1..N in that order. ``reject_inverted=True`` makes a box with
      ``xmin > xmax`` or ``ymin > ymax`` an error instead of a dropped box.
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from decoupled_rcnn.datasets.coco import box_is_degenerate, require_dataset_root
from decoupled_rcnn.datasets.common import DatasetError
from decoupled_rcnn.datasets.images import check_image
from decoupled_rcnn.provenance import write_json_atomic

__all__ = [
    "VOC_CLASSES",
    "VocConversionSummary",
    "VocObject",
    "VocRecord",
    "convert_voc0712",
    "voc_records_to_coco",
    "convert_voc_to_coco",
    "parse_voc_xml",
    "voc_box_to_coco",
]

logger = logging.getLogger(__name__)

VOC_CLASSES: tuple[str, ...] = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip

VOC_LAYOUT = (
    "VOC2007/{Annotations/*.xml, ImageSets/Main/{trainval,test}.txt, JPEGImages/*.jpg} and "
    "VOC2012/{Annotations/*.xml, ImageSets/Main/trainval.txt, JPEGImages/*.jpg} (a VOCdevkit)"
)

#: The paper's splits: training on 07+12 trainval, testing on 07 test.
VOC0712_TRAINVAL: tuple[tuple[str, str], ...] = (("VOC2007", "trainval"), ("VOC2012", "trainval"))
VOC07_TEST: tuple[tuple[str, str], ...] = (("VOC2007", "test"),)


@dataclass(frozen=True)
class VocObject:
    """One ``<object>`` of a VOC XML, coordinates as written (1-based, truncated to int)."""

    name: str
    difficult: bool
    xmin: int
    ymin: int
    xmax: int
    ymax: int


@dataclass(frozen=True)
class VocRecord:
    """One parsed VOC XML file."""

    width: int
    height: int
    objects: tuple[VocObject, ...]
    filename: str | None = None


@dataclass(frozen=True)
class VocConversionSummary:
    """Counts of one conversion.

    Attributes:
        out_file: The COCO json written.
        num_images: Images written.
        num_annotations: Boxes written, difficult ones included.
        num_difficult: Boxes written with ``iscrowd=1``.
        num_dropped: Boxes dropped for size below 1 px or lying outside the image.
    """

    out_file: Path
    num_images: int
    num_annotations: int
    num_difficult: int
    num_dropped: int


def _text(node: ET.Element, tag: str, xml_path: Path) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise DatasetError(xml_path, f"missing <{tag}> in <{node.tag}>")
    return child.text.strip()


def _number(node: ET.Element, tag: str, xml_path: Path) -> int:
    text = _text(node, tag, xml_path)
    try:
        return int(float(text))
    except ValueError as err:
        raise DatasetError(xml_path, f"<{tag}> is not a number: {text!r}") from err


def parse_voc_xml(xml_path: str | os.PathLike, classes: Sequence[str] | None = VOC_CLASSES,
                  *, reject_inverted: bool = False) -> VocRecord:
    """Parse one VOC annotation file.

    Args:
        xml_path: ``Annotations/<id>.xml``.
        classes: The known class names (default VOC's 20); None accepts any name.
        reject_inverted: Raise for a box with ``xmin > xmax`` or ``ymin > ymax`` (default:
            such a box is kept here and dropped as degenerate by the conversion).

    Returns:
        Image size, objects and ``<filename>``; class names are checked against ``classes``.
        Unknown extra fields are ignored.

    Raises:
        DatasetError: Missing/malformed XML, missing size or box fields, unknown class.
    """
    xml_path = Path(xml_path)
    if not xml_path.is_file():
        raise DatasetError(xml_path, "annotation file not found")
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as err:
        raise DatasetError(xml_path, f"malformed XML: {err}") from err
    except OSError as err:
        raise DatasetError(xml_path, f"unreadable: {err.strerror or err}") from err
    size = root.find("size")
    if size is None:
        raise DatasetError(xml_path, "missing <size>")
    width, height = _number(size, "width", xml_path), _number(size, "height", xml_path)
    if width <= 0 or height <= 0:
        raise DatasetError(xml_path, f"image size {width}x{height} is not positive")
    objects = []
    for obj in root.findall("object"):
        name = _text(obj, "name", xml_path)
        if classes is not None and name not in classes:
            known = "VOC's 20" if tuple(classes) == VOC_CLASSES else f"classes {list(classes)}"
            raise DatasetError(xml_path, f"unknown category {name!r} (not one of {known})")
        difficult = obj.find("difficult")
        is_difficult = difficult is not None and (difficult.text or "0").strip() not in ("", "0")
        box = obj.find("bndbox")
        if box is None:
            raise DatasetError(xml_path, f"object {name!r} has no <bndbox>")
        coords = [_number(box, tag, xml_path) for tag in ("xmin", "ymin", "xmax", "ymax")]
        if reject_inverted and (coords[0] > coords[2] or coords[1] > coords[3]):
            raise DatasetError(xml_path, f"object {name!r} has an inverted box: xmin {coords[0]}"
                               f", ymin {coords[1]}, xmax {coords[2]}, ymax {coords[3]}")
        objects.append(VocObject(name, is_difficult, *coords))
    filename = root.findtext("filename")
    return VocRecord(width=width, height=height, objects=tuple(objects),
                     filename=filename.strip() if filename and filename.strip() else None)


def voc_box_to_coco(obj: VocObject) -> list[int]:
    """VOC 1-based corners to COCO ``[x, y, w, h]``, as mmdet's VOCDataset does (minus one)."""
    return [obj.xmin - 1, obj.ymin - 1, obj.xmax - obj.xmin, obj.ymax - obj.ymin]


def _read_ids(list_file: Path, config_key: str) -> list[str]:
    if not list_file.is_file():
        raise DatasetError(
            list_file, f"image-set list not found; check {config_key} points at a VOCdevkit "
            f"with {VOC_LAYOUT}"
        )
    try:
        lines = list_file.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(list_file, f"unreadable: {err}") from err
    ids = [line.split()[0] for line in lines if line.strip()]
    if not ids:
        raise DatasetError(list_file, "empty split: the image-set list names no images")
    if len(set(ids)) != len(ids):
        raise DatasetError(list_file, "the image-set list names an image twice")
    return ids


def convert_voc_to_coco(
    voc_root: str | os.PathLike | None,
    out_file: str | os.PathLike,
    subsets: Sequence[tuple[str, str]] = VOC0712_TRAINVAL,
    *,
    check_files: bool = True,
    config_key: str = "data.voc_root",
    classes: Sequence[str] = VOC_CLASSES,
) -> VocConversionSummary:
    """Convert VOC image sets to one COCO detection json (see the module doc for conventions).

    Args:
        voc_root: The VOCdevkit folder holding ``VOC2007/`` and/or ``VOC2012/``.
        out_file: Where to write the json (atomically; nothing is written on error).
        subsets: ``(year folder, image set)`` pairs, e.g. ``(("VOC2007", "test"),)``.
        check_files: Check that each ``JPEGImages/<id>.jpg`` exists, is complete and has the
            XML's ``<size>`` (header and tail only, :mod:`decoupled_rcnn.datasets.images`).
        config_key: The workflow config key named in the error for a missing root.
        classes: The class names, category ids 1..N in this order (default VOC's 20).

    Returns:
        Counts of images, boxes, difficult boxes and dropped boxes.

    Raises:
        DatasetError: Missing root, list, XML or image; malformed XML; unknown class; a list
            with no images.
    """
    root = require_dataset_root(voc_root, config_key=config_key, layout=VOC_LAYOUT, name="VOC")
    if not subsets:
        raise DatasetError(None, "no VOC subsets to convert")
    entries = []
    for year, image_set in subsets:
        year_dir = root / year
        ids = _read_ids(year_dir / "ImageSets" / "Main" / f"{image_set}.txt", config_key)
        jpegs = set(os.listdir(year_dir / "JPEGImages")) if check_files and (
            year_dir / "JPEGImages"
        ).is_dir() else set()
        for img_name in ids:
            xml_path = year_dir / "Annotations" / f"{img_name}.xml"
            if check_files and f"{img_name}.jpg" not in jpegs:
                raise DatasetError(
                    xml_path, f"annotation points at missing image {year_dir}/JPEGImages/"
                    f"{img_name}.jpg"
                )
            record = parse_voc_xml(xml_path, classes)
            if check_files:  # header and tail only: complete, and the size <size> says
                check_image(year_dir / "JPEGImages" / f"{img_name}.jpg", width=record.width,
                            height=record.height, ann_file=xml_path)
            entries.append((xml_path, f"{year}/JPEGImages/{img_name}.jpg", record))
    return voc_records_to_coco(
        entries, out_file, classes,
        description="PASCAL VOC " + " + ".join(f"{y} {s}" for y, s in subsets), where=root)


def voc_records_to_coco(
    entries: Sequence[tuple[Path, str, VocRecord]],
    out_file: str | os.PathLike,
    classes: Sequence[str] = VOC_CLASSES,
    *,
    description: str = "VOC XML",
    where: str | os.PathLike | None = None,
) -> VocConversionSummary:
    """Write parsed VOC records as one COCO json (the conversion's core, any class list).

    Args:
        entries: ``(xml path, image file_name in the json, parsed record)`` per image.
        out_file: Where to write the json (atomically).
        classes: Category names, ids 1..N in this order.
        description: The json's ``info.description`` (``converted by decoupled-rcnn`` added).
        where: Named in the log line about dropped boxes.

    Returns:
        Counts of images, boxes, difficult boxes and dropped boxes.
    """
    images, annotations = [], []
    num_difficult = num_dropped = 0
    index = {name: i + 1 for i, name in enumerate(classes)}
    for _xml_path, file_name, record in entries:
        image_id = len(images) + 1
        images.append({
            "id": image_id,
            "file_name": file_name,
            "width": record.width,
            "height": record.height,
        })
        for obj in record.objects:
            bbox = voc_box_to_coco(obj)
            if box_is_degenerate(bbox, record.width, record.height):
                num_dropped += 1
                continue
            num_difficult += obj.difficult
            annotations.append({
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": index[obj.name],
                "bbox": bbox,
                "area": bbox[2] * bbox[3],
                "iscrowd": int(obj.difficult),
            })
    if num_dropped:
        logger.warning(
            "%s: dropped %d of %d VOC boxes with size below 1 px or outside their image",
            where if where is not None else out_file, num_dropped,
            num_dropped + len(annotations),
        )
    doc = {
        "info": {
            "description": f"{description} converted by decoupled-rcnn",
            "box_convention": "[xmin-1, ymin-1, xmax-xmin, ymax-ymin] as mmdet's VOCDataset",
            "difficult": "iscrowd=1",
        },
        "images": images,
        "annotations": annotations,
        "categories": [
            {"id": i + 1, "name": name, "supercategory": "none"}
            for i, name in enumerate(classes)
        ],
    }
    out_file = write_json_atomic(doc, out_file)
    return VocConversionSummary(
        out_file=out_file,
        num_images=len(images),
        num_annotations=len(annotations),
        num_difficult=num_difficult,
        num_dropped=num_dropped,
    )


def convert_voc0712(
    voc_root: str | os.PathLike | None,
    out_dir: str | os.PathLike,
    *,
    check_files: bool = True,
    config_key: str = "data.voc_root",
) -> dict[str, VocConversionSummary]:
    """Write the paper's two VOC files: ``voc0712_trainval.json`` and ``voc07_test.json``.

    Args:
        voc_root: The VOCdevkit folder.
        out_dir: Output folder.
        check_files: Check that every image exists.
        config_key: The workflow config key named in the error for a missing root.

    Returns:
        ``{"trainval": summary, "test": summary}``.
    """
    out_dir = Path(out_dir)
    plan = {
        "trainval": (VOC0712_TRAINVAL, out_dir / "voc0712_trainval.json"),
        "test": (VOC07_TEST, out_dir / "voc07_test.json"),
    }
    return {
        key: convert_voc_to_coco(
            voc_root, out_file, subsets, check_files=check_files, config_key=config_key
        )
        for key, (subsets, out_file) in plan.items()
    }

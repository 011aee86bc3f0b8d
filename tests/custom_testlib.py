"""Small datasets of one's own, generated for the custom-data tests.

* :func:`make_voc_dataset`: "widgets", VOC XML with three non-VOC classes (bolt, nut,
  washer), ten images of mixed sizes, RGB and grayscale, PNG / JPEG / TIFF, one difficult
  box, boxes touching the image border, XML fields VOC does not have. With ``val_every: 5``
  img04 and img09 are val.
* :func:`make_coco_dataset`: "cells", COCO json with two categories of ids 7 and 3 (listed in
  that order), a crowd region, eight training and three validation images.

The expected counts are spelled out as constants, derivable by reading the builders.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

VOC_CLASSES = ("bolt", "nut", "washer")  # sorted: what the data's names give
#: (image id, width, height, extension, grayscale, objects (name, difficult, x1, y1, x2, y2)).
VOC_IMAGES = [
    (f"img{k:02d}", 96 if k % 2 else 80, 80 if k % 2 else 96, (".png", ".jpg", ".tif")[k % 3],
     k % 4 == 1,
     [("bolt", 0, 5, 6, 40, 44), ("nut", int(k == 2), 45, 30, 75, 70)]
     + ([("washer", 0, 1, 1, 96 if k % 2 else 80, 20)] if k % 3 == 0 else []))
    for k in range(10)
]
#: Boxes per class and split (val: img04, img09): bolt and nut on every image, washer on
#: img00, img03, img06, img09 (touching the border); the nut of img02 is difficult.
VOC_COUNTS = {"train": {"bolt": 8, "nut": 8, "washer": 3}, "val": {"bolt": 2, "nut": 2,
                                                                  "washer": 1}}

COCO_CATEGORIES = [{"id": 7, "name": "cell"}, {"id": 3, "name": "debris"}]
COCO_CLASSES = ("cell", "debris")  # the json's order, not sorted by id
#: cell on every image, debris where k % 3 != 2 (train k = 2, 5 and val k = 2 lack one); the
#: last training debris box is a crowd region (kept, ignored).
COCO_COUNTS = {"train": {"cell": 8, "debris": 6}, "val": {"cell": 3, "debris": 2}}


def _image(width: int, height: int, boxes: list[tuple], gray: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        color = [(200, 60, 60), (60, 200, 60), (60, 60, 200)][k % 3]
        cv2.rectangle(img, (int(x1), int(y1)), (int(x2) - 1, int(y2) - 1), color, -1)
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if gray else img


def voc_xml(filename: str, width: int, height: int, objects: list[tuple], depth: int = 3,
            extra: str = "<source><tool>labelImg</tool></source>") -> str:
    objs = "".join(
        f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated>"
        f"<difficult>{difficult}</difficult><colour>red</colour><bndbox><xmin>{x1}</xmin>"
        f"<ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
        for name, difficult, x1, y1, x2, y2 in objects)
    return (f"<annotation><folder>images</folder><filename>{filename}</filename>{extra}"
            f"<size><width>{width}</width><height>{height}</height><depth>{depth}</depth>"
            f"</size><segmented>0</segmented>{objs}</annotation>")


def make_voc_dataset(root: Path) -> Path:
    """Write the "widgets" dataset (Annotations/, JPEGImages/) under ``root``."""
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    for k, (image_id, w, h, ext, gray, objects) in enumerate(VOC_IMAGES):
        boxes = [(x1 - 1, y1 - 1, x2, y2) for _, _, x1, y1, x2, y2 in objects]
        cv2.imwrite(str(root / "JPEGImages" / f"{image_id}{ext}"), _image(w, h, boxes, gray, k))
        (root / "Annotations" / f"{image_id}.xml").write_text(
            voc_xml(f"{image_id}{ext}", w, h, objects, depth=1 if gray else 3))
    return root


def make_coco_dataset(root: Path) -> Path:
    """Write the "cells" dataset (annotations/{train,val}.json, images/{train,val}/)."""
    (root / "annotations").mkdir(parents=True)
    for split, count in (("train", 8), ("val", 3)):
        folder = root / "images" / split
        folder.mkdir(parents=True)
        images, anns = [], []
        for k in range(count):
            w, h = (96, 72) if k % 2 else (64, 96)
            boxes = [(4, 4, 30, 30, 7)] + ([(34, 40, 60, 70, 3)] if k % 3 != 2 else [])
            name = f"{split}{k}.{'png' if k % 2 else 'jpg'}"
            cv2.imwrite(str(folder / name), _image(w, h, [b[:4] for b in boxes], k == 1, k))
            images.append({"id": 100 + k, "file_name": name, "width": w, "height": h})
            for x1, y1, x2, y2, cat in boxes:
                anns.append({"id": len(anns) + 1, "image_id": 100 + k, "category_id": cat,
                             "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                             "iscrowd": 0})
        if split == "train":  # a crowd region: kept as an ignored box
            anns[-1]["iscrowd"] = 1
        (root / "annotations" / f"{split}.json").write_text(json.dumps(
            {"images": images, "annotations": anns, "categories": COCO_CATEGORIES}))
    return root


def voc_custom(root: Path, **extra) -> dict:
    """``data.custom`` for :func:`make_voc_dataset`'s folder."""
    return {"name": "widgets", "format": "voc", "root": str(root), "annotations": "Annotations",
            "images": "JPEGImages", "train_split": None, "val_split": None, "val_every": 5,
            "classes": None, **extra}


def coco_custom(root: Path, **extra) -> dict:
    """``data.custom`` for :func:`make_coco_dataset`'s folder."""
    return {"name": "cells", "format": "coco", "root": str(root),
            "train_ann": "annotations/train.json", "val_ann": "annotations/val.json",
            "train_images": "images/train", "val_images": "images/val", "classes": None,
            **extra}


def shuffle_voc_labels(src: Path, dst: Path, shift: int = 1) -> Path:
    """A copy of a VOC dataset whose boxes belong to other images: the ``<object>`` lists
    move ``shift`` places along the sorted XML files (a derangement for 0 < shift < count),
    each box clipped to its new image. What the boxes mark is then not in the pixels: no
    detector can learn it (the learnability gate's "did not learn" case)."""
    import shutil
    import xml.etree.ElementTree as ET

    shutil.copytree(src, dst)
    xmls = sorted((dst / "Annotations").glob("*.xml"))
    trees = [ET.parse(x) for x in xmls]
    objects = [t.getroot().findall("object") for t in trees]
    for k, (xml, tree) in enumerate(zip(xmls, trees, strict=True)):
        root = tree.getroot()
        for obj in root.findall("object"):
            root.remove(obj)
        width, height = (int(root.findtext(f"size/{d}")) for d in ("width", "height"))
        for obj in objects[(k + shift) % len(xmls)]:
            box = obj.find("bndbox")
            for tag, limit in (("xmin", width), ("xmax", width), ("ymin", height),
                               ("ymax", height)):
                box.find(tag).text = str(min(int(float(box.findtext(tag))), limit))
            root.append(obj)
        tree.write(xml)
    return dst

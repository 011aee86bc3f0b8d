"""What a custom dataset holds and every problem in it, without training (``check-data``).

:func:`split_stats` counts one COCO json split (images, boxes, ignored and dropped boxes,
boxes per class, box sizes against COCO's small / medium / large area bands, image sizes);
:func:`prepare_custom` checks a custom dataset for the workflow (converting VOC XML) and stops
at the first problem; :func:`check_custom` runs the same checks but collects every problem
(VOC: per XML file; COCO: the first structural fault of each json, as
:func:`~decoupled_rcnn.datasets.coco.check_coco_json` reports it); :func:`format_check` prints
the result.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decoupled_rcnn.datasets.coco import box_is_degenerate, check_coco_json
from decoupled_rcnn.datasets.common import DatasetError, is_finite_number, load_json
from decoupled_rcnn.datasets.custom import (
    CustomSource,
    convert_custom_voc,
    custom_classes,
    custom_split_files,
    scan_voc_names,
)

__all__ = ["AREA_BANDS", "DataCheck", "SplitStats", "check_custom", "format_check",
           "prepare_custom", "split_stats"]

#: COCO's object size bands by box area in pixels (``COCOeval``'s areaRng).
AREA_BANDS: tuple[tuple[str, float, float], ...] = (
    ("small", 0.0, 32.0 ** 2), ("medium", 32.0 ** 2, 96.0 ** 2), ("large", 96.0 ** 2, 1e10))


@dataclass
class SplitStats:
    """Counts of one split.

    Attributes:
        split: ``train`` or ``val``.
        images: images listed.
        boxes: boxes kept (ignored ones included).
        ignored: of those, difficult / crowd boxes (ignored by training and scoring).
        dropped: boxes below 1 px or outside their image (skipped, as mmdet does).
        empty_images: images without a kept box.
        per_class: class name -> kept boxes.
        bands: COCO area band -> kept boxes.
        image_sizes: (min width, min height, max width, max height).
    """

    split: str
    images: int = 0
    boxes: int = 0
    ignored: int = 0
    dropped: int = 0
    empty_images: int = 0
    per_class: dict[str, int] = field(default_factory=dict)
    bands: dict[str, int] = field(default_factory=dict)
    image_sizes: tuple[int, int, int, int] = (0, 0, 0, 0)

    def as_dict(self) -> dict[str, Any]:
        return {"images": self.images, "boxes": self.boxes, "ignored": self.ignored,
                "dropped": self.dropped, "empty_images": self.empty_images,
                "per_class": dict(self.per_class), "bands": dict(self.bands),
                "image_sizes": list(self.image_sizes)}


def split_stats(ann_file: str | Path, classes: Sequence[str], split: str) -> SplitStats:
    """Count one COCO json split (malformed entries are skipped: the checks report them)."""
    doc = load_json(ann_file)
    images = [i for i in doc.get("images", []) if isinstance(i, dict)]
    sizes = {i.get("id"): (i.get("width") or 0, i.get("height") or 0) for i in images}
    names = {c.get("id"): str(c.get("name")) for c in doc.get("categories", [])
             if isinstance(c, dict)}
    stats = SplitStats(split, images=len(images), per_class=dict.fromkeys(classes, 0),
                       bands={b: 0 for b, _, _ in AREA_BANDS})
    with_boxes = set()
    for ann in doc.get("annotations", []):
        bbox = ann.get("bbox") if isinstance(ann, dict) else None
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(map(is_finite_number, bbox))):
            continue
        width, height = sizes.get(ann.get("image_id"), (0, 0))
        if box_is_degenerate(bbox, width, height):
            stats.dropped += 1
            continue
        stats.boxes += 1
        stats.ignored += bool(ann.get("iscrowd"))
        name = names.get(ann.get("category_id"), "?")
        stats.per_class[name] = stats.per_class.get(name, 0) + 1
        area = bbox[2] * bbox[3]
        stats.bands[next(b for b, lo, hi in AREA_BANDS if lo <= area < hi)] += 1
        with_boxes.add(ann.get("image_id"))
    stats.empty_images = sum(1 for i in images if i.get("id") not in with_boxes)
    if sizes:
        ws, hs = [w for w, _ in sizes.values()], [h for _, h in sizes.values()]
        stats.image_sizes = (min(ws), min(hs), max(ws), max(hs))
    return stats


@dataclass
class DataCheck:
    """The result of :func:`check_custom`: what was found and every problem."""

    name: str
    format: str
    classes: tuple[str, ...] = ()
    splits: list[SplitStats] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_custom(custom: Mapping[str, Any]) -> DataCheck:
    """Check ``data.custom`` of a workflow config; never raises for a data problem.

    Returns:
        Classes, per-split counts and every problem found (one line each, naming the file).
    """
    result = DataCheck(str(custom.get("name") or "custom"), str(custom.get("format", "coco")))
    try:
        source = CustomSource.from_config(custom)
        if source.format == "voc" and source.settings.get("classes") is None:
            # the per-file checks below report unreadable files: no problem counted twice
            result.classes = scan_voc_names(source.path("annotations"), problems=[])
        else:
            result.classes = custom_classes(source)
    except DatasetError as err:
        result.problems.append(str(err))
        return result
    with tempfile.TemporaryDirectory(prefix="check-data-") as tmp:
        try:
            if source.format == "voc":
                convert_custom_voc(source, result.classes, tmp, result.problems)
            for split, (ann, img_dir) in custom_split_files(source, tmp).items():
                try:
                    check_coco_json(ann, img_dir)
                except DatasetError as err:
                    result.problems.append(str(err))
                try:
                    result.splits.append(split_stats(ann, result.classes, split))
                except DatasetError:
                    pass  # unreadable: check_coco_json has said so
        except DatasetError as err:
            result.problems.append(str(err))
    return result


def format_check(check: DataCheck) -> str:
    """The text ``decoupled-rcnn check-data`` prints."""
    lines = [f"dataset {check.name} ({check.format}): {len(check.classes)} classes"
             + (f": {', '.join(check.classes)}" if check.classes else "")]
    for s in check.splits:
        w0, h0, w1, h1 = s.image_sizes
        lines.append(f"{s.split}: {s.images} images ({s.empty_images} without boxes, widths "
                     f"{w0}-{w1} px, heights {h0}-{h1} px), {s.boxes} boxes ({s.ignored} ignored: "
                     f"difficult/crowd), {s.dropped} dropped (below 1 px or outside the image)")
        lines.append("  per class: " + ", ".join(f"{c} {n}" for c, n in s.per_class.items()))
        total = max(s.boxes, 1)
        lines.append("  box area (COCO bands): " + ", ".join(
            f"{b} {n} ({100 * n / total:.0f} %)" for b, n in s.bands.items())
            + "  [small < 32^2 <= medium < 96^2 <= large px]")
    lines.append(f"problems: {len(check.problems)}" + ("" if check.problems else " (none)"))
    lines += [f"  {p}" for p in check.problems]
    return "\n".join(lines)


def prepare_custom(source: CustomSource, out_dir: str | os.PathLike) -> dict[str, Any]:
    """Check a custom dataset (and convert VOC XML to COCO json under ``out_dir``).

    Returns:
        A summary: name, format, classes, and per split the json and its counts
        (:class:`SplitStats`, boxes per class included).

    Raises:
        DatasetError: the first problem found (``decoupled-rcnn check-data`` lists them all).
    """
    classes = custom_classes(source)
    files = custom_split_files(source, out_dir)
    summary: dict[str, Any] = {"name": source.name, "format": source.format,
                               "classes": list(classes), "splits": {}}
    if source.format == "voc":
        convert_custom_voc(source, classes, out_dir)
    for split, (ann, img_dir) in files.items():
        check_coco_json(ann, img_dir)
        summary["splits"][split] = {"ann_file": str(ann),
                                    **split_stats(ann, classes, split).as_dict()}
    return summary

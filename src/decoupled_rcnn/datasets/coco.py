"""Checks of a COCO-format dataset before mmdet's ``CocoDataset`` reads it.

mmdet fails late and obscurely on a wrong root or a broken json (an ``AssertionError`` deep in
a dataloader worker). :func:`check_coco_root` and :func:`check_coco_json` fail early with a
one-line :class:`~decoupled_rcnn.datasets.common.DatasetError` naming the file and the fault.

Policy for bad boxes: a box of size below one pixel (``w < 1`` or ``h < 1``) or one that does
not overlap its image is **dropped with a logged count**, not rejected. These are exactly the
boxes mmdet's ``CocoDataset.parse_data_info`` skips, and official COCO train2017 contains a
few of them, so rejecting would make the real dataset unusable. A box that is not four finite
numbers, an unknown category id or an annotation of an unknown image is **rejected**.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decoupled_rcnn.datasets.common import DatasetError, is_finite_number, load_json
from decoupled_rcnn.datasets.images import check_image

__all__ = [
    "COCO_SPLITS",
    "CocoSplitSummary",
    "box_is_degenerate",
    "check_coco_doc",
    "check_coco_json",
    "check_coco_root",
    "require_dataset_root",
]

logger = logging.getLogger(__name__)

#: Split name -> (annotation file, image folder, annotations required), relative to the root.
COCO_SPLITS: dict[str, tuple[str, str, bool]] = {
    "train2017": ("annotations/instances_train2017.json", "train2017", True),
    "val2017": ("annotations/instances_val2017.json", "val2017", True),
    "test-dev2017": ("annotations/image_info_test-dev2017.json", "test2017", False),
}

COCO_LAYOUT = (
    "annotations/instances_train2017.json, annotations/instances_val2017.json, train2017/, "
    "val2017/ (and annotations/image_info_test-dev2017.json, test2017/ for test-dev)"
)


@dataclass(frozen=True)
class CocoSplitSummary:
    """What :func:`check_coco_json` (or :func:`check_coco_doc`) found in one annotation file.

    Attributes:
        ann_file: The annotation json (None: a document given in memory).
        img_dir: Folder the images' ``file_name`` are relative to (None: not given).
        num_images: Images listed.
        num_annotations: Annotations kept (valid boxes), crowd/ignore regions included.
        num_dropped: Annotations whose box is degenerate or outside the image.
        categories: Category names in category-id order.
    """

    ann_file: Path | None
    img_dir: Path | None
    num_images: int
    num_annotations: int
    num_dropped: int
    categories: tuple[str, ...]


def require_dataset_root(
    root: str | os.PathLike | None, *, config_key: str, layout: str, name: str
) -> Path:
    """Return ``root`` as a Path, or fail saying which config key to set and the layout.

    Args:
        root: The dataset root as configured (may be None or empty).
        config_key: The workflow config key that holds it, e.g. ``data.coco_root``.
        layout: Human-readable expected layout under the root.
        name: Dataset name for the message, e.g. ``COCO``.
    """
    if root is None or str(root).strip() == "":
        raise DatasetError(
            None, f"{name} dataset root is not set: set {config_key} in the workflow config to "
            f"a directory containing {layout}"
        )
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetError(
            path, f"{name} dataset root not found: set {config_key} in the workflow config to a "
            f"directory containing {layout}"
        )
    return path


def box_is_degenerate(bbox: Sequence[float], width: float, height: float) -> bool:
    """Whether mmdet's ``CocoDataset`` would skip this ``[x, y, w, h]`` box.

    True for ``w < 1`` or ``h < 1`` and for a box with no overlap with the image.
    """
    x, y, w, h = bbox
    inter_w = min(x + w, width) - max(x, 0)
    inter_h = min(y + h, height) - max(y, 0)
    return w < 1 or h < 1 or inter_w <= 0 or inter_h <= 0



class _ImageFinder:
    """Checks image existence with one ``listdir`` per folder instead of one stat per file."""

    def __init__(self, img_dir: Path) -> None:
        self.img_dir = img_dir
        self._listings: dict[Path, frozenset[str]] = {}

    def exists(self, file_name: str) -> bool:
        path = self.img_dir / file_name
        folder = path.parent
        if folder not in self._listings:
            try:
                self._listings[folder] = frozenset(os.listdir(folder))
            except OSError:
                self._listings[folder] = frozenset()
        return path.name in self._listings[folder]


def _require_list(doc: dict, key: str, ann_file: Path) -> list:
    value = doc.get(key)
    if not isinstance(value, list):
        raise DatasetError(ann_file, f"malformed COCO json: '{key}' is missing or not a list")
    return value


def _check_images(images: list, ann_file: Path | None, img_dir: Path | None) -> dict:
    check_files = img_dir is not None
    finder = _ImageFinder(img_dir) if check_files else None
    by_id: dict[Any, dict] = {}
    for index, img in enumerate(images):
        if not isinstance(img, dict) or "id" not in img or "file_name" not in img:
            raise DatasetError(ann_file, f"images[{index}] lacks 'id' or 'file_name'")
        if not (is_finite_number(img.get("width")) and is_finite_number(img.get("height"))) or min(
            img["width"], img["height"]
        ) <= 0:
            raise DatasetError(ann_file, f"image id {img['id']} has no positive width/height")
        if img["id"] in by_id:
            raise DatasetError(ann_file, f"duplicate image id {img['id']}")
        if finder is not None and not finder.exists(img["file_name"]):
            raise DatasetError(
                ann_file, f"image id {img['id']} points at missing image file "
                f"{img_dir / img['file_name']}"
            )
        if check_files:  # header and tail only (datasets.images): no pixel is decoded
            check_image(img_dir / img["file_name"], width=img["width"], height=img["height"],
                        ann_file=ann_file)
        by_id[img["id"]] = img
    return by_id


def check_coco_json(
    ann_file: str | os.PathLike,
    img_dir: str | os.PathLike,
    *,
    require_annotations: bool = True,
    check_files: bool = True,
) -> CocoSplitSummary:
    """Validate a COCO detection json against its image folder.

    Args:
        ann_file: The annotation json.
        img_dir: Folder that the images' ``file_name`` entries are relative to.
        require_annotations: False for image-info files without labels (test-dev).
        check_files: Check that every listed image file exists, is a complete image (header
            and end marker; :func:`~decoupled_rcnn.datasets.images.check_image`) and has the
            json's width and height.

    Returns:
        Counts of what was found; degenerate or out-of-image boxes are counted in
        ``num_dropped`` and logged (mmdet's ``CocoDataset`` skips them).

    Raises:
        DatasetError: Unreadable/malformed/empty json, missing, corrupt, truncated or
            wrongly sized image, missing image folder, duplicate
            ids, an annotation of an unknown image or with an unknown category id, a box that
            is not four finite numbers, or an empty split (no images, or no valid box where
            annotations are required).
    """
    ann_file = Path(ann_file)
    return check_coco_doc(load_json(ann_file), ann_file, Path(img_dir),
                          require_annotations=require_annotations, check_files=check_files)


def check_coco_doc(
    doc: Any,
    ann_file: Path | None,
    img_dir: Path | None = None,
    *,
    require_annotations: bool = True,
    check_files: bool = True,
) -> CocoSplitSummary:
    """Validate a loaded COCO detection document (the checks of :func:`check_coco_json`).

    Args:
        doc: The decoded json.
        ann_file: Where it was read from, for the messages (None: given in memory).
        img_dir: The image folder (None: neither it nor any image file is checked).
        require_annotations: False for image-info files without labels (test-dev) and for
            ground truth that may have no box (evaluation).
        check_files: as :func:`check_coco_json` (with ``img_dir`` only).

    Returns:
        As :func:`check_coco_json`.

    Raises:
        DatasetError: as :func:`check_coco_json`, the message starting with ``ann_file``.
    """
    if not isinstance(doc, dict):
        raise DatasetError(ann_file, "malformed COCO json: top level is not an object")
    if img_dir is not None and not img_dir.is_dir():
        raise DatasetError(img_dir, f"image folder for {ann_file.name} not found")
    categories = _require_list(doc, "categories", ann_file)
    cat_names: dict[Any, str] = {}
    for cat in categories:
        if not isinstance(cat, dict) or "id" not in cat or "name" not in cat:
            raise DatasetError(ann_file, "a category lacks 'id' or 'name'")
        cat_names[cat["id"]] = cat["name"]
    if not cat_names:
        raise DatasetError(ann_file, "no categories")

    images = _check_images(_require_list(doc, "images", ann_file), ann_file,
                           img_dir if check_files else None)
    if not images:
        raise DatasetError(ann_file, "empty split: no images")

    annotations = doc.get("annotations", []) if not require_annotations else _require_list(
        doc, "annotations", ann_file
    )
    kept, dropped, seen_ids = 0, 0, set()
    for index, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            raise DatasetError(ann_file, f"annotations[{index}] is not an object")
        ann_id = ann.get("id", f"#{index}")
        if ann_id in seen_ids:
            raise DatasetError(ann_file, f"duplicate annotation id {ann_id}")
        seen_ids.add(ann_id)
        img = images.get(ann.get("image_id"))
        if img is None:
            raise DatasetError(
                ann_file, f"annotation {ann_id} points at image id {ann.get('image_id')!r}, "
                "which is not in 'images'"
            )
        if ann.get("category_id") not in cat_names:
            raise DatasetError(
                ann_file, f"annotation {ann_id} has unknown category id {ann.get('category_id')!r}"
            )
        bbox = ann.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(map(is_finite_number, bbox))):
            raise DatasetError(ann_file, f"annotation {ann_id} bbox is not [x, y, w, h] numbers")
        if box_is_degenerate(bbox, img["width"], img["height"]):
            dropped += 1
        else:
            kept += 1
    if dropped:
        logger.warning(
            "%s: dropped %d of %d boxes with size below 1 px or outside their image",
            ann_file, dropped, dropped + kept,
        )
    if require_annotations and kept == 0:
        raise DatasetError(ann_file, "empty split: no valid annotations")
    return CocoSplitSummary(
        ann_file=ann_file,
        img_dir=img_dir,
        num_images=len(images),
        num_annotations=kept,
        num_dropped=dropped,
        categories=tuple(cat_names[k] for k in sorted(cat_names)),
    )


def check_coco_root(
    root: str | os.PathLike | None,
    splits: Iterable[str] = ("train2017", "val2017"),
    *,
    config_key: str = "data.coco_root",
    check_files: bool = True,
) -> dict[str, CocoSplitSummary]:
    """Validate a COCO 2017 root laid out as mmdet expects.

    Args:
        root: The root (``annotations/``, ``train2017/``, ``val2017/``, ``test2017/``).
        splits: Keys of :data:`COCO_SPLITS` to check.
        config_key: The workflow config key named in the error for a missing root.
        check_files: Check that every listed image file exists.

    Returns:
        Split name -> summary.
    """
    path = require_dataset_root(root, config_key=config_key, layout=COCO_LAYOUT, name="COCO")
    summaries = {}
    for split in splits:
        if split not in COCO_SPLITS:
            raise DatasetError(None, f"unknown COCO split {split!r}; known: {sorted(COCO_SPLITS)}")
        ann_rel, img_rel, needs_anns = COCO_SPLITS[split]
        ann_file = path / ann_rel
        if not ann_file.is_file():
            raise DatasetError(
                ann_file, f"{split} annotation file not found under {config_key}; expected "
                f"{COCO_LAYOUT}"
            )
        summaries[split] = check_coco_json(
            ann_file, path / img_rel, require_annotations=needs_anns, check_files=check_files
        )
    return summaries


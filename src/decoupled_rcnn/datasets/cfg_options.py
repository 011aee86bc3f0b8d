"""Config overrides that point a dataset fragment of ``configs/_base_/datasets`` elsewhere.

mmengine resolves a config's variables when the file is parsed, so setting ``data_root``
with ``--cfg-options`` changes nothing; each dataloader's ``data_root``/``ann_file`` and each
evaluator's ``ann_file`` must be overridden. :func:`dataset_cfg_options` returns that set of
keys, for ``Config.merge_from_dict`` or ``--cfg-options key=value ...``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATASET_FRAGMENTS", "dataset_cfg_options"]

#: Fragment name -> default (train, val, test) annotation files relative to the data root.
DATASET_FRAGMENTS: dict[str, tuple[str, str, str]] = {
    "synthetic": ("annotations/train.json", "annotations/val.json", "annotations/val.json"),
    "coco_detection": (
        "annotations/instances_train2017.json",
        "annotations/instances_val2017.json",
        "annotations/instances_val2017.json",
    ),
    "coco_test_dev": (
        "annotations/instances_train2017.json",
        "annotations/instances_val2017.json",
        "annotations/image_info_test-dev2017.json",
    ),
    "voc0712": ("voc0712_trainval.json", "voc07_test.json", "voc07_test.json"),
    # Your own dataset: the workflow passes its json files (decoupled_rcnn.datasets.custom).
    "custom": ("annotations/train.json", "annotations/val.json", "annotations/val.json"),
}


def dataset_cfg_options(
    fragment: str,
    data_root: str | os.PathLike,
    *,
    train_ann_file: str | os.PathLike | None = None,
    val_ann_file: str | os.PathLike | None = None,
    test_ann_file: str | os.PathLike | None = None,
) -> dict[str, str]:
    """Dotted config keys that move ``fragment`` to ``data_root``.

    Args:
        fragment: A key of :data:`DATASET_FRAGMENTS` (the file name without ``.py``).
        data_root: The dataset root (for VOC, the VOCdevkit folder the image names are
            relative to).
        train_ann_file: Training json, absolute or relative to ``data_root``; default: the
            fragment's. Likewise ``val_ann_file`` and ``test_ann_file`` (test defaults to val,
            except for test-dev).

    Returns:
        ``{"train_dataloader.dataset.data_root": ..., ..., "test_evaluator.ann_file": ...}``.
    """
    if fragment not in DATASET_FRAGMENTS:
        known = sorted(DATASET_FRAGMENTS)
        raise ValueError(f"unknown dataset fragment {fragment!r}; known: {known}")
    root = Path(data_root)
    train_default, val_default, test_default = DATASET_FRAGMENTS[fragment]
    val_ann = val_ann_file or val_default
    test_ann = test_ann_file or (test_default if fragment == "coco_test_dev" else val_ann)
    anns = {"train": train_ann_file or train_default, "val": val_ann, "test": test_ann}
    options = {}
    for split, ann in anns.items():
        options[f"{split}_dataloader.dataset.data_root"] = str(root)
        options[f"{split}_dataloader.dataset.ann_file"] = str(ann)
    options["val_evaluator.ann_file"] = str(root / anns["val"])
    options["test_evaluator.ann_file"] = str(root / anns["test"])
    return options

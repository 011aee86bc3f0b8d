"""Shared fixtures: a small generated COCO-format dataset, made once per test session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

TINY_CLASSES = ("square", "disc")


@dataclass(frozen=True)
class TinyCoco:
    """A generated COCO dataset on disk.

    Attributes:
        root: dataset root folder.
        ann_file: annotation file relative to ``root``.
        img_prefix: image folder relative to ``root`` (with trailing slash).
        classes: category names in id order (ids start at 1).
    """

    root: Path
    ann_file: str
    img_prefix: str
    classes: tuple[str, ...]

    @property
    def annotations(self) -> dict:
        return json.loads((self.root / self.ann_file).read_text())


def make_tiny_coco(root: Path, num_images: int = 6, size: int = 128, seed: int = 0) -> TinyCoco:
    """Draw squares and discs on noise and write a COCO json with their tight boxes."""
    import cv2

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        img = rng.integers(0, 60, size=(size, size, 3), dtype=np.uint8)
        for _ in range(rng.integers(1, 4)):
            label = int(rng.integers(1, len(TINY_CLASSES) + 1))
            half = int(rng.integers(10, 28))
            cx, cy = (int(v) for v in rng.integers(half, size - half, size=2))
            color = tuple(int(c) for c in rng.integers(120, 255, size=3))
            if label == 1:
                cv2.rectangle(img, (cx - half, cy - half), (cx + half, cy + half), color, -1)
            else:
                cv2.circle(img, (cx, cy), half, color, -1)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": label,
                    "bbox": [cx - half, cy - half, 2 * half + 1, 2 * half + 1],
                    "area": float((2 * half + 1) ** 2),
                    "iscrowd": 0,
                }
            )
        name = f"{image_id:04d}.png"
        cv2.imwrite(str(root / "images" / name), img)
        images.append({"id": image_id, "file_name": name, "width": size, "height": size})
    categories = [{"id": i + 1, "name": n} for i, n in enumerate(TINY_CLASSES)]
    ann_file = "annotations/train.json"
    coco = {"images": images, "annotations": annotations, "categories": categories}
    (root / ann_file).write_text(json.dumps(coco))
    return TinyCoco(root=root, ann_file=ann_file, img_prefix="images/", classes=TINY_CLASSES)


from results_testlib import fixture_results  # noqa: E402  (tests/ is on sys.path)


@pytest.fixture(scope="module")
def manifest():
    """The paper manifest (configs/paper/manifest.yaml)."""
    from decoupled_rcnn.reproduction.manifest import load_manifest

    return load_manifest()


@pytest.fixture(scope="module")
def cells(manifest):
    """Table cells built from the fixture metrics files (seeds 0 and 1)."""
    from decoupled_rcnn.reproduction.results.tables import build_cells, build_runs

    return build_cells(manifest, build_runs(manifest, fixture_results(), [0, 1]))


@pytest.fixture(scope="session")
def tiny_coco(tmp_path_factory: pytest.TempPathFactory) -> TinyCoco:
    """Six 128-px images with 1-3 objects each, two classes; shared by the session."""
    return make_tiny_coco(tmp_path_factory.mktemp("tiny_coco"))

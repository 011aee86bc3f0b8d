"""A generated detection benchmark that makes localization quality measurable on 2 CPU cores.

No real dataset can be downloaded for the embedded default, so this module draws textured
shapes on cluttered, noisy backgrounds and writes a COCO-format dataset (PNG images + json).
Its ground-truth boxes are the exact extent of each object's visible pixels, so a detector is
rewarded at AP80/AP90 only for pixel-tight boxes, the regime the paper's method targets.

Design:
    * Classes are shapes (:data:`SYNTHETIC_CLASSES`); texture and colour vary independently
      of the class, so they are nuisances, not cues.
    * Object sizes are drawn per COCO area band (small < 32², medium < 96², large) so that
      APs/APm/APl are all defined; aspect ratios span 1:2.5 to 2.5:1; objects may overlap
      (a later object may hide up to 30 % of an earlier one's visible pixels).
    * Backgrounds are low-frequency, partly desaturated colour noise with thin open strokes
      and arcs as distractors (drawn before the objects, so they never change a box), then
      pixel noise. :data:`STYLE` holds these difficulty knobs (version 2 defaults: 2-6
      objects of at least 12 px, a few 1-px strokes, an easier task than version 1's, so
      that a tiny detector learns it within the embedded default's short schedule).
    * Every image has its own generator seeded by ``(seed, split, index)``: the data are a
      pure function of the seed and identical json bytes come out for the same arguments.
    * ``area`` in the json is the box area ``w * h`` (no segmentation is stored), so
      COCOeval's small/medium/large bands are by box area.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from decoupled_rcnn.datasets.common import atomic_directory
from decoupled_rcnn.provenance import write_json_atomic

__all__ = [
    "GENERATOR_VERSION",
    "SYNTHETIC_CLASSES",
    "SyntheticSummary",
    "generate_synthetic",
    "render_image",
]

GENERATOR_VERSION = 2
SYNTHETIC_CLASSES: tuple[str, ...] = ("ellipse", "rectangle", "triangle", "ring", "cross")
SPLITS: tuple[str, ...] = ("train", "val")

#: COCO area bands as ranges of sqrt(box area) in pixels, and how often each is drawn.
_BANDS: tuple[tuple[str, float, float], ...] = (("small", 8.0, 32.0), ("medium", 32.0, 96.0),
                                                ("large", 96.0, math.inf))
#: Difficulty knobs (``style=`` of :func:`generate_synthetic` overrides any of them).
STYLE: dict[str, Any] = dict(
    band_probs=(0.3, 0.5, 0.2),  # how often each COCO area band is drawn
    min_side=12.0,  # smallest sqrt(box area) drawn, pixels
    min_objects=2,  # fewest objects per image (``max_objects`` is an argument)
    background_range=(50, 205),  # grey levels of the low-frequency background
    background_saturation=0.35,  # 0: grey background, 1: independent colour channels
    grain=8.0,  # std of the background's fine grain
    distractors=(1, 4),  # fewest / most distractor strokes
    distractor_thickness=1,  # thickest stroke, pixels
    noise=(2.0, 6.0),  # range of the std of the final pixel noise
)


def _style(style: Mapping[str, Any] | None) -> dict[str, Any]:
    unknown = set(style or {}) - set(STYLE)
    if unknown:
        raise ValueError(f"unknown synthetic style keys {sorted(unknown)}; known: {sorted(STYLE)}")
    return {**STYLE, **(style or {})}
_MAX_HIDDEN = 0.3  # largest fraction of an earlier object's visible pixels a new one may cover
_SHIFT = 4  # sub-pixel bits for cv2.fillPoly


@dataclass(frozen=True)
class SyntheticSummary:
    """What :func:`generate_synthetic` wrote.

    Attributes:
        root: Dataset root (``annotations/{train,val}.json``, ``images/{train,val}/*.png``).
        classes: Category names in id order (ids start at 1).
        counts: Split -> {"images", "annotations", "small", "medium", "large"}.
        seconds: Wall time of the generation.
    """

    root: Path
    classes: tuple[str, ...]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    def ann_file(self, split: str) -> Path:
        """Annotation json of ``split`` (absolute)."""
        return self.root / "annotations" / f"{split}.json"


def _unit_shape(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """Outline (and hole) of a shape in unit coordinates, rotated, before fitting to a box."""
    angle = rng.uniform(-math.pi, math.pi)
    hole = None
    if kind in ("ellipse", "ring"):
        t = np.linspace(0, 2 * math.pi, 72, endpoint=False)
        minor = rng.uniform(0.45, 1.0)
        outline = np.stack([np.cos(t), minor * np.sin(t)], axis=1)
        if kind == "ring":
            hole = outline * rng.uniform(0.45, 0.7)
    elif kind == "rectangle":
        b = rng.uniform(0.4, 1.0)
        outline = np.array([[-1, -b], [1, -b], [1, b], [-1, b]], dtype=float)
        angle = rng.uniform(-0.35, 0.35)
    elif kind == "triangle":
        outline = np.array([[-1, 1], [1, 1], [rng.uniform(-1, 1), -1]], dtype=float)
        angle = rng.integers(0, 4) * math.pi / 2 + rng.uniform(-0.3, 0.3)
    elif kind == "cross":
        a = rng.uniform(0.22, 0.42)
        outline = np.array([[-a, -1], [a, -1], [a, -a], [1, -a], [1, a], [a, a], [a, 1],
                            [-a, 1], [-a, a], [-1, a], [-1, -a], [-a, -a]], dtype=float)
        angle = rng.uniform(-0.35, 0.35)
    else:
        raise ValueError(f"unknown shape {kind!r}")
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    outline = outline @ rot.T
    if hole is not None:
        hole = hole @ rot.T
    return outline, hole


def _shape_mask(kind: str, box: tuple[float, float, float, float], size: int,
                rng: np.random.Generator) -> np.ndarray:
    """Boolean (size, size) mask of a shape stretched to fill ``box`` = (x, y, w, h)."""
    import cv2

    outline, hole = _unit_shape(kind, rng)
    lo, hi = outline.min(axis=0), outline.max(axis=0)
    x, y, w, h = box
    scale = np.array([w, h]) / (hi - lo)

    def to_pixels(points: np.ndarray) -> np.ndarray:
        pix = (points - lo) * scale + np.array([x, y])
        return np.round(pix * (1 << _SHIFT)).astype(np.int32)[None]

    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, to_pixels(outline), 1, lineType=cv2.LINE_8, shift=_SHIFT)
    if hole is not None:
        cv2.fillPoly(mask, to_pixels(hole), 0, lineType=cv2.LINE_8, shift=_SHIFT)
    return mask.astype(bool)


def _texture(size: int, rng: np.random.Generator) -> np.ndarray:
    """A (size, size, 3) float texture: solid, stripes, checker or gradient in two colours."""
    c1 = rng.uniform(0, 255, 3)
    c2 = np.clip(c1 + rng.uniform(-110, 110, 3), 0, 255)
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    kind = rng.integers(0, 4)
    if kind == 0:
        weight = np.zeros((size, size))
    elif kind == 1:
        theta, period = rng.uniform(0, math.pi), rng.uniform(4, 10)
        weight = (np.sin(2 * math.pi * (xx * math.cos(theta) + yy * math.sin(theta)) / period)
                  > 0).astype(float)
    elif kind == 2:
        cell = int(rng.integers(3, 9))
        weight = ((xx // cell + yy // cell) % 2).astype(float)
    else:
        theta = rng.uniform(0, 2 * math.pi)
        ramp = xx * math.cos(theta) + yy * math.sin(theta)
        weight = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-6)
    return c1 * (1 - weight[..., None]) + c2 * weight[..., None]


def _background(size: int, rng: np.random.Generator, style: dict) -> np.ndarray:
    """Low-frequency colour noise with thin distractor lines and open arcs."""
    import cv2

    lo, hi = style["background_range"]
    cells = (int(rng.integers(3, 7)),) * 2
    grey = rng.uniform(lo, hi, cells + (1,))
    colour = rng.uniform(lo, hi, cells + (3,))
    grid = (grey + style["background_saturation"] * (colour - grey)).astype(np.float32)
    img = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, style["grain"], (size, size, 3)).astype(np.float32)  # fine grain
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(style["distractors"][0], style["distractors"][1] + 1))):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        thickness = int(rng.integers(1, style["distractor_thickness"] + 1))
        if rng.random() < 0.5:
            p1, p2 = (tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(2))
            cv2.line(img, p1, p2, color, thickness, lineType=cv2.LINE_AA)
        else:
            center = tuple(int(v) for v in rng.integers(0, size, 2))
            axes = tuple(int(v) for v in rng.integers(4, size // 3, 2))
            start = float(rng.uniform(0, 360))
            cv2.ellipse(img, center, axes, float(rng.uniform(0, 180)), start,
                        start + float(rng.uniform(40, 200)), color, thickness, cv2.LINE_AA)
    return img


def _sample_box(band: int, size: int, rng: np.random.Generator,
                min_side: float = 8.0) -> tuple[int, int, int, int]:
    """A box (x, y, w, h) inside the image whose sqrt(area) lies in COCO area band ``band``."""
    _, lo, hi = _BANDS[band]
    lo = max(lo, min_side)
    hi = min(hi, 0.85 * size)
    side = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    aspect = math.exp(rng.uniform(math.log(1 / 2.5), math.log(2.5)))
    w = int(np.clip(round(side * math.sqrt(aspect)), 6, size - 4))
    h = int(np.clip(round(side / math.sqrt(aspect)), 6, size - 4))
    x = int(rng.integers(1, size - w))
    y = int(rng.integers(1, size - h))
    return x, y, w, h


def render_image(
    rng: np.random.Generator, size: int = 160, max_objects: int = 6, *, with_masks: bool = False,
    style: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, list[dict]]:
    """Draw one image and its objects.

    Args:
        rng: The image's own generator.
        size: Image side in pixels.
        max_objects: At most this many objects (``style["min_objects"]`` are drawn at
            least, one at least is always placed).
        with_masks: Also return each object's visible-pixel mask under ``"mask"``.
        style: Overrides of :data:`STYLE` (difficulty knobs).

    Returns:
        The (size, size, 3) uint8 BGR image and a list of ``{"category_id", "bbox"}`` with
        tight ``[x, y, w, h]`` integer boxes of the visible pixels, ids starting at 1.
    """
    style = _style(style)
    img = _background(size, rng, style).astype(np.float32)
    probs = np.array(style["band_probs"], dtype=float)
    if 0.85 * size <= _BANDS[2][1]:
        probs[2] = 0.0  # no room for a large object
    visible: list[np.ndarray] = []
    labels: list[int] = []
    for _ in range(int(rng.integers(min(style["min_objects"], max_objects), max_objects + 1))):
        band = int(rng.choice(len(_BANDS), p=probs / probs.sum()))
        if band == 2:
            probs[2] = 0.0  # one large object per image is plenty at this size
        label = int(rng.integers(0, len(SYNTHETIC_CLASSES)))
        for _attempt in range(10):
            box = _sample_box(band, size, rng, style["min_side"])
            mask = _shape_mask(SYNTHETIC_CLASSES[label], box, size, rng)
            area = mask.sum()
            if area >= 16 and all((v & mask).sum() <= _MAX_HIDDEN * v.sum() for v in visible):
                break
        else:
            continue
        for v in visible:
            v &= ~mask
        visible.append(mask)
        labels.append(label)
        img[mask] = _texture(size, rng)[mask]
    img += rng.normal(0, rng.uniform(*style["noise"]), img.shape).astype(np.float32)
    objects = []
    for label, mask in zip(labels, visible, strict=True):
        ys, xs = np.nonzero(mask)
        x0, y0 = int(xs.min()), int(ys.min())
        bbox = [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1]
        objects.append({"category_id": label + 1, "bbox": bbox})
        if with_masks:
            objects[-1]["mask"] = mask
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), objects


def _band_name(area: float) -> str:
    return "small" if area < 32**2 else "medium" if area < 96**2 else "large"


def generate_synthetic(
    out_dir: str | os.PathLike,
    seed: int = 0,
    num_train: int = 200,
    num_val: int = 50,
    size: int = 160,
    *,
    max_objects: int = 6,
    style: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> SyntheticSummary:
    """Write the generated benchmark under ``out_dir`` (atomically: all of it or nothing).

    Layout: ``annotations/{train,val}.json`` (COCO), ``images/{train,val}/NNNNNN.png``; image
    ``file_name`` is relative to ``images/``.

    Args:
        out_dir: Dataset root to create.
        seed: Seed of everything drawn.
        num_train: Training images.
        num_val: Validation images.
        size: Image side in pixels (at least 64).
        max_objects: Most objects per image.
        style: Overrides of the difficulty knobs :data:`STYLE`.
        overwrite: Replace an existing non-empty ``out_dir``.

    Returns:
        Counts per split and the time taken.
    """
    import cv2

    if num_train < 1 or num_val < 1:
        raise ValueError(f"need at least one image per split, got {num_train=} {num_val=}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if size < 64:
        raise ValueError(f"image size must be at least 64 px, got {size}")
    full_style = _style(style)
    start = time.perf_counter()
    counts: dict[str, dict[str, int]] = {}
    categories = [{"id": i + 1, "name": n, "supercategory": "shape"}
                  for i, n in enumerate(SYNTHETIC_CLASSES)]
    with atomic_directory(out_dir, overwrite=overwrite) as tmp:
        for split_code, (split, num) in enumerate(zip(SPLITS, (num_train, num_val), strict=True)):
            (tmp / "images" / split).mkdir(parents=True)
            images, annotations = [], []
            count = {"images": num, "annotations": 0, "small": 0, "medium": 0, "large": 0}
            for index in range(num):
                rng = np.random.default_rng([seed, split_code, index])
                img, objects = render_image(rng, size, max_objects, style=full_style)
                file_name = f"{split}/{index:06d}.png"
                if not cv2.imwrite(str(tmp / "images" / file_name), img,
                                   [cv2.IMWRITE_PNG_COMPRESSION, 1]):
                    raise OSError(f"could not write {tmp / 'images' / file_name}")
                images.append({"id": index + 1, "file_name": file_name, "width": size,
                               "height": size})
                for obj in objects:
                    area = obj["bbox"][2] * obj["bbox"][3]
                    count[_band_name(area)] += 1
                    annotations.append({"id": len(annotations) + 1, "image_id": index + 1,
                                        "area": area, "iscrowd": 0, **obj})
            count["annotations"] = len(annotations)
            counts[split] = count
            write_json_atomic({
                "info": {"description": "decoupled-rcnn generated shapes benchmark",
                         "version": GENERATOR_VERSION, "seed": seed, "size": size,
                         "split": split, "max_objects": max_objects,
                         "style": {k: list(v) if isinstance(v, tuple) else v
                                   for k, v in full_style.items()}},
                "images": images,
                "annotations": annotations,
                "categories": categories,
            }, tmp / "annotations" / f"{split}.json")
    return SyntheticSummary(root=Path(out_dir), classes=SYNTHETIC_CLASSES, counts=counts,
                            seconds=time.perf_counter() - start)

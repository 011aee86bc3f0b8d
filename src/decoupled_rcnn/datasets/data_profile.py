"""Scale and schedule from your own data: input size, iterations, crops and a CPU-time estimate.

The tiny setting was made for the generated 160 px stand-in; a real dataset's images and
objects have their own sizes. :func:`profile_custom` measures the training split (images,
their longest sides, the boxes' sides); :func:`choose_input_size` picks the longest side the
images are resized to, stating why:

* keep the native resolution (the median image's longest side), but downscale as far as
  the median box stays at least :data:`MIN_BOX` px (cheaper, nothing lost);
* never below :data:`SIZE_FLOOR` px (the stand-in's size) unless the images are smaller,
  never upscale, and never above :data:`SIZE_CAP` px (CPU cost grows with the square).

:func:`schedule_iters` turns epochs over the training split into iterations, between a floor
and a cap; :func:`crop_size_for` sizes the backbone pre-training crops like the median object
at the chosen input size (a crop holds the object with 10-50 % context); :func:`cpu_estimate`
multiplies a measured CPU-s per iteration (:data:`CPU_S_PER_ITER_160`, scaled by the pixel
count) by iterations, seeds and experiments. Every choice is overridable in ``data.custom``
(``input_size``, ``epochs``, ``min_iters``, ``max_iters``, ``crop_size``); :func:`custom_sizing`
resolves them for a workflow config.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decoupled_rcnn.datasets.common import DatasetError

__all__ = ["CPU_S_PER_ITER_160", "FIXED_SHARE", "MIN_BOX", "SIZE_CAP", "SIZE_FLOOR", "CustomSizing",
           "DataProfile", "Scale", "choose_input_size", "cpu_estimate", "crop_size_for",
           "custom_sizing", "dets_per_image", "format_sizing", "profile_boxes", "profile_custom",
           "schedule_iters"]

#: The median box side (px, at the input size) the chosen scale keeps at least.
MIN_BOX = 24.0
#: Smallest input size chosen (the stand-in's 160 px) unless the images are smaller.
SIZE_FLOOR = 160
#: Largest input size chosen: a tiny training iteration's CPU cost grows with the pixels.
SIZE_CAP = 640
#: CPU-s of one tiny training iteration (batch 4, one thread, Faster R-CNN R50) at 160 px,
#: measured on the stand-in (README: 200 iterations in 36-45 s at 1 thread, one core).
CPU_S_PER_ITER_160 = 0.18
#: The share of that cost that does not grow with the pixels (RPN sampling, RoI heads, data
#: loading): 0.7 fits the 0.26 CPU-s per iteration measured at 253 px on the DeepForest
#: tiles (R50 FPN, batch 4, one thread, 730 iterations, shared 2-core machine).
FIXED_SHARE = 0.7
#: Fewest detections kept per image (the tiny setting's default).
MIN_DETS = 20
#: Pre-training crop sides stay within these bounds (px).
CROP_BOUNDS = (32, 96)


@dataclass(frozen=True)
class DataProfile:
    """What sizing needs to know of a training split.

    Attributes:
        images: training images.
        median_long: the median of the images' longest sides (px).
        boxes: non-crowd boxes.
        median_box: the median of the boxes' sides, sqrt(w * h), at native resolution (px;
            0 without boxes).
        max_per_image: boxes of the busiest image.
    """

    images: int
    median_long: float
    boxes: int
    median_box: float
    max_per_image: int = 0


@dataclass(frozen=True)
class Scale:
    """The chosen input size: longest side in px, the median box there, and why."""

    size: int
    median_box: float
    reason: str


def profile_boxes(image_sizes: Sequence[tuple[float, float]],
                  boxes: Sequence[tuple[float, float]],
                  per_image: Sequence[int] = ()) -> DataProfile:
    """A profile from (width, height) of each image and of each box, and boxes per image."""
    longs = [max(w, h) for w, h in image_sizes]
    sides = [math.sqrt(w * h) for w, h in boxes if w > 0 and h > 0]
    return DataProfile(len(longs), float(statistics.median(longs)) if longs else 0.0,
                       len(sides), float(statistics.median(sides)) if sides else 0.0,
                       max(per_image, default=0))


def dets_per_image(profile: DataProfile, floor: int = MIN_DETS, cap: int = 100) -> int:
    """Detections kept per image: 1.5x the busiest training image's boxes, rounded up to
    a multiple of 10, within ``floor`` (the tiny setting's 20) and ``cap`` (COCO's 100)."""
    return min(cap, max(floor, 10 * math.ceil(1.5 * profile.max_per_image / 10)))


def choose_input_size(profile: DataProfile, *, min_box: float = MIN_BOX,
                      floor: int = SIZE_FLOOR, cap: int = SIZE_CAP) -> Scale:
    """The longest side images are resized to (see the module doc for the rule).

    Raises:
        DatasetError: a split without images.
    """
    native = profile.median_long
    if profile.images == 0 or native <= 0:
        raise DatasetError(None, "no training images to choose an input size from")
    if profile.median_box <= 0:
        size = min(native, cap)
        return Scale(round(size), 0.0, f"{round(size)} px: no boxes to size by (native "
                                       f"{native:.0f} px, cap {cap})")
    needed = native * min_box / profile.median_box
    size = min(native, max(needed, floor), cap)
    box = profile.median_box * size / native
    at = f"median box {profile.median_box:.0f} px at native {native:.0f} px"
    if size >= native:
        why = (f"native resolution kept ({at}"
               + (f"; under {min_box:.0f} px even so: small objects" if box < min_box else "")
               + ")")
    elif size == cap and needed > cap:
        why = (f"capped at {cap} px for CPU cost ({at}; it is {box:.0f} px here, under "
               f"{min_box:.0f}: consider tiling the images)")
    elif size == floor and needed < floor:
        why = f"downscaled to the {floor} px floor ({at}, {box:.0f} px here)"
    else:
        why = f"downscaled as far as the median box stays {min_box:.0f} px ({at})"
    return Scale(round(size), round(box, 1), f"{round(size)} px: {why}")


def schedule_iters(epochs: float, train_images: int, batch_size: int, *, floor: int,
                   cap: int) -> int:
    """Iterations for ``epochs`` passes over ``train_images`` at ``batch_size``, clamped.

    ``ceil(epochs * train_images / batch_size)``, at least ``floor``, at most ``cap``.
    """
    if batch_size < 1 or floor > cap:
        raise ValueError(f"batch_size {batch_size} < 1 or floor {floor} > cap {cap}")
    return min(cap, max(floor, math.ceil(epochs * train_images / batch_size)))


def crop_size_for(median_box_at_size: float, bounds: tuple[int, int] = CROP_BOUNDS) -> int:
    """Pre-training crop side: the median object at the input size with ~30 % context,
    rounded to a multiple of 8 and kept within ``bounds``."""
    side = 8 * round(1.3 * median_box_at_size / 8)
    return int(min(bounds[1], max(bounds[0], side)))


def cpu_estimate(size: int, iters: int, runs: int, *, batch_size: int = 4,
                 per_iter_160: float = CPU_S_PER_ITER_160) -> float:
    """Estimated training CPU-s: per-iteration cost at ``size`` x iterations x runs.

    Per iteration: ``per_iter_160 * (FIXED_SHARE + (1 - FIXED_SHARE) * (size / 160)^2) *
    batch_size / 4`` (a fixed part and a part growing with the pixels). ``runs`` is
    experiments x seeds.
    """
    pixels = FIXED_SHARE + (1 - FIXED_SHARE) * (size / 160) ** 2
    return per_iter_160 * pixels * batch_size / 4 * iters * runs


def _coco_profile(ann_file: Path) -> DataProfile:
    from decoupled_rcnn.datasets.common import load_json

    doc = load_json(ann_file)
    images = [i for i in doc.get("images", []) if isinstance(i, dict)]
    anns = [a for a in doc.get("annotations", [])
            if isinstance(a, dict) and not a.get("iscrowd") and len(a.get("bbox") or []) == 4]
    counts = Counter(a.get("image_id") for a in anns)
    return profile_boxes([(i.get("width") or 0, i.get("height") or 0) for i in images],
                         [(a["bbox"][2], a["bbox"][3]) for a in anns], list(counts.values()))


@functools.lru_cache(maxsize=16)
def _voc_profile(ann_dir: str, ids: tuple[str, ...], state: tuple[int, int]) -> DataProfile:
    from decoupled_rcnn.datasets.voc import parse_voc_xml

    sizes, boxes, counts = [], [], []
    for image_id in ids:
        record = parse_voc_xml(Path(ann_dir) / f"{image_id}.xml", None)
        sizes.append((record.width, record.height))
        kept = [(o.xmax - o.xmin, o.ymax - o.ymin) for o in record.objects if not o.difficult]
        boxes += kept
        counts.append(len(kept))
    return profile_boxes(sizes, boxes, counts)


@functools.lru_cache(maxsize=16)
def _coco_profile_cached(ann_file: str, mtime: int) -> DataProfile:
    return _coco_profile(Path(ann_file))


def profile_custom(custom: Mapping[str, Any]) -> DataProfile:
    """The training split's profile of ``data.custom`` (cached per file state).

    Raises:
        DatasetError: the data cannot be read (``check-data`` says what is wrong).
    """
    from decoupled_rcnn.datasets.custom import CustomSource, voc_split_ids, xml_state

    source = CustomSource.from_config(custom)
    if source.format == "coco":
        ann = source.path("train_ann")
        if not ann.is_file():
            raise DatasetError(ann, "training json not found")
        return _coco_profile_cached(str(ann), ann.stat().st_mtime_ns)
    ann_dir = source.path("annotations")
    ids = tuple(voc_split_ids(source)["train"])
    return _voc_profile(str(ann_dir), ids, xml_state(ann_dir))


@dataclass(frozen=True)
class CustomSizing:
    """The resolved scale and schedule of a custom-data workflow config.

    Attributes:
        profile: the training split's profile.
        scale: the input size and why (given, or chosen from the data).
        iters: training iterations per run.
        iters_reason: how they were derived.
        crop_size: pre-training crop side (px).
        max_dets: detections kept per image (:func:`dets_per_image`).
        runs: training runs (experiments x seeds).
        cpu_s: the estimated training CPU-s of all runs.
    """

    profile: DataProfile
    scale: Scale
    iters: int
    iters_reason: str
    crop_size: int
    max_dets: int
    runs: int
    cpu_s: float


def custom_sizing(wcfg: Mapping[str, Any], experiments: int | None = None) -> CustomSizing:
    """Resolve ``data.custom``'s scale and schedule for a (validated) workflow config.

    Args:
        wcfg: a workflow config with ``data.source: custom``.
        experiments: training experiments (default: those the config's tables need).

    Raises:
        DatasetError: the data cannot be read.
    """
    custom = wcfg["data"]["custom"]
    profile = profile_custom(custom)
    scale = choose_input_size(profile)
    if custom.get("input_size"):
        size = int(custom["input_size"])
        box = profile.median_box * size / profile.median_long if profile.median_long else 0.0
        scale = Scale(size, round(box, 1), f"{size} px: data.custom.input_size (the data "
                                           f"suggests {scale.reason})")
    short = wcfg["schedule"]["short"]
    batch = int(short["batch_size"])
    epochs = custom.get("epochs")
    if epochs is None:
        iters, why = int(short["iters"]), "schedule.short.iters (data.custom.epochs is null)"
    else:
        lo, hi = int(custom.get("min_iters", 200)), int(custom.get("max_iters", 3000))
        iters = schedule_iters(float(epochs), profile.images, batch, floor=lo, cap=hi)
        raw = math.ceil(float(epochs) * profile.images / batch)
        why = (f"{epochs:g} epochs x {profile.images} train images / batch {batch} = {raw}"
               + (f", raised to the floor {lo}" if raw < lo else
                  f", cut to the cap {hi}" if raw > hi else ""))
    crop = int(custom["crop_size"]) if custom.get("crop_size") else crop_size_for(
        scale.median_box)
    if experiments is None:
        from decoupled_rcnn.paths import REPO_ROOT
        from decoupled_rcnn.reproduction.manifest import load_manifest

        manifest = load_manifest(REPO_ROOT / wcfg["manifest"])
        experiments = len(manifest.experiments_for(list(wcfg["tables"])))
    runs = experiments * int(wcfg.get("seeds", 1))
    return CustomSizing(profile, scale, iters, why, crop, dets_per_image(profile), runs,
                        cpu_estimate(scale.size, iters, runs, batch_size=batch))


def format_sizing(sizing: CustomSizing, cores: int = 2) -> str:
    """The lines ``check-data`` and ``plan --config`` print."""
    p, s = sizing.profile, sizing.scale
    hours = sizing.cpu_s / 3600
    return "\n".join([
        f"data: {p.images} train images (median longest side {p.median_long:.0f} px), "
        f"{p.boxes} boxes (median side {p.median_box:.0f} px)",
        f"scale: input {s.reason}; median box {s.median_box:.0f} px at the input size "
        "[override: data.custom.input_size]",
        f"schedule: {sizing.iters} iterations per run ({sizing.iters_reason}) "
        "[data.custom.epochs / min_iters / max_iters]",
        f"pre-training crops: {sizing.crop_size} px [data.custom.crop_size]; detections "
        f"kept per image: {sizing.max_dets} (busiest train image: {p.max_per_image} boxes)",
        f"time estimate: {sizing.runs} training runs x {sizing.iters} iterations at "
        f"{s.size} px ~ {sizing.cpu_s:,.0f} CPU-s ({hours:.1f} CPU-h; ~{hours / cores:.1f} h "
        f"wall on {cores} cores), training only, an ESTIMATE from "
        f"{CPU_S_PER_ITER_160} CPU-s per iteration at 160 px (tiny Faster R-CNN, batch 4; "
        "cascaded / Double-Head variants cost up to 1.8x)",
    ])

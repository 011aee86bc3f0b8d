"""The parts of a composed config that the workflow config decides: data and schedule.

:func:`use_dataset` swaps a config's dataloaders and evaluators for a dataset fragment of
``configs/_base_/datasets`` (keeping the variant's multi-scale training) and sets the class
count everywhere; :func:`use_short_schedule` replaces the paper's epochs by an iteration
budget. :func:`decoupled_rcnn.reproduction.plan.compose.compose_config` applies them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmengine.config import Config, ConfigDict

from decoupled_rcnn.compat import mmdet_bases_without_metafile_scan
from decoupled_rcnn.datasets.cfg_options import dataset_cfg_options
from decoupled_rcnn.paths import REPO_ROOT

__all__ = ["DATASET_CONFIGS", "DataSpec", "ShortSchedule", "num_classes", "set_num_classes",
           "use_dataset", "use_short_schedule"]

DATASET_CONFIGS = REPO_ROOT / "configs" / "_base_" / "datasets"
_DATA_KEYS = ("train_dataloader", "val_dataloader", "test_dataloader",
              "val_evaluator", "test_evaluator")


@dataclass(frozen=True)
class DataSpec:
    """Where an experiment's data comes from.

    Attributes:
        fragment: a dataset config in ``configs/_base_/datasets`` (``synthetic``, ``voc0712``,
            ``coco_detection``, ``coco_test_dev``).
        root: the dataset root the fragment's annotation files are relative to.
        ann_files: (train, test) annotation files, when not the fragment's defaults (the
            converted VOC json lives outside the VOCdevkit).
        img_dirs: (train, test) image folders the json's ``file_name`` entries are relative
            to, when not the fragment's (your own dataset).
        classes: the class names, when not the fragment's ``metainfo`` (your own dataset):
            every dataset's ``metainfo`` and every ``num_classes`` follow them.
    """

    fragment: str
    root: Path
    ann_files: tuple[Path, Path] | None = None
    img_dirs: tuple[Path, Path] | None = None
    classes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ShortSchedule:
    """An iteration budget in place of the paper's epochs (the embedded default).

    Attributes:
        iters: training iterations.
        lr: base learning rate.
        batch_size: images per iteration.
        warmup_iters: linear warm-up length.
        checkpoint_interval: iterations between checkpoints (resume granularity).
        optimizer: ``AdamW`` (default: a few hundred iterations of SGD barely move a tiny
            detector) or ``SGD`` (momentum 0.9, as in the paper).
        weight_decay: of either optimizer (the paper: 1e-4).
        clip_grad: largest gradient L2 norm (None: no clipping).
        decay: after warm-up, ``cosine`` to zero or ``step`` (x0.1 at 75 % of ``iters``).
    """

    iters: int
    lr: float
    batch_size: int
    warmup_iters: int
    checkpoint_interval: int
    optimizer: str = "AdamW"
    weight_decay: float = 1e-4
    clip_grad: float | None = 10.0
    decay: str = "step"


def set_num_classes(node: Any, num_classes: int) -> int:
    """Set every ``num_classes`` key in a (nested) model config; returns how many were set."""
    count = 0
    if isinstance(node, Mapping):
        if "num_classes" in node:
            node["num_classes"] = num_classes
            count += 1
        for value in node.values():
            count += set_num_classes(value, num_classes)
    elif isinstance(node, list | tuple):
        for value in node:
            count += set_num_classes(value, num_classes)
    return count


def num_classes(node: Any) -> int | None:
    """The first ``num_classes`` in a (nested) model config."""
    if isinstance(node, Mapping):
        if isinstance(node.get("num_classes"), int):
            return node["num_classes"]
        values = node.values()
    elif isinstance(node, list | tuple):
        values = node
    else:
        return None
    for value in values:
        found = num_classes(value)
        if found is not None:
            return found
    return None


def _multiscale(pipeline: list) -> tuple[str, list[float]] | None:
    """A multi-scale Resize step's kind and its shorter sides relative to the largest."""
    for step in pipeline or []:
        scales = (step.get("scale") if step.get("type") == "RandomResize"
                  else step.get("scales") if step.get("type") == "RandomChoiceResize" else None)
        if isinstance(scales, list):
            shorts = [min(s) for s in scales]
            return step["type"], [s / max(shorts) for s in shorts]
    return None


def use_dataset(cfg: Config, data: DataSpec) -> None:
    """Swap the config's dataloaders and evaluators for ``data``'s, keeping multi-scale.

    Multi-scale training is part of the variant (Table IX): the dataset's single scale
    becomes the same relative scales, discrete (``RandomChoiceResize``, the official six
    values) or a range (``RandomResize``), as the variant's config had them.
    """
    with mmdet_bases_without_metafile_scan():
        fragment = Config.fromfile(DATASET_CONFIGS / f"{data.fragment}.py",
                                   import_custom_modules=False)
    multiscale = _multiscale(
        cfg.get("train_dataloader", {}).get("dataset", {}).get("pipeline", []))
    for key in _DATA_KEYS:
        cfg[key] = copy.deepcopy(fragment[key])
    if multiscale is not None:
        kind, ratios = multiscale
        pipeline = cfg.train_dataloader.dataset.pipeline
        for i, step in enumerate(pipeline):
            if step["type"] == "Resize":
                w, h = step["scale"]
                scales = [(w, round(h * r)) for r in ratios]
                pipeline[i] = (ConfigDict(type="RandomChoiceResize", keep_ratio=True,
                                          scales=scales) if kind == "RandomChoiceResize"
                               else ConfigDict(type="RandomResize", keep_ratio=True,
                                               scale=[min(scales), max(scales)]))
    train_ann, test_ann = data.ann_files or (None, None)
    cfg.merge_from_dict(dataset_cfg_options(data.fragment, data.root, train_ann_file=train_ann,
                                            val_ann_file=test_ann))
    splits = ("train", "val", "test")
    if data.img_dirs is not None:
        train_img, test_img = data.img_dirs
        for split, folder in zip(splits, (train_img, test_img, test_img), strict=True):
            cfg[f"{split}_dataloader"].dataset.data_prefix = ConfigDict(img=f"{folder}/")
    if data.classes is not None:
        for split in splits:
            cfg[f"{split}_dataloader"].dataset.metainfo = ConfigDict(classes=tuple(data.classes))
    classes = data.classes if data.classes is not None else _classes(fragment)
    set_num_classes(cfg.model, len(classes))


def _classes(fragment: Config) -> tuple[str, ...]:
    """A dataset fragment's classes: its ``metainfo``, else its dataset type's (COCO's 80)."""
    if fragment.get("metainfo"):
        return tuple(fragment.metainfo["classes"])
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    return tuple(DATASETS.get(fragment.train_dataloader.dataset.type).METAINFO["classes"])


def use_short_schedule(cfg: Config, schedule: ShortSchedule) -> None:
    cfg.train_cfg = ConfigDict(type="IterBasedTrainLoop", max_iters=schedule.iters,
                               val_interval=schedule.iters + 1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_dataloader.batch_size = schedule.batch_size
    cfg.train_dataloader.sampler = ConfigDict(type="InfiniteSampler", shuffle=True)
    optimizer = ConfigDict(type=schedule.optimizer, lr=schedule.lr,
                           weight_decay=schedule.weight_decay)
    if schedule.optimizer == "SGD":
        optimizer.momentum = 0.9
    elif schedule.optimizer != "AdamW":
        raise ValueError(f"short schedule optimizer must be SGD or AdamW, not "
                         f"{schedule.optimizer!r}")
    cfg.optim_wrapper = ConfigDict(type="OptimWrapper", optimizer=optimizer)
    if schedule.clip_grad is not None:
        cfg.optim_wrapper.clip_grad = ConfigDict(max_norm=schedule.clip_grad, norm_type=2)
    warmup = min(schedule.warmup_iters, max(schedule.iters - 1, 1))
    if schedule.decay == "cosine":
        decay = ConfigDict(type="CosineAnnealingLR", by_epoch=False, begin=warmup,
                           end=schedule.iters, T_max=schedule.iters - warmup, eta_min=0.0)
    elif schedule.decay == "step":
        decay = ConfigDict(type="MultiStepLR", by_epoch=False, begin=0, end=schedule.iters,
                           milestones=[int(schedule.iters * 0.75)], gamma=0.1)
    else:
        raise ValueError(f"short schedule decay must be step or cosine, not {schedule.decay!r}")
    # warmup_iters 0 (the schema allows it): no warm-up; mmengine refuses a 0-length LinearLR.
    warmups = [ConfigDict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0,
                          end=warmup)] if warmup > 0 else []
    cfg.param_scheduler = [*warmups, decay]
    cfg.default_hooks.checkpoint = ConfigDict(
        type="CheckpointHook", by_epoch=False, interval=schedule.checkpoint_interval,
        max_keep_ckpts=2)
    # Every 10th iteration (fewer than 200: every iters/20th; under 40: every one), so a
    # short run's scalars.json records exactly which iterations each run of it trained.
    cfg.default_hooks.logger = ConfigDict(type="LoggerHook",
                                          interval=max(1, min(10, schedule.iters // 20)))
    cfg.log_processor = ConfigDict(type="LogProcessor", window_size=10, by_epoch=False)

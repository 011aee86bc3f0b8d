"""From a manifest experiment to a runnable mmengine config.

A manifest experiment names a model config and scalar overrides (NMS_reg, stages, lambda);
the workflow config decides where the data is (the paper's VOC/COCO, or the generated
stand-in), whether the tiny model setting applies, and which schedule runs (the paper's, or a
short iteration budget for the embedded default). :func:`compose_config` applies all of that
in one place, so the training, evaluation and benchmark rules run the same network.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmengine.config import Config, ConfigDict

from decoupled_rcnn.datasets.cfg_options import dataset_cfg_options
from decoupled_rcnn.paths import REPO_ROOT

__all__ = ["DataSpec", "ShortSchedule", "compose_config", "set_num_classes"]

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
    """

    fragment: str
    root: Path
    ann_files: tuple[Path, Path] | None = None


@dataclass(frozen=True)
class ShortSchedule:
    """An iteration budget in place of the paper's epochs (the embedded default).

    Attributes:
        iters: training iterations.
        lr: base learning rate (SGD, momentum 0.9, weight decay 1e-4 as in the paper).
        batch_size: images per iteration.
        warmup_iters: linear warm-up length.
        checkpoint_interval: iterations between checkpoints (resume granularity).
    """

    iters: int
    lr: float
    batch_size: int
    warmup_iters: int
    checkpoint_interval: int


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


def _multiscale_low(pipeline: list) -> float | None:
    """Smallest / largest shorter side of a multi-scale Resize step; None if single-scale."""
    for step in pipeline or []:
        scales = (step.get("scale") if step.get("type") == "RandomResize"
                  else step.get("scales") if step.get("type") == "RandomChoiceResize" else None)
        if isinstance(scales, list):
            shorts = [min(s) for s in scales]
            return min(shorts) / max(shorts)
    return None


def _use_dataset(cfg: Config, data: DataSpec) -> None:
    """Swap the config's dataloaders and evaluators for ``data``'s, keeping multi-scale."""
    fragment = Config.fromfile(DATASET_CONFIGS / f"{data.fragment}.py")
    low = _multiscale_low(cfg.get("train_dataloader", {}).get("dataset", {}).get("pipeline", []))
    for key in _DATA_KEYS:
        cfg[key] = copy.deepcopy(fragment[key])
    if low is not None:  # multi-scale training is part of the variant (Table IX)
        pipeline = cfg.train_dataloader.dataset.pipeline
        for i, step in enumerate(pipeline):
            if step["type"] == "Resize":
                w, h = step["scale"]
                pipeline[i] = ConfigDict(type="RandomResize", keep_ratio=True,
                                         scale=[(w, round(h * low)), (w, h)])
    train_ann, test_ann = data.ann_files or (None, None)
    cfg.merge_from_dict(dataset_cfg_options(data.fragment, data.root, train_ann_file=train_ann,
                                            val_ann_file=test_ann))
    set_num_classes(cfg.model, len(fragment.metainfo["classes"]))


def _use_short_schedule(cfg: Config, schedule: ShortSchedule) -> None:
    cfg.train_cfg = ConfigDict(type="IterBasedTrainLoop", max_iters=schedule.iters,
                               val_interval=schedule.iters + 1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_dataloader.batch_size = schedule.batch_size
    cfg.train_dataloader.sampler = ConfigDict(type="InfiniteSampler", shuffle=True)
    cfg.optim_wrapper = ConfigDict(
        type="OptimWrapper",
        optimizer=ConfigDict(type="SGD", lr=schedule.lr, momentum=0.9, weight_decay=1e-4))
    warmup = min(schedule.warmup_iters, max(schedule.iters - 1, 1))
    cfg.param_scheduler = [
        ConfigDict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=warmup),
        ConfigDict(type="MultiStepLR", by_epoch=False, begin=0, end=schedule.iters,
                   milestones=[int(schedule.iters * 0.75)], gamma=0.1),
    ]
    cfg.default_hooks.checkpoint = ConfigDict(
        type="CheckpointHook", by_epoch=False, interval=schedule.checkpoint_interval,
        max_keep_ckpts=2)
    cfg.default_hooks.logger = ConfigDict(type="LoggerHook", interval=10)
    cfg.log_processor = ConfigDict(type="LogProcessor", window_size=10, by_epoch=False)


def compose_config(
    config: str | Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    data: DataSpec | None = None,
    tiny: bool = False,
    pretrained: bool = True,
    schedule: ShortSchedule | None = None,
    work_dir: str | Path | None = None,
    seed: int = 0,
) -> Config:
    """Build the config one experiment trains and tests with.

    Args:
        config: an mmdet config file (relative paths are taken from the repository root).
        overrides: dotted keys from the manifest (``model.roi_head.num_stages`` ...).
        data: the dataset to use instead of the config's (None keeps the config's).
        tiny: apply :func:`decoupled_rcnn.tiny.make_tiny` (the embedded default).
        pretrained: keep the backbone's pretrained init; False for offline runs.
        schedule: an iteration budget instead of the config's epochs (None keeps the paper's).
        work_dir: where checkpoints and logs go.
        seed: the run's random seed.

    Returns:
        The composed config; ``cfg.model`` is ready for ``Runner.from_cfg``.
    """
    path = Path(config)
    cfg = Config.fromfile(path if path.is_absolute() else REPO_ROOT / path)
    if overrides:
        cfg.merge_from_dict(dict(overrides))
    if data is not None:
        _use_dataset(cfg, data)
    if tiny:
        from decoupled_rcnn.tiny import make_tiny

        cfg = make_tiny(cfg)
    if not pretrained:
        cfg.model.backbone.init_cfg = None
    if schedule is not None:
        _use_short_schedule(cfg, schedule)
    cfg.randomness = ConfigDict(seed=seed, deterministic=False)
    if work_dir is not None:
        cfg.work_dir = str(work_dir)
    return cfg

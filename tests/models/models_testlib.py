"""Helpers for the model tests: tiny models from the real configs and generated batches.

(A plain module, not ``conftest``, so that ``from models_testlib import ...`` cannot pick up
another directory's conftest.)
"""

from __future__ import annotations

import copy
import functools
import logging
from pathlib import Path

import torch

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def load_cfg(rel_path: str, tiny: bool = True, dense: bool = False):
    """The config ``configs/<rel_path>``, shrunk by the tiny setting unless ``tiny=False``.

    ``dense=True`` restores the paper's proposal counts (nms_pre 2000, 1000 per set) in
    training, so that an untrained RPN still yields positives on a 128-px image.
    """
    from decoupled_rcnn.embedded.tiny import make_tiny

    cfg = copy.deepcopy(_parse(rel_path))
    if tiny:
        cfg = make_tiny(cfg)
    if dense:
        proposal = cfg.model.train_cfg.rpn_proposal
        proposal.update(nms_pre=2000, max_per_img=1000)
        if proposal.get("reg_nms") is not None:
            proposal.reg_max_per_img = 1000
    return cfg


@functools.cache
def _parse(rel_path: str):
    from mmengine.config import Config

    return Config.fromfile(str(CONFIGS / rel_path))


def build_model(cfg, seed: int = 0):
    """Build ``cfg.model`` with the plugin registered, weights initialised from ``seed``."""
    return build_module(cfg.model, seed)


def build_module(cfg_dict: dict, seed: int = 0) -> torch.nn.Module:
    """Build any registered module config with the plugin registered, weights from ``seed``."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.logging import MMLogger

    import decoupled_rcnn.models  # noqa: F401

    register_all_modules()
    torch.manual_seed(seed)
    module = MODELS.build(cfg_dict)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights logs every parameter
    try:
        module.init_weights()
    finally:
        logger.setLevel(level)
    return module


def roi_head_of(rel_path: str, seed: int = 0, **overrides) -> tuple:
    """The tiny RoI head of a config, with train and test configs attached, and the config."""
    cfg = load_cfg(rel_path)
    head_cfg = copy.deepcopy(cfg.model.roi_head)
    head_cfg.update(overrides)
    head_cfg.update(train_cfg=cfg.model.train_cfg.rcnn, test_cfg=cfg.model.test_cfg.rcnn)
    return build_module(head_cfg, seed), cfg


def roi_features(channels: int, num_imgs: int = 2, seed: int = 0, size: int = 128
                 ) -> tuple[torch.Tensor, ...]:
    """Random FPN features (strides 4-64) of ``num_imgs`` images of side ``size``."""
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(num_imgs, channels, size // 2**(i + 2), size // 2**(i + 2),
                             generator=gen) for i in range(5))


def roi_proposals(samples: list, seed: int = 0, size: int = 128) -> list:
    """Per image: 20 boxes around each gt box plus 20 random boxes."""
    from mmengine.structures import InstanceData

    gen = torch.Generator().manual_seed(seed)
    out = []
    for sample in samples:
        near = jitter(sample.gt_instances.bboxes, 20, 0.3, gen)
        xy = torch.rand(20, 2, generator=gen) * size * 0.7
        boxes = torch.cat([near, torch.cat([xy, xy + 8 + torch.rand(20, 2, generator=gen) * 30],
                                           dim=1)]).clamp(0, size)
        out.append(InstanceData(bboxes=boxes, scores=torch.ones(len(boxes))))
    return out


def spread_weights(cls_layers, reg_layers, seed: int = 1) -> None:
    """Larger output weights, so that stages and classifiers visibly differ (untrained heads
    start almost at the identity box transform and uniform scores).

    Args:
        cls_layers: the classifiers' ``fc_cls`` layers.
        reg_layers: the regressors' ``fc_reg`` layers, in stage order.
        seed: generator seed.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for fc_cls in cls_layers:
            fc_cls.weight.copy_(torch.randn(fc_cls.weight.shape, generator=gen) * 0.5)
        for fc_reg in reg_layers:
            fc_reg.weight.copy_(torch.randn(fc_reg.weight.shape, generator=gen) * 0.3)


def inference_roi_head(rel_path: str) -> tuple:
    """A config's RoI head in eval mode with spread output weights (:func:`spread_weights`)
    and a test config that keeps low scores (``score_thr`` 0.02, 15 boxes per image).

    Returns:
        ``(roi_head, cfg)`` as :func:`roi_head_of`.
    """
    roi_head, cfg = roi_head_of(rel_path)
    if hasattr(roi_head, "cls_heads"):  # Decoupled R-CNN: classifiers and regressors apart
        spread_weights([h.fc_cls for h in roi_head.cls_heads],
                       [roi_head.reg_head(k).fc_reg for k in range(roi_head.num_stages)])
    else:
        spread_weights([h.fc_cls for h in roi_head.bbox_head],
                       [h.fc_reg for h in roi_head.bbox_head])
    roi_head.eval()
    roi_head.test_cfg.update(score_thr=0.02, max_per_img=15)
    return roi_head, cfg


def make_batch(num_imgs: int = 2, size: int = 128, num_gt: int = 3, num_classes: int = 80,
               seed: int = 0, empty: tuple[int, ...] = ()):
    """Random images and gt boxes as (inputs (N, 3, H, W), list of DetDataSample).

    Args:
        num_imgs: batch size.
        size: image side (square, already a multiple of 32).
        num_gt: objects per image.
        num_classes: labels are drawn from ``range(num_classes)``.
        seed: generator seed.
        empty: indices of images without any ground truth.
    """
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(num_imgs, 3, size, size, generator=gen)
    samples = []
    for i in range(num_imgs):
        n = 0 if i in empty else num_gt
        wh = torch.rand(n, 2, generator=gen) * size * 0.4 + size * 0.15
        xy = torch.rand(n, 2, generator=gen) * (size - wh)
        sample = DetDataSample(metainfo=dict(
            img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
            batch_input_shape=(size, size), scale_factor=(1.0, 1.0), img_id=i))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], dim=1),
            labels=torch.randint(0, num_classes, (n,), generator=gen))
        sample.ignored_instances = InstanceData(
            bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
        samples.append(sample)
    return inputs, samples


def jitter(boxes: torch.Tensor, num: int, scale: float, gen: torch.Generator) -> torch.Tensor:
    """``num`` boxes around each of ``boxes`` (m, 4), shifted by up to ``scale`` x size."""
    wh = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2).repeat_interleave(num, 0)
    noise = (torch.rand(len(boxes) * num, 4, generator=gen) * 2 - 1) * scale * wh
    return boxes.repeat_interleave(num, 0) + noise

"""Backbone pre-training for the embedded default: the stand-in for the paper's ImageNet weights.

The paper's detectors start from ImageNet-pre-trained backbones. The embedded default has no
ImageNet, so each tiny backbone (:data:`decoupled_rcnn.embedded.tiny.TINY_BACKBONES`) is
pre-trained once on a classification task cut from the generated TRAINING images: square crops
around each object (context margin and centre jitter drawn per crop) labelled by the object's
class, and background crops (random windows that overlap no object by more than IoU 0.3 and
hold at most 30 % of any object's box, many of them partly covering one) labelled 0. A
global-average-pooled linear classifier on the last stage is the only extra layer; it is
dropped afterwards. Images keep the detector's input normalisation
(``model.data_preprocessor``), so the features transfer as they are.

The checkpoint holds plain tensors and builtins only (``{"state_dict": ..., "meta": ...}``),
so it loads under torch's ``weights_only=True``, and every experiment loads it through
``init_cfg=dict(type='Pretrained', checkpoint=...)`` on its backbone
(:func:`decoupled_rcnn.embedded.tiny.make_tiny`, ``pretrained_backbone=``), the mechanism the
paper's configs use with ``torchvision://``. A tenth of the training images is held out: the
accuracy on their crops is reported, not trained on.

Run it as ``python -m decoupled_rcnn.embedded.pretrain CONFIG DATA_ROOT OUT --iters N``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from decoupled_rcnn.embedded.tiny import make_tiny, tiny_backbone_variant
from decoupled_rcnn.provenance import save_torch_atomic

__all__ = ["CropSampler", "pretrain_backbone"]

#: Fraction of the crops that are background (label 0).
BACKGROUND_FRACTION = 0.25
#: Largest IoU (and intersection over the object's box) of a background crop with any object.
BACKGROUND_MAX_IOU = 0.3
#: Every HOLDOUT_EVERY-th training image is held out for the accuracy check.
HOLDOUT_EVERY = 10


def _overlaps(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Largest of IoU and intersection-over-object of one (4,) xyxy window with (N, 4) xyxy
    object boxes -> (N,): a window that holds most of a small object is not background."""
    if len(boxes) == 0:
        return np.zeros(0)
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.maximum(inter / (area + areas - inter), inter / areas)


class CropSampler:
    """Labelled square crops of a COCO-format split, drawn on the fly.

    Args:
        data_root: dataset root with ``annotations/<split>.json`` and ``images/``.
        split: annotation file stem (``train``).
        holdout: False: the images used for training; True: every ``HOLDOUT_EVERY``-th image.
        crop_size: side of the (square) crops in pixels.
        mean: per-channel mean of the detector's data preprocessor (RGB order if ``to_rgb``).
        std: per-channel std, likewise.
        to_rgb: convert the BGR images to RGB before normalising.
        ann_file: a COCO json instead of ``annotations/<split>.json`` (your own dataset).
        img_dir: the folder its ``file_name`` entries are relative to (default ``images/``).
    """

    def __init__(self, data_root: str | Path, split: str = "train", *, holdout: bool = False,
                 crop_size: int = 48, mean: tuple[float, ...] = (123.675, 116.28, 103.53),
                 std: tuple[float, ...] = (58.395, 57.12, 57.375), to_rgb: bool = True,
                 ann_file: str | Path | None = None, img_dir: str | Path | None = None) -> None:
        import cv2

        root = Path(data_root)
        ann_file = Path(ann_file) if ann_file else root / "annotations" / f"{split}.json"
        img_dir = Path(img_dir) if img_dir else root / "images"
        doc = json.loads(ann_file.read_text())
        self.num_classes = len(doc["categories"])
        cat_index = {c["id"]: i + 1 for i, c in enumerate(doc["categories"])}
        boxes: dict[int, list] = {img["id"]: [] for img in doc["images"]}
        labels: dict[int, list] = {img["id"]: [] for img in doc["images"]}
        for ann in doc["annotations"]:
            if ann.get("iscrowd"):  # difficult / crowd: no clean object crop
                continue
            x, y, w, h = ann["bbox"]
            boxes[ann["image_id"]].append([x, y, x + w, y + h])
            labels[ann["image_id"]].append(cat_index[ann["category_id"]])
        images = [img for i, img in enumerate(doc["images"])
                  if (i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1) == holdout]
        if not images:
            images = doc["images"][-1:]
        self.images: list[np.ndarray] = []
        self.boxes: list[np.ndarray] = []
        self.objects: list[tuple[int, int]] = []  # (image index, object index)
        for img in images:
            pixels = cv2.imread(str(img_dir / img["file_name"]), cv2.IMREAD_COLOR)
            if pixels is None:
                raise FileNotFoundError(img_dir / img["file_name"])
            if to_rgb:
                pixels = pixels[..., ::-1]
            self.images.append(np.ascontiguousarray(pixels, dtype=np.float32))
            self.boxes.append(np.asarray(boxes[img["id"]], dtype=np.float64).reshape(-1, 4))
            self.objects += [(len(self.images) - 1, j) for j in range(len(boxes[img["id"]]))]
        self.labels = [np.asarray(labels[img["id"]], dtype=np.int64) for img in images]
        if not self.objects:
            raise ValueError(f"{root}: no objects in the {split} split to crop")
        self.crop_size = crop_size
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)

    def _window(self, rng: np.random.Generator) -> tuple[int, np.ndarray, int]:
        """One crop window: (image index, (4,) xyxy window, label)."""
        i, j = self.objects[int(rng.integers(len(self.objects)))]
        x0, y0, x1, y1 = self.boxes[i][j]
        side = max(x1 - x0, y1 - y0) * rng.uniform(1.1, 1.5)
        if rng.random() >= BACKGROUND_FRACTION:
            cx = (x0 + x1) / 2 + rng.uniform(-0.1, 0.1) * (x1 - x0)
            cy = (y0 + y1) / 2 + rng.uniform(-0.1, 0.1) * (y1 - y0)
            return i, np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]), \
                int(self.labels[i][j])
        i = int(rng.integers(len(self.images)))  # background: any image, an object's size
        height, width = self.images[i].shape[:2]
        side = min(side, 0.9 * min(height, width))
        for _ in range(20):
            x, y = rng.uniform(0, width - side), rng.uniform(0, height - side)
            window = np.array([x, y, x + side, y + side])
            if (_overlaps(window, self.boxes[i]) <= BACKGROUND_MAX_IOU).all():
                break
        return i, window, 0

    def sample(self, rng: np.random.Generator, num: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``num`` crops.

        Args:
            rng: the generator every choice is drawn from.
            num: crops to draw.

        Returns:
            Normalised crops (num, 3, crop_size, crop_size) float32 and labels (num,) int64 in
            ``[0, num_classes]`` (0: background).
        """
        import cv2

        size = self.crop_size
        crops = np.empty((num, size, size, 3), np.float32)
        labels = np.empty(num, np.int64)
        for k in range(num):
            i, (x0, y0, x1, y1), labels[k] = self._window(rng)
            scale = size / (x1 - x0)
            flip = rng.random() < 0.5
            affine = np.array([[-scale if flip else scale, 0, (x1 if flip else -x0) * scale],
                               [0, scale, -y0 * scale]], dtype=np.float64)
            crops[k] = cv2.warpAffine(self.images[i], affine, (size, size),
                                      flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        crops = (crops - self.mean) / self.std
        return torch.from_numpy(crops).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels)


class _Classifier(nn.Module):
    """Backbone + global average pooling of the last stage + a linear classifier."""

    def __init__(self, backbone: nn.Module, channels: int, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(channels, num_classes + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, S, S) -> logits (N, num_classes + 1)."""
        return self.fc(self.backbone(x)[-1].mean(dim=(2, 3)))


def _accuracy(model: nn.Module, crops: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(chunk).argmax(1) for chunk in crops.split(128)])
    model.train()
    return float((pred == labels).float().mean())


def pretrain_backbone(
    model_config: str | Path,
    data_root: str | Path,
    out: str | Path,
    *,
    iters: int,
    seed: int = 0,
    batch_size: int = 64,
    lr: float = 0.1,
    crop_size: int = 48,
    heldout_crops: int = 512,
    ann_file: str | Path | None = None,
    img_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Pre-train the tiny backbone of ``model_config`` on crops of the training images.

    SGD (momentum 0.9, weight decay 1e-4), linear warm-up over the first 5 % of the
    iterations, then cosine decay to zero; cross-entropy over ``num_classes + 1`` labels.

    Args:
        model_config: any full experiment config; its tiny backbone variant is trained.
        data_root: a generated dataset root (``annotations/train.json``, ``images/``).
        out: the checkpoint to write (``{"state_dict", "meta"}``, backbone keys unprefixed).
        iters: optimisation steps.
        seed: seeds the crops, the initial weights and the order of everything.
        batch_size: crops per step.
        lr: peak learning rate.
        crop_size: crop side in pixels.
        heldout_crops: crops of the held-out images the final accuracy is measured on.
        ann_file: the training json instead of ``data_root/annotations/train.json`` (with
            ``data.source: custom``, the custom training split).
        img_dir: its image folder (default ``data_root/images``).

    Returns:
        Provenance: variant, iterations, wall time, final train loss and accuracy (mean of the
        last tenth of the steps), held-out accuracy, and the settings used.
    """
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    from decoupled_rcnn.reproduction.plan.compose import init_weights_quietly, load_config

    start = time.perf_counter()
    full = load_config(model_config)
    cfg, variant = make_tiny(full), tiny_backbone_variant(full)
    prep = cfg.model.get("data_preprocessor") or {}
    norm = dict(mean=tuple(prep.get("mean", (123.675, 116.28, 103.53))),
                std=tuple(prep.get("std", (58.395, 57.12, 57.375))),
                to_rgb=bool(prep.get("bgr_to_rgb", True)))
    files = {"ann_file": ann_file, "img_dir": img_dir}
    train = CropSampler(data_root, crop_size=crop_size, **norm, **files)
    held = CropSampler(data_root, holdout=True, crop_size=crop_size, **norm, **files)
    rng = np.random.default_rng([seed, 1])
    held_x, held_y = held.sample(np.random.default_rng([seed, 2]), heldout_crops)

    register_all_modules(init_default_scope=False)
    torch.manual_seed(seed)
    backbone = MODELS.build(cfg.model.backbone)
    init_weights_quietly(backbone)
    channels = cfg.model.neck.in_channels[-1] if cfg.model.get("neck") else None
    if channels is None:
        with torch.no_grad():
            channels = backbone(torch.zeros(1, 3, crop_size, crop_size))[-1].shape[1]
    model = _Classifier(backbone, channels, train.num_classes)
    model.train()
    optim = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    warmup = max(1, iters // 20)

    def factor(step: int) -> float:
        if step < warmup:
            return 0.1 + 0.9 * step / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, iters - warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(optim, factor)
    losses, hits = [], []
    for _ in range(iters):
        x, y = train.sample(rng, batch_size)
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        sched.step()
        losses.append(float(loss.detach()))
        hits.append(float((logits.argmax(1) == y).float().mean()))
    tail = max(1, iters // 10)
    provenance: dict[str, Any] = {
        "variant": variant,
        "model_config": str(model_config),
        "backbone": {k: v for k, v in cfg.model.backbone.items()
                     if isinstance(v, (int, float, str, bool, tuple, list))},
        "iterations": iters,
        "batch_size": batch_size,
        "lr": lr,
        "crop_size": crop_size,
        "seed": seed,
        "train_images": len(train.images),
        "heldout_images": len(held.images),
        "final_train_loss": round(float(np.mean(losses[-tail:])), 4) if losses else None,
        "final_train_accuracy": round(float(np.mean(hits[-tail:])), 4) if hits else None,
        "heldout_accuracy": round(_accuracy(model, held_x, held_y), 4),
        "heldout_crops": heldout_crops,
        "chance_accuracy": round(1 / (train.num_classes + 1), 4),
    }
    provenance["wall_time_s"] = round(time.perf_counter() - start, 1)
    state = {k: v.detach().clone() for k, v in backbone.state_dict().items()}
    meta = {k: v for k, v in provenance.items() if k != "backbone"}
    out = save_torch_atomic({"state_dict": state, "meta": meta}, out)
    provenance["checkpoint"] = str(out)
    return provenance


def main(argv: list[str] | None = None) -> int:
    """Command line: pre-train one tiny backbone and print its provenance as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", help="any experiment config of the backbone variant")
    parser.add_argument("data_root", help="generated dataset root (annotations/train.json)")
    parser.add_argument("out", help="checkpoint to write")
    parser.add_argument("--iters", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--crop-size", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--info", help="also write the provenance JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    info = pretrain_backbone(args.config, args.data_root, args.out, iters=args.iters,
                             seed=args.seed, batch_size=args.batch_size, lr=args.lr,
                             crop_size=args.crop_size)
    text = json.dumps(info, indent=2)
    if args.info:
        Path(args.info).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

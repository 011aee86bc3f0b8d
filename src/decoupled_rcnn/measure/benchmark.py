"""Speed, FLOPs and parameters of several detectors, measured side by side in one process.

:func:`benchmark` builds every config (pretrained init off, ``custom_imports`` honoured, the
tiny setting on request), then times, round-robin over the models so that drift (thermal,
other processes on the machine) hits all of them alike:

- inference: ``model.test_step`` on one image (``torch.no_grad``, eval mode), i.e. the data
  preprocessor (normalise, pad), backbone, neck, RPN with its NMS, RoI head(s) and the
  detection post-processing: seconds per image;
- training: ``model.train_step`` on a batch of two images with a few generated gt boxes each
  (preprocessor, losses, backward, SGD step): seconds per iteration.

Inputs are built as mmdet's data pipeline hands them to the model (``PackDetInputs``: uint8
CHW tensors plus :class:`~mmdet.structures.DetDataSample` metas, gt boxes as
:class:`~mmdet.structures.bbox.HorizontalBoxes`), with seeded random content. Batches are
built, and copied for every call, outside the timed region; CUDA is synchronised before and
after each timed call. Weights are the modules' initialisation (untrained): an untrained
classifier scores every class about equally, so few boxes pass ``score_thr`` and the final
per-class NMS of a trained model (at most 100 boxes per image) is not part of the timing.

Each model reports the median and the minimum over ``repeats`` rounds after ``warmup``
untimed rounds, their ratios to the baseline (the first config unless named: Faster R-CNN
FPN by default), FLOPs (:func:`decoupled_rcnn.measure.complexity.count_flops_of`: the paper's
``forward_dummy`` computation, one image, ``test_cfg.rpn.max_per_img`` proposals) and the
trainable parameters.
"""

from __future__ import annotations

import copy
import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from decoupled_rcnn.provenance import hardware_name

__all__ = [
    "DEFAULT_CONFIGS",
    "FULL_SIZE",
    "TINY_SIZE",
    "BenchConfig",
    "benchmark",
    "parse_config_spec",
]

#: Input (H, W) of the paper's speed and FLOPs numbers.
FULL_SIZE: tuple[int, int] = (800, 1333)
#: Input (H, W) of the tiny setting (``make_tiny`` resizes the longer side to 160).
TINY_SIZE: tuple[int, int] = (96, 160)
#: Images per training iteration (the paper: 2 per GPU).
TRAIN_BATCH = 2
#: Generated gt boxes per training image.
GT_PER_IMAGE = 3
@dataclass(frozen=True)
class BenchConfig:
    """One model to benchmark.

    Attributes:
        name: short label used in the table and as the entry's key.
        config: config file (repository-relative, absolute, or ``mmdet::rel/path.py``).
        overrides: dotted-key overrides (``model.roi_head.num_stages`` ...).
        cfg: the already composed config
            (:func:`decoupled_rcnn.reproduction.plan.compose.experiment_config`), as the workflow
            passes it; None composes ``config`` + ``overrides`` (tiny on request).
    """

    name: str
    config: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    cfg: Any = None


#: Faster R-CNN FPN (the baseline), Cascade R-CNN (stock mmdet; the repository's Cascade
#: config is R101 only), Decoupled R-CNN with 1 and with 3 regression stages; R50, COCO.
DEFAULT_CONFIGS: tuple[BenchConfig, ...] = (
    BenchConfig("faster_rcnn_fpn", "configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py"),
    BenchConfig("cascade_rcnn", "mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py"),
    BenchConfig("decoupled", "configs/decoupled_rcnn/decoupled-rcnn_r50_fpn_1x_coco.py"),
    BenchConfig(
        "decoupled_cascade", "configs/decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py"
    ),
)


def parse_config_spec(spec: str | BenchConfig | Mapping[str, Any]) -> BenchConfig:
    """Turn ``"path"``, ``"name=path"``, a mapping or a :class:`BenchConfig` into the latter.

    A bare path is named after its file (``faster-rcnn_r50_fpn_1x_coco``).
    """
    if isinstance(spec, BenchConfig):
        return spec
    if isinstance(spec, Mapping):
        config = str(spec["config"])
        name = str(spec.get("name") or Path(config.split("::")[-1]).stem)
        return BenchConfig(name, config, dict(spec.get("overrides") or {}))
    name, sep, config = str(spec).partition("=")
    if not sep:
        name, config = Path(str(spec).split("::")[-1]).stem, str(spec)
    return BenchConfig(name, config)


def _make_batch(
    batch_size: int,
    size: tuple[int, int],
    num_classes: int,
    device: torch.device,
    seed: int,
    with_gt: bool,
) -> dict[str, list]:
    """A batch as ``PackDetInputs`` + the dataloader's ``pseudo_collate`` produce it.

    Returns:
        ``{"inputs": [uint8 (3, H, W)] * B, "data_samples": [DetDataSample] * B}``; with
        ``with_gt`` every sample has ``GT_PER_IMAGE`` boxes (HorizontalBoxes, (n, 4)) and labels.
    """
    from mmdet.structures import DetDataSample
    from mmdet.structures.bbox import HorizontalBoxes
    from mmengine.structures import InstanceData

    gen = torch.Generator().manual_seed(seed)
    h, w = size
    inputs, samples = [], []
    for idx in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        sample = DetDataSample(metainfo=dict(
            img_id=idx, img_path=f"<bench {idx}>", ori_shape=(h, w), img_shape=(h, w),
            scale_factor=(1.0, 1.0), flip=False, flip_direction=None))
        if with_gt:
            wh = torch.rand(GT_PER_IMAGE, 2, generator=gen) * 0.4 + 0.1  # 10-50 % of the side
            wh = wh * torch.tensor([w, h])
            xy = torch.rand(GT_PER_IMAGE, 2, generator=gen) * (torch.tensor([w, h]) - wh)
            gt = InstanceData()
            gt.bboxes = HorizontalBoxes(torch.cat([xy, xy + wh], dim=1))
            gt.labels = torch.randint(0, num_classes, (GT_PER_IMAGE,), generator=gen)
            sample.gt_instances = gt
        samples.append(sample.to(device))
    return {"inputs": [img.to(device) for img in inputs], "data_samples": samples}


@dataclass
class _Model:
    """A built detector with its inputs, optimiser and the timings collected so far."""

    spec: BenchConfig
    model: nn.Module
    optim_wrapper: Any
    infer_batch: dict[str, list]
    train_batch: dict[str, list]
    info: dict[str, Any]
    infer_times: list[float] = field(default_factory=list)
    train_times: list[float] = field(default_factory=list)


def _build(
    spec: BenchConfig,
    *,
    size: tuple[int, int],
    tiny: bool,
    device: torch.device,
    flops: bool,
    seed: int,
) -> _Model:
    """Build one detector (no pretrained weights), count it, and make its inputs and optimiser.

    The network comes from :func:`decoupled_rcnn.reproduction.plan.compose.build_model`, as in the
    training and evaluation rules, so the timed network is the one they run.
    """
    from mmengine.optim import OptimWrapper

    from decoupled_rcnn.measure import complexity
    from decoupled_rcnn.reproduction.plan.compose import (
        build_model,
        compose_config,
        init_weights_quietly,
    )
    from decoupled_rcnn.reproduction.plan.config_parts import num_classes

    cfg = spec.cfg
    if cfg is None:
        cfg = compose_config(spec.config, spec.overrides, tiny=tiny, pretrained=False)
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.init_cfg = None  # timing does not depend on the weights' values
    torch.manual_seed(seed)
    model = build_model(cfg)
    init_weights_quietly(model)
    model.eval()

    params = complexity.count_parameters(model)
    proposals = int(((cfg.model.get("test_cfg") or {}).get("rpn") or {}).get("max_per_img", 1000))
    info: dict[str, Any] = {
        "name": spec.name,
        "config": spec.config,
        "overrides": dict(spec.overrides),
        "params_trainable": params["trainable"],
        "params_trainable_m": round(params["trainable"] / 1e6, 4),
        "gflops": None,
        "flops_num_proposals": proposals,
    }
    if flops:
        # On a copy: the counter traces the model; the timed one stays untouched.
        total, _ = complexity.count_flops_of(copy.deepcopy(model), (3, *size), proposals)
        info["gflops"] = round(total / 1e9, 4)

    model.to(device)
    # Same optimiser for every model: SGD with the paper's momentum and weight decay; a small
    # learning rate keeps the untrained weights finite over the repeats (cost does not depend
    # on it).
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)
    classes = num_classes(cfg.model.get("roi_head")) or num_classes(cfg.model) or 1
    return _Model(
        spec=spec,
        model=model,
        optim_wrapper=OptimWrapper(optimizer=optimizer),
        infer_batch=_make_batch(1, size, classes, device, seed, with_gt=False),
        train_batch=_make_batch(TRAIN_BATCH, size, classes, device, seed + 1, with_gt=True),
        info=info,
    )


def _timed(call: Callable[[], Any], sync: Callable[[], None]) -> float:
    """Seconds ``call`` takes, with the device idle before and after."""
    sync()
    start = time.perf_counter()
    call()
    sync()
    return time.perf_counter() - start


def _round(entry: _Model, sync: Callable[[], None], number: int, record: bool) -> None:
    """Inference on one image and one training iteration of one model, ``number`` times each.

    A recorded sample is the mean over the ``number`` calls.
    """
    model = entry.model
    model.eval()
    # Fresh copies, made before the clock starts: the model may annotate samples in place.
    batches = [copy.deepcopy(entry.infer_batch) for _ in range(number)]
    gc.collect()

    def infer() -> None:
        for data in batches:
            model.test_step(data)

    with torch.no_grad():
        seconds = _timed(infer, sync) / number
    if record:
        entry.infer_times.append(seconds)

    model.train()
    batches = [copy.deepcopy(entry.train_batch) for _ in range(number)]
    gc.collect()

    def train() -> None:
        for data in batches:
            model.train_step(data, entry.optim_wrapper)

    seconds = _timed(train, sync) / number
    if record:
        entry.train_times.append(seconds)
    model.eval()


def benchmark(
    configs: Sequence[str | BenchConfig | Mapping[str, Any]] = DEFAULT_CONFIGS,
    *,
    size: tuple[int, int] | None = None,
    tiny: bool = False,
    repeats: int = 5,
    warmup: int = 1,
    device: str | torch.device | None = None,
    threads: int | None = None,
    flops: bool = True,
    baseline: str | None = None,
    number: int = 1,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every config in one process, interleaved, after warm-up.

    Args:
        configs: what to measure (see :func:`parse_config_spec`); names must be unique.
        size: input (H, W); default :data:`FULL_SIZE`, or :data:`TINY_SIZE` with ``tiny``.
        tiny: apply :func:`decoupled_rcnn.embedded.tiny.make_tiny` to every config.
        repeats: timed rounds (each: one inference call and one training step per model).
        warmup: untimed rounds before them.
        device: ``"cpu"`` or ``"cuda"``; default CUDA when available.
        threads: ``torch.set_num_threads`` value for the measurement (restored afterwards);
            None keeps torch's. On a machine shared with other processes, fewer threads than
            cores avoids OpenMP threads spinning against each other (timings then explode).
        flops: count FLOPs (slow at full size); otherwise ``gflops`` is None.
        baseline: the entry the ratios divide by; default the first config.
        number: calls per timed sample (each sample is their mean); more steadies tiny runs.
        seed: seeds the weights and the generated inputs.
        progress: called with a short message before each build and each round (never
            inside a timed region), e.g. to log long CPU runs.

    Returns:
        ``{"status": "ok", "header": {...}, "entries": [...]}``. The header names the hardware,
        device, torch threads, size, repeats, warm-up, batch sizes and versions. Each entry
        has ``name``, ``config``, ``overrides``, the
        :data:`~decoupled_rcnn.measure.bench_output.METRIC_FIELDS` (times in seconds,
        medians unless ``_min``; ratios = this entry's time / the baseline's, from the median
        or the min; ``gflops``; ``params_trainable_m`` in millions) and the raw
        ``infer_times`` / ``train_times``.

    Raises:
        ValueError: on duplicate names, an unknown baseline, or ``repeats < 1``.
    """
    import mmdet
    import mmengine

    specs = [parse_config_spec(c) for c in configs]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate config names: {names}")
    baseline = baseline or names[0]
    if baseline not in names:
        raise ValueError(f"baseline {baseline!r} is not one of {names}")
    if repeats < 1 or warmup < 0 or number < 1:
        raise ValueError(
            f"need repeats >= 1, warmup >= 0, number >= 1; got {repeats}, {warmup}, {number}")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    size = tuple(size) if size else (TINY_SIZE if tiny else FULL_SIZE)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    threads_before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        used_threads = torch.get_num_threads()
        say = progress or (lambda message: None)
        models = []
        for s in specs:
            say(f"building {s.name} ({s.config}){' and counting FLOPs' if flops else ''}")
            models.append(_build(s, size=size, tiny=tiny, device=dev, flops=flops, seed=seed))
        for round_idx in range(warmup + repeats):
            kind = "warm-up" if round_idx < warmup else "timed"
            say(f"round {round_idx + 1}/{warmup + repeats} ({kind})")
            for entry in models:
                _round(entry, sync, number, record=round_idx >= warmup)
    finally:
        torch.set_num_threads(threads_before)

    entries = []
    for m in models:
        entries.append({
            **m.info,
            "s_per_img": statistics.median(m.infer_times),
            "s_per_img_min": min(m.infer_times),
            "train_s_per_iter": statistics.median(m.train_times),
            "train_s_per_iter_min": min(m.train_times),
            "infer_times": m.infer_times,
            "train_times": m.train_times,
        })
    base = entries[names.index(baseline)]
    for e in entries:
        e["ratio_infer"] = e["s_per_img"] / base["s_per_img"]
        e["ratio_infer_min"] = e["s_per_img_min"] / base["s_per_img_min"]
        e["ratio_train"] = e["train_s_per_iter"] / base["train_s_per_iter"]
        e["ratio_train_min"] = e["train_s_per_iter_min"] / base["train_s_per_iter_min"]

    header = {
        "hardware": hardware_name(dev),
        "device": str(dev),
        "threads": used_threads,
        "size": list(size),
        "tiny": tiny,
        "repeats": repeats,
        "warmup": warmup,
        "number": number,
        "infer_batch": 1,
        "train_batch": TRAIN_BATCH,
        "gt_per_image": GT_PER_IMAGE,
        "baseline": baseline,
        "order": "interleaved: each round runs every model once (inference, then training)",
        "weights": "initialisation (untrained), seeded",
        "torch": torch.__version__,
        "mmdet": mmdet.__version__,
        "mmengine": mmengine.__version__,
    }
    return {"status": "ok", "header": header, "entries": entries}

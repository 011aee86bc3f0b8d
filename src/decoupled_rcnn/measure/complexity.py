"""Model size and FLOPs of a detector config, counted the way the paper counts them.

The paper (Tables VIII-XI) reports numbers from MMDetection v2's
``tools/analysis_tools/get_flops.py``. That tool

* counts one multiply-add as one FLOP (the fvcore/mmengine convention as well),
* feeds one 3x800x1333 image,
* runs ``forward_dummy``: backbone, neck and RPN head on the image, then the RoI head on
  1000 proposals (random boxes, no RPN post-processing, no NMS), and
* reports the parameters with ``requires_grad`` (the frozen stem and first ResNet stage are
  not counted: Faster R-CNN R50-FPN has 41.75 M parameters in total, 41.53 M trainable).

MMDetection 3 has no ``forward_dummy``, so :class:`PaperFlopsForward` rebuilds that
computation around a detector and :func:`measure_complexity` counts it with mmengine's
:class:`~mmengine.analysis.FlopAnalyzer`. RoIAlign is an mmcv extension op that the counter
does not see; mmcv v1's counter did not count it either.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from decoupled_rcnn.paths import REPO_ROOT

#: Input image (C, H, W) of the paper's FLOPs counts ("a given size image of 1333x800").
PAPER_INPUT_SHAPE: tuple[int, int, int] = (3, 800, 1333)
#: Proposals fed to the RoI heads, as in MMDetection v2's ``forward_dummy``.
PAPER_NUM_PROPOSALS: int = 1000
#: The workflow config whose networks the paper's rows are counted on.
PAPER_WORKFLOW_CONFIG = REPO_ROOT / "configs" / "workflow" / "paper.yaml"



def build_detector(cfg) -> nn.Module:
    """Build a composed config's detector on the CPU, in eval mode, without loading weights.

    ``init_weights`` is never called, so nothing pretrained is loaded and the weights are the
    modules' default initialisation; counting does not depend on their values.
    """
    from decoupled_rcnn.reproduction.plan.compose import build_model

    return build_model(cfg).eval()


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Count parameters.

    Returns:
        ``{"trainable": n_requires_grad, "total": n_all}``; the paper reports ``trainable``.
    """
    params = list(model.parameters())
    return {
        "trainable": sum(p.numel() for p in params if p.requires_grad),
        "total": sum(p.numel() for p in params),
    }


def paper_proposals(
    num: int = PAPER_NUM_PROPOSALS, img_hw: tuple[int, int] = PAPER_INPUT_SHAPE[1:], seed: int = 0
) -> Tensor:
    """Fixed, valid proposals spread over the image and over the FPN scales.

    The counted FLOPs do not depend on the boxes (RoIAlign is not counted and every RoI goes
    through the same layers); valid boxes only keep every code path well-defined.

    Returns:
        Tensor: (num, 4) boxes ``x1, y1, x2, y2`` inside the image.
    """
    gen = torch.Generator().manual_seed(seed)
    h, w = img_hw
    centers = torch.rand(num, 2, generator=gen) * torch.tensor([w, h])
    sizes = torch.exp(torch.empty(num, 2).uniform_(2.8, 6.2, generator=gen))  # ~16..490 px
    boxes = torch.cat([centers - sizes / 2, centers + sizes / 2], dim=1)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w - 1)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h - 1)
    return boxes


def _flatten_tensors(obj: Any) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, Mapping):
        obj = obj.values()
    if isinstance(obj, Iterable) and not isinstance(obj, str):
        return [t for item in obj for t in _flatten_tensors(item)]
    return []


class PaperFlopsForward(nn.Module):
    """The computation MMDetection v2's ``forward_dummy`` ran, for an mmdet 3 detector.

    Two-stage detectors: ``extract_feat`` -> ``rpn_head`` forward (no proposal decoding, no
    NMS) and ``roi_head.forward`` on ``num_proposals`` fixed boxes. Single-stage detectors:
    ``extract_feat`` -> ``bbox_head`` forward.

    Args:
        detector: an mmdet detector in eval mode.
        num_proposals: number of RoIs pushed through the RoI head.
        img_hw: (H, W) of the input image, used for the proposals and the image meta.
    """

    def __init__(
        self,
        detector: nn.Module,
        num_proposals: int = PAPER_NUM_PROPOSALS,
        img_hw: tuple[int, int] = PAPER_INPUT_SHAPE[1:],
    ) -> None:
        super().__init__()
        self.detector = detector
        self.img_hw = tuple(img_hw)
        self.register_buffer("proposals", paper_proposals(num_proposals, img_hw), persistent=False)

    def _data_sample(self):
        from mmdet.structures import DetDataSample

        h, w = self.img_hw
        return DetDataSample(
            metainfo=dict(
                img_shape=(h, w),
                ori_shape=(h, w),
                pad_shape=(h, w),
                batch_input_shape=(h, w),
                scale_factor=(1.0, 1.0),
            )
        )

    def forward(self, inputs: Tensor) -> tuple[Tensor, ...]:
        """Run the counted computation.

        Args:
            inputs: (1, 3, H, W) image batch.

        Returns:
            Every output tensor of the heads, flattened (kept so tracing keeps the ops).
        """
        from mmengine.structures import InstanceData

        det = self.detector
        feats = det.extract_feat(inputs)
        outputs: list[Tensor] = []
        if getattr(det, "with_rpn", False):
            outputs += _flatten_tensors(det.rpn_head(feats))
        if getattr(det, "with_roi_head", False):
            proposals = [InstanceData(bboxes=self.proposals)]
            outputs += _flatten_tensors(
                det.roi_head.forward(feats, proposals, [self._data_sample()])
            )
        elif getattr(det, "with_bbox", False) or hasattr(det, "bbox_head"):
            outputs += _flatten_tensors(det.bbox_head(feats))
        return tuple(outputs)


def measure_complexity(
    config: str | Path | Any,
    cfg_options: Mapping[str, Any] | None = None,
    input_shape: tuple[int, int, int] = PAPER_INPUT_SHAPE,
    num_proposals: int = PAPER_NUM_PROPOSALS,
    count_flops: bool = True,
) -> dict[str, Any]:
    """Parameters and FLOPs of one config, as plain numbers.

    Args:
        config: a composed mmengine ``Config``
            (:func:`decoupled_rcnn.reproduction.plan.compose.experiment_config`: the network the
            workflow trains), or a config path or ``mmdet::rel/path.py`` (see
            :func:`~decoupled_rcnn.reproduction.plan.compose.load_config`), composed with
            ``cfg_options`` by :func:`~decoupled_rcnn.reproduction.plan.compose.compose_config`.
        cfg_options: dotted-key overrides (with a path only).
        input_shape: (C, H, W) of the single input image.
        num_proposals: RoIs through the RoI head(s).
        count_flops: ``False`` builds the model and counts parameters only (fast).

    Returns:
        dict with ``config`` (as given), ``config_file`` (resolved), ``cfg_options``,
        ``input_shape``, ``num_proposals``, ``params_trainable``, ``params_total`` (counts),
        ``params_trainable_m``, ``params_total_m`` (millions, 2 decimals) and, when
        ``count_flops``, ``flops`` (multiply-adds), ``gflops`` (2 decimals) and
        ``flops_by_module`` (top-level detector children: backbone, neck, rpn_head, ...).
    """
    from mmengine.config import Config

    from decoupled_rcnn.reproduction.plan.compose import compose_config

    if isinstance(config, Config):
        cfg, config_file = config, config.filename or ""
        config = config_file
    else:
        cfg = compose_config(config, cfg_options)
        config_file = cfg.filename
    detector = build_detector(cfg)
    params = count_parameters(detector)
    result: dict[str, Any] = {
        "config": str(config),
        "config_file": config_file,
        "cfg_options": dict(cfg_options or {}),
        "input_shape": list(input_shape),
        "num_proposals": num_proposals,
        "params_trainable": params["trainable"],
        "params_total": params["total"],
        "params_trainable_m": round(params["trainable"] / 1e6, 2),
        "params_total_m": round(params["total"] / 1e6, 2),
    }
    if count_flops:
        flops, by_module = count_flops_of(detector, input_shape, num_proposals)
        result.update(flops=flops, gflops=round(flops / 1e9, 2), flops_by_module=by_module)
    return result


def count_flops_of(
    detector: nn.Module,
    input_shape: tuple[int, int, int] = PAPER_INPUT_SHAPE,
    num_proposals: int = PAPER_NUM_PROPOSALS,
) -> tuple[int, dict[str, int]]:
    """Count the multiply-adds of :class:`PaperFlopsForward` with mmengine's FlopAnalyzer.

    Returns:
        (total FLOPs, FLOPs per top-level child of the detector).
    """
    from mmengine.analysis import FlopAnalyzer

    wrapper = PaperFlopsForward(detector, num_proposals, input_shape[1:]).eval()
    inputs = torch.randn(1, *input_shape, generator=torch.Generator().manual_seed(0))
    analyzer = (
        FlopAnalyzer(wrapper, (inputs,))
        .unsupported_ops_warnings(False)
        .uncalled_modules_warnings(False)
        .tracer_warnings("none")
    )
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        total = int(analyzer.total())
        by_module = analyzer.by_module()
    children = {
        name: int(by_module.get(f"detector.{name}", 0)) for name, _ in detector.named_children()
    }
    return total, {name: flops for name, flops in children.items() if flops}


#: Acceptance: FLOPs within this relative tolerance of the paper's.
FLOPS_REL_TOL = 0.01
#: The manifest's metric keys for model size.
PARAMS_KEY, GFLOPS_KEY = "params_trainable_m", "gflops"


def paper_rows(manifest: Any = None) -> list[dict[str, Any]]:
    """Every manifest row that reports model size and names an experiment (Tables VIII-XI).

    The config and overrides come from the row's experiment (and test setting); the paper's
    values come from the manifest, the one transcription of the paper. Rows of other
    published detectors (Table IX) have no experiment and are not listed.

    Returns:
        Dicts with ``table``, ``row``, ``config``, ``cfg_options``, ``paper_params_m`` and
        ``paper_gflops`` (the paper's values), in the manifest's order.
    """
    from decoupled_rcnn.reproduction.manifest import load_manifest

    manifest = manifest or load_manifest()
    rows = []
    for table in manifest.tables.values():
        for row in table.rows:
            params, gflops = row.paper.get(PARAMS_KEY), row.paper.get(GFLOPS_KEY)
            if row.experiment is None or params is None or gflops is None:
                continue
            exp = manifest.experiments[row.experiment]
            options = {**exp.overrides, **manifest.tests[row.test].overrides}
            rows.append(dict(table=table.id, row=row.name, config=exp.config,
                             cfg_options=options, experiment=exp.id, test=row.test,
                             paper_params_m=params, paper_gflops=gflops))
    return rows


def load_paper_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read a YAML list of rows (same fields as :func:`paper_rows`) for ``--rows``."""
    import yaml

    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    rows = data["rows"] if isinstance(data, Mapping) else data
    required = {"table", "row", "config", "paper_params_m", "paper_gflops"}
    for row in rows:
        missing = required - set(row)
        if missing:
            raise ValueError(f"row {row.get('row')!r} of {path} lacks {sorted(missing)}")
    return rows


def compare_with_paper(row: Mapping[str, Any], measured: Mapping[str, Any]) -> dict[str, Any]:
    """Merge one paper row with its measurement and the differences.

    Returns:
        dict with the row's fields, the measured fields, ``diff_params_m`` (measured trainable
        minus the paper's, millions), ``params_match`` (equal at 2 decimals) and, when FLOPs
        were counted, ``diff_gflops``, ``diff_gflops_pct`` and ``flops_within_tol`` (1 %).
    """
    out: dict[str, Any] = {key: row[key] for key in ("table", "row") if key in row}
    out.update(measured)
    out["paper_params_m"] = row["paper_params_m"]
    out["paper_gflops"] = row["paper_gflops"]
    if row.get("note"):
        out["note"] = row["note"]
    out["diff_params_m"] = round(measured["params_trainable_m"] - row["paper_params_m"], 2)
    out["params_match"] = out["diff_params_m"] == 0
    if "flops" in measured:
        paper_flops = row["paper_gflops"] * 1e9
        out["diff_gflops"] = round(measured["gflops"] - row["paper_gflops"], 2)
        out["diff_gflops_pct"] = round(100 * (measured["flops"] - paper_flops) / paper_flops, 3)
        out["flops_within_tol"] = (
            abs(measured["flops"] - paper_flops) <= FLOPS_REL_TOL * paper_flops
        )
    return out


def measure_paper_rows(
    rows: Iterable[Mapping[str, Any]], count_flops: bool = True,
    workflow_config: Mapping[str, Any] | None = None, **kwargs: Any
) -> list[dict[str, Any]]:
    """Measure every row (each distinct network once) and compare with the paper.

    A row that names a manifest ``experiment`` is built by
    :func:`decoupled_rcnn.reproduction.plan.compose.experiment_config` under ``workflow_config``
    (default: the paper's, ``configs/workflow/paper.yaml``), as the workflow trains it; a row
    of a ``--rows`` file without one is its ``config`` with ``cfg_options``.

    Args:
        rows: rows as returned by :func:`paper_rows` or :func:`load_paper_rows`.
        count_flops: ``False`` counts parameters only.
        workflow_config: a loaded workflow config.
        **kwargs: passed to :func:`measure_complexity` (``input_shape``, ``num_proposals``).

    Returns:
        One :func:`compare_with_paper` dict per row.
    """
    import json

    from decoupled_rcnn.reproduction.manifest import load_manifest
    from decoupled_rcnn.reproduction.plan.compose import compose_config, experiment_config
    from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

    wcfg = workflow_config or load_workflow_config(PAPER_WORKFLOW_CONFIG)
    manifest = load_manifest(REPO_ROOT / wcfg["manifest"])
    cache: dict[str, dict[str, Any]] = {}
    results = []
    for row in rows:
        options = row.get("cfg_options") or {}
        if row.get("experiment"):
            cfg = experiment_config(wcfg, row["experiment"], test_id=row.get("test"),
                                    manifest=manifest)
        else:
            cfg = compose_config(row["config"], options)
        # Rows whose configs build the same network (e.g. 2x vs multi-scale 2x) share a count.
        key = json.dumps(cfg.model.to_dict(), sort_keys=True, default=str)
        if key not in cache:
            cache[key] = measure_complexity(cfg, count_flops=count_flops, **kwargs)
        measured = dict(cache[key])
        measured.update(
            config=str(row["config"]),
            config_file=cfg.filename,
            cfg_options=dict(options),
        )
        results.append(compare_with_paper(row, measured))
    return results

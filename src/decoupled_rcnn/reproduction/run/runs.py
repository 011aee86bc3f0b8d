"""Training and evaluation runs: what the workflow's train and evaluate rules call.

Training resumes from the newest checkpoint in its work dir that loads completely, so a run
killed with SIGKILL continues where it stopped and never trusts a half-written file. Every
output is written to a temporary name and renamed, with its provenance (config, commit,
hardware, wall time) beside it.
"""

from __future__ import annotations

import contextlib
import pickle
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import torch
from mmengine.config import Config, ConfigDict
from mmengine.dist import is_main_process

from decoupled_rcnn.checkpoint import load_checkpoint_file, register_safe_loader
from decoupled_rcnn.provenance import (
    git_commit,
    hardware,
    save_torch_atomic,
    write_atomic,
    write_json_atomic,
)
from decoupled_rcnn.reproduction.plan.compose import import_custom_modules
from decoupled_rcnn.reproduction.run.distributed import images_per_iteration, setup_cpu_distributed
from decoupled_rcnn.reproduction.run.finite_loss import add_finite_loss_hook

__all__ = ["CheckpointMismatchError", "build_runner", "check_checkpoint_matches",
           "discard_stale_checkpoints", "evaluate_experiment", "last_good_checkpoint",
           "remove_resume_checkpoints", "save_weights", "train_experiment"]

register_safe_loader()


def _loads(path: Path) -> bool:
    """Whether ``path`` is a complete checkpoint; a refused (unsafe) one raises instead."""
    try:
        state = load_checkpoint_file(str(path), map_location="cpu")
    except pickle.UnpicklingError:
        raise  # complete but refused: never skip it silently
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile):
        return False  # truncated or unreadable: a run killed while saving
    return isinstance(state, dict) and "state_dict" in state and "meta" in state


def last_good_checkpoint(work_dir: Path) -> Path | None:
    """The newest ``iter_*.pth`` / ``epoch_*.pth`` in ``work_dir`` that loads completely.

    Broken files (a run killed while saving) are renamed to ``*.broken`` so that mmengine's
    own ``last_checkpoint`` bookkeeping never points at them again.
    """
    def order(p: Path) -> int:
        return int(re.findall(r"\d+", p.stem)[-1])

    candidates = sorted([*work_dir.glob("iter_*.pth"), *work_dir.glob("epoch_*.pth")],
                        key=order, reverse=True)
    for path in candidates:
        if _loads(path):
            return path
        # Every rank of a multi-process training looks: the first one moves the file.
        with contextlib.suppress(FileNotFoundError):
            path.rename(path.with_suffix(".pth.broken"))
    return None


def remove_resume_checkpoints(work_dir: Path) -> list[Path]:
    """Delete a finished training's resume checkpoints (``iter_*.pth`` / ``epoch_*.pth``,
    weights and optimizer state, up to 94 MB each in the tiny setting) and mmengine's
    ``last_checkpoint`` pointer; the final weights are elsewhere (``model.pth``).

    ``*.broken`` files (what a kill cut short) stay: they are the record of that kill.

    Returns:
        The files removed.
    """
    removed = []
    for path in [*work_dir.glob("iter_*.pth"), *work_dir.glob("epoch_*.pth"),
                 work_dir / "last_checkpoint"]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def discard_stale_checkpoints(cfg: Config, work_dir: Path) -> None:
    """Start afresh when what this work dir's checkpoints trained is not ``cfg`` any more.

    A changed run definition (a manifest override, a schedule key) reruns the train rule,
    but its work dir still holds the previous definition's resume checkpoints; resuming
    from them would continue another run. Each attempt records a digest of its composed
    config (``run_definition.sha256``, written here only: mmengine rewrites ``config.py`` in
    its own format); when the recorded one differs, the resume checkpoints are removed.
    """
    import hashlib
    import json

    text = json.dumps(cfg.to_dict(), sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()
    record = work_dir / "run_definition.sha256"
    if record.is_file() and record.read_text().strip() != digest:
        removed = remove_resume_checkpoints(work_dir)
        if removed:
            print(f"{work_dir}: the run's definition changed since its checkpoints were "
                  f"written; starting afresh ({len(removed)} resume checkpoints removed)",
                  flush=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(record, lambda f: f.write(digest.encode() + b"\n"))


def build_runner(cfg: Config):
    """The mmengine Runner a training runs: plugin imported, resuming from the newest
    complete checkpoint of the config's work dir (``runner.resumed_from``; None: fresh),
    with a :class:`~decoupled_rcnn.reproduction.run.finite_loss.FiniteLossHook`."""
    from mmengine.runner import Runner

    import_custom_modules(cfg)
    add_finite_loss_hook(cfg)  # every training stops at its first NaN / inf loss
    setup_cpu_distributed(cfg)  # launcher 'pytorch' without CUDA: gloo workers
    work_dir = Path(cfg.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    resume_from = last_good_checkpoint(work_dir)
    if resume_from is not None:
        cfg.resume, cfg.load_from = True, str(resume_from)
    runner = Runner.from_cfg(cfg)
    runner.resumed_from = resume_from
    return runner


def train_experiment(cfg: Config, checkpoint: str | Path, info: str | Path) -> dict[str, Any]:
    """Train ``cfg`` (resuming if its work dir has a usable checkpoint) and publish the result.

    Args:
        cfg: a composed config
            (:func:`decoupled_rcnn.reproduction.plan.compose.compose_config`) with ``work_dir`` set.
        checkpoint: where the final weights go (state_dict and meta only).
        info: where the run's provenance JSON goes.

    Returns:
        The provenance written to ``info``.
    """
    start = time.perf_counter()
    runner = build_runner(cfg)
    work_dir, resume_from = Path(cfg.work_dir), runner.resumed_from
    runner.train()
    wall = time.perf_counter() - start
    images = images_per_iteration(runner)  # every rank takes part in the sum
    if not is_main_process():
        return {}

    model = runner.model.module if hasattr(runner.model, "module") else runner.model
    save_weights(model, {"iter": runner.iter, "epoch": runner.epoch}, checkpoint)
    provenance = {
        "config": cfg.filename or "",
        "work_dir": str(work_dir),
        "iterations": runner.iter,
        "processes": runner.world_size,
        "images_per_iter": images,
        "wall_time_s": round(wall, 1),
        "resumed_from": str(resume_from) if resume_from else None,
        "commit": git_commit(),
        "hardware": hardware(),
        "torch": torch.__version__,
    }
    write_json_atomic(provenance, info)
    return provenance


def save_weights(model: torch.nn.Module, meta: dict[str, Any], checkpoint: str | Path) -> Path:
    """Write a training's final weights (state_dict and meta) all at once or not at all.

    Raises:
        ResultWriteError: e.g. the disk is full: one line naming ``checkpoint``; no temporary
            file is left and an earlier ``checkpoint`` is untouched.
    """
    return save_torch_atomic({"state_dict": model.state_dict(), "meta": meta}, checkpoint)


class CheckpointMismatchError(ValueError):
    """A checkpoint's weights are not the experiment's model's (one-line message)."""


def _keys(keys: list[str], limit: int = 3) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (", ..." if len(keys) > limit else "")


def check_checkpoint_matches(checkpoint: str | Path, model: torch.nn.Module, name: str) -> None:
    """Refuse a checkpoint whose ``state_dict`` is not exactly ``model``'s.

    mmengine loads checkpoints non-strictly and only warns about missing or unexpected keys,
    so a checkpoint of another variant would be evaluated with part of the network at its
    initial weights. This compares key sets and shapes first (``module.`` prefixes of a
    distributed run's weights stripped, as mmengine does).

    Args:
        checkpoint: the weights file.
        model: the model the experiment's config builds.
        name: the experiment (and config) the message names.

    Raises:
        CheckpointMismatchError: one line naming the checkpoint, ``name``, the counts of
            missing / unexpected / shape-mismatched keys and the first few of each.
    """
    state = load_checkpoint_file(str(checkpoint), map_location="cpu")
    weights = state.get("state_dict", state) if isinstance(state, dict) else {}
    weights = {re.sub(r"^module\.", "", k): v for k, v in weights.items()}
    model = model.module if hasattr(model, "module") else model
    expected = model.state_dict()
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    shapes = [f"{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
              if k in weights and hasattr(weights[k], "shape")
              and tuple(weights[k].shape) != tuple(v.shape)]
    problems = [f"{len(found)} {what} ({_keys(found)})"
                for what, found in (("missing keys", missing), ("unexpected keys", unexpected),
                                    ("shape mismatches (checkpoint vs model)", shapes))
                if found]
    if problems:
        raise CheckpointMismatchError(
            f"{checkpoint}: weights do not match the model of {name}: " + "; ".join(problems)
            + "; no metrics written")


def _test_dataset_ann(cfg: Config) -> Path:
    dataset = cfg.test_dataloader.dataset
    ann = Path(dataset.ann_file)
    return ann if ann.is_absolute() else Path(dataset.data_root) / ann


def evaluate_experiment(cfg: Config, checkpoint: str | Path, metrics_out: str | Path,
                        detections_prefix: str | Path, *, server_only: bool = False,
                        voc07: bool = False, name: str | None = None) -> dict[str, Any]:
    """Run the test split through a trained model and write box metrics (or a server zip).

    Args:
        cfg: the composed config with the test setting's overrides merged.
        checkpoint: weights written by :func:`train_experiment`.
        metrics_out: the metrics JSON (AP, AP50 ... APl as fractions, plus provenance).
        detections_prefix: where the detections go (``<prefix>.bbox.json``, and ``.zip``).
        server_only: the split has no public labels (COCO test-dev): write the detections
            JSON and the zip the evaluation server accepts, and no metric values.
        voc07: the primary metrics are VOC07 11-point AP over IoU 0.50:0.05:0.95 (the
            official code's VOC protocol), COCO-style ones beside under ``coco_style``;
            otherwise COCO-style, with the 11-point ones beside under ``voc07_11point``.
        name: what an error calls the experiment (default: the config file).

    Returns:
        What was written to ``metrics_out``.

    Raises:
        CheckpointMismatchError: the checkpoint's weights are not this model's (nothing is
            evaluated or written).
    """
    from mmengine.runner import Runner

    from decoupled_rcnn.evaluation import coco_box_metrics, voc07_box_metrics, voc_box_metrics

    import_custom_modules(cfg)
    metrics_out = Path(metrics_out)
    prefix = Path(detections_prefix)
    ann_file = _test_dataset_ann(cfg)
    cfg.test_evaluator = ConfigDict(type="CocoMetric", metric="bbox", format_only=True,
                                    outfile_prefix=str(prefix), ann_file=str(ann_file))
    cfg.load_from = str(checkpoint)
    cfg.resume = False
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    check_checkpoint_matches(checkpoint, runner.model, name or cfg.filename or "the config")
    runner.test()
    wall = time.perf_counter() - start
    dets = Path(f"{prefix}.bbox.json")
    num_images = len(runner.test_dataloader.dataset)
    result: dict[str, Any] = {
        "status": "ok",
        "detections": str(dets),
        "provenance": {"checkpoint": str(checkpoint), "test_wall_time_s": round(wall, 1),
                       "images": num_images, "commit": git_commit(), "hardware": hardware()},
    }
    if server_only:
        result.update(_submission(dets, metrics_out.parent.name))
    elif voc07:
        result["metrics"] = voc_box_metrics(ann_file, dets)
    else:
        result["metrics"] = {**coco_box_metrics(ann_file, dets),
                             "voc07_11point": voc07_box_metrics(ann_file, dets)}
    write_json_atomic(result, metrics_out)
    return result


def _submission(dets: Path, name: str) -> dict[str, Any]:
    """Zip detections as the COCO test-dev server takes them; what the metrics file says."""
    archive = dets.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(dets, arcname=f"detections_test-dev2017_{name}_results.json")
    return {"submission": str(archive), "metrics": {},
            "note": "COCO test-dev has no public labels: submit the zip to the COCO detection "
                    "evaluation server (codalab), bbox track."}

"""Stop a training at the first non-finite loss, naming the run, the iteration and the terms.

mmdet's ``CheckInvalidLossHook`` looks every 50 iterations and fails with a bare assertion;
a NaN there would already have been written into checkpoints and, worse, a run that "finished"
would be scored. :class:`FiniteLossHook` looks after every iteration, before the checkpoint
hook (its priority is higher), and raises :class:`NonFiniteLossError` with one line::

    voc_r101_dec seed 0: loss is nan at iteration 37 (s1.loss_bbox=nan, loss=nan); training stopped

Every training gets it: :func:`add_finite_loss_hook` is called by the train rule's
``run_training`` (with the experiment and seed as the label) and by ``build_runner``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

__all__ = ["FiniteLossHook", "NonFiniteLossError", "add_finite_loss_hook", "non_finite_terms"]

HOOK_TYPE = "FiniteLossHook"


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite; the message is one line."""


def _as_float(value: Any) -> float | None:
    try:
        if hasattr(value, "detach"):
            value = value.detach().float().mean().item()
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return None


def non_finite_terms(outputs: Mapping[str, Any]) -> dict[str, float]:
    """The loss terms of one iteration's outputs (keys containing ``loss``) that are not finite."""
    bad = {}
    for key, value in outputs.items():
        if "loss" not in key:
            continue
        number = _as_float(value)
        if number is not None and not math.isfinite(number):
            bad[key] = number
    return bad


@HOOKS.register_module(name=HOOK_TYPE, force=True)
class FiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` after the first iteration whose loss is not finite.

    Args:
        label: what the message calls the run (e.g. ``"<experiment> seed <k>"``).
    """

    priority = "VERY_HIGH"  # before CheckpointHook (VERY_LOW): a NaN model is never saved

    def __init__(self, label: str = "training") -> None:
        self.label = label

    def after_train_iter(self, runner, batch_idx: int, data_batch: Any = None,
                         outputs: Mapping[str, Any] | None = None) -> None:
        """Check the iteration's loss terms; ``runner.iter`` is the 0-based iteration just run."""
        bad = non_finite_terms(outputs or {})
        if not bad:
            return
        kind = "nan" if any(math.isnan(v) for v in bad.values()) else "inf"
        # The terms first, the total (``loss``) last.
        ordered = sorted(bad.items(), key=lambda kv: kv[0] == "loss")
        terms = ", ".join(f"{k}={v}" for k, v in ordered)
        raise NonFiniteLossError(f"{self.label}: loss is {kind} at iteration {runner.iter + 1} "
                                 f"({terms}); training stopped")


def add_finite_loss_hook(cfg: Any, label: str | None = None) -> None:
    """Put a :class:`FiniteLossHook` into ``cfg.custom_hooks`` (once; a label replaces none).

    Args:
        cfg: an mmengine config about to train.
        label: the run's name in the error (default: the config's ``work_dir``).
    """
    hooks = list(cfg.get("custom_hooks") or [])
    for hook in hooks:
        if hook.get("type") == HOOK_TYPE:
            if label:
                hook["label"] = label
            cfg.custom_hooks = hooks
            return
    hooks.append({"type": HOOK_TYPE, "label": label or str(cfg.get("work_dir", "training"))})
    cfg.custom_hooks = hooks

"""A training's failure record: why the newest attempt of an experiment and seed failed.

The train rule's :func:`~decoupled_rcnn.reproduction.pipeline.run_training` runs inside
:func:`recording_failure`: a new attempt removes the record, a failed one writes it (layout
kind ``train_failed``, ``<train dir>/failed.json``) and re-raises. The tables and report read
it (:func:`decoupled_rcnn.reproduction.results.read.read_declared`): that experiment is *failed*,
with the reason, and never shows a number.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator, Mapping

from decoupled_rcnn.provenance import write_json_atomic
from decoupled_rcnn.reproduction.plan.layout import Layout

__all__ = ["EarlierFailureError", "failure_text", "recording_failure", "refuse_retry"]


class EarlierFailureError(RuntimeError):
    """A retry of a training whose previous allocation failed (not at its time limit)."""


def failure_text(err: BaseException, experiment_id: str, seed: int, processes: int = 1) -> str:
    """One line saying why a training failed, starting with the experiment and seed."""
    if isinstance(err, subprocess.CalledProcessError):
        return (f"{experiment_id} seed {seed}: {processes} training processes failed (exit "
                f"status {err.returncode}); see the training log")
    text = " ".join(str(err).split()) or type(err).__name__
    return text if text.startswith(experiment_id) else f"{experiment_id} seed {seed}: {text}"


@contextlib.contextmanager
def recording_failure(layout: Layout, found: Mapping[str, str], experiment_id: str, seed: int,
                      processes: int = 1) -> Iterator[None]:
    """Remove the failure record of ``found`` (experiment, seed), and write it if the body fails.

    Args:
        layout: the results layout.
        found: the ``experiment`` and ``seed`` wildcards of the training.
        experiment_id: the experiment, for the message.
        seed: the seed, for the message.
        processes: training processes (named when the torchrun launch fails).
    """
    record = layout.path("train_failed", **found)
    record.unlink(missing_ok=True)  # a new attempt: an earlier failure no longer speaks for it
    try:
        yield
    except Exception as err:
        payload = {"status": "failed", "experiment": experiment_id, "seed": seed,
                   "error": failure_text(err, experiment_id, seed, processes),
                   "log": str(layout.path("train_log", **found))}
        with contextlib.suppress(OSError):  # a full disk: the training's own error wins
            write_json_atomic(payload, record)
        raise


def refuse_retry(layout: Layout, found: Mapping[str, str], allocation: int) -> None:
    """Refuse a retry (``allocation`` > 1) of a training whose failure record stands.

    Snakemake's ``retries`` exist for trainings stopped at their job's time limit, which leave
    no failure record; a NaN loss or a crash would only fail again, on GPU time.

    Raises:
        EarlierFailureError: one line: the allocation, and the recorded failure's reason.
    """
    record = layout.path("train_failed", **found)
    if allocation > 1 and record.is_file():
        reason = json.loads(record.read_text()).get("error", "see the training log")
        raise EarlierFailureError(
            f"allocation {allocation}: not retrying, the previous allocation failed: {reason} "
            "(retries continue trainings stopped at their time limit only)")

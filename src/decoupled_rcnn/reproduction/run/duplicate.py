"""One live training per experiment and seed: the Slurm job id recorded in its work dir.

If the Snakemake driver dies, its Slurm jobs keep running; ``--unlock`` and a rerun would
then start a second training into the same work dir (two writers of one checkpoint series).
A training records ``$SLURM_JOB_ID`` in its work dir and refuses to start while the job
recorded there is still alive in Slurm (``squeue``), naming it and ``scancel``. A requeued
job keeps its id, so it passes its own record.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["JOB_FILE", "LIVE_STATES", "DuplicateTrainingError", "claim_work_dir",
           "slurm_job_state"]

#: The file in a training's work dir that names the Slurm job training it.
JOB_FILE = "slurm_job_id"
#: squeue states of a job that may still write checkpoints.
LIVE_STATES = frozenset({"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED",
                         "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING",
                         "STOPPED", "STAGE_OUT"})


class DuplicateTrainingError(RuntimeError):
    """Another live Slurm job trains this experiment and seed (one-line message)."""


def slurm_job_state(job_id: str) -> str | None:
    """The job's state as ``squeue`` shows it; None: unknown to Slurm (ended) or no Slurm."""
    if shutil.which("squeue") is None:
        return None
    out = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True,
                         text=True, timeout=60)
    state = out.stdout.strip().splitlines()
    return state[0].strip() if out.returncode == 0 and state else None


def claim_work_dir(work_dir: str | Path, name: str, job_id: str | None = None) -> None:
    """Refuse to train while another live job trains into ``work_dir``; else record ours.

    Args:
        work_dir: the training's work dir (checkpoints).
        name: what the message calls the run (``voc_r50_dec seed 0``).
        job_id: this job's id (default: ``$SLURM_JOB_ID``; none outside Slurm: nothing
            recorded, a recorded live job still refuses).

    Raises:
        DuplicateTrainingError: one line naming the other job, its state and ``scancel``.
    """
    job_id = job_id if job_id is not None else os.environ.get("SLURM_JOB_ID")
    record = Path(work_dir) / JOB_FILE
    other = record.read_text().strip() if record.is_file() else ""
    if other and other != job_id:
        state = slurm_job_state(other)
        if state in LIVE_STATES:
            raise DuplicateTrainingError(
                f"{name} is being trained by Slurm job {other} ({state}, recorded in "
                f"{record}); not starting a second training into {work_dir}: wait for it, "
                f"or stop it with `scancel {other}` and rerun")
    if job_id:
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_name(f".{JOB_FILE}.{os.getpid()}")
        tmp.write_text(f"{job_id}\n")
        tmp.replace(record)

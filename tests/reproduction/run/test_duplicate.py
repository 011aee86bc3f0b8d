"""The duplicate-job guard: one live Slurm job per experiment and seed (squeue faked)."""

from __future__ import annotations

import pytest

from decoupled_rcnn.reproduction.run import duplicate
from decoupled_rcnn.reproduction.run.duplicate import (
    JOB_FILE,
    DuplicateTrainingError,
    claim_work_dir,
)


@pytest.fixture()
def squeue(monkeypatch):
    """job id -> state squeue shows; absent: Slurm no longer knows the job."""
    states: dict[str, str] = {}
    monkeypatch.setattr(duplicate, "slurm_job_state", states.get)
    return states


def test_a_live_job_on_the_same_run_refuses_a_second_one(tmp_path, squeue):
    claim_work_dir(tmp_path, "voc_r50_dec seed 0", job_id="101")
    assert (tmp_path / JOB_FILE).read_text() == "101\n"
    squeue["101"] = "RUNNING"
    with pytest.raises(DuplicateTrainingError) as err:
        claim_work_dir(tmp_path, "voc_r50_dec seed 0", job_id="202")
    message = str(err.value)
    assert "\n" not in message
    assert "voc_r50_dec seed 0 is being trained by Slurm job 101 (RUNNING" in message
    assert "`scancel 101`" in message
    assert (tmp_path / JOB_FILE).read_text() == "101\n"  # the live job's record stays


def test_an_ended_job_or_our_own_requeued_one_passes(tmp_path, squeue):
    claim_work_dir(tmp_path, "x", job_id="101")
    claim_work_dir(tmp_path, "x", job_id="101")  # requeued: same id, passes its own record
    claim_work_dir(tmp_path, "x", job_id="202")  # 101 ended (squeue forgot it)
    assert (tmp_path / JOB_FILE).read_text() == "202\n"
    squeue["202"] = "COMPLETED"  # still listed (MinJobAge) but not live
    claim_work_dir(tmp_path, "x", job_id="303")
    assert (tmp_path / JOB_FILE).read_text() == "303\n"


def test_outside_slurm_nothing_is_recorded_but_a_live_job_still_refuses(tmp_path, squeue,
                                                                         monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    claim_work_dir(tmp_path, "x")
    assert not (tmp_path / JOB_FILE).exists()
    (tmp_path / JOB_FILE).write_text("101\n")
    squeue["101"] = "PENDING"
    with pytest.raises(DuplicateTrainingError, match="Slurm job 101 \\(PENDING"):
        claim_work_dir(tmp_path, "x")


def test_no_squeue_means_no_slurm_to_ask(monkeypatch):
    monkeypatch.setattr(duplicate.shutil, "which", lambda name: None)
    assert duplicate.slurm_job_state("101") is None

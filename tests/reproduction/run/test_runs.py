"""Choosing the checkpoint to resume from after an interrupted run."""

from __future__ import annotations

import pickle
import re

import pytest
import torch

from decoupled_rcnn.reproduction.run.runs import last_good_checkpoint


def _save(path, iteration):
    torch.save({"state_dict": {"w": torch.full((2,), float(iteration))},
                "meta": {"iter": iteration}}, path)


def test_newest_complete_checkpoint_wins_and_truncated_ones_are_set_aside(tmp_path):
    _save(tmp_path / "iter_2.pth", 2)
    _save(tmp_path / "iter_10.pth", 10)  # numeric order, not lexical: 10 > 2
    (tmp_path / "iter_12.pth").write_bytes((tmp_path / "iter_10.pth").read_bytes()[:500])
    assert last_good_checkpoint(tmp_path) == tmp_path / "iter_10.pth"
    assert (tmp_path / "iter_12.pth.broken").exists()
    assert not (tmp_path / "iter_12.pth").exists()


def test_no_checkpoint_means_start_fresh(tmp_path):
    assert last_good_checkpoint(tmp_path) is None


def test_a_refused_checkpoint_is_an_error_not_a_skip(tmp_path):
    torch.save({"state_dict": {}, "meta": {"x": __import__("datetime").date(2020, 1, 1)}},
               tmp_path / "iter_4.pth")
    with pytest.raises(pickle.UnpicklingError):
        last_good_checkpoint(tmp_path)
    assert (tmp_path / "iter_4.pth").exists()


# --- Evaluation refuses weights that are not the experiment's model ---------------------

DECOUPLED = "voc_r101_dec_c3_reg085_l100"


@pytest.fixture(scope="module")
def eval_setting(tmp_path_factory):
    """A stand-in workflow config (no data needed: the check runs before any image is read)."""
    from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

    tmp = tmp_path_factory.mktemp("mismatch")
    wcfg = load_workflow_config(None, {"results_dir": str(tmp / "results"),
                                       "report": str(tmp / "index.html"),
                                       "model": {"tiny": True, "pretrained": False}})
    return wcfg, tmp


def _weights_of(wcfg, experiment, path, classes=None):
    from decoupled_rcnn.reproduction.plan.compose import build_model, experiment_config
    from decoupled_rcnn.reproduction.plan.config_parts import set_num_classes

    cfg = experiment_config(wcfg, experiment)
    if classes is not None:
        set_num_classes(cfg.model, classes)
    torch.manual_seed(0)
    torch.save({"state_dict": build_model(cfg).state_dict(), "meta": {"iter": 1}}, path)
    return path


def _evaluate(wcfg, tmp, checkpoint):
    from decoupled_rcnn.reproduction.plan.compose import experiment_config
    from decoupled_rcnn.reproduction.run.runs import evaluate_experiment

    cfg = experiment_config(wcfg, DECOUPLED, test_id="default", work_dir=tmp / "work")
    metrics = tmp / "metrics.json"
    try:
        evaluate_experiment(cfg, checkpoint, metrics, tmp / "detections",
                            name=f"experiment {DECOUPLED}")
    finally:
        assert not metrics.exists()  # nothing written on refusal


def test_evaluation_refuses_another_variants_checkpoint(eval_setting):
    from decoupled_rcnn.reproduction.run.runs import CheckpointMismatchError

    wcfg, tmp = eval_setting
    ckpt = _weights_of(wcfg, "voc_r101_faster", tmp / "faster.pth")
    with pytest.raises(CheckpointMismatchError) as err:
        _evaluate(wcfg, tmp, ckpt)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{ckpt}: weights do not match the model of experiment {DECOUPLED}")
    # The Decoupled R-CNN's separate classification heads vs Faster R-CNN's one bbox head.
    assert re.search(r": \d+ missing keys \(roi_head\.cls_heads\.0\.", message), message
    assert re.search(r"; \d+ unexpected keys \(roi_head\.bbox_head\.fc_cls\.", message)
    assert message.endswith("no metrics written")


def test_evaluation_refuses_a_checkpoint_with_other_shapes(eval_setting):
    from decoupled_rcnn.reproduction.run.runs import CheckpointMismatchError

    wcfg, tmp = eval_setting
    ckpt = _weights_of(wcfg, DECOUPLED, tmp / "seven_classes.pth", classes=7)
    shapes = (r"\d+ shape mismatches \(checkpoint vs model\) \(roi_head\.\S+ "
              r"\(\d+(, \d+)*\) vs \(\d+(, \d+)*\)")
    with pytest.raises(CheckpointMismatchError, match=shapes) as err:
        _evaluate(wcfg, tmp, ckpt)
    assert "missing keys" not in str(err.value) and "unexpected keys" not in str(err.value)


def test_the_matching_checkpoint_passes_the_check(eval_setting):
    from decoupled_rcnn.reproduction.plan.compose import build_model, experiment_config
    from decoupled_rcnn.reproduction.run.runs import check_checkpoint_matches

    wcfg, tmp = eval_setting
    ckpt = _weights_of(wcfg, DECOUPLED, tmp / "same.pth")
    check_checkpoint_matches(ckpt, build_model(experiment_config(wcfg, DECOUPLED)), DECOUPLED)


def test_test_dev_detections_are_zipped_as_the_server_takes_them(tmp_path):
    import zipfile

    from decoupled_rcnn.reproduction.run import runs

    dets = tmp_path / "dets.bbox.json"
    dets.write_text("[]")
    written = runs._submission(dets, "coco_r50")
    assert written["metrics"] == {} and written["submission"] == str(tmp_path / "dets.bbox.zip")
    with zipfile.ZipFile(written["submission"]) as zf:
        assert zf.namelist() == ["detections_test-dev2017_coco_r50_results.json"]
        assert zf.read(zf.namelist()[0]) == b"[]"


# --- A finished training's resume checkpoints go -----------------------------------------


def test_resume_checkpoints_are_removed_and_the_rest_stays(tmp_path):
    from decoupled_rcnn.reproduction.run.runs import remove_resume_checkpoints

    for name in ("iter_100.pth", "iter_200.pth", "epoch_1.pth", "last_checkpoint",
                 "iter_150.pth.broken", "config.py"):
        (tmp_path / name).write_bytes(b"x")
    removed = remove_resume_checkpoints(tmp_path)
    assert sorted(p.name for p in removed) == ["epoch_1.pth", "iter_100.pth", "iter_200.pth",
                                               "last_checkpoint"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.py", "iter_150.pth.broken"]
    assert remove_resume_checkpoints(tmp_path) == []  # the empty case: nothing to remove
    assert last_good_checkpoint(tmp_path) is None  # a rerun would start fresh


def test_a_train_jobs_finished_seeds_lose_their_resume_checkpoints(tmp_path):
    from decoupled_rcnn.reproduction.pipeline import finish_trainings
    from decoupled_rcnn.reproduction.plan.layout import Layout

    wcfg = {"results_dir": str(tmp_path / "results"), "report": str(tmp_path / "index.html")}
    layout = Layout.from_config(wcfg)
    checkpoints = []
    for seed in (0, 1):
        work = layout.path("train_work", experiment="e", seed=seed)
        work.mkdir(parents=True)
        (work / "iter_2.pth").write_bytes(b"x")
        checkpoints.append(layout.path("checkpoint", experiment="e", seed=seed))
    checkpoints[0].write_bytes(b"weights")  # seed 1 has no final weights: its training failed
    finish_trainings(wcfg, checkpoints)
    assert not (checkpoints[0].parent / "work" / "iter_2.pth").exists()
    assert (checkpoints[1].parent / "work" / "iter_2.pth").exists()  # kept to resume from


# --- A changed run definition never resumes the old definition's checkpoints -------------


def test_a_changed_definition_starts_afresh_and_an_unchanged_one_resumes(eval_setting, capsys):
    from decoupled_rcnn.reproduction.plan.compose import experiment_config
    from decoupled_rcnn.reproduction.run.runs import discard_stale_checkpoints

    wcfg, tmp = eval_setting
    work = tmp / "stale" / "work"
    cfg = experiment_config(wcfg, DECOUPLED, seed=0, work_dir=work)
    discard_stale_checkpoints(cfg, work)  # first attempt: records the definition
    _save(work / "iter_100.pth", 100)
    (work / "config.py").write_text("# mmengine rewrites this in its own format\n")
    again = experiment_config(wcfg, DECOUPLED, seed=0, work_dir=work)
    discard_stale_checkpoints(again, work)  # same definition: keep, resume from it
    assert (work / "iter_100.pth").exists()
    changed = experiment_config(wcfg, DECOUPLED, seed=0, work_dir=work)
    changed.model.roi_head.reg_loss_weight = 0.9  # e.g. a manifest override edited
    discard_stale_checkpoints(changed, work)
    assert not (work / "iter_100.pth").exists() and last_good_checkpoint(work) is None
    assert "definition changed" in capsys.readouterr().out
    assert sorted(p.name for p in work.iterdir()) == ["config.py", "run_definition.sha256"]

"""`decoupled-rcnn recipe`: what each row of a table runs, without training."""

from __future__ import annotations

from decoupled_rcnn import cli


def test_recipe_names_experiment_chain_overrides_and_composed_settings(tmp_path, capsys):
    config = tmp_path / "workflow.yaml"
    config.write_text(f"tables: [VII, VIII]\nseeds: 2\nresults_dir: {tmp_path / 'results'}\n"
                      f"report: {tmp_path / 'reports' / 'index.html'}\n")
    assert cli.main(["recipe", "VIII", "4", "--configfile", str(config)]) == 0
    out = capsys.readouterr().out
    assert "experiment: coco1x_r101_faster (same run as voc_r101_faster)" in out
    assert "configs/faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py <- " in out
    assert "mmdet::_base_/models/faster-rcnn_r50_fpn.py" in out  # the _base_ chain
    assert "seeds [0, 1]" in out and "(and seeds [1])" in out
    assert "trains to: " in out and "voc_r101_faster/seed0/train/model.pth" in out
    assert "model.backbone.depth = 34" in out  # the tiny R101 stand-in, composed
    assert "train_cfg = {'type': 'IterBasedTrainLoop', 'max_iters': 200" in out
    assert cli.main(["recipe", "VIII", "99", "--configfile", str(config)]) == 2


def test_recipe_full_prints_the_whole_composed_config(tmp_path, capsys):
    config = tmp_path / "workflow.yaml"
    config.write_text(f"tables: [V]\nresults_dir: {tmp_path / 'results'}\n"
                      f"report: {tmp_path / 'reports' / 'index.html'}\n")
    assert cli.main(["recipe", "V", "2", "--configfile", str(config), "--full"]) == 0
    out = capsys.readouterr().out
    assert "composed config (all):" in out
    # Keys the short form leaves out, printed as mmengine's pretty_text (unformatted: the
    # composed configs skip yapf, see plan.compose.load_config).
    assert "    default_hooks=dict(" in out and "    test_evaluator=dict(" in out
    assert "reg_nms=dict(\n                    iou_threshold=0.85," in out  # row 2: NMS_reg 0.85

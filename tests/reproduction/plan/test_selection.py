"""What a workflow config runs: seeds, identical runs once (stand-in data), evaluations."""

from __future__ import annotations

import pytest

from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.plan.selection import run_digests, seeds_of, select
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config


def test_seeds_follow_seed_and_count():
    assert seeds_of({"seed": 3, "seeds": 2}) == [3, 4]
    assert seeds_of({"seed": 0}) == [0]


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    root = tmp_path_factory.mktemp("selection")
    return load_workflow_config(overrides={
        "tables": ["VII", "VIII"], "results_dir": str(root / "results"),
        "report": str(root / "reports" / "index.html")})


def test_rows_that_compose_to_one_run_train_once_on_stand_in_data(stand_in):
    selection = select(stand_in)
    # VOC and COCO rows of the same model and overrides become one run on the stand-in data;
    # the COCO single-regressor Decoupled rows keep lambda 0.5 (official code), VOC's 1.
    assert selection.aliases == {
        "coco1x_r50_faster": "voc_r50_faster", "coco1x_r50_dec_c3": "voc_r50_dec_c3",
        "coco1x_r101_faster": "voc_r101_faster",
        "coco1x_r101_dec_c3": "voc_r101_dec_c3_reg085_l050"}
    assert len(selection.experiments) == 15 - 4
    assert not set(selection.aliases) & set(selection.experiments)
    assert all(ev.experiment in selection.experiments for ev in selection.evaluations)
    assert selection.run_of("coco1x_r101_faster") == "voc_r101_faster"
    assert selection.seeds == (0, 1, 2, 3, 4)  # default.yaml: seeds 5
    assert set(selection.variants) == {"r50", "r101", "x101_32x4d"}
    layout = Layout.from_config(stand_in)
    assert len(selection.metrics_files(layout)) == 5 * len(selection.evaluations)  # 5 seeds


def test_the_cache_gives_the_same_answer(stand_in):
    assert select(stand_in).aliases == select(stand_in).aliases


def test_on_the_papers_data_every_experiment_is_its_own_run(tmp_path):
    paper = load_workflow_config("configs/workflow/paper.yaml", {
        "tables": ["VII", "VIII"], "results_dir": str(tmp_path / "results")})
    selection = select(paper)
    assert selection.aliases == {} and len(selection.experiments) == 15
    assert selection.seeds == (0,) and selection.variants == ()
    assert not (tmp_path / "results" / ".cache").exists()  # nothing composed


TABLE_V = ("voc_r101_dec_c3_reg070_l100", "voc_r101_dec_c3_reg085_l100")


def _table_v(root, **changes):
    return load_workflow_config(overrides={
        "tables": ["V"], "results_dir": str(root / "results"),
        "report": str(root / "reports" / "index.html"), **changes})


def test_a_changed_override_changes_only_that_experiments_run_digest(tmp_path):
    from decoupled_rcnn.paths import REPO_ROOT

    wcfg = _table_v(tmp_path)
    before = run_digests(wcfg, select(wcfg))
    assert set(before) == set(TABLE_V)  # Table V's two trainings
    text = (REPO_ROOT / wcfg["manifest"]).read_text()
    old = ("reg_nms.iou_threshold: 0.7, model.roi_head.num_stages: 3, "
           "model.roi_head.reg_loss_weight: 1.0}")
    assert text.count(old) == 1
    copy = tmp_path / "manifest.yaml"
    copy.write_text(text.replace(old, old.replace("1.0}", "0.9}")))
    changed = _table_v(tmp_path, manifest=str(copy))
    after = run_digests(changed, select(changed))
    assert after[TABLE_V[0]]["run"] != before[TABLE_V[0]]["run"]
    assert after[TABLE_V[1]] == before[TABLE_V[1]]
    assert after[TABLE_V[0]]["tests"] == before[TABLE_V[0]]["tests"]  # test-time: unchanged


def test_a_changed_schedule_changes_every_run_digest_and_no_test_digest(tmp_path):
    wcfg = _table_v(tmp_path)
    before = run_digests(wcfg, select(wcfg))
    longer = _table_v(tmp_path, schedule={"short": {"iters": wcfg["schedule"]["short"]["iters"]
                                                    + 100}})
    after = run_digests(longer, select(longer))
    assert all(after[e]["run"] != before[e]["run"] for e in TABLE_V)
    assert all(after[e]["tests"] == before[e]["tests"] for e in TABLE_V)

"""Tables from fixed metrics files: measured, paper, delta and the status of every cell."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from decoupled_rcnn.tables import (
    build_cells,
    build_table,
    estimate_gpu_hours,
    load_results,
    normalize_results,
    plan_table,
    write_tables,
)

METRICS = Path(__file__).parent / "data" / "metrics"


def _cell(cells: pd.DataFrame, table: str, row: int, column: str) -> pd.Series:
    found = cells[(cells.table == table) & (cells.row == row) & (cells.column == column)]
    assert len(found) == 1
    return found.iloc[0]


def test_load_results_finds_the_fixture_layout(manifest):
    results = load_results(manifest, METRICS)
    assert set(results) == {
        "voc_r101_dec_reg085/default", "voc_r101_dec_reg070/default", "voc_r50_dec/default",
        "coco2x_r101_dec_c3/testdev", "coco1x_r101_cascade_rcnn/stage_1_1",
        "coco1x_r101_cascade_rcnn/stage_3_mean",
    }
    merged = results["voc_r101_dec_reg085/default"]
    assert merged.metrics["AP"] == 0.552 and merged.metrics["s_per_img"] == 0.25
    assert merged.value("AP", accuracy=True) == 55.2  # fractions are shown in percent
    assert merged.value("s_per_img", accuracy=False) == 0.25
    assert merged.provenance["commit"] == "0123abc"  # the evaluation's provenance wins
    assert results["voc_r101_dec_reg070/default"].status == "failed"


def test_measured_paper_and_delta(cells):
    cell = _cell(cells, "III", 4, "AP")
    assert cell.status == "ok" and cell.measured == 55.2 and cell.paper == 56.6
    assert cell.delta == pytest.approx(55.2 - 56.6)
    bench = _cell(cells, "VII", 5, "s_per_img")  # from the experiment-level benchmark.json
    assert bench.status == "ok" and bench.measured == 0.25 and bench.paper == 0.108


def test_one_run_fills_every_row_that_uses_it(cells):
    for table, row in (("III", 4), ("IV", 1), ("VII", 5)):
        assert _cell(cells, table, row, "AP90").measured == 20.3


def test_failed_and_missing_are_never_numbers(cells):
    for table, row in (("II", 4), ("III", 1)):
        cell = _cell(cells, table, row, "AP")
        assert cell.status == "failed" and math.isnan(cell.measured) and math.isnan(cell.delta)
    missing = _cell(cells, "III", 2, "AP")
    assert missing.status == "missing" and math.isnan(missing.measured)
    assert missing.paper == 55.3  # the paper's value is still there
    partial = cells[(cells.table == "VII") & (cells.row == 2)].set_index("column")
    assert partial.loc["AP", "status"] == "ok" and partial.loc["AP", "measured"] == 52.0
    assert partial.loc["AP90", "status"] == "undefined"  # written as null by the evaluation
    assert (partial.drop(index=["AP", "AP90"])["status"] == "missing").all()
    assert partial.drop(index="AP")["measured"].isna().all()


def test_test_dev_published_and_na(cells):
    ours = cells[(cells.table == "IX") & (cells.row == 32)].set_index("column")
    assert (ours.loc[["AP", "AP50", "AP75", "APs", "APm", "APl"], "status"] == "server").all()
    assert ours.loc["AP", "measured"] != ours.loc["AP", "measured"]  # NaN
    assert ours.loc["gflops", "status"] == "ok" and ours.loc["gflops", "measured"] == 337.4
    plus = _cell(cells, "IX", 33, "s_per_img")  # same model, soft-NMS: not benchmarked yet
    assert plus.status == "missing" and plus.evaluation == "coco2x_r101_dec_c3/testdev_softnms"
    des = _cell(cells, "IX", 1, "s_per_img")
    assert des.status == "published" and des.paper_na and math.isnan(des.paper)
    published = cells[(cells.table == "IX") & (cells.status == "published")]
    assert published["measured"].isna().all() and published["row"].nunique() == 31


def test_table_x_columns_use_their_stage_pair(cells):
    row = cells[(cells.table == "X") & (cells.row == 1)].set_index("column")
    assert row.loc["stage_1_1", "measured"] == 38.1
    assert row.loc["stage_1_1", "evaluation"] == "coco1x_r101_cascade_rcnn/stage_1_1"
    assert row.loc["stage_3_mean", "measured"] == 41.6
    assert row.loc["stage_3_mean", "delta"] == pytest.approx(41.6 - 42.0)
    assert row.loc["stage_2_1", "status"] == "missing"
    assert (cells[(cells.table == "X") & (cells.row == 2)]["status"] == "missing").all()


def test_build_table_layout_and_row_status(manifest, cells):
    table = build_table(manifest, "VII", cells)
    assert list(table["row"]) == [1, 2, 3, 4, 5, 6]
    assert list(table.columns[:4]) == ["row", "Backbone", "Method", "Cascaded Regression"]
    assert {"AP_measured", "AP_paper", "AP_delta", "AP_status"} <= set(table.columns)
    assert list(table["status"]) == ["missing", "partial", "missing", "missing", "ok", "missing"]
    assert table.loc[4, "AP_paper"] == 56.6 and table.loc[4, "AP_measured"] == 55.2
    assert build_table(manifest, "III", cells).loc[0, "status"] == "failed"
    ix = build_table(manifest, "IX", cells)
    assert (ix["status"][:31] == "published").all() and ix.loc[31, "status"] == "partial"


def test_write_tables_csv_keeps_missing_empty(manifest, tmp_path):
    written = write_tables(manifest, load_results(manifest, METRICS), tmp_path)
    assert set(written) == set(manifest.tables) | {"cells"}
    table = pd.read_csv(written["III"])
    assert table.loc[3, "AP_measured"] == 55.2 and table.loc[3, "AP_paper"] == 56.6
    assert table["AP_measured"].isna().sum() == 5
    line = written["III"].read_text().splitlines()[2]  # row 2: missing
    assert ",missing," in line and ",55.3," in line
    assert len(pd.read_csv(written["cells"])) == sum(
        len(t.rows) * len(t.columns) for t in manifest.tables.values())


def test_normalize_results_accepts_dicts_paths_and_bare_ids(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    results = normalize_results({
        "voc_r50_faster": {"AP": 0.5, "note": "text is ignored"},
        "voc_r50_dec/default": str(METRICS / "voc_r50_dec" / "default" / "metrics.json"),
        "voc_r50_dec_c3": bad,
        "voc_r101_faster": {"metrics": {"AP": float("nan")}},
    })
    assert results["voc_r50_faster/default"].metrics == {"AP": 0.5}
    assert results["voc_r50_dec/default"].value("AP", accuracy=True) == 52.0
    assert results["voc_r50_dec_c3/default"].status == "failed"
    assert "unreadable" in results["voc_r50_dec_c3/default"].error
    assert results["voc_r101_faster/default"].metrics == {}  # NaN is not a measurement


def test_units(manifest):
    results = normalize_results({
        "voc_r50_faster": {"units": "percent", "metrics": {"AP": 50.6}},
        "voc_r50_dec": {"units": "permille", "metrics": {"AP": 506}},
    })
    assert results["voc_r50_faster/default"].value("AP", accuracy=True) == 50.6
    assert results["voc_r50_dec/default"].status == "failed"
    cells = build_cells(manifest, results)
    assert _cell(cells, "VII", 1, "AP").measured == 50.6
    assert _cell(cells, "VII", 1, "AP").delta == pytest.approx(0.0)
    assert _cell(cells, "VII", 2, "AP").status == "failed"


def test_empty_results_give_no_numbers(manifest):
    cells = build_cells(manifest, {})
    assert cells["measured"].isna().all()
    assert set(cells["status"]) == {"missing", "published", "server"}


def test_plan_and_gpu_hours(manifest):
    plan = plan_table(manifest).set_index("table")
    total = sum(estimate_gpu_hours(manifest, e.id) for e in manifest.unique_experiments())
    assert plan["gpu_hours_new"].sum() == pytest.approx(total)
    assert plan.loc["VII", "gpu_hours_alone"] > plan.loc["VII", "gpu_hours_new"]
    assert plan.loc["IX", "experiments"] == 5 and plan.loc["X", "evaluations"] == 12
    assert plan.loc["I", "shared"] == 0 and plan.loc["VIII", "shared"] == 4
    # 12 epochs x ceil(16551 / 8) iterations x 0.30 s x factor 1.3 on 4 GPUs, plus one pass
    # over the 4952 VOC07 test images at 0.10 s x 1.3 (the manifest's labelled estimates).
    voc = estimate_gpu_hours(manifest, "voc_r101_dec_c3_reg085_l050")
    assert voc == pytest.approx((12 * 2069 * 0.30 * 1.3 * 4 + 4952 * 0.10 * 1.3) / 3600)
    one_x = estimate_gpu_hours(manifest, "coco1x_r101_dec_c3")
    assert 6.5 < one_x / voc < 7.5  # COCO train2017 has ~7x the images of VOC07+12
    two_x = estimate_gpu_hours(manifest, "coco2x_r101_dec_c3")
    assert 1.9 < two_x / one_x < 2.1


def test_metrics_json_round_trip_shape():
    payload = json.loads((METRICS / "voc_r101_dec_reg085" / "default" / "metrics.json").read_text())
    assert set(payload) == {"status", "metrics", "provenance"}


def test_tables_command(tmp_path, capsys):
    from decoupled_rcnn import cli

    assert cli.main(["tables", "--results", str(METRICS), "--out", str(tmp_path / "t"),
                     "--tables", "III", "X", "--figures", str(tmp_path / "f")]) == 0
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        "cells.csv", "table_III.csv", "table_X.csv"]
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == [
        "table_III_ap_vs_iou.png", "table_III_sweep.png"]
    x = pd.read_csv(tmp_path / "t" / "table_X.csv")
    assert x.loc[0, "stage_3_mean_measured"] == 41.6 and x.loc[0, "stage_1_1_measured"] == 38.1

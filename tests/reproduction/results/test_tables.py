"""Tables from fixed result files: mean over seeds, spread, paper, tests against the paper and
the baseline row (paired by seed), benchmark ratios, status."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from results_testlib import FIXTURE_RESULTS, fixture_files, fixture_layout, fixture_results

from decoupled_rcnn.reproduction.results.read import Results, parse_payload, read_result, read_results
from decoupled_rcnn.reproduction.results.tables import build_cells, build_runs, build_table, write_tables

EXPERIMENTS = FIXTURE_RESULTS / "experiments"


def _cell(cells: pd.DataFrame, table: str, row: int, column: str) -> pd.Series:
    found = cells[(cells.table == table) & (cells.row == row) & (cells.column == column)]
    assert len(found) == 1
    return found.iloc[0]


def test_read_results_keys_each_file_by_its_layout_path():
    results = fixture_results()
    assert set(results.evaluations) == {
        "voc_r101_dec_reg085/default", "voc_r101_dec_reg070/default", "voc_r50_dec/default",
        "coco2x_r101_dec_c3/testdev", "coco1x_r101_cascade_rcnn/stage_1_1",
        "coco1x_r101_cascade_rcnn/stage_3_mean",
    }
    seeds = results.of("voc_r101_dec_reg085/default")
    assert sorted(seeds) == [0, 1]
    assert seeds[0].metrics["AP"] == 0.552 and seeds[1].metrics["AP"] == 0.562
    assert seeds[0].value("AP", accuracy=True) == 55.2  # fractions are shown in percent
    assert results.benchmark("voc_r101_dec_reg085").metrics["s_per_img"] == 0.25
    assert results.of("voc_r101_dec_reg070/default")[0].status == "failed"


def test_a_file_outside_the_layout_is_refused(tmp_path):
    stray = tmp_path / "elsewhere" / "metrics.json"
    stray.parent.mkdir()
    stray.write_text('{"status": "ok", "metrics": {"AP": 0.9}}')
    with pytest.raises(ValueError, match="is not a benchmark file"):
        read_results(fixture_layout(), [stray])


def test_mean_spread_paper_and_delta(cells):
    cell = _cell(cells, "III", 4, "AP")  # seeds 0 and 1: 55.2 and 56.2
    assert cell.status == "ok" and cell.n == 2
    assert cell.measured == pytest.approx(55.7)
    assert cell.sd_over_seeds == pytest.approx(math.sqrt(0.5))  # sample sd of (55.2, 56.2)
    assert cell.paper == 56.6 and cell.ours_minus_paper == pytest.approx(55.7 - 56.6)
    # per-seed (-1.4, -0.4): mean -0.9, se 0.5, t(0.975, 1 df) = 12.706 -> [-7.25, 5.45]
    assert cell.ours_minus_paper_ci_low == pytest.approx(-0.9 - 12.7062 * 0.5, abs=1e-3)
    assert cell.ours_minus_paper_ci_high == pytest.approx(-0.9 + 12.7062 * 0.5, abs=1e-3)
    assert not cell.ours_minus_paper_decided and cell.ours_minus_paper_n == 2
    one = _cell(cells, "X", 1, "stage_1_1")  # only seed 0 exists
    assert one.n == 1 and one.measured == 38.1 and math.isnan(one.sd_over_seeds)
    assert not one.ours_minus_paper_decided and math.isnan(one.ours_minus_paper_ci_low)


def test_a_benchmark_is_one_measurement_per_experiment(cells):
    bench = _cell(cells, "VII", 5, "s_per_img")  # from the experiment-level benchmark.json
    assert bench.status == "ok" and bench.measured == 0.25 and bench.paper == 0.108
    # one measurement, however many seeds: no spread, no difference to the paper's GPU time
    assert bench.n == 1 and bench.per_experiment and math.isnan(bench.sd_over_seeds)
    assert math.isnan(bench.ours_minus_paper) and not bench.ours_minus_paper_decided
    # R101 Decoupled vs the R101 FPN row 4 (not measured): the paper's ratio only
    assert bench.baseline_row == 4 and math.isnan(bench.ratio_to_baseline)
    assert bench.paper_ratio_to_baseline == pytest.approx(0.108 / 0.101)
    assert math.isnan(bench.minus_baseline) and math.isnan(bench.paper_minus_baseline)


def test_benchmark_ratio_to_the_baseline_row(manifest):
    def bench(seconds):
        return parse_payload({"status": "ok", "metrics": {"s_per_img": seconds}})

    results = Results(benchmarks={"voc_r101_faster": bench(0.2),
                                  "voc_r101_dec_reg085": bench(0.25)})
    runs = build_runs(manifest, results, [0, 1, 2], ["VII"])
    speed = runs[(runs.row == 5) & (runs.column == "s_per_img")]
    assert list(speed.measured) == [0.25] * 3 and speed.per_experiment.all()  # repeated per seed
    cell = _cell(build_cells(manifest, runs), "VII", 5, "s_per_img")
    assert cell.n == 1 and cell.ratio_to_baseline == pytest.approx(1.25)  # 0.25 / 0.2
    assert cell.paper_ratio_to_baseline == pytest.approx(0.108 / 0.101)


def test_shape_is_the_difference_to_the_baseline_row(manifest, cells):
    table = manifest.tables["III"]
    assert table.baseline == 1
    row4 = _cell(cells, "III", 4, "AP")
    # Baseline row 1 (NMS_reg 0.7) failed: no measured shape, the paper's is still there.
    assert math.isnan(row4.minus_baseline)
    assert row4.paper_minus_baseline == pytest.approx(56.6 - 55.0)
    assert row4.baseline_row == 1 and not row4.minus_baseline_decided
    # R101 Decoupled vs its own backbone's FPN row (row 4, not measured), not R50's row 1
    vii = _cell(cells, "VII", 5, "AP")
    assert vii.baseline_row == 4 and math.isnan(vii.minus_baseline)
    assert vii.paper_minus_baseline == pytest.approx(56.6 - 54.1)
    assert math.isnan(_cell(cells, "III", 1, "AP").minus_baseline)  # the baseline row itself
    assert math.isnan(_cell(cells, "VII", 4, "AP").minus_baseline)  # R101's reference row


def test_shape_from_paired_seeds(manifest):
    def payload(ap):
        return parse_payload({"status": "ok", "metrics": {"AP": ap}})

    results = Results(evaluations={
        "voc_r101_dec_reg070/default": {0: payload(0.50), 1: payload(0.52)},
        "voc_r101_dec_reg085/default": {0: payload(0.53), 1: payload(0.56)},
    })
    cells = build_cells(manifest, build_runs(manifest, results, [0, 1], ["III"]))
    row4 = _cell(cells, "III", 4, "AP")
    assert row4.minus_baseline == pytest.approx(3.5)  # mean of (53 - 50, 56 - 52)
    assert row4.minus_baseline_sd == pytest.approx(math.sqrt(0.5))
    # two seeds: se 0.5, t(0.975, 1 df) = 12.706, so the interval [-2.85, 9.85] holds 0
    assert row4.minus_baseline_ci_low == pytest.approx(3.5 - 12.7062 * 0.5, abs=1e-3)
    assert not row4.minus_baseline_decided


def test_a_cell_is_decided_only_where_the_interval_excludes_zero(manifest):
    def payload(ap):
        return parse_payload({"status": "ok", "metrics": {"AP": ap}})

    base = {0: payload(0.50), 1: payload(0.52), 2: payload(0.51)}
    results = Results(evaluations={
        "voc_r101_dec_reg070/default": base,  # row 1, the baseline
        "voc_r101_dec_reg085/default": {0: payload(0.53), 1: payload(0.55), 2: payload(0.54)},
        "voc_r101_dec_reg080/default": {0: payload(0.53), 1: payload(0.50), 2: payload(0.52)},
    })
    cells = build_cells(manifest, build_runs(manifest, results, [0, 1, 2], ["III"]))
    steady = _cell(cells, "III", 4, "AP")  # +3 on every seed: sd 0, interval [3, 3]
    assert steady.minus_baseline == pytest.approx(3.0) and steady.minus_baseline_decided
    noisy = _cell(cells, "III", 3, "AP")  # (+3, -2, +1): mean 0.67, sd 2.52 -> holds 0
    assert noisy.minus_baseline == pytest.approx(2 / 3) and not noisy.minus_baseline_decided
    assert noisy.minus_baseline_n == 3


def test_one_run_fills_every_row_that_uses_it(cells):
    for table, row in (("III", 4), ("IV", 1), ("VII", 5)):
        assert _cell(cells, table, row, "AP90").measured == pytest.approx(20.8)


def test_an_alias_reads_its_runs_results(manifest):
    results = fixture_results()
    results.aliases = {"coco1x_r101_dec": "voc_r101_dec_reg085"}
    cells = build_cells(manifest, build_runs(manifest, results, [0, 1], ["XI"]),
                        results.aliases)
    cell = _cell(cells, "XI", 5, "AP")
    assert cell.measured == pytest.approx(55.7) and cell.run == "voc_r101_dec_reg085"
    assert cell.experiment == "coco1x_r101_dec"


def test_failed_and_missing_are_never_numbers(cells):
    for table, row in (("II", 4), ("III", 1)):
        cell = _cell(cells, table, row, "AP")
        assert cell.status == "failed" and math.isnan(cell.measured)
        assert math.isnan(cell.ours_minus_paper)
    missing = _cell(cells, "III", 2, "AP")
    assert missing.status == "missing" and math.isnan(missing.measured) and missing.n == 0
    assert missing.paper == 55.3  # the paper's value is still there
    partial = cells[(cells.table == "VII") & (cells.row == 2)].set_index("column")
    assert partial.loc["AP", "status"] == "ok" and partial.loc["AP", "measured"] == 52.0
    assert partial.loc["AP90", "status"] == "undefined"  # written as null by the evaluation
    assert (partial.drop(index=["AP", "AP90"])["status"] == "missing").all()
    assert partial.drop(index="AP")["measured"].isna().all()


def test_test_dev_published_and_na(cells):
    ours = cells[(cells.table == "IX") & (cells.row == 32)].set_index("column")
    assert (ours.loc[["AP", "AP50", "AP75", "APs", "APm", "APl"], "status"] == "server").all()
    assert math.isnan(ours.loc["AP", "measured"])
    assert ours.loc["gflops", "status"] == "ok" and ours.loc["gflops", "measured"] == 337.4
    plus = _cell(cells, "IX", 33, "AP")  # same model, soft-NMS: not evaluated yet
    assert plus.status == "server" and plus.evaluation == "coco2x_r101_dec_c3/testdev_softnms"
    des = _cell(cells, "IX", 1, "s_per_img")
    assert des.status == "published" and des.paper_na and math.isnan(des.paper)
    published = cells[(cells.table == "IX") & (cells.status == "published")]
    assert published["measured"].isna().all() and published["row"].nunique() == 31


def test_table_x_columns_use_their_stage_pair(cells):
    row = cells[(cells.table == "X") & (cells.row == 1)].set_index("column")
    assert row.loc["stage_1_1", "measured"] == 38.1
    assert row.loc["stage_1_1", "evaluation"] == "coco1x_r101_cascade_rcnn/stage_1_1"
    assert row.loc["stage_3_mean", "measured"] == 41.6  # written in percent
    assert row.loc["stage_3_mean", "ours_minus_paper"] == pytest.approx(41.6 - 42.0)
    assert row.loc["stage_2_1", "status"] == "missing"
    assert (cells[(cells.table == "X") & (cells.row == 2)]["status"] == "missing").all()


def test_build_table_layout_and_row_status(manifest, cells):
    table = build_table(manifest, "VII", cells)
    assert list(table["row"]) == [1, 2, 3, 4, 5, 6]
    assert list(table.columns[:4]) == ["row", "Backbone", "Method", "Cascaded Regression"]
    assert {"AP_measured", "AP_sd_over_seeds", "AP_n", "AP_paper", "AP_ours_minus_paper",
            "AP_minus_baseline", "AP_minus_baseline_decided", "AP_paper_minus_baseline",
            "s_per_img_ratio_to_baseline", "s_per_img_paper_ratio_to_baseline",
            "AP_status"} <= set(table.columns)
    assert not any(c.endswith("_delta") or c.endswith("_std") for c in table.columns)
    assert list(table["status"]) == ["missing", "partial", "missing", "missing", "ok", "missing"]
    assert table.loc[4, "AP_paper"] == 56.6 and table.loc[4, "AP_measured"] == pytest.approx(55.7)
    assert build_table(manifest, "III", cells).loc[0, "status"] == "failed"
    ix = build_table(manifest, "IX", cells)
    assert (ix["status"][:31] == "published").all() and ix.loc[31, "status"] == "partial"


def test_write_tables_writes_only_the_selected_tables(manifest, tmp_path):
    tables = {"III": tmp_path / "table_III.csv", "X": tmp_path / "table_X.csv"}
    written = write_tables(manifest, fixture_results(), tables=tables,
                           cells=tmp_path / "cells.csv", runs=tmp_path / "runs.csv",
                           claims=tmp_path / "claims.csv", seeds=[0, 1])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cells.csv", "claims.csv", "runs.csv", "table_III.csv", "table_X.csv"]
    table = pd.read_csv(written["III"])
    assert table.loc[3, "AP_measured"] == pytest.approx(55.7) and table.loc[3, "AP_paper"] == 56.6
    assert table["AP_measured"].isna().sum() == 5
    cells = pd.read_csv(written["cells"])
    assert set(cells["table"]) == {"III", "X"}
    runs = pd.read_csv(written["runs"])
    assert len(runs) == 2 * (6 * 6 + 2 * 9)  # two seeds of every cell of Tables III and X
    claims = pd.read_csv(written["claims"])
    assert set(claims["table"]) <= {"III", "X"} and len(claims) > 0


def test_parse_payload_units_and_bad_files(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    assert read_result(bad).status == "failed" and "unreadable" in read_result(bad).error
    assert parse_payload({"metrics": {"AP": float("nan")}}).metrics == {}  # NaN: no number
    assert parse_payload(["not", "an", "object"]).status == "failed"
    percent = parse_payload({"units": "percent", "metrics": {"AP": 50.6}})
    assert percent.value("AP", accuracy=True) == 50.6
    assert parse_payload({"units": "permille", "metrics": {"AP": 506}}).status == "failed"


def test_empty_results_give_no_numbers(manifest):
    cells = build_cells(manifest, build_runs(manifest, Results(), [0]))
    assert cells["measured"].isna().all()
    assert set(cells["status"]) == {"missing", "published", "server"}


def test_metrics_json_round_trip_shape():
    metrics, _ = fixture_files()
    payload = json.loads(next(p for p in metrics if "reg085/seed0" in str(p)).read_text())
    assert set(payload) == {"status", "metrics", "provenance"}


def test_rows_of_another_backbone_have_their_own_baseline(manifest):
    vii, viii, xi = (manifest.tables[t] for t in ("VII", "VIII", "XI"))
    assert [vii.baseline_of(r.index) for r in vii.rows] == [1, 1, 1, 4, 4, 4]
    assert [viii.baseline_of(r.index) for r in viii.rows] == [1, 1, 1, 4, 4, 4, 7, 7, 7]
    assert [xi.baseline_of(r.index) for r in xi.rows] == [1, 1, 1, 1, 5, 5, 5, 5]
    assert vii.baseline_rows() == [1, 4] and viii.baseline_rows() == [1, 4, 7]
    iii = manifest.tables["III"]
    assert iii.baseline_rows() == [1] and iii.baseline_of(4) == 1  # no row baselines
    assert manifest.tables["IX"].baseline_rows() == []


@pytest.mark.parametrize(("value", "message"), [
    (9, "baseline: row 9 is out of range"), ("four", "is not a row index"),
    (1, None)])
def test_a_row_baseline_is_checked(value, message):
    import copy

    import yaml

    from decoupled_rcnn.reproduction.manifest import ManifestError, parse_manifest
    from decoupled_rcnn.reproduction.manifest.model import DEFAULT_MANIFEST

    raw = yaml.safe_load(DEFAULT_MANIFEST.read_text(encoding="utf-8"))
    data = copy.deepcopy(raw)
    data["tables"]["VII"]["rows"][4]["baseline"] = value
    if message is None:  # R101 Decoupled against R50 FPN again: allowed, just not the default
        assert parse_manifest(data).tables["VII"].baseline_of(5) == 1
        return
    with pytest.raises(ManifestError, match=message) as info:
        parse_manifest(data)
    assert "Table VII row 5" in str(info.value)

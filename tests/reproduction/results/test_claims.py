"""Claim verdicts on hand-made per-seed values, and the manifest's validation of claims."""

from __future__ import annotations

import copy
import math

import pandas as pd
import pytest
import yaml

from decoupled_rcnn.reproduction.results.claims import (
    COLUMNS,
    VERDICT_RULE,
    VERDICTS,
    claim_values,
    claims_summary,
    describe,
    evaluate_claims,
    paper_per_seed,
    verdict,
)
from decoupled_rcnn.reproduction.manifest import (
    DEFAULT_MANIFEST,
    ManifestError,
    load_manifest,
    parse_manifest,
)

T5 = "t5_nms_reg_085_beats_070_cascade"  # positive: AP[r2] - AP[r1] of Table V
T1_CLS = "t1_nms_cls_does_not_help"  # not_positive: AP[r5] - AP[r1] of Table I
T4_TREND = "t4_ap90_rises_with_stages"  # positive: slope of AP90 over stages 1-4 (Table IV)
T11_R50 = "t11_r50_doublehead_helps_more_without_cascade"  # (r2 - r1) - (r4 - r3), Table XI


@pytest.fixture(scope="module")
def manifest():
    return load_manifest()


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(DEFAULT_MANIFEST.read_text(encoding="utf-8"))


def _pair(table: str, better: int, worse: int, diffs: list[float], base: float = 50.0,
          column: str = "AP") -> pd.DataFrame:
    """Per-seed records where ``better - worse`` is ``diffs[seed]`` (seeds 0, 1, ...)."""
    records = []
    for seed, diff in enumerate(diffs):
        records.append((table, worse, column, seed, base + seed))
        records.append((table, better, column, seed, base + seed + diff))
    return pd.DataFrame(records, columns=["table", "row", "column", "seed", "measured"])


def _one(manifest, claim: str, per_seed: pd.DataFrame) -> pd.Series:
    out = evaluate_claims(manifest, per_seed, claims=[claim])
    assert list(out.columns) == list(COLUMNS) and len(out) == 1
    return out.iloc[0]


# --- expect: positive --------------------------------------------------------------------


def test_positive_reproduced_with_spread_by_hand(manifest):
    # differences 1.0, 0.5, 1.5: mean 1.0, std sqrt((0 + 0.25 + 0.25) / 2) = 0.5,
    # se 0.5 / sqrt(3) = 0.2887 < mean
    row = _one(manifest, T5, _pair("V", 2, 1, [1.0, 0.5, 1.5]))
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(1.0)
    assert row["std"] == pytest.approx(0.5)
    assert row["se"] == pytest.approx(0.5 / math.sqrt(3))
    assert row["verdict"] == "reproduced"
    assert row["paper_delta"] == pytest.approx(0.7)  # 58.7 - 58.0
    assert row["statistic"] == "AP[r2] - AP[r1]"
    assert row["expect"] == "positive" and row["table"] == "V"
    assert row["rule"].startswith("reproduced if mean > se")


def test_positive_contradicted(manifest):
    row = _one(manifest, T5, _pair("V", 2, 1, [-1.0, -0.5, -1.5]))
    assert row["mean"] == pytest.approx(-1.0) and row["verdict"] == "contradicted"


def test_positive_inconclusive_within_one_se(manifest):
    # 0.1, -0.2, 0.4: mean 0.1, std 0.3, se 0.3 / sqrt(3) = 0.173 > |mean|
    row = _one(manifest, T5, _pair("V", 2, 1, [0.1, -0.2, 0.4]))
    assert row["std"] == pytest.approx(0.3) and row["se"] == pytest.approx(0.3 / math.sqrt(3))
    assert row["verdict"] == "inconclusive"


def test_positive_missing_without_any_usable_seed(manifest):
    row = _one(manifest, T5, _pair("V", 2, 1, []))
    assert row["n"] == 0 and math.isnan(row["mean"]) and row["verdict"] == "missing"
    per_seed = _pair("V", 2, 1, [1.0, 1.0])
    per_seed.loc[per_seed["row"] == 1, "measured"] = float("nan")  # the failed baseline run
    assert _one(manifest, T5, per_seed)["verdict"] == "missing"


@pytest.mark.parametrize(("value", "expected"),
                         [(0.5, "reproduced"), (-0.5, "contradicted"), (0.0, "inconclusive")])
def test_positive_single_seed_uses_the_sign(manifest, value, expected):
    row = _one(manifest, T5, _pair("V", 2, 1, [value]))
    assert row["n"] == 1 and row["mean"] == pytest.approx(value)
    assert math.isnan(row["std"]) and math.isnan(row["se"])
    assert row["verdict"] == expected


# --- expect: not_positive ("does not help") ------------------------------------------------


@pytest.mark.parametrize(
    ("diffs", "expected"),
    [
        ([1.0, 0.5, 1.5], "contradicted"),  # mean 1.0 > se 0.289: it does help
        ([-0.2, 0.1, -0.5], "reproduced"),  # mean -0.2 <= 0
        ([0.3, -0.3], "reproduced"),  # mean exactly 0: no gain measured
        ([0.1, -0.2, 0.4], "inconclusive"),  # 0 < mean 0.1 <= se 0.173
        ([], "missing"),
        ([0.0], "reproduced"),  # one seed: 0 is not a gain
        ([0.1], "contradicted"),  # one seed: any gain contradicts
        ([-0.1], "reproduced"),
    ],
)
def test_not_positive_verdicts(manifest, diffs, expected):
    row = _one(manifest, T1_CLS, _pair("I", 5, 1, diffs))
    assert row["expect"] == "not_positive" and row["paper_delta"] == 0.0  # 54.8 - 54.8
    assert row["verdict"] == expected
    assert row["rule"].startswith("contradicted if mean > se")


def test_verdict_boundaries():
    assert verdict("positive", 3, 0.2, 0.2) == "inconclusive"  # needs mean > se
    assert verdict("positive", 3, -0.2, 0.2) == "inconclusive"  # needs mean < -se
    assert verdict("not_positive", 3, 0.2, 0.2) == "inconclusive"
    assert verdict("not_positive", 3, 0.0, 0.2) == "reproduced"
    assert verdict("positive", 0, math.nan, math.nan) == "missing"
    with pytest.raises(ValueError, match="maybe"):
        verdict("maybe", 2, 1.0, 0.1)


# --- statistics: trend slope, difference in differences, pairing -------------------------


def test_trend_slope_by_hand(manifest):
    # stages x = 1, 2, 3, 4 (mean 2.5, Sxx = 2.25 + 0.25 + 0.25 + 2.25 = 5)
    # seed 0 AP90 20, 22, 23, 27: dy -3, -1, 0, 4 -> Sxy = 4.5 + 0.5 + 0 + 6 = 11, slope 2.2
    # seed 1 AP90 20, 21, 22, 23: slope 1.0. mean 1.6, std 0.8485, se 0.8485 / sqrt(2) = 0.6
    records = [("IV", r, "AP90", 0, v) for r, v in zip((1, 2, 3, 4), (20, 22, 23, 27))]
    records += [("IV", r, "AP90", 1, v) for r, v in zip((1, 2, 3, 4), (20, 21, 22, 23))]
    per_seed = pd.DataFrame(records, columns=["table", "row", "column", "seed", "measured"])
    values = claim_values(manifest.claims[T4_TREND], per_seed)
    assert values.to_dict() == pytest.approx({0: 2.2, 1: 1.0})
    row = _one(manifest, T4_TREND, per_seed)
    assert (row["n"], row["mean"]) == (2, pytest.approx(1.6))
    assert row["std"] == pytest.approx(math.sqrt(0.72)) and row["se"] == pytest.approx(0.6)
    assert row["verdict"] == "reproduced"
    # the paper: AP90 21.9, 29.3, 30.2, 30.8 -> Sxy = 13.8, slope 2.76
    assert row["paper_delta"] == pytest.approx(2.76)
    assert row["statistic"].startswith("slope of AP90 vs stages over rows 1, 2, 3, 4")


def test_difference_in_differences_and_pairing_over_seeds(manifest):
    cells = {1: (30.0, 31.0, 32.0), 2: (32.0, 33.0, 30.0), 3: (33.0, 33.0, 33.0),
             4: (33.5, float("nan"), 33.0)}
    records = [("XI", r, "AP", s, v[s]) for r, v in cells.items() for s in range(3)]
    records = [r for r in records if not (r[1] == 3 and r[3] == 2)]  # seed 2 lacks row 3
    per_seed = pd.DataFrame(records, columns=["table", "row", "column", "seed", "measured"])
    values = claim_values(manifest.claims[T11_R50], per_seed)
    # only seed 0 has all four cells: (32 - 30) - (33.5 - 33) = 1.5
    assert values.to_dict() == pytest.approx({0: 1.5})
    row = _one(manifest, T11_R50, per_seed)
    assert row["n"] == 1 and row["verdict"] == "reproduced"
    assert row["statistic"] == "AP[r2] - AP[r1] - AP[r4] + AP[r3]"
    assert row["paper_delta"] == pytest.approx((40.0 - 38.6) - (40.4 - 40.1))


def test_other_tables_and_extra_seeds_do_not_leak(manifest):
    per_seed = pd.concat([_pair("V", 2, 1, [1.0, 0.5, 1.5]),
                          _pair("IV", 2, 1, [-9.0, -9.0, -9.0])], ignore_index=True)
    assert _one(manifest, T5, per_seed)["mean"] == pytest.approx(1.0)


def test_every_claim_and_the_summary(manifest):
    out = evaluate_claims(manifest, _pair("V", 2, 1, [1.0, 0.5, 1.5]))
    assert list(out["claim"]) == list(manifest.claims)
    summary = claims_summary(out)
    assert list(summary) == [*VERDICTS, "total"]
    assert summary["reproduced"] == 1 and summary["missing"] == len(manifest.claims) - 1
    assert summary["total"] == len(manifest.claims)
    assert claims_summary(out.iloc[0:0]) == {**dict.fromkeys(VERDICTS, 0), "total": 0}


def test_the_paper_values_reproduce_every_claim(manifest):
    out = evaluate_claims(manifest, paper_per_seed(manifest))
    assert set(out["verdict"]) == {"reproduced"} and set(out["n"]) == {1}
    assert out["mean"].tolist() == pytest.approx(out["paper_delta"].tolist())


def test_per_seed_must_be_well_formed(manifest):
    per_seed = _pair("V", 2, 1, [1.0])
    with pytest.raises(ValueError, match="seed"):
        evaluate_claims(manifest, per_seed.drop(columns=["seed"]))
    with pytest.raises(ValueError, match="repeated"):
        evaluate_claims(manifest, pd.concat([per_seed, per_seed]))
    with pytest.raises(KeyError, match="t99"):
        evaluate_claims(manifest, per_seed, claims=["t99"])


def test_the_rule_is_stated_once_for_all_claims():
    for phrase in ("paired over seeds", "ddof=1", "se = std/sqrt(n)", "n = 1", "missing",
                   "mean > se", "mean < -se", "mean <= 0", "One rule for every claim"):
        assert phrase in VERDICT_RULE


def test_describe_weights():
    from decoupled_rcnn.reproduction.manifest import Claim, ClaimTerm

    claim = Claim(id="x", table="V", text="", expect="positive", paper_delta=1.0,
                  terms=(ClaimTerm(2, "AP", -0.5), ClaimTerm(1, "AP90", 2.0)))
    assert describe(claim) == "-0.5*AP[r2] + 2*AP90[r1]"


def test_trend_claims_run_along_the_sweep(manifest):
    t3 = manifest.claims["t3_ap_rises_to_085"]
    assert (t3.trend_rows, t3.trend_column, t3.sweep) == ((1, 2, 3, 4), "AP", "NMS_reg")
    assert t3.trend_x == (0.7, 0.75, 0.8, 0.85)
    assert manifest.claims["t4_ap90_rises_with_stages"].trend_x == (1.0, 2.0, 3.0, 4.0)


def test_baselines(manifest):
    baselines = {tid: t.baseline for tid, t in manifest.tables.items()}
    assert baselines == {"I": 1, "II": 1, "III": 1, "IV": 1, "V": 1, "VI": 1, "VII": 1,
                         "VIII": 1, "IX": None, "X": 1, "XI": 1}
    assert manifest.tables["VII"].baseline_row.labels["Method"] == "FPN"
    assert manifest.tables["III"].baseline_row.labels["NMS_reg"] == 0.7
    assert manifest.tables["IX"].baseline_row is None
    with pytest.raises(IndexError):
        manifest.tables["V"].row(3)


# --- manifest validation of claims and baselines ------------------------------------------


def _claim(raw: dict, cid: str) -> dict:
    return next(c for c in raw["claims"] if c["id"] == cid)


def _break(raw: dict, edit) -> str:
    data = copy.deepcopy(raw)
    edit(data)
    with pytest.raises(ManifestError) as info:
        parse_manifest(data)
    return str(info.value)


def test_a_claim_that_misstates_the_paper_is_named(raw):
    msg = _break(raw, lambda d: _claim(d, T5).update(expect="not_positive"))
    assert f"claims.{T5}: misstates the paper" in msg and "+0.7" in msg

    def flip(d):
        for term in _claim(d, T1_CLS)["terms"]:
            term["weight"] = -term["weight"]
        _claim(d, T1_CLS)["terms"][0]["row"] = 4  # AP 55.0 vs 54.8: -0.2, not positive
        _claim(d, T1_CLS)["expect"] = "positive"

    assert f"claims.{T1_CLS}: misstates the paper" in _break(raw, flip)


def test_unknown_row_column_and_table(raw):
    def edit(d):
        _claim(d, T5)["terms"][0]["row"] = 9
        _claim(d, T5)["terms"][1]["column"] = "AP75"
        _claim(d, T1_CLS)["table"] = "XII"

    msg = _break(raw, edit)
    assert f"claims.{T5}.terms[0]: row 9 is not a row of Table V (rows 1-2)" in msg
    assert f"claims.{T5}.terms[1]: Table V has no column 'AP75'" in msg
    assert f"claims.{T1_CLS}.table: unknown table 'XII'" in msg


def test_trend_needs_numeric_sweep_labels(raw):
    def edit(d):
        d["tables"]["IV"]["rows"][1]["labels"]["stages"] = "two"

    msg = _break(raw, edit)
    assert f"claims.{T4_TREND}.trend: Table IV row 2" in msg and "not a number" in msg


def test_trend_needs_a_sweep_and_distinct_rows(raw):
    def edit(d):
        _claim(d, T5).pop("terms")
        _claim(d, T5)["trend"] = {"rows": [1, 2], "column": "AP"}  # Table V has no sweep
        _claim(d, "t3_ap_rises_to_085")["trend"]["rows"] = [1]

    msg = _break(raw, edit)
    assert f"claims.{T5}.trend: Table V has no sweep label column" in msg
    assert "claims.t3_ap_rises_to_085.trend.rows: a trend needs a list of at least two" in msg


def test_claim_shape_errors(raw):
    def edit(d):
        _claim(d, T5)["trend"] = {"rows": [1, 2], "column": "AP"}  # both terms and trend
        _claim(d, T1_CLS)["expect"] = "negative"
        d["claims"].append(copy.deepcopy(_claim(d, T4_TREND)))
        d["claims"].append({"id": "t9_published", "table": "IX", "text": "x",
                            "expect": "positive", "terms": [{"row": 1, "column": "AP",
                                                             "weight": 1}]})
        _claim(d, "t3_no_gain_past_085")["terms"][0]["weight"] = 0

    msg = _break(raw, edit)
    assert f"claims.{T5}: give exactly one of terms:" in msg
    assert f"claims.{T1_CLS}.expect: 'negative'" in msg
    assert f"claims.{T4_TREND}: claim id appears twice" in msg
    assert "claims.t9_published.terms[0]: Table IX row 1" in msg and "published-only" in msg
    assert "claims.t3_no_gain_past_085.terms[0].weight: 0 is not a non-zero number" in msg


def test_baseline_must_be_a_measured_row_in_range(raw):
    def edit(d):
        d["tables"]["V"]["baseline"] = 3
        d["tables"]["IX"]["baseline"] = 1
        d["tables"]["X"]["baseline"] = True

    msg = _break(raw, edit)
    assert "Table V.baseline: row 3 is out of range (the table has rows 1-2)" in msg
    assert "Table IX row 1" in msg and "baseline row must be measured" in msg
    assert "Table X.baseline: True is not a row index" in msg

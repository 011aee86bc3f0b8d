"""The HTML report rendered from fixed metrics files, read back with html.parser."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from results_testlib import FIXTURE_RESULTS, fixture_files, fixture_layout, fixture_results

from decoupled_rcnn.report import COCO_SUBMIT_URL, render_report
from decoupled_rcnn.reproduction.figures.measured import make_figures
from decoupled_rcnn.reproduction.manifest import load_manifest
from decoupled_rcnn.reproduction.results.claims import evaluate_claims
from decoupled_rcnn.reproduction.results.read import read_provenance
from decoupled_rcnn.reproduction.results.tables import build_cells, build_runs


class _ReportParser(HTMLParser):
    """Collects table cells (by data-table/row/column), provenance rows, links and images."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str, str], dict] = {}
        self.experiments: dict[str, dict] = {}
        self.links: list[str] = []
        self.images: list[str] = []
        self._cell: dict | None = None
        self._span: str | None = None
        self._exp: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and "data-column" in a:
            self._cell = {"status": a["data-status"], "text": "",
                          "tone": a.get("data-tone", "")}
            self.cells[(a["data-table"], a["data-row"], a["data-column"])] = self._cell
        elif tag == "article" and a.get("id", "").startswith("exp-"):
            self._exp = {"status": a["data-status"], "text": "", "links": []}
            self.experiments[a["data-experiment"]] = self._exp
        elif tag == "span" and self._cell is not None:
            classes = [c for c in (a.get("class") or "").split() if c != "secondary"]
            self._span = classes[0]
            self._cell.setdefault(self._span, "")
            self._cell[f"{self._span}_class"] = " ".join(classes[1:])
        elif tag == "a":
            self.links.append(a.get("href", ""))
            if self._exp is not None:
                self._exp["links"].append(a.get("href", ""))
        elif tag == "img":
            self.images.append(a["src"])

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "span":
            self._span = None
        elif tag == "article":
            self._exp = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
            if self._span:
                self._cell[self._span] += data.strip()
        if self._exp is not None:
            self._exp["text"] += data


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    manifest = load_manifest()
    runs = build_runs(manifest, fixture_results(), [0, 1])
    cells = build_cells(manifest, runs)
    out = tmp_path_factory.mktemp("reports") / "index.html"
    figures = make_figures(manifest, cells, out.parent / "figures", tables=["III", "VI"])
    metrics, _ = fixture_files()
    render_report(manifest, cells, out, runs=runs, claims=evaluate_claims(manifest, runs),
                  provenance=read_provenance(fixture_layout(), metrics), figures=figures,
                  seeds=[0, 1],
                  context={"workflow_config": "configs/workflow/default.yaml",
                           "setting": "generated stand-in data: not comparable to the paper"})
    parser = _ReportParser()
    parser.feed(out.read_text(encoding="utf-8"))
    return manifest, out, parser


def test_every_table_cell_is_rendered(report):
    manifest, _, parsed = report
    expected = {(t.id, str(r.index), c.key)
                for t in manifest.tables.values() for r in t.rows for c in t.columns}
    assert set(parsed.cells) == expected


def test_measured_cells_show_ours_paper_and_delta(report):
    _, _, parsed = report
    cell = parsed.cells[("III", "4", "AP")]  # seeds 0 and 1: 55.2 and 56.2
    # per-seed differences to the paper (-1.4, -0.4): mean -0.9, se 0.5, t(1 df) 12.706
    assert (cell["status"], cell["measured"], cell["paper"], cell["delta"]) == (
        "ok", "55.7", "56.6", "-0.9 [-7.3, +5.5]")
    assert cell["spread"] == "sd 0.7 (n=2)"
    assert cell["delta_class"] == "kind-paper"  # the interval holds 0: neutral, not red
    assert cell["tone"] == "neutral"
    assert parsed.cells[("IV", "1", "AP90")]["measured"] == "20.8"  # the same run, Table IV
    assert parsed.cells[("VII", "5", "AP90")]["delta"] == "-1.1 [-7.5, +5.3]"
    speed = parsed.cells[("VII", "5", "s_per_img")]
    # one measurement per experiment: no spread; its baseline (R101 FPN) is not measured, so
    # no ratio, and never a difference to the paper's TITAN X time
    assert (speed["measured"], speed["paper"]) == ("0.250", "0.108")
    assert "spread" not in speed and "delta" not in speed and speed["tone"] == "neutral"
    stage = parsed.cells[("X", "1", "stage_1_1")]  # one seed: no interval, no colour
    assert (stage["measured"], stage["paper"], stage["delta"]) == ("38.1", "38.5", "-0.4")
    assert "spread" not in stage and stage["tone"] == "neutral"
    assert not [k for k, c in parsed.cells.items() if "± 0.000" in c["text"]]


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+\.\d+", text)


def test_missing_and_failed_show_as_such_not_as_numbers(report):
    _, _, parsed = report
    missing = parsed.cells[("III", "2", "AP")]
    assert missing["status"] == "missing" and missing["badge"] == "missing"
    assert "measured" not in missing and "delta" not in missing
    assert _numbers(missing["text"]) == ["55.3"]  # only the paper's value
    failed = parsed.cells[("II", "4", "AP")]
    assert failed["status"] == "failed" and failed["badge"] == "failed"
    assert _numbers(failed["text"]) == ["55.0"]
    server = parsed.cells[("IX", "32", "AP")]
    assert server["status"] == "server" and server["badge"] == "COCO server"
    assert _numbers(server["text"]) == ["43.3"]
    assert parsed.cells[("IX", "32", "gflops")]["measured"] == "337.40"
    published = parsed.cells[("IX", "1", "AP")]
    assert published["status"] == "published" and published["paper"] == "32.8"
    assert "measured" not in published and "badge" not in published
    assert parsed.cells[("IX", "1", "s_per_img")]["paper"] == "n/a"
    undefined = parsed.cells[("VII", "2", "AP90")]
    assert undefined["status"] == "undefined" and undefined["badge"] == "undefined"
    assert _numbers(undefined["text"]) == ["17.7"]
    untouched = [c for k, c in parsed.cells.items() if k[0] == "VIII"]
    assert all(c["status"] == "missing" and "measured" not in c for c in untouched)


def test_provenance_per_experiment(report):
    manifest, out, parsed = report
    assert set(parsed.experiments) == {e.id for e in manifest.unique_experiments()}
    done = parsed.experiments["voc_r101_dec_reg085"]
    assert done["status"] == "ok" and "default: ok (2 seeds)" in done["text"]
    for text in ("III, IV, VII", "0123abc", "2-core CPU (test fixture)", "1:02:05",
                 "synthetic stand-in for voc0712", "decoupled-rcnn_r101_fpn_1x_voc0712.py"):
        assert text in done["text"], text
    log = next(link for link in done["links"] if link.endswith("train.log"))
    assert (out.parent / log).resolve() == (Path.cwd() / "results/voc_r101_dec_reg085/train.log")
    failed = parsed.experiments["voc_r101_dec_reg070"]
    assert failed["status"] == "failed" and "loss is NaN" in failed["text"]
    assert parsed.experiments["voc_r50_faster"]["status"] == "missing"
    # 2 of Table X's 6 stage pairs; test-dev NMS written but soft-NMS not yet
    assert parsed.experiments["coco1x_r101_cascade_rcnn"]["status"] == "partial"
    assert parsed.experiments["coco2x_r101_dec_c3"]["status"] == "partial"
    assert "voc0712 (planned)" in parsed.experiments["voc_r50_faster"]["text"]


def test_figures_and_test_dev_instructions(report):
    _, out, parsed = report
    assert len(parsed.images) == 4  # Table III (AP vs IoU, sweep) and Table VI (same)
    assert all((out.parent / src).is_file() for src in parsed.images)
    assert COCO_SUBMIT_URL in parsed.links
    assert any(link.endswith("detections_test-dev2017_results.zip") for link in parsed.links)
    html = out.read_text(encoding="utf-8")
    assert "generated stand-in data: not comparable to the paper" in html
    summary = ("Training experiments (44, each run once per seed):\n"
               "failed 1, missing 39, ok 2, partial 2.")
    assert summary in html


def test_claims_table_opens_the_report(report):
    _, out, _ = report
    html = out.read_text(encoding="utf-8")
    assert html.index('id="claims"') < html.index('id="table-I"')
    # issue 20: the verdict "missing" is now "not measured"; the procedure replaces "Rule:"
    assert 'data-claim="t4_three_stages_beat_one" data-verdict="not measured"' in html
    assert "How claims are decided" in html and "Benjamini-Hochberg" in html
    for header in ("ours: mean [95 % CI]", "p (raw / BH)", "<th>n</th>", "<th>δ</th>",
                   "<th>rule</th>"):
        assert header in html


def test_claims_block_shows_tests_duplicates_and_the_gate(tmp_path):
    import pandas as pd

    from decoupled_rcnn.report.claims import claims_context

    manifest = load_manifest()
    records = []
    for seed, (fpn, dec, c3) in enumerate([(50.0, 52.0, 55.0), (51.0, 53.5, 55.5),
                                           (49.0, 51.0, 54.0)]):
        for table in ("VII", "VIII"):
            for row, value in ((1, fpn), (2, dec), (3, c3)):
                records.append((table, row, "AP", seed, value))
    runs = pd.DataFrame(records, columns=["table", "row", "column", "seed", "measured"])
    aliases = {"coco1x_r50_faster": "voc_r50_faster", "coco1x_r50_dec": "voc_r50_dec",
               "coco1x_r50_dec_c3": "voc_r50_dec_c3"}
    claims = evaluate_claims(manifest, runs, aliases=aliases, gate={"VII": 40.0, "VIII": 40.0},
                             floor=10.0)
    context = claims_context(manifest, claims, 10.0)
    views = {c["claim"]: c for c in context["claims"]}
    # R50 Decoupled - FPN per seed: 2.0, 2.5, 2.0 -> mean 2.17, sd 0.289, t = 13 (2 df)
    beat = views["t7_r50_decoupled_beats_fpn"]
    assert beat["verdict"] == "reproduced" and beat["ours"].startswith("+2.17 [")
    assert beat["n_text"] == "3" and beat["delta_text"] == "1.00"
    assert beat["rule_name"] == "directional" and beat["p_text"].count("/") == 1
    assert views["t8_r50_decoupled_beats_fpn"]["same_as"] == "t7_r50_decoupled_beats_fpn"
    assert context["claim_same"] == 2  # R50 Decoupled vs FPN and cascade vs Decoupled
    assert context["verdicts"]["reproduced"] == 2 and "same as" not in context["verdicts"]
    assert context["claim_total"] == len(claims) - 2
    assert any(name == "learnability floor" for name, _, _ in context["constants"])
    out = tmp_path / "index.html"
    cells = build_cells(manifest, build_runs(manifest, fixture_results(), [0, 1]))
    render_report(manifest, cells, out, claims=claims, seeds=[0, 1, 2], learnability_floor=10.0)
    html = out.read_text(encoding="utf-8")
    assert 'data-claim="t8_r50_decoupled_beats_fpn" data-verdict="same as"' in html
    assert 'href="#claim-t7_r50_decoupled_beats_fpn"' in html
    block = html[html.index('id="claims"'):html.index('id="reading"')]
    assert "AP50 ≥ 10 %" in block and "± 0.000" not in block
    gated = evaluate_claims(manifest, runs, gate={"VII": 4.2, "VIII": 40.0}, floor=10.0)
    view = {c["claim"]: c for c in claims_context(manifest, gated)["claims"]}
    assert view["t7_r50_decoupled_beats_fpn"]["verdict"] == "not decided"
    assert "baseline did not learn (Table VII baseline AP50 4.2 %" in view[
        "t7_r50_decoupled_beats_fpn"]["why"]
    assert view["t7_r50_decoupled_beats_fpn"]["verdict_class"] == "not-decided"
    gated_context = claims_context(manifest, gated)
    assert gated_context["gated"] == [
        "the baseline did not learn (Table VII baseline AP50 4.2 % < 10 %)"]
    render_report(manifest, cells, out, claims=gated, seeds=[0, 1, 2])
    assert "Not decided, whatever the numbers:" in out.read_text(encoding="utf-8")


def test_report_shows_only_the_selected_tables_and_shapes(tmp_path):
    manifest = load_manifest()
    runs = build_runs(manifest, fixture_results(), [0, 1], ["III", "VII"])
    cells = build_cells(manifest, runs)
    out = render_report(manifest, cells, tmp_path / "index.html", tables=["VII"],
                        context={"synthetic": True})
    parsed = _ReportParser()
    parsed.feed(out.read_text(encoding="utf-8"))
    assert {k[0] for k in parsed.cells} == {"VII"}
    # Row 5 (R101 Decoupled) vs its baseline row 4 (R101 FPN, not measured): no shape shown.
    assert "delta" not in parsed.cells[("VII", "5", "AP")]
    assert "italic" not in parsed.cells[("VII", "5", "AP")]["text"]
    assert 'id="table-III"' not in out.read_text(encoding="utf-8")


def _stand_in_results(values: dict[str, list[float]]):
    """Results of AP (percent) per seed for ``<experiment>/default``."""
    from decoupled_rcnn.reproduction.results.read import Results, parse_payload

    return Results(evaluations={
        f"{exp}/default": {seed: parse_payload({"status": "ok", "units": "percent",
                                                "metrics": {"AP": ap, "AP50": ap + 30}})
                           for seed, ap in enumerate(aps)}
        for exp, aps in values.items()})


def test_cells_are_coloured_only_where_the_seeds_decide(tmp_path):
    manifest = load_manifest()
    results = _stand_in_results({
        "voc_r101_toy_reg070_cls070": [50.0, 52.0, 51.0],  # Table I row 1, the baseline
        "voc_r101_toy_reg090_cls070": [53.0, 55.0, 54.0],  # row 3: +3 every seed; paper +1.3
        "voc_r101_toy_reg080_cls070": [53.0, 50.0, 52.0],  # row 2: (+3, -2, +1), holds 0
        "voc_r101_toy_reg070_cls080": [48.0, 50.0, 49.0],  # row 4: -2 every seed; paper +0.2
        "voc_r101_toy_reg070_cls090": [51.0, 53.0, 52.0],  # row 5: +1 every seed; paper 0.0
    })
    runs = build_runs(manifest, results, [0, 1, 2], ["I"])
    out = render_report(manifest, build_cells(manifest, runs), tmp_path / "index.html",
                        tables=["I"], runs=runs, seeds=[0, 1, 2], context={"synthetic": True})
    parsed = _ReportParser()
    parsed.feed(out.read_text(encoding="utf-8"))
    tones = {row: parsed.cells[("I", row, "AP")]["tone"] for row in "12345"}
    assert tones == {"1": "neutral", "2": "neutral", "3": "agree", "4": "disagree",
                     "5": "decided"}  # row 5: a difference where the paper has none
    steady = parsed.cells[("I", "3", "AP")]
    assert steady["delta"] == "+3.0 [+3.0, +3.0] vs paper +1.3"
    assert steady["spread"] == "sd 1.0 (n=3)"  # (53, 55, 54)
    noisy = parsed.cells[("I", "2", "AP")]  # mean 2/3, sd 2.52, t(2 df) 4.303: [-5.6, +6.9]
    assert noisy["delta"] == "+0.7 [-5.6, +6.9] vs paper +1.1"


def test_first_screen_says_whether_the_baselines_learned(tmp_path):
    from decoupled_rcnn.report.summary import GATE_TEXT, baseline_views, gate_outcome

    manifest = load_manifest()
    results = _stand_in_results({"voc_r50_faster": [20.0, 21.0], "voc_r101_faster": [4.0, 5.0],
                                 "voc_r101_dec": [6.0, 7.0]})
    runs = build_runs(manifest, results, [0, 1], ["II", "VII"])
    cells = build_cells(manifest, runs)
    views = baseline_views(manifest, ["II", "VII"], cells)
    # Table II shows no AP50: it is read from Table VII's cell of the same run (row 4)
    assert views[0] == {"table": "II", "measured": True, "rows": [
        {"row": 1, "label": "FPN, ✓", "AP": 4.5, "AP50": 34.5, "n": 2}]}
    assert [(r["row"], r["AP"], r["AP50"]) for r in views[1]["rows"]] == [
        (1, 20.5, 50.5), (4, 4.5, 34.5)]  # R50 FPN and R101 FPN, each backbone's baseline
    assert baseline_views(manifest, ["IX"], cells) == []
    assert not baseline_views(manifest, ["III"], cells)[0]["measured"]
    stopped = f"{GATE_TEXT} (Table VII baseline AP50 3.1 % < 10 %)"
    claims = pd.DataFrame({"table": ["VII", "VII", "III"],
                           "verdict": ["not decided", "not decided", "inconclusive"],
                           "why": [stopped, stopped, ""]})
    assert gate_outcome(claims) == [f"Table VII: {stopped}; its claims get no verdict."]
    assert gate_outcome(claims.iloc[2:]) == [] and gate_outcome(None) == []
    cells = build_cells(manifest, build_runs(manifest, results, [0, 1], ["II", "III", "VII"]))
    out = render_report(manifest, cells, tmp_path / "index.html", tables=["II", "III", "VII"],
                        runs=runs, seeds=[0, 1], context={"synthetic": True})
    html = out.read_text(encoding="utf-8")
    assert html.index('id="learned"') < html.index('id="headline"')
    assert "II: <span" in html and "4.5 / 34.5</span>" in html  # one baseline row: no "row"
    assert 'title="Table VII row 1: ResNet-50, FPN, ✗ (n=2)">20.5 / 50.5 (row 1)</span>' in html
    assert 'title="Table VII row 4: ResNet-101, FPN, ✗ (n=2)">4.5 / 34.5 (row 4)</span>' in html
    assert "baseline not measured: III</span>" in html


def test_the_gate_is_said_in_words_before_any_verdict(tmp_path):
    from decoupled_rcnn.report.summary import GATE_TEXT

    manifest = load_manifest()
    results = _stand_in_results({"voc_r50_faster": [1.0, 1.2], "voc_r50_dec": [1.1, 1.3]})
    runs = build_runs(manifest, results, [0, 1], ["VII"])
    claims = evaluate_claims(manifest, runs)
    claims = claims[claims["table"] == "VII"].copy()
    assert len(claims) > 0
    stopped = f"{GATE_TEXT} (Table VII baseline AP50 31.1 % < 40 %)"
    claims["verdict"], claims["why"] = "not decided", stopped
    out = render_report(manifest, build_cells(manifest, runs), tmp_path / "index.html",
                        tables=["VII"], runs=runs, claims=claims, seeds=[0, 1],
                        context={"synthetic": True})
    html = out.read_text(encoding="utf-8")
    line = escape(f"Table VII: {stopped}; its claims get no verdict.", quote=False)
    assert html.count(line) == 1
    assert html.index(line) < html.index('id="headline"') < html.index('id="claims"')
    assert 'id="gate-passed"' not in html
    claims["verdict"], claims["why"] = "inconclusive", ""  # the gate checked, stopped nothing
    out = render_report(manifest, build_cells(manifest, runs), tmp_path / "passed.html",
                        tables=["VII"], runs=runs, claims=claims, seeds=[0, 1],
                        context={"synthetic": True})
    html = out.read_text(encoding="utf-8")
    assert "it stopped no table's claims" in html and GATE_TEXT not in html


def test_report_command(tmp_path, capsys):
    import shutil

    from decoupled_rcnn import cli

    results = tmp_path / "results"
    shutil.copytree(FIXTURE_RESULTS / "experiments", results / "experiments")
    # A result of a seed the config does not run (seeds: 2): Snakemake never declares it.
    stray = results / "experiments" / "voc_r101_dec_reg085" / "seed5" / "default" / "metrics.json"
    stray.parent.mkdir(parents=True)
    stray.write_text('{"status": "ok", "metrics": {"AP": 0.987}}')
    config = tmp_path / "workflow.yaml"
    config.write_text(f"tables: [III]\nseeds: 2\nresults_dir: {results}\n"
                      f"report: {tmp_path / 'reports' / 'index.html'}\n")
    assert cli.main(["tables", "--configfile", str(config), "--figures"]) == 0
    assert cli.main(["report", "--configfile", str(config)]) == 0
    out = tmp_path / "reports" / "index.html"
    assert capsys.readouterr().out.strip().endswith(str(out))
    parsed = _ReportParser()
    parsed.feed(out.read_text(encoding="utf-8"))
    assert parsed.cells[("III", "4", "AP")]["measured"] == "55.7"
    assert {k[0] for k in parsed.cells} == {"III"}
    assert len(parsed.images) == 2  # Table III: AP vs IoU and the sweep
    assert "98.7" not in out.read_text(encoding="utf-8")  # the stray number appears nowhere


def test_first_screen_compute_and_missing_qualitative_figures(tmp_path):
    from decoupled_rcnn.report.summary import compute_seconds, qualitative_views
    from decoupled_rcnn.reproduction.plan.layout import Layout

    metrics, _ = fixture_files()
    layout = fixture_layout()
    absent = layout.path("metrics", experiment="voc_r50_faster", seed=0, test="default")
    # two seeds' trainings, each counted once; a repeated or absent file adds nothing
    assert compute_seconds(layout, metrics) == 2 * 3725
    assert compute_seconds(layout, [*metrics, metrics[-1], absent]) == 2 * 3725
    manifest = load_manifest()
    runs = build_runs(manifest, fixture_results(), [0, 1], ["III"])
    layout = Layout(tmp_path / "results", tmp_path / "index.html")
    views = qualitative_views(layout, [], "the selected tables (III) train no pair")
    assert [v["id"] for v in views] == ["fig4", "fig5"] and all("src" not in v for v in views)
    out = render_report(manifest, build_cells(manifest, runs), layout.report, tables=["III"],
                        runs=runs, qualitative=views,
                        compute_s=compute_seconds(fixture_layout(), metrics),
                        context={"synthetic": True})
    html = out.read_text(encoding="utf-8")
    assert html.count("Not produced: the selected tables (III) train no pair.") == 2
    assert "<b>Did it work?</b>\n0 of " in html and "2:04:10" in html
    assert html.index('id="headline"') < html.index('id="qualitative"') < html.index(
        'id="table-III"')


def test_compute_box_shows_where_the_time_went(tmp_path):
    import pandas as pd

    manifest = load_manifest()
    runs = build_runs(manifest, fixture_results(), [0, 1], ["III"])
    cells = build_cells(manifest, runs)
    times = pd.DataFrame([{"rule": "train", "jobs": 2, "wall_s": 100.0, "cpu_s": 151.0,
                           "jobs_without_cpu": 0},
                          {"rule": "tables", "jobs": 1, "wall_s": 0.4, "cpu_s": 0.0,
                           "jobs_without_cpu": 1},
                          {"rule": "total", "jobs": 3, "wall_s": 100.4, "cpu_s": 151.0,
                           "jobs_without_cpu": 1}])
    html = render_report(manifest, cells, tmp_path / "a.html", tables=["III"], runs=runs,
                         rule_time=times).read_text(encoding="utf-8")
    box = html[html.index('id="fact-compute"'):html.index('id="where-the-time-went"') + 2000]
    assert "<td>train</td><td>2</td><td>100.0</td><td>151.0</td>" in box
    assert "<td>0.0 (1 too short to sample)</td>" in box
    assert '<tr class="total"><td>total</td><td>3</td><td>100.4</td>' in box
    empty = render_report(manifest, cells, tmp_path / "b.html", tables=["III"], runs=runs)
    assert "where-the-time-went" not in empty.read_text(encoding="utf-8")

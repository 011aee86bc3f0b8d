"""The HTML report rendered from fixed metrics files, read back with html.parser."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from results_testlib import FIXTURE_RESULTS, fixture_files, fixture_layout, fixture_results

from decoupled_rcnn.report import COCO_SUBMIT_URL, render_report
from decoupled_rcnn.reproduction.figures.measured import make_figures
from decoupled_rcnn.reproduction.manifest import load_manifest
from decoupled_rcnn.reproduction.results.claims import evaluate_claims
from decoupled_rcnn.reproduction.results.tables import build_cells, build_runs, read_provenance


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
            self._cell = {"status": a["data-status"], "text": ""}
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
    assert (cell["status"], cell["measured"], cell["paper"], cell["delta"]) == (
        "ok", "55.7", "56.6", "-0.9")
    assert cell["spread"] == "± 0.7 (n=2)"
    assert cell["delta_class"] == "kind-paper worse"
    assert parsed.cells[("IV", "1", "AP90")]["measured"] == "20.8"  # the same run, Table IV
    assert parsed.cells[("VII", "5", "AP90")]["delta"] == "-1.1"
    speed = parsed.cells[("VII", "5", "s_per_img")]
    assert (speed["measured"], speed["paper"], speed["delta"]) == ("0.250", "0.108", "+0.142")
    assert speed["delta_class"] == "kind-paper"  # hardware-dependent: not judged
    stage = parsed.cells[("X", "1", "stage_1_1")]
    assert (stage["measured"], stage["paper"], stage["delta"]) == ("38.1", "38.5", "-0.4")


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
    assert 'data-claim="t4_three_stages_beat_one" data-verdict="missing"' in html
    assert "Rule: " in html


def test_report_shows_only_the_selected_tables_and_shapes(tmp_path):
    manifest = load_manifest()
    runs = build_runs(manifest, fixture_results(), [0, 1], ["III", "VII"])
    cells = build_cells(manifest, runs)
    out = render_report(manifest, cells, tmp_path / "index.html", tables=["VII"],
                        context={"synthetic": True})
    parsed = _ReportParser()
    parsed.feed(out.read_text(encoding="utf-8"))
    assert {k[0] for k in parsed.cells} == {"VII"}
    # Row 5 (R101 Decoupled) vs the baseline row 1 (R50 FPN, not measured): no shape shown.
    assert "delta" not in parsed.cells[("VII", "5", "AP")]
    assert 'id="table-III"' not in out.read_text(encoding="utf-8")


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

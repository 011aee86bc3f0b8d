"""Where the time went: Snakemake's benchmark files summed per rule."""

from __future__ import annotations

import re
from pathlib import Path

from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.results.rule_time import rule_of, rule_times

RULES = Path(__file__).resolve().parents[3] / "workflow" / "rules"
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _bench(layout: Layout, name: str, wall: float, cpu: str) -> None:
    path = layout.path("rule_benchmark", name=name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:01\t1\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_jobs_wall_and_cpu_are_summed_per_rule(tmp_path):
    layout = Layout(tmp_path / "results", tmp_path / "reports" / "index.html")
    _bench(layout, "train/a", 60.0, "100.5")
    _bench(layout, "train/b", 40.0, "50.5")
    _bench(layout, "evaluate/a/val", 10.0, "8.0")
    _bench(layout, "tables", 0.4, "NA")  # shorter than Snakemake's first sample
    table = rule_times(layout)
    rows = {r["rule"]: r for r in table.to_dict("records")}
    assert list(table["rule"]) == ["train", "evaluate", "tables", "total"]  # most CPU first
    assert (rows["train"]["jobs"], rows["train"]["wall_s"], rows["train"]["cpu_s"]) == (
        2, 100.0, 151.0)
    assert (rows["tables"]["cpu_s"], rows["tables"]["jobs_without_cpu"]) == (0.0, 1)
    assert (rows["total"]["jobs"], rows["total"]["wall_s"], rows["total"]["cpu_s"]) == (
        4, 110.4, 159.0)
    assert rule_of(layout, layout.path("rule_benchmark", name="evaluate/a/val")) == "evaluate"


def test_no_benchmark_files_is_an_empty_table(tmp_path):
    table = rule_times(Layout(tmp_path / "results", tmp_path / "index.html"))
    assert table.empty and list(table.columns) == ["rule", "jobs", "wall_s", "cpu_s",
                                                   "jobs_without_cpu"]


def test_every_rule_declares_a_benchmark_file():
    rules = {}
    for smk in sorted(RULES.glob("*.smk")):
        for block in re.split(r"\n(?=\s*rule \w+:)", smk.read_text()):
            match = re.match(r"\s*rule (\w+):", block)
            if match:
                rules[match.group(1)] = block
    assert {"prepare_data", "pretrain", "train", "evaluate", "benchmark", "tables",
            "figures", "curves", "fig4", "fig5", "report"} <= set(rules)
    for name, block in rules.items():
        found = re.search(r'benchmark:\s*\n\s*LAYOUT\.path\("rule_benchmark", name="([^"]+)"',
                          block)
        assert found, f"rule {name} declares no benchmark file"
        assert found.group(1).split("/")[0] == name  # rule_of() names the rule back

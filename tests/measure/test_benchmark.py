"""``decoupled-rcnn bench`` (decoupled_rcnn.measure.benchmark): structure, ratios, JSON and table.

Timings are measured here, never compared with fixed numbers: the checks are on the result's
structure and on the ratios being the measured times divided by the baseline's.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics

import pytest
import torch

from decoupled_rcnn import cli
from decoupled_rcnn.measure import bench_output, benchmark
from decoupled_rcnn.provenance import hardware_name
from decoupled_rcnn.reproduction.results.read import read_result

FPN = "configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py"
DECOUPLED = "configs/decoupled_rcnn/decoupled-rcnn_r50_fpn_1x_coco.py"
# Tiny setting at 64x64, one thread (a shared 2-core machine), 1 warm-up + 2 timed rounds.
TINY_ARGS = ["--tiny", "--size", "64", "64", "--threads", "1"]
REPEATS = 2


def _run_cli(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(argv) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """The two-config tiny run through the CLI, with --json and --out."""
    path = tmp_path_factory.mktemp("bench") / "benchmark.json"
    threads_before = torch.get_num_threads()
    stdout = _run_cli(["bench", f"fpn={FPN}", f"decoupled={DECOUPLED}", *TINY_ARGS,
                       "--warmup", "1", "--repeats", str(REPEATS), "--json", "--out", str(path)])
    return {"stdout": stdout, "path": path, "threads_before": threads_before,
            "threads_after": torch.get_num_threads()}


@pytest.fixture(scope="module")
def result(bench):
    return json.loads(bench["stdout"])  # --json prints nothing but the JSON document


def test_header_names_hardware_threads_size_repeats(result, bench):
    header = result["header"]
    assert result["status"] == "ok"
    assert header["hardware"] == hardware_name(torch.device("cpu"))
    assert header["device"] == "cpu" and header["threads"] == 1
    assert header["size"] == [64, 64] and header["tiny"] is True
    assert (header["repeats"], header["warmup"], header["baseline"]) == (REPEATS, 1, "fpn")
    assert bench["threads_after"] == bench["threads_before"]  # --threads is not left behind


def test_entries_have_every_field_and_consistent_times(result):
    entries = result["entries"]
    assert [e["name"] for e in entries] == ["fpn", "decoupled"]
    assert [e["config"] for e in entries] == [FPN, DECOUPLED]
    for e in entries:
        for key in bench_output.METRIC_FIELDS:
            assert key in e, key
        for kind, median, low in (("infer", "s_per_img", "s_per_img_min"),
                                  ("train", "train_s_per_iter", "train_s_per_iter_min")):
            times = e[f"{kind}_times"]
            assert len(times) == REPEATS and all(t > 0 for t in times)
            assert e[median] == statistics.median(times) and e[low] == min(times)
            assert 0 < e[low] <= e[median]
        assert e["gflops"] > 0 and e["params_trainable_m"] > 0
    # The decoupled head adds an unshared regression branch to the same backbone and RPN.
    assert entries[1]["params_trainable"] > entries[0]["params_trainable"]
    assert entries[1]["gflops"] > entries[0]["gflops"]


def test_ratios_are_measured_times_over_the_baselines(result):
    base = result["entries"][0]
    for e in result["entries"]:
        for ratio, time_key in (("ratio_infer", "s_per_img"),
                                ("ratio_infer_min", "s_per_img_min"),
                                ("ratio_train", "train_s_per_iter"),
                                ("ratio_train_min", "train_s_per_iter_min")):
            assert e[ratio] == pytest.approx(e[time_key] / base[time_key], rel=1e-12)
    assert base["ratio_infer"] == base["ratio_train"] == 1.0


def test_out_file_equals_stdout_and_tables_read_one_entry(result, bench, tmp_path):
    assert json.loads(bench["path"].read_text()) == result  # two entries: no top-level metrics
    path = bench_output.write_benchmark_json(result, tmp_path / "benchmark.json", entry="decoupled")
    read = read_result(path)
    decoupled = result["entries"][1]
    assert read.status == "ok" and read.provenance["hardware"] == result["header"]["hardware"]
    for key in ("s_per_img", "gflops", "params_trainable_m", "ratio_infer"):
        assert read.metrics[key] == pytest.approx(decoupled[key])


def test_table_names_hardware_and_threads():
    # One config, FLOPs off, one timed round: the table path of the command.
    stdout = _run_cli(["bench", FPN, *TINY_ARGS, "--warmup", "0", "--repeats", "1",
                       "--no-flops"])
    lines = stdout.splitlines()
    assert hardware_name(torch.device("cpu")) in lines[0]
    assert "torch threads: 1" in lines[0] and "64x64" in lines[1]
    row = next(line for line in lines if line.startswith("faster-rcnn_r50_fpn_1x_coco"))
    assert "1.00 / 1.00" in row and row.split()[-2] == "-"  # ratio to itself; no GFLOPs


def test_bad_arguments_fail_before_building():
    with pytest.raises(ValueError, match="duplicate"):
        benchmark.benchmark([FPN, FPN], tiny=True)
    with pytest.raises(ValueError, match="baseline"):
        benchmark.benchmark([FPN], tiny=True, baseline="nope")
    with pytest.raises(ValueError, match="repeats"):
        benchmark.benchmark([FPN], tiny=True, repeats=0)


def test_config_specs():
    assert benchmark.parse_config_spec("a=x/y.py") == benchmark.BenchConfig("a", "x/y.py")
    assert benchmark.parse_config_spec("mmdet::cascade_rcnn/c_r50.py").name == "c_r50"
    spec = benchmark.parse_config_spec(
        {"config": DECOUPLED, "overrides": {"model.roi_head.num_stages": 3}})
    assert spec.name == "decoupled-rcnn_r50_fpn_1x_coco"
    assert spec.overrides == {"model.roi_head.num_stages": 3}
    assert [s.name for s in benchmark.DEFAULT_CONFIGS][0] == "faster_rcnn_fpn"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_run_names_the_gpu():
    out = benchmark.benchmark([FPN], tiny=True, size=(64, 64), repeats=1, warmup=1,
                              device="cuda", flops=False)
    assert out["header"]["hardware"] == torch.cuda.get_device_name(0)
    assert out["header"]["device"].startswith("cuda")
    assert 0 < out["entries"][0]["s_per_img_min"] <= out["entries"][0]["s_per_img"]

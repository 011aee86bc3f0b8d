"""What the workflow's rules do, one function per rule; each takes the workflow config.

The figure rules are in :mod:`decoupled_rcnn.reproduction.pipeline_figures`. The workflow
config (``configs/workflow/*.yaml``, schema in ``workflow/schemas``) says where
the data is (generated stand-in or the paper's VOC/COCO), whether the tiny model setting and
a short schedule apply, the seeds, and where results go. The manifest says what each
experiment is. Every path comes from the rule (its declared inputs and outputs); what a path
holds is read back through :class:`~decoupled_rcnn.reproduction.plan.layout.Layout`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from decoupled_rcnn.paths import REPO_ROOT
from decoupled_rcnn.provenance import write_json_atomic
from decoupled_rcnn.reproduction.manifest import Manifest, load_manifest
from decoupled_rcnn.reproduction.plan.compose import CUSTOM, SYNTHETIC, experiment_config
from decoupled_rcnn.reproduction.plan.layout import Layout

__all__ = ["finish_trainings", "log_to", "make_report", "make_tables",
           "prepare_data", "run_benchmark", "run_evaluation", "run_pretrain", "run_training"]


@contextlib.contextmanager
def log_to(path: str | Path) -> Iterator[None]:
    """Send this process's stdout and stderr (and so mmengine's log) to a rule's log file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        yield


def _manifest(wcfg: Mapping[str, Any]) -> Manifest:
    return load_manifest(REPO_ROOT / wcfg["manifest"])


def prepare_data(wcfg: Mapping[str, Any], done: str | Path) -> None:
    """Generate the stand-in data, or check the real roots and convert VOC to COCO json.

    Writes ``done`` (a small JSON summary) last, so the rule's output means "data ready".
    """
    data = wcfg["data"]
    layout = Layout.from_config(wcfg)
    summary: dict[str, Any] = {"source": data["source"]}
    if data["source"] == SYNTHETIC:
        from decoupled_rcnn.datasets.synthetic import generate_synthetic

        syn = dict(data["synthetic"])
        result = generate_synthetic(layout.path("synthetic_data"), overwrite=True, **syn)
        summary["synthetic"] = repr(result)
    elif data["source"] == CUSTOM:  # your own dataset: checked (VOC XML converted) once
        from decoupled_rcnn.datasets.custom import CustomSource
        from decoupled_rcnn.datasets.custom_check import prepare_custom

        summary["custom"] = prepare_custom(CustomSource.from_config(data["custom"]),
                                           layout.path("custom_json"))
    else:
        datasets = {e.dataset for e in _manifest(wcfg).experiments_for(wcfg["tables"])}
        if "voc0712" in datasets:
            from decoupled_rcnn.datasets.voc import convert_voc0712

            convert_voc0712(data.get("voc_root"), layout.path("voc_json"))
            summary["voc"] = str(layout.path("voc_json"))
        if "coco" in datasets:
            from decoupled_rcnn.datasets.coco import check_coco_root

            check_coco_root(data.get("coco_root"))
            summary["coco"] = str(data["coco_root"])
    write_json_atomic(summary, done)


def use_threads(threads: int | None) -> None:
    """Give torch the job's CPU threads (the rule's ``threads:``), not every core: jobs run
    side by side, and oversubscribed OpenMP threads slow all of them down."""
    if threads:
        import torch

        torch.set_num_threads(int(threads))


def run_pretrain(wcfg: Mapping[str, Any], model_config: str, checkpoint: str | Path,
                 info: str | Path, threads: int | None = None) -> None:
    """Pre-train one tiny backbone variant on the stand-in training data (ImageNet's role)."""
    use_threads(threads)
    from decoupled_rcnn.embedded.pretrain import pretrain_backbone

    layout = Layout.from_config(wcfg)
    data_root, files = layout.path("synthetic_data"), {}
    if wcfg["data"]["source"] == CUSTOM:  # crops of your own training split
        from decoupled_rcnn.datasets.custom import CustomSource, custom_split_files

        source = CustomSource.from_config(wcfg["data"]["custom"])
        ann, images = custom_split_files(source, layout.path("custom_json"))["train"]
        data_root, files = source.root, {"ann_file": ann, "img_dir": images}
    settings = dict(wcfg["model"].get("pretrain") or {})
    if wcfg["data"]["source"] == CUSTOM:  # crops sized like the objects at the input size
        from decoupled_rcnn.datasets.data_profile import custom_sizing

        settings["crop_size"] = custom_sizing(wcfg, experiments=1).crop_size
    provenance = pretrain_backbone(model_config, data_root, checkpoint, seed=int(wcfg["seed"]),
                                   **files, **settings)
    write_json_atomic(provenance, info)


def run_training(wcfg: Mapping[str, Any], experiment_id: str, seed: int,
                 checkpoint: str | Path, info: str | Path, gpus: int = 0,
                 threads: int | None = None, allocation: int = 1) -> None:
    """Train one experiment with one seed; with more than one process, through ``torchrun``.

    The work dir is the checkpoint's folder's ``work/``; the composed config is saved there as
    ``config.py`` first: it is the record of what ran, and what the distributed workers load.
    Processes: one per GPU (``gpus``, NCCL), else ``resources.train.processes`` CPU workers
    (gloo); both go through the same ``torchrun`` launch. The short schedule's ``batch_size``
    is the images of one iteration over all processes (each process takes its share); a
    paper schedule's config gives images per GPU (the paper: 4 GPUs x 2 images).

    ``allocation`` is Snakemake's attempt: a retry (2, 3, ...) continues a training stopped
    at its job's time limit (:mod:`~decoupled_rcnn.reproduction.run.time_limit`); after any
    other failure it stops at once with that failure's reason, spending no further GPU time.

    A failed training (e.g.
    :class:`~decoupled_rcnn.reproduction.run.finite_loss.NonFiniteLossError`, a NaN loss)
    leaves a failure record (layout kind ``train_failed``: the one-line reason and the log)
    and raises; the tables and report show that experiment as failed. A new attempt removes
    the record first.

    Raises:
        InstallError: torch sees a GPU but mmcv's ops do not run on it (one line, the fix).
        GpuPlacementError: the job sees other than ``gpus`` GPUs (one line, both numbers).
        MissingWeightsError: backbone weights missing on a node without network (one line).
        DuplicateTrainingError: another live Slurm job trains this experiment and seed.
        EarlierFailureError: a retry after a failure other than the time limit.
        ValueError: the short schedule's batch does not split evenly over the processes.
        NonFiniteLossError: the loss became NaN or infinite (names the iteration).
    """
    use_threads(threads)
    from decoupled_rcnn.install_check import require_cuda_build, require_cuda_ops
    from decoupled_rcnn.reproduction.run.distributed import (
        check_visible_gpus,
        training_processes,
    )
    from decoupled_rcnn.reproduction.run.duplicate import claim_work_dir
    from decoupled_rcnn.reproduction.run.failures import recording_failure, refuse_retry
    from decoupled_rcnn.reproduction.run.weights import require_local_weights

    processes = training_processes(wcfg["resources"]["train"], gpus)
    require_cuda_build()  # mmcv built with CUDA ops where torch sees a GPU (the install's)
    layout = Layout.from_config(wcfg)
    found = layout.parse("checkpoint", checkpoint)
    # A second live Slurm job on this experiment and seed (a dead driver's) refuses us.
    claim_work_dir(layout.path("train_work", **found), f"{experiment_id} seed {seed}")
    refuse_retry(layout, found, allocation)
    with recording_failure(layout, found, experiment_id, seed, processes):
        check_visible_gpus(gpus)  # GPUs seen == GPUs asked, before torchrun (no CUDA context)
        require_local_weights(wcfg, experiment_id)  # an offline node: fail now, name the file
        if processes == 1:  # this process trains; torchrun workers each check their own GPU
            require_cuda_ops()  # mmengine trains on the GPU whenever it sees one
        _train(wcfg, experiment_id, seed, layout.path("train_work", **found), checkpoint, info,
               processes, gpus)


def _train(wcfg: Mapping[str, Any], experiment_id: str, seed: int, work_dir: Path,
           checkpoint: str | Path, info: str | Path, processes: int, gpus: int = 0) -> None:
    from decoupled_rcnn.reproduction.run.distributed import (
        paper_total_batch,
        run_workers,
        torchrun_command,
    )
    from decoupled_rcnn.reproduction.run.finite_loss import add_finite_loss_hook

    cfg = experiment_config(wcfg, experiment_id, seed=seed, work_dir=work_dir)
    if wcfg["schedule"]["kind"] == "paper":
        # One checkpoint per epoch, kept forever, is hundreds of GB on COCO: the last two.
        cfg.default_hooks.checkpoint.max_keep_ckpts = 2
        if gpus > 0:
            print(paper_total_batch(cfg, processes, wcfg["resources"]["train"]["batch"]),
                  flush=True)
    add_finite_loss_hook(cfg, f"{experiment_id} seed {seed}")
    if processes > 1 and wcfg["schedule"]["kind"] == "short":
        total = cfg.train_dataloader.batch_size
        if total % processes:
            raise ValueError(f"schedule.short.batch_size {total} does not split over "
                             f"{processes} training processes")
        cfg.train_dataloader.batch_size = total // processes
    work_dir.mkdir(parents=True, exist_ok=True)
    saved = work_dir / "config.py"
    from decoupled_rcnn.reproduction.run.runs import discard_stale_checkpoints

    discard_stale_checkpoints(cfg, work_dir)
    _stop_before_time_limit(cfg, wcfg["resources"]["train"]["stop_before_limit_s"])
    cfg.dump(saved)
    if processes > 1:
        from decoupled_rcnn.reproduction.run.time_limit import REQUEUE_EXIT, stopped_in_this_job

        try:
            run_workers(torchrun_command(saved, checkpoint, info, processes))
        except subprocess.CalledProcessError:
            if stopped_in_this_job(work_dir):  # torchrun reports its workers' exit 75 as 1
                raise SystemExit(REQUEUE_EXIT) from None
            raise
        return
    from decoupled_rcnn.reproduction.run.runs import train_experiment

    cfg.filename = str(saved)
    train_experiment(cfg, checkpoint, info)


def _stop_before_time_limit(cfg: Any, margin_s: float) -> None:
    """Under Slurm, add the hook that checkpoints and exits 75 ``margin_s`` before the limit."""
    from decoupled_rcnn.reproduction.run.time_limit import (
        add_time_limit_hook,
        slurm_job_deadline,
        stop_margin,
    )

    deadline = slurm_job_deadline()
    if deadline is None:
        return
    left = deadline - time.time()
    margin_s = stop_margin(margin_s, left)
    add_time_limit_hook(cfg, deadline, margin_s)
    print(f"Slurm job {os.environ.get('SLURM_JOB_ID')}: {left:.0f} s left; the training "
          f"checkpoints and exits with 75 when fewer than {margin_s:.0f} s and one iteration "
          "remain, and the next allocation resumes there", flush=True)


def finish_trainings(wcfg: Mapping[str, Any], checkpoints: Sequence[str | Path]) -> None:
    """Delete the resume checkpoints of a train job's finished trainings (every seed).

    Called once all seeds of the job are trained: a job killed at a later seed is rerun
    whole by Snakemake, and its finished seeds then resume from their last checkpoint (no
    iteration retrained) instead of starting again.
    """
    from decoupled_rcnn.reproduction.run.runs import remove_resume_checkpoints

    layout = Layout.from_config(wcfg)
    for checkpoint in checkpoints:
        if Path(checkpoint).is_file():
            remove_resume_checkpoints(layout.path("train_work",
                                                  **layout.parse("checkpoint", checkpoint)))


def _schedule_text(wcfg: Mapping[str, Any], cfg: Any, schedule_id: str) -> str:
    if wcfg["schedule"]["kind"] == "paper":
        return schedule_id
    return f"short: {cfg.train_cfg.max_iters} iterations (paper: {schedule_id})"


def run_evaluation(wcfg: Mapping[str, Any], checkpoint: str | Path, train_info: str | Path,
                   metrics: str | Path, threads: int | None = None) -> None:
    """Evaluate one trained experiment and seed under one manifest test setting."""
    use_threads(threads)
    from decoupled_rcnn.reproduction.run.runs import evaluate_experiment

    layout = Layout.from_config(wcfg)
    key = layout.metrics_key(metrics)
    manifest = _manifest(wcfg)
    test = manifest.tests[key.test]
    exp = manifest.experiments[key.experiment]
    work_dir = layout.path("eval_work", experiment=key.experiment, seed=key.seed, test=key.test)
    cfg = experiment_config(wcfg, key.experiment, seed=key.seed, test_id=key.test,
                            work_dir=work_dir, manifest=manifest)
    # Only the paper's data has a test-dev split or VOC's protocol: the stand-in and your own
    # data are scored COCO-style on their val split (11-point values beside).
    real = wcfg["data"]["source"] not in (SYNTHETIC, CUSTOM)
    # Real VOC: the official code's 11-point protocol; the stand-in is scored COCO-style.
    detections = layout.path("detections", experiment=key.experiment, seed=key.seed,
                             test=key.test)
    result = evaluate_experiment(cfg, checkpoint, metrics, detections,
                                 server_only=test.server_only and real,
                                 voc07=real and exp.dataset == "voc0712",
                                 name=f"experiment {key.experiment} ({exp.config})")
    trained = json.loads(Path(train_info).read_text())
    result["provenance"].update(
        config=exp.config, overrides=dict(exp.overrides), test=key.test, seed=key.seed,
        dataset=_dataset_text(wcfg, exp.dataset),
        schedule=_schedule_text(wcfg, cfg, exp.schedule),
        wall_time_s=trained["wall_time_s"], train_hardware=trained["hardware"],
        train_config=str(layout.path("train_work", experiment=key.experiment,
                                     seed=key.seed) / "config.py"),
        log=str(layout.train_log_of(train_info)))
    write_json_atomic(result, metrics)


def _dataset_text(wcfg: Mapping[str, Any], dataset: str) -> str:
    """What an evaluation's provenance names as its dataset."""
    source = wcfg["data"]["source"]
    if source == CUSTOM:
        return f"custom: {wcfg['data']['custom'].get('name') or 'custom'}"
    return "synthetic stand-in" if source == SYNTHETIC else dataset


def run_benchmark(wcfg: Mapping[str, Any], summary: str | Path,
                  per_experiment: Sequence[str | Path]) -> None:
    """Time every experiment's network in one process, interleaved (``decoupled-rcnn bench``).

    The first Faster R-CNN experiment is the baseline of the ratios. Writes the whole result
    (hardware named in its header) to ``summary`` and each experiment's numbers to its
    declared benchmark file, where the tables read them.
    """
    from decoupled_rcnn.measure.bench_output import write_benchmark_json
    from decoupled_rcnn.measure.benchmark import BenchConfig, benchmark

    layout = Layout.from_config(wcfg)
    manifest = _manifest(wcfg)
    files = {layout.metrics_key(p).experiment: p for p in per_experiment}
    specs = [BenchConfig(name=e, config=manifest.experiments[e].config,
                         overrides=dict(manifest.experiments[e].overrides),
                         cfg=experiment_config(wcfg, e, manifest=manifest)) for e in files]
    baselines = [e for e in files if manifest.experiments[e].model == "faster_rcnn"]
    bench = wcfg["benchmark"]
    result = benchmark(specs, size=tuple(bench["size"]), repeats=bench["repeats"],
                       warmup=bench["warmup"], device=bench["device"], threads=bench["threads"],
                       flops=bench["flops"], baseline=baselines[0] if baselines else None)
    write_benchmark_json(result, summary)
    for experiment, path in files.items():
        write_benchmark_json(result, path, entry=experiment)


def make_tables(wcfg: Mapping[str, Any], metrics: Sequence[str | Path],
                benchmarks: Sequence[str | Path], tables: Sequence[str | Path],
                cells: str | Path, runs: str | Path, claims: str | Path) -> None:
    """Each selected table's CSV, the long-form cells, per-seed runs and claims (declared)."""
    from decoupled_rcnn.reproduction.plan.selection import select
    from decoupled_rcnn.reproduction.results.claims import claim_settings
    from decoupled_rcnn.reproduction.results.read import read_results
    from decoupled_rcnn.reproduction.results.tables import write_tables

    layout = Layout.from_config(wcfg)
    selection = select(wcfg)
    results = read_results(layout, metrics, benchmarks, aliases=selection.aliases)
    write_tables(selection.manifest, results, tables=dict(zip(wcfg["tables"], tables)),
                 cells=cells, runs=runs, claims=claims, seeds=selection.seeds,
                 aliases=selection.aliases, claim_settings=claim_settings(wcfg, SYNTHETIC))


def make_report(wcfg: Mapping[str, Any], out: str | Path, *, cells: str | Path,
                runs: str | Path, claims: str | Path, metrics: Sequence[str | Path],
                figures: Sequence[str | Path], curves: Sequence[str | Path] = (),
                qualitative: Sequence[str | Path] = (),
                data: str | Path | None = None) -> None:
    """``index.html``: the selected tables measured beside the paper, claims, provenance.

    Args:
        curves: the training-curve PNGs the rule declares (one per training experiment).
        qualitative: the Fig. 4 / Fig. 5 PNGs and their JSON records the rule declares
            (none where the selected tables lack the experiments they need).
        data: the prepared-data summary (``data_ready``); with your own dataset the report
            names it, its classes and their box counts.
    """
    import pandas as pd

    from decoupled_rcnn.report import render_report
    from decoupled_rcnn.report.summary import compute_seconds, qualitative_views
    from decoupled_rcnn.reproduction.figures.qualitative import FIG4_PAIRS, fig4_pair
    from decoupled_rcnn.reproduction.plan.selection import select
    from decoupled_rcnn.reproduction.results.claims import claim_settings
    from decoupled_rcnn.reproduction.results.read import read_provenance
    from decoupled_rcnn.reproduction.results.rule_time import rule_times

    layout = Layout.from_config(wcfg)
    selection = select(wcfg)
    missing = "" if fig4_pair(selection.evaluations, selection.run_of) else (
        f"the selected tables ({', '.join(wcfg['tables'])}) train no FPN / Decoupled R-CNN "
        "with cascaded regression pair of one backbone (rows of Table VII or VIII: "
        + "; ".join(f"{a} vs {b}" for a, b in FIG4_PAIRS) + ")")
    synthetic = wcfg["data"]["source"] == SYNTHETIC
    setting = ("generated stand-in data and the tiny model setting: levels are not comparable "
               "to the paper's VOC/COCO numbers, so tables compare shapes (each row's "
               "difference to its table's baseline row, beside the paper's difference)"
               if synthetic else "the paper's datasets")
    context: dict[str, Any] = {}
    if wcfg["data"]["source"] == CUSTOM:
        from decoupled_rcnn.report.summary import custom_data_context

        context = custom_data_context(wcfg["data"]["custom"], data)
        setting = context.pop("setting")
        synthetic = True  # levels are not the paper's: compare shapes
    render_report(selection.manifest, pd.read_csv(cells), out,
                  tables=list(wcfg["tables"]), runs=pd.read_csv(runs),
                  claims=pd.read_csv(claims),
                  provenance=read_provenance(layout, metrics),
                  figures={Path(f).stem: Path(f) for f in figures},
                  aliases=selection.aliases, seeds=list(selection.seeds),
                  curves={layout.parse("curves", c)["experiment"]: Path(c) for c in curves},
                  qualitative=qualitative_views(layout, qualitative, missing),
                  compute_s=compute_seconds(layout, metrics),
                  learnability_floor=claim_settings(wcfg, SYNTHETIC)["floor"],
                  rule_time=rule_times(layout),
                  context={"setting": setting, **context, "synthetic": synthetic})

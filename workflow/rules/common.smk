# Shared names: what the chosen tables run (the selection) and where it goes (the layout).
from pathlib import Path

from decoupled_rcnn.provenance import remove_temporaries
from decoupled_rcnn.reproduction.plan.config_checks import check_dataset_roots
from decoupled_rcnn.reproduction.figures.measured import figure_names
from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.plan.resources import job_resources, job_threads, train_runtime
from decoupled_rcnn.reproduction.figures.qualitative import fig4_pair
from decoupled_rcnn.reproduction.plan.selection import benchmark_experiments, select

REPO = Path(workflow.basedir)  # the Snakefile's folder: configs/ and the manifest live here
LAYOUT = Layout.from_config(config)
SELECTION = select(config)
MANIFEST = SELECTION.manifest
EXPERIMENTS = list(SELECTION.experiments)  # one per distinct run (aliases train once)
SEEDS = list(SELECTION.seeds)
# What every rule asks the scheduler for (resources:, threads:), from the workflow config.
RES = {kind: job_resources(config, kind) for kind in
       ("train", "evaluate", "benchmark", "prepare_data", "pretrain", "summary")}
BENCH_EXPERIMENTS = benchmark_experiments(MANIFEST, config["tables"], EXPERIMENTS)
FIGURES = figure_names(MANIFEST, config["tables"])
# Fig. 4 / Fig. 5: (FPN, Decoupled R-CNN with cascade) evaluations of the selected tables'
# runs, or None: then neither figure is in the DAG and the report says what is missing.
QUALITATIVE = fig4_pair(SELECTION.evaluations, SELECTION.run_of)
# No conda: directives: one conda/pip call cannot build mmcv's ops against torch, so
# `--sdm conda` cannot make the environment. Every job runs the interpreter of the driver's
# .venv (`make setup`), which Slurm jobs reach at the same path on a shared filesystem
# (README, "Running on a Slurm cluster").


wildcard_constraints:
    experiment="|".join(EXPERIMENTS) or "none",
    seed=r"\d+",
    test="|".join(MANIFEST.tests),
    table="|".join(MANIFEST.tables),
    variant="|".join(SELECTION.variants) or "none",


def path_of(kind):
    """A layout template with this rule's wildcards (see decoupled_rcnn.reproduction.plan.layout)."""
    return LAYOUT.template(kind)


def all_metrics(wildcards=None):
    return SELECTION.metrics_files(LAYOUT)


def all_benchmarks(wildcards=None):
    return [str(LAYOUT.path("benchmark", experiment=e)) for e in BENCH_EXPERIMENTS]


def all_tables(wildcards=None):
    return [str(LAYOUT.path("table", table=t)) for t in config["tables"]]


def all_figures(wildcards=None):
    return [str(LAYOUT.path("figure", name=n)) for n in FIGURES]


def all_curves(wildcards=None):
    return [str(LAYOUT.path("curves", experiment=e)) for e in EXPERIMENTS]


def qualitative_files(wildcards=None):
    """Fig. 4 and Fig. 5 (PNG and JSON record each), when the selection has their pair."""
    kinds = ("fig4", "fig4_info", "fig5", "fig5_info")
    return [str(LAYOUT.path(k)) for k in kinds] if QUALITATIVE else []


def qualitative_metrics(index):
    """The first seed's metrics file of QUALITATIVE[index] (0: FPN, 1: Decoupled R-CNN)."""
    ev = QUALITATIVE[index]
    return str(LAYOUT.path("metrics", experiment=ev.experiment, seed=SEEDS[0], test=ev.test))


def model_config(wildcards):
    return str(REPO / MANIFEST.experiments[wildcards.experiment].config)


def pretrained_backbone(wildcards):
    """The stand-in pre-trained backbone this experiment starts from (none: no rule input)."""
    variant = SELECTION.variant_of.get(wildcards.experiment)
    return [str(LAYOUT.path("pretrain", variant=variant))] if variant else []


onstart:
    # The DAG is built and jobs are about to run (never for a dry run, which answers "what
    # would run" without the data): a dataset root the selected tables read must exist.
    check_dataset_roots(config, {e.dataset for e in MANIFEST.experiments_for(config["tables"])})
    # Half-written files of a killed run (never read: writes are atomic) go now, while this
    # run holds the working directory's lock and nothing else writes there.
    remove_temporaries(LAYOUT.results, LAYOUT.path("figure", name="any").parent)
    remove_temporaries(LAYOUT.report.parent, recursive=False)

# Shared names: what the chosen tables run (the selection) and where it goes (the layout).
from pathlib import Path

from decoupled_rcnn.provenance import remove_temporaries
from decoupled_rcnn.reproduction.plan.config_checks import check_dataset_roots
from decoupled_rcnn.reproduction.plan.declared import declared_results
from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.plan.resources import (
    job_resources,
    job_threads,
    train_retries,
    train_runtime,
)
from decoupled_rcnn.reproduction.figures.qualitative import fig4_pair
from decoupled_rcnn.reproduction.plan.selection import (
    benchmark_experiments,
    run_digests,
    select,
)

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
# Retries are the driver's: in a cluster job (remote mode) a stop at the time limit must end
# the job, not restart the training inside the same allocation.
TRAIN_RETRIES = 0 if workflow.remote_exec else train_retries(config, EXPERIMENTS, MANIFEST)
# The files the tables, figures and report rules declare: the same list `decoupled-rcnn
# tables` / `report` read (decoupled_rcnn.reproduction.plan.declared).
DECLARED = declared_results(config, existing=False, selection=SELECTION)
# What defines each training experiment's runs (digests of its composed config and of its
# test-time configs): the train / evaluate rules' params, so Snakemake's params trigger
# reruns exactly the runs whose definition changed (a manifest override, a _base_ file, a
# schedule key) and nothing else.
DIGESTS = run_digests(config, SELECTION)
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


def _declared(kind):
    return [str(p) for p in DECLARED[kind]]


def all_metrics(wildcards=None):
    return _declared("metrics")


def all_benchmarks(wildcards=None):
    return _declared("benchmarks")


def all_tables(wildcards=None):
    return _declared("tables")


def all_figures(wildcards=None):
    return _declared("figures")


def all_curves(wildcards=None):
    return _declared("curves")


def qualitative_files(wildcards=None):
    """Fig. 4 and Fig. 5 (PNG and JSON record each), when the selection has their pair."""
    return _declared("qualitative")


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


def settings(*keys):
    """A params function giving a script the workflow config keys it reads (composing a
    run's config needs several). It takes ``output`` only so that Snakemake counts it as
    derived and leaves it out of the params rerun trigger: what of these keys reaches a run
    is already in that rule's digests, and a key no run reads (a copy of the manifest under
    another name, the tables chosen) must rerun nothing."""

    def given(wildcards, output):
        return {k: config[k] for k in keys if k in config}

    return given


#: The workflow config keys composing an experiment's config reads.
COMPOSE_KEYS = ("manifest", "seed", "data", "model", "schedule", "results_dir", "report")
#: ... and those the selection (which experiments, seeds and tables) reads besides.
SELECT_KEYS = (*COMPOSE_KEYS, "tables", "seeds")


onstart:
    # The DAG is built and jobs are about to run (never for a dry run, which answers "what
    # would run" without the data): a dataset root the selected tables read must exist.
    check_dataset_roots(config, {e.dataset for e in MANIFEST.experiments_for(config["tables"])})
    # Half-written files of a killed run (never read: writes are atomic) go now, while this
    # run holds the working directory's lock and nothing else writes there.
    remove_temporaries(LAYOUT.results, LAYOUT.path("figure", name="any").parent)
    remove_temporaries(LAYOUT.report.parent, recursive=False)

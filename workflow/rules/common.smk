# Shared names: the manifest, the experiments and evaluations the chosen tables need, paths.
from pathlib import Path

from decoupled_rcnn.figures import figure_names
from decoupled_rcnn.manifest import load_manifest
from decoupled_rcnn.pipeline import benchmark_experiments

REPO = Path(workflow.basedir)  # the Snakefile's folder: configs/ and the manifest live here
MANIFEST = load_manifest(REPO / config["manifest"])
EXPERIMENTS = [e.id for e in MANIFEST.experiments_for(config["tables"])]
EVALUATIONS = MANIFEST.evaluations_for(config["tables"])
BENCH_EXPERIMENTS = benchmark_experiments(MANIFEST, config["tables"])
RESULTS = config["results_dir"]
EXP_DIR = f"{RESULTS}/experiments/{{experiment}}"
DATA_READY = f"{RESULTS}/data/ready.json"
CHECKPOINT = f"{EXP_DIR}/train/model.pth"
TRAIN_INFO = f"{EXP_DIR}/train/train.json"
METRICS = f"{EXP_DIR}/{{test}}/metrics.json"
BENCHMARK = f"{EXP_DIR}/benchmark.json"
BENCH_SUMMARY = f"{RESULTS}/benchmark/benchmark.json"
TABLE_CSV = f"{RESULTS}/tables/table_{{table}}.csv"
CELLS_CSV = f"{RESULTS}/tables/cells.csv"
REPORT = config["report"]
FIGURE = str(Path(REPORT).parent / "figures" / "{name}.png")
FIGURES = figure_names(MANIFEST, config["tables"])
# The pinned software (documentation for --lint). Note: one conda/pip call cannot build
# mmcv's ops against torch; run the workflow from the project's .venv (make setup).
CONDA_ENV = "../../environment.yml"


wildcard_constraints:
    experiment="|".join(EXPERIMENTS),
    test="|".join(MANIFEST.tests),
    table="|".join(MANIFEST.tables),


def all_metrics(wildcards=None):
    return [METRICS.format(experiment=e.experiment, test=e.test) for e in EVALUATIONS]


def all_benchmarks(wildcards=None):
    return expand(BENCHMARK, experiment=BENCH_EXPERIMENTS)


def model_config(wildcards):
    return str(REPO / MANIFEST.experiments[wildcards.experiment].config)


def train_resources(key):
    return config["resources"]["train"][key]

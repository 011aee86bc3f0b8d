# Reproduces every table (I-XI) of "Decoupled R-CNN: Sensitivity-Specific Detector for Higher
# Accurate Localization". Default: the embedded setting (generated data, tiny model, CPU).
# The paper's setting: snakemake --configfile configs/workflow/paper.yaml --profile workflow/profiles/slurm
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "configs/workflow/default.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/benchmark.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        config["report"],
        all_tables(),

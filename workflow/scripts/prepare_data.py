"""Rule prepare_data: see decoupled_rcnn.reproduction.pipeline.prepare_data."""
from decoupled_rcnn.reproduction.pipeline import log_to, prepare_data

with log_to(snakemake.log[0]):  # noqa: F821  (injected by Snakemake)
    prepare_data(snakemake.config, snakemake.output.ready)  # noqa: F821

"""Rule prepare_data: see decoupled_rcnn.reproduction.pipeline.prepare_data."""
from decoupled_rcnn.reproduction.pipeline import log_to, prepare_data

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    prepare_data(sm.params.settings, sm.output.ready)

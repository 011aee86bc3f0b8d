"""Rule tables: see decoupled_rcnn.pipeline.make_tables."""
from decoupled_rcnn.pipeline import log_to, make_tables

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    make_tables(sm.config, sm.params.out_dir)

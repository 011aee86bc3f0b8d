"""Rule tables: see decoupled_rcnn.reproduction.pipeline.make_tables."""
from decoupled_rcnn.reproduction.pipeline import log_to, make_tables

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    make_tables(sm.params.settings, sm.input.metrics, sm.input.benchmarks, sm.output.tables,
                sm.output.cells, sm.output.runs, sm.output.claims)

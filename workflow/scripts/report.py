"""Rule report: see decoupled_rcnn.pipeline.make_report."""
from decoupled_rcnn.pipeline import log_to, make_report

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    make_report(sm.config, sm.output.html, sm.input.figures)

"""Rule report: see decoupled_rcnn.reproduction.pipeline.make_report."""
from decoupled_rcnn.reproduction.pipeline import log_to, make_report

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    make_report(sm.params.settings, sm.output.html, cells=sm.input.cells, runs=sm.input.runs,
                claims=sm.input.claims, metrics=sm.input.metrics, figures=sm.input.figures,
                curves=sm.input.curves, qualitative=sm.input.qualitative,
                data=sm.input.data)

"""Rule fig5: see decoupled_rcnn.reproduction.pipeline_figures.make_fig5_file."""
from decoupled_rcnn.reproduction.pipeline import log_to
from decoupled_rcnn.reproduction.pipeline_figures import make_fig5_file

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    make_fig5_file(sm.params.settings, sm.input.metrics, sm.output.png, sm.output.info)

"""Rule fig4: see decoupled_rcnn.reproduction.pipeline_figures.make_fig4_file."""
from decoupled_rcnn.reproduction.pipeline import log_to
from decoupled_rcnn.reproduction.pipeline_figures import make_fig4_file

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    make_fig4_file(sm.params.settings, [sm.input.baseline, sm.input.decoupled], sm.output.png,
                   sm.output.info)

"""Rule figures: see decoupled_rcnn.reproduction.pipeline_figures.make_figure_files."""
from decoupled_rcnn.reproduction.pipeline import log_to
from decoupled_rcnn.reproduction.pipeline_figures import make_figure_files

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    make_figure_files(sm.params.settings, sm.input.cells, sm.output.figures)

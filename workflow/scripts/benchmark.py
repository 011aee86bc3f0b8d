"""Rule benchmark: see decoupled_rcnn.reproduction.pipeline.run_benchmark."""
from decoupled_rcnn.reproduction.pipeline import log_to, run_benchmark

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    run_benchmark(sm.params.settings, sm.output.summary, sm.output.per_experiment)

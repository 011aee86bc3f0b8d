"""Rule evaluate: see decoupled_rcnn.pipeline.run_evaluation."""
from decoupled_rcnn.pipeline import log_to, run_evaluation

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    run_evaluation(sm.config, sm.wildcards.experiment, sm.wildcards.test, sm.input.checkpoint,
                   sm.output.metrics, sm.input.info)

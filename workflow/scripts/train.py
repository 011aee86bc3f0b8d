"""Rule train: see decoupled_rcnn.pipeline.run_training."""
from decoupled_rcnn.pipeline import log_to, run_training

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    run_training(sm.config, sm.wildcards.experiment, sm.params.work_dir, sm.output.checkpoint,
                 sm.output.info, gpus=sm.resources.gpus)

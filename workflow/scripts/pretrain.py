"""Rule pretrain: see decoupled_rcnn.reproduction.pipeline.run_pretrain."""
from decoupled_rcnn.reproduction.pipeline import log_to, run_pretrain

sm = snakemake  # noqa: F821  (injected by Snakemake)
with log_to(sm.log[0]):
    run_pretrain(sm.params.settings, sm.params.model_config, sm.output.checkpoint, sm.output.info,
                 threads=sm.threads)

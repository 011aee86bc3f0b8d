"""Rule evaluate: see decoupled_rcnn.reproduction.pipeline.run_evaluation (once per seed)."""
from decoupled_rcnn.reproduction.pipeline import log_to, run_evaluation

sm = snakemake  # noqa: F821  (injected by Snakemake)
for checkpoint, info, metrics, log in zip(sm.input.checkpoints, sm.input.infos,
                                          sm.output.metrics, sm.log):
    with log_to(log):
        run_evaluation(sm.params.settings, checkpoint, info, metrics, threads=sm.threads)

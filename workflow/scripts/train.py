"""Rule train: see decoupled_rcnn.reproduction.pipeline.run_training (once per seed)."""
from decoupled_rcnn.reproduction.pipeline import finish_trainings, log_to, run_training

sm = snakemake  # noqa: F821  (injected by Snakemake)
for seed, checkpoint, info, log in zip(sm.params.seeds, sm.output.checkpoints, sm.output.infos,
                                       sm.log):
    with log_to(log):
        run_training(sm.params.settings, sm.wildcards.experiment, seed, checkpoint, info,
                     gpus=sm.resources.gpu, threads=sm.threads,
                     allocation=sm.resources.allocation)
finish_trainings(sm.params.settings, sm.output.checkpoints)  # all seeds done: resume files go

# One job per experiment trains every seed in turn (one interpreter and import per job);
# each seed has its own work dir, checkpoints and log, and resumes on its own.
rule train:
    input:
        data=path_of("data_ready"),
        config=model_config,
        backbone=pretrained_backbone,
    output:
        checkpoints=expand(path_of("checkpoint"), seed=SEEDS, allow_missing=True),
        infos=expand(path_of("train_info"), seed=SEEDS, allow_missing=True),
    params:
        seeds=SEEDS,
        run=lambda wc: DIGESTS[wc.experiment]["run"],
        settings=settings(*COMPOSE_KEYS, "resources"),
    log:
        expand(path_of("train_log"), seed=SEEDS, allow_missing=True),
    benchmark:
        LAYOUT.path("rule_benchmark", name="train/{experiment}"),
    threads: job_threads(config, "train")
    retries: TRAIN_RETRIES  # allocations after a stop at the time limit (run/time_limit.py)
    resources:
        gpu=RES["train"]["gpu"],  # sbatch --gpus=N (one name, read back by the script)
        nodes=1,
        mem_mb=RES["train"]["mem_mb"],
        runtime=lambda wildcards: train_runtime(config, wildcards.experiment, MANIFEST),
        slurm_partition=RES["train"]["slurm_partition"],
        allocation=lambda wildcards, attempt: attempt,  # read back: a retry's refusal rule
    script:
        "../scripts/train.py"

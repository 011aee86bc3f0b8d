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
    conda:
        CONDA_ENV
    log:
        expand(path_of("train_log"), seed=SEEDS, allow_missing=True),
    benchmark:
        LAYOUT.path("rule_benchmark", name="train/{experiment}"),
    threads: config["resources"]["train"]["threads"]
    resources:
        gpus=train_resources("gpus"),
        gpu=train_resources("gpus"),  # what the Slurm executor requests (--gpus=N)
        mem_mb=train_resources("mem_mb"),
        runtime=train_resources("runtime_min"),
    script:
        "../scripts/train.py"

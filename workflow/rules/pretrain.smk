# The embedded default only: each tiny backbone variant is pre-trained once on a
# classification task cut from the stand-in training data (the ImageNet weights' role).
rule pretrain:
    input:
        data=path_of("data_ready"),
    output:
        checkpoint=path_of("pretrain"),
        info=path_of("pretrain_info"),
    params:
        model_config=lambda wc: str(REPO / SELECTION.pretrain_config[wc.variant]),
        pretrain=config["model"].get("pretrain") or {},
        seed=config["seed"],
        source=config["data"]["source"],
        settings=settings(*COMPOSE_KEYS),
    log:
        path_of("pretrain_log"),
    benchmark:
        LAYOUT.path("rule_benchmark", name="pretrain/{variant}"),
    threads: job_threads(config, "pretrain")
    resources:
        gpu=RES["pretrain"]["gpu"],
        nodes=1,
        mem_mb=RES["pretrain"]["mem_mb"],
        runtime=RES["pretrain"]["runtime"],
        slurm_partition=RES["pretrain"]["slurm_partition"],
    script:
        "../scripts/pretrain.py"

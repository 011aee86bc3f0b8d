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
        settings=settings("data", "model", "seed", "results_dir", "report"),
    conda:
        CONDA_ENV
    log:
        path_of("pretrain_log"),
    benchmark:
        LAYOUT.path("rule_benchmark", name="pretrain/{variant}"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/pretrain.py"

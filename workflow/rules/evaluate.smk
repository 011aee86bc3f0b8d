rule evaluate:
    input:
        checkpoint=CHECKPOINT,
        info=TRAIN_INFO,
    output:
        metrics=METRICS,
    conda:
        CONDA_ENV
    log:
        f"{EXP_DIR}/{{test}}/evaluate.log",
    threads: config["resources"]["evaluate"]["threads"]
    resources:
        gpus=config["resources"]["evaluate"]["gpus"],
        mem_mb=config["resources"]["evaluate"]["mem_mb"],
        runtime=config["resources"]["evaluate"]["runtime_min"],
    script:
        "../scripts/evaluate.py"

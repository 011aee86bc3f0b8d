rule train:
    input:
        data=DATA_READY,
        config=model_config,
    output:
        checkpoint=CHECKPOINT,
        info=TRAIN_INFO,
    params:
        work_dir=lambda wc, output: str(Path(output.checkpoint).parent / "work"),
    conda:
        CONDA_ENV
    log:
        f"{EXP_DIR}/train/train.log",
    threads: config["resources"]["train"]["threads"]
    resources:
        gpus=train_resources("gpus"),
        mem_mb=train_resources("mem_mb"),
        runtime=train_resources("runtime_min"),
    script:
        "../scripts/train.py"

rule prepare_data:
    output:
        ready=DATA_READY,
    params:
        data=config["data"],
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/prepare_data.log",
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/prepare_data.py"

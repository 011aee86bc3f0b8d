rule prepare_data:
    output:
        ready=path_of("data_ready"),
    log:
        LAYOUT.path("log", name="prepare_data"),
    threads: job_threads(config, "prepare_data")
    resources:
        gpu=RES["prepare_data"]["gpu"],
        nodes=1,
        mem_mb=RES["prepare_data"]["mem_mb"],
        runtime=RES["prepare_data"]["runtime"],
        slurm_partition=RES["prepare_data"]["slurm_partition"],
    script:
        "../scripts/prepare_data.py"

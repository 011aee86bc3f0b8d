rule prepare_data:
    output:
        ready=path_of("data_ready"),
    params:
        data=config["data"],
        # The paper's data: the datasets the selected tables read (converted / checked).
        datasets=sorted({e.dataset for e in MANIFEST.experiments_for(config["tables"])})
        if config["data"]["source"] not in ("synthetic", "custom") else [],
        settings=settings("data", "manifest", "tables", "results_dir", "report"),
    log:
        LAYOUT.path("log", name="prepare_data"),
    benchmark:
        LAYOUT.path("rule_benchmark", name="prepare_data"),
    threads: job_threads(config, "prepare_data")
    resources:
        gpu=RES["prepare_data"]["gpu"],
        nodes=1,
        mem_mb=RES["prepare_data"]["mem_mb"],
        runtime=RES["prepare_data"]["runtime"],
        slurm_partition=RES["prepare_data"]["slurm_partition"],
    script:
        "../scripts/prepare_data.py"

rule prepare_data:
    output:
        ready=path_of("data_ready"),
    params:
        data=config["data"],
        # The paper's data: the datasets the selected tables read (converted / checked).
        datasets=sorted({e.dataset for e in MANIFEST.experiments_for(config["tables"])})
        if config["data"]["source"] not in ("synthetic", "custom") else [],
        settings=settings("data", "manifest", "tables", "results_dir", "report"),
    conda:
        CONDA_ENV
    log:
        LAYOUT.path("log", name="prepare_data"),
    benchmark:
        LAYOUT.path("rule_benchmark", name="prepare_data"),
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/prepare_data.py"

rule report:
    input:
        tables=all_tables,
        cells=path_of("cells"),
        runs=path_of("runs"),
        claims=path_of("claims"),
        metrics=all_metrics,
        figures=all_figures,
        curves=all_curves,
        qualitative=qualitative_files,
        data=path_of("data_ready"),
    output:
        html=report(config["report"], caption="../report/index.rst", category="Report"),
    params:
        settings=settings(*SELECT_KEYS, "claims"),
        claims=config["claims"],  # the gate's floor decides verdicts: a change reruns this
    log:
        LAYOUT.path("log", name="report"),
    benchmark:
        LAYOUT.path("rule_benchmark", name="report"),
    threads: job_threads(config, "summary")
    resources:
        gpu=RES["summary"]["gpu"],
        nodes=1,
        mem_mb=RES["summary"]["mem_mb"],
        runtime=RES["summary"]["runtime"],
        slurm_partition=RES["summary"]["slurm_partition"],
    script:
        "../scripts/report.py"

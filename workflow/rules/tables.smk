rule tables:
    input:
        metrics=all_metrics,
        benchmarks=all_benchmarks,
    output:
        tables=report(all_tables(), caption="../report/tables.rst", category="Tables"),
        cells=path_of("cells"),
        runs=path_of("runs"),
        claims=report(path_of("claims"), caption="../report/claims.rst", category="Claims"),
    params:
        settings=settings(*SELECT_KEYS, "claims"),
        claims=config["claims"],  # the gate's floor decides verdicts: a change reruns this
    log:
        LAYOUT.path("log", name="tables"),
    benchmark:
        LAYOUT.path("rule_benchmark", name="tables"),
    threads: job_threads(config, "summary")
    resources:
        gpu=RES["summary"]["gpu"],
        nodes=1,
        mem_mb=RES["summary"]["mem_mb"],
        runtime=RES["summary"]["runtime"],
        slurm_partition=RES["summary"]["slurm_partition"],
    script:
        "../scripts/tables.py"

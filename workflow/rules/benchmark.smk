rule benchmark:
    input:
        configs=[str(REPO / MANIFEST.experiments[e].config) for e in BENCH_EXPERIMENTS],
    output:
        summary=report(path_of("bench_summary"), caption="../report/benchmark.rst",
                       category="Benchmark"),
        per_experiment=all_benchmarks(),
    params:
        benchmark=config["benchmark"],  # what is measured and how: a change reruns it
        settings=settings(*SELECT_KEYS, "benchmark"),
    log:
        LAYOUT.path("log", name="benchmark"),
    benchmark:
        LAYOUT.path("rule_benchmark", name="benchmark"),
    threads: job_threads(config, "benchmark")
    resources:
        gpu=RES["benchmark"]["gpu"],
        nodes=1,
        mem_mb=RES["benchmark"]["mem_mb"],
        runtime=RES["benchmark"]["runtime"],
        slurm_partition=RES["benchmark"]["slurm_partition"],
    script:
        "../scripts/benchmark.py"

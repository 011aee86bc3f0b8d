rule benchmark:
    input:
        configs=[str(REPO / MANIFEST.experiments[e].config) for e in BENCH_EXPERIMENTS],
    output:
        summary=report(path_of("bench_summary"), caption="../report/benchmark.rst",
                       category="Benchmark"),
        per_experiment=all_benchmarks(),
    conda:
        CONDA_ENV
    log:
        LAYOUT.path("log", name="benchmark"),
    benchmark:
        LAYOUT.path("rule_benchmark", name="benchmark"),
    threads: config["benchmark"]["threads"]
    resources:
        gpus=1 if config["benchmark"]["device"] == "cuda" else 0,
        gpu=1 if config["benchmark"]["device"] == "cuda" else 0,  # the Slurm executor's --gpus
        mem_mb=8000,
        runtime=120,
    script:
        "../scripts/benchmark.py"

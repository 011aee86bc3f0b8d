rule benchmark:
    input:
        configs=[str(REPO / MANIFEST.experiments[e].config) for e in BENCH_EXPERIMENTS],
    output:
        summary=report(BENCH_SUMMARY, caption="../report/benchmark.rst", category="Benchmark"),
        per_experiment=all_benchmarks(),
    params:
        per_experiment=lambda wc, output: dict(zip(BENCH_EXPERIMENTS, output.per_experiment)),
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/benchmark.log",
    threads: config["benchmark"]["threads"]
    resources:
        gpus=1 if config["benchmark"]["device"] == "cuda" else 0,
        mem_mb=8000,
        runtime=120,
    script:
        "../scripts/benchmark.py"

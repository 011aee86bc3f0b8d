rule report:
    input:
        tables=expand(TABLE_CSV, table=config["tables"]),
        metrics=all_metrics,
        benchmarks=all_benchmarks,
    output:
        html=report(REPORT, caption="../report/index.rst", category="Report"),
    params:
        figures_dir=str(Path(REPORT).parent / "figures"),
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/report.log",
    resources:
        mem_mb=1000,
    script:
        "../scripts/report.py"

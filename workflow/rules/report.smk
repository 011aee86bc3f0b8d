rule report:
    input:
        tables=expand(TABLE_CSV, table=config["tables"]),
        metrics=all_metrics,
        benchmarks=all_benchmarks,
        figures=expand(FIGURE, name=FIGURES),
    output:
        html=report(REPORT, caption="../report/index.rst", category="Report"),
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/report.log",
    resources:
        mem_mb=1000,
    script:
        "../scripts/report.py"

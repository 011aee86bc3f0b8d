rule tables:
    input:
        metrics=all_metrics,
        benchmarks=all_benchmarks,
    output:
        tables=report(
            expand(TABLE_CSV, table=config["tables"]),
            caption="../report/tables.rst",
            category="Tables",
        ),
        cells=CELLS_CSV,
    params:
        out_dir=lambda wc, output: str(Path(output.tables[0]).parent),
    conda:
        CONDA_ENV
    log:
        f"{RESULTS}/logs/tables.log",
    resources:
        mem_mb=1000,
    script:
        "../scripts/tables.py"

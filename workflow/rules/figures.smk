rule figures:
    input:
        cells=path_of("cells"),
    output:
        figures=report(all_figures(), caption="../report/figures.rst", category="Figures"),
    log:
        LAYOUT.path("log", name="figures"),
    threads: job_threads(config, "summary")
    resources:
        gpu=RES["summary"]["gpu"],
        nodes=1,
        mem_mb=RES["summary"]["mem_mb"],
        runtime=RES["summary"]["runtime"],
        slurm_partition=RES["summary"]["slurm_partition"],
    script:
        "../scripts/figures.py"


# One small figure per training experiment: its loss terms and per-stage sample counts over
# iterations, from mmengine's scalar logs in the work dir each train.json records.
rule curves:
    input:
        infos=expand(path_of("train_info"), seed=SEEDS, allow_missing=True),
    output:
        png=report(path_of("curves"), caption="../report/curves.rst",
                   category="Training curves", labels={"experiment": "{experiment}"}),
    log:
        LAYOUT.path("log", name="curves_{experiment}"),
    threads: job_threads(config, "summary")
    resources:
        gpu=RES["summary"]["gpu"],
        nodes=1,
        mem_mb=RES["summary"]["mem_mb"],
        runtime=RES["summary"]["runtime"],
        slurm_partition=RES["summary"]["slurm_partition"],
    script:
        "../scripts/curves.py"


if QUALITATIVE:

    rule fig4:
        input:
            baseline=qualitative_metrics(0),
            decoupled=qualitative_metrics(1),
        output:
            png=report(path_of("fig4"), caption="../report/fig4.rst", category="Figures"),
            info=path_of("fig4_info"),
        params:
            experiments=[ev.experiment for ev in QUALITATIVE],
        log:
            LAYOUT.path("log", name="fig4"),
        threads: job_threads(config, "summary")
        resources:
            gpu=RES["summary"]["gpu"],
            nodes=1,
            mem_mb=RES["summary"]["mem_mb"],
            runtime=RES["summary"]["runtime"],
            slurm_partition=RES["summary"]["slurm_partition"],
        script:
            "../scripts/fig4.py"

    rule fig5:
        input:
            metrics=qualitative_metrics(1),
        output:
            png=report(path_of("fig5"), caption="../report/fig5.rst", category="Figures"),
            info=path_of("fig5_info"),
        params:
            experiment=QUALITATIVE[1].experiment,
        log:
            LAYOUT.path("log", name="fig5"),
        threads: job_threads(config, "summary")
        resources:
            gpu=RES["summary"]["gpu"],
            nodes=1,
            mem_mb=RES["summary"]["mem_mb"],
            runtime=RES["summary"]["runtime"],
            slurm_partition=RES["summary"]["slurm_partition"],
        script:
            "../scripts/fig5.py"

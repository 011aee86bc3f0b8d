rule figures:
    input:
        cells=path_of("cells"),
    output:
        figures=report(all_figures(), caption="../report/figures.rst", category="Figures"),
    params:
        settings=settings("manifest", "tables"),
    log:
        LAYOUT.path("log", name="figures"),
    benchmark:
        LAYOUT.path("rule_benchmark", name="figures"),
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
# iterations, from mmengine's scalar logs in the work dir each train.json records. One job
# draws them all (matplotlib's import and start-up paid once, not per experiment).
rule curves:
    input:
        infos=expand(path_of("train_info"), experiment=EXPERIMENTS, seed=SEEDS),
    output:
        pngs=report(all_curves(), caption="../report/curves.rst", category="Training curves"),
    params:
        settings=settings("results_dir", "report"),
    log:
        LAYOUT.path("log", name="curves"),
    benchmark:
        LAYOUT.path("rule_benchmark", name="curves"),
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
            settings=settings(*COMPOSE_KEYS),
        log:
            LAYOUT.path("log", name="fig4"),
        benchmark:
            LAYOUT.path("rule_benchmark", name="fig4"),
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
            settings=settings(*COMPOSE_KEYS),
        log:
            LAYOUT.path("log", name="fig5"),
        benchmark:
            LAYOUT.path("rule_benchmark", name="fig5"),
        threads: job_threads(config, "summary")
        resources:
            gpu=RES["summary"]["gpu"],
            nodes=1,
            mem_mb=RES["summary"]["mem_mb"],
            runtime=RES["summary"]["runtime"],
            slurm_partition=RES["summary"]["slurm_partition"],
        script:
            "../scripts/fig5.py"

# One job per experiment and test setting evaluates every seed's model in turn.
rule evaluate:
    input:
        checkpoints=expand(path_of("checkpoint"), seed=SEEDS, allow_missing=True),
        infos=expand(path_of("train_info"), seed=SEEDS, allow_missing=True),
    output:
        metrics=expand(path_of("metrics"), seed=SEEDS, allow_missing=True),
    params:
        run=lambda wc: DIGESTS[wc.experiment]["run"],
        test=lambda wc: dict(MANIFEST.tests[wc.test].overrides),
        test_config=lambda wc: DIGESTS[wc.experiment]["tests"][wc.test],
        settings=settings(*COMPOSE_KEYS),
    log:
        expand(path_of("eval_log"), seed=SEEDS, allow_missing=True),
    benchmark:
        LAYOUT.path("rule_benchmark", name="evaluate/{experiment}/{test}"),
    threads: job_threads(config, "evaluate")
    resources:
        gpu=RES["evaluate"]["gpu"],
        nodes=1,
        mem_mb=RES["evaluate"]["mem_mb"],
        runtime=RES["evaluate"]["runtime"],
        slurm_partition=RES["evaluate"]["slurm_partition"],
    script:
        "../scripts/evaluate.py"

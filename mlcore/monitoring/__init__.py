"""Stage 9, Monitoring: is the deployed model still healthy?

* :mod:`~mlcore.monitoring.drift`: the training reference stored with a model (JSON), drift
  reports for scored batches computed chunk by chunk (PSI, Kolmogorov–Smirnov, chi-squared,
  Jensen–Shannon, missing and unseen values, prediction drift), explanations in plain words, and
  the history across batches;
* :mod:`~mlcore.monitoring.performance`: real outcomes matched to past predictions by row key,
  and the metric per week, month or batch against the success criterion from planning;
* :mod:`~mlcore.monitoring.resources`: wall and CPU time, peak memory and rows per second of jobs
  over time, with regressions flagged;
* :mod:`~mlcore.monitoring.alerts`: typed alert rules evaluated over those results, and the exit
  code of ``mlcore monitor check``.

Nothing is re-exported here, so that importing the package stays cheap.
"""

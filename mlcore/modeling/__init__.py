"""Stage 5, Modeling: candidate models trained with cross-validation, tracked and reproducible.

* :mod:`~mlcore.modeling.training`: model families, preprocessing from column roles, validation
  schemes, metrics, cross-validated training with an optional time-budgeted search, reproduction;
* :mod:`~mlcore.modeling.environment`: the fingerprint of the software a run used, and the check
  that refuses a model saved under other package versions;
* :mod:`~mlcore.modeling.card`: the model card (Markdown, English or Spanish), the input schema
  and the pinned requirements of a model package;
* :mod:`~mlcore.modeling.tracking`: the ``train`` and ``reproduce`` jobs, stored runs and their
  candidates, notes and tags, the model registry (stages), loading stored models, model packages.

Nothing is re-exported here, so that importing the package stays cheap.
"""

"""Data preparation (stage 4): cleaning and processing as a versioned, reusable recipe.

Modules: :mod:`~mlcore.data.prepare.recipe` (recipes, applying, previews, composing with a model),
:mod:`~mlcore.data.prepare.cleaning` (row steps), :mod:`~mlcore.data.prepare.processing` (feature steps as
scikit-learn estimators and samplers), :mod:`~mlcore.data.prepare.steps` (what every step shares).
Import from those modules; this package re-exports nothing, so importing it stays cheap.
"""

"""Write paths of the Preparation stage (issue 7), merged into the role test of tests/unit/test_auth.py."""

from __future__ import annotations

from mlcore.data.prepare.recipe import Recipe, make_step
from mlcore.data.recipes import import_recipe, save_recipe, submit_recipe_apply

_RECIPE = Recipe("clean", steps=(make_step("drop_duplicates"),))

WRITES = {
    "mlcore.data.recipes.save_recipe": lambda s, ws, p, u: save_recipe(
        session=s, actor=u, project_id=p, recipe=_RECIPE
    ),
    "mlcore.data.recipes.import_recipe": lambda s, ws, p, u: import_recipe(
        session=s, actor=u, project_id=p, data=_RECIPE.to_json(), filename="clean.json"
    ),
    "mlcore.data.recipes.submit_recipe_apply": lambda s, ws, p, u: submit_recipe_apply(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=1, actor_id=u.id, recipe=_RECIPE, launch=False
    ),
}

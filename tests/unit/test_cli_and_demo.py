"""The mlcore CLI and the demo seeding: good paths print what they did, bad input exits 2 with one line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlcore.cli import app
from mlcore.data.versions import list_versions
from mlcore.demo import DEMO_PROJECT, seed_demo
from mlcore.projects import get_project_by_name
from mlcore.store.engine import session_scope

runner = CliRunner()


@pytest.fixture
def env(settings, monkeypatch):
    monkeypatch.setenv("MLCORE_HOME", str(settings.home))
    monkeypatch.setenv("MLCORE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MLCORE_USER", "cli-user")
    monkeypatch.delenv("MLCORE_LANG", raising=False)
    first = runner.invoke(app, ["users", "add", "cli-user", "--role", "admin"])
    assert first.exit_code == 0 and "password (shown once)" in first.stdout
    return settings


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_db_upgrade_and_projects(env):
    assert _run("db", "upgrade").exit_code == 0
    result = _run("projects", "create", "Ventas", "--task", "regression")
    assert result.exit_code == 0 and "Ventas" in result.stdout
    listed = _run("projects", "list")
    assert "Ventas" in listed.stdout and "regression" in listed.stdout


def test_datasets_import_prints_id_and_sha(env, tmp_path):
    _run("projects", "create", "P")
    csv = tmp_path / "clientes.csv"
    csv.write_text("a;b;y\n" + "".join(f"{i};{i * 2};{i % 2}\n" for i in range(40)), encoding="utf-8")
    result = _run("datasets", "import", str(csv), "--project", "P", "--target", "y")
    assert result.exit_code == 0, result.output
    version_id, sha = result.stdout.split()
    assert version_id.isdigit() and re.fullmatch(r"[0-9a-f]{64}", sha)
    listed = _run("datasets", "list", "--project", "P")
    assert "clientes v1" in listed.stdout and sha[:12] in listed.stdout


@pytest.mark.parametrize(
    "content,needle",
    [
        (b"", "empty"),
        (b"a,b\n", "no data rows"),
        (b"a,b\n1,2\n3,4,5\n", "line"),
        (bytes(range(256)) * 10, "text"),
    ],
)
def test_datasets_import_bad_files_exit_2_with_one_line(env, tmp_path, content, needle):
    _run("projects", "create", "P")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    result = _run("datasets", "import", str(bad), "--project", "P")
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.startswith("error:") and "Traceback" not in result.output
    assert needle.lower() in message.lower()
    assert "bad v1" not in _run("datasets", "list", "--project", "P").stdout


def test_datasets_import_missing_things(env, tmp_path):
    result = _run("datasets", "import", str(tmp_path / "nope.csv"), "--project", "P")
    assert result.exit_code == 2 and "not found" in result.stderr
    ok = tmp_path / "ok.csv"
    ok.write_text("a\n1\n")
    result = _run("datasets", "import", str(ok), "--project", "No such project")
    assert result.exit_code == 2 and "not found" in result.stderr
    _run("projects", "create", "P")
    result = _run("datasets", "import", str(ok), "--project", "P", "--name", "../etc/passwd")
    assert result.exit_code == 2 and "not allowed" in result.stderr
    result = _run("datasets", "import", str(ok), "--project", "P", "--target", "zzz")
    assert result.exit_code == 2 and "zzz" in result.stderr


def test_messages_in_spanish(env, tmp_path, monkeypatch):
    monkeypatch.setenv("MLCORE_LANG", "es")
    result = _run("datasets", "list", "--project", "No existe")
    assert result.exit_code == 2 and "No se encontró" in result.stderr


def test_seed_demo_is_idempotent(ws):
    first = seed_demo(engine=ws.engine, settings=ws.settings, n_rows=300)
    second = seed_demo(engine=ws.engine, settings=ws.settings, n_rows=300)
    assert first.created and not second.created
    assert first.version_labels == ("churn v1", "churn_next_month v1")
    with session_scope(ws.engine) as s:
        project = get_project_by_name(session=s, name=DEMO_PROJECT)
        versions = list_versions(session=s, project_id=project.id)
    assert [v.label for v in versions] == ["churn v1", "churn_next_month v1"]
    churn = versions[0]
    assert churn.target == "churned" and churn.n_rows == 300
    sidecar = churn.recipe["planted_problems_sha256"]
    from mlcore.data.synthetic import PlantedProblems

    problems = PlantedProblems.from_json(ws.store.read_bytes(sidecar).decode("utf-8"))
    assert problems.target == "churned" and problems.flipped_labels


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "mlcore"
    if not exe.exists():
        pytest.skip("package not installed in this interpreter's environment")
    done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "datasets" in done.stdout


# --------------------------------------------------------------------------- modeling (issue 8)


def _churn_csv(tmp_path, rows: int = 240) -> Path:
    from mlcore.data.synthetic import make_churn

    path = tmp_path / "churn.csv"
    make_churn(rows, random_state=5).current.to_csv(path, index=False)
    return path


@pytest.fixture
def trained_cli(env, tmp_path):
    """Project P with the churn data imported and one run of dummy + logistic regression (3 folds)."""
    from threadpoolctl import threadpool_limits

    assert _run("projects", "create", "P").exit_code == 0
    imported = _run("datasets", "import", str(_churn_csv(tmp_path)), "--project", "P", "--target", "churned")
    assert imported.exit_code == 0, imported.output
    with threadpool_limits(1):
        result = _run("train", "--project", "P", "--dataset", "churn v1", "--models", "dummy,logreg", "--cv", "3")
    assert result.exit_code == 0, result.output
    return result


def test_train_prints_the_run_and_its_metrics(trained_cli):
    lines = trained_cli.stdout.splitlines()
    assert lines[0] == "run 1"
    text = trained_cli.stdout
    assert "logistic_regression" in text and "dummy" in text and "roc_auc" in text and " ± " in text
    assert "locked test rows" in trained_cli.stderr


def test_runs_and_models_commands(trained_cli, tmp_path):
    import zipfile

    from threadpoolctl import threadpool_limits

    listed = _run("runs", "list", "--project", "P", "--sort", "roc_auc")
    assert listed.exit_code == 0 and listed.stdout.index("logistic_regression") < listed.stdout.index("dummy")
    with threadpool_limits(1):
        again = _run("runs", "reproduce", "1", "--project", "P")
    assert again.exit_code == 0, again.output
    assert "run 1: metrics match" in again.stdout
    registered = _run("models", "register", "--project", "P", "--candidate", "2", "--name", "churn")
    assert registered.exit_code == 0 and "registered churn@1 (candidate)" in registered.stdout
    illegal = _run("models", "promote", "churn@1", "--project", "P", "--stage", "production")
    assert illegal.exit_code == 2 and illegal.stderr.startswith("error:") and "staging" in illegal.stderr
    assert len(illegal.stderr.strip().splitlines()) == 1
    assert _run("models", "promote", "churn@1", "--project", "P", "--stage", "staging").exit_code == 0
    live = _run("models", "promote", "churn@1", "--project", "P", "--stage", "production", "--reason", "go")
    assert live.exit_code == 0 and "staging -> production" in live.stdout
    models = _run("models", "list", "--project", "P")
    assert "churn@1" in models.stdout and "Production" in models.stdout
    exported = _run("models", "export", "churn", "--project", "P", "--out", str(tmp_path))
    assert exported.exit_code == 0, exported.output
    package = tmp_path / "churn-1.zip"
    assert zipfile.ZipFile(package).namelist()[0] == "model.joblib"


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--models", "xgboost"], "not a model family"),
        (["--cv", "1"], "at least 2"),
        (["--budget-s", "0"], "positive number of seconds"),
        (["--metrics", "mae"], "does not apply"),
        (["--target", "=cmd|' /C calc'!A0"], "not a column"),
        (["--config", "missing.yaml"], "not found"),
        (["--config", "BAD"], "could not be read"),
        (["--seed", "-4"], "seed"),
    ],
)
def test_train_bad_arguments_exit_2_with_one_line(env, tmp_path, args, needle):
    _run("projects", "create", "P")
    _run("datasets", "import", str(_churn_csv(tmp_path, rows=120)), "--project", "P", "--target", "churned")
    bad = tmp_path / "bad.yaml"
    bad.write_text("families: [hgb\n", encoding="utf-8")
    args = [str(bad) if a == "BAD" else str(tmp_path / a) if a == "missing.yaml" else a for a in args]
    result = _run("train", "--project", "P", "--dataset", "churn", *args)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error:") and len(message.splitlines()) == 1 and "Traceback" not in result.output
    assert needle in message
    assert "run 1" not in _run("runs", "list", "--project", "P").stdout


def test_train_messages_in_spanish_and_unknown_dataset(env, monkeypatch):
    _run("projects", "create", "P")
    result = _run("train", "--project", "P", "--dataset", "nope v3")
    assert result.exit_code == 2 and "nope v3" in result.stderr
    monkeypatch.setenv("MLCORE_LANG", "es")
    result = _run("train", "--project", "P", "--dataset", "nope v3")
    assert result.exit_code == 2 and "No hay ninguna versión" in result.stderr


# --------------------------------------------------------------------------- preparation recipes (issue 7)


_RECIPE_YAML = """format: ciclo.recipe
format_version: 1
name: churn clean
target: churned
steps:
  - kind: drop_duplicates
  - kind: outliers
    params: {columns: [income], action: remove}
  - kind: scale
    params: {method: robust}
"""


@pytest.fixture
def recipe_cli(env, tmp_path):
    """Project P with the churn data and the recipe above imported as churn clean@1."""
    assert _run("projects", "create", "P").exit_code == 0
    imported = _run("datasets", "import", str(_churn_csv(tmp_path, rows=150)), "--project", "P", "--target", "churned")
    assert imported.exit_code == 0, imported.output
    path = tmp_path / "clean.yaml"
    path.write_text(_RECIPE_YAML, encoding="utf-8")
    result = _run("recipes", "import", str(path), "--project", "P")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "recipe 1: churn clean@1"
    return tmp_path


def test_recipes_import_list_export_and_apply(recipe_cli):
    again = _run("recipes", "import", str(recipe_cli / "clean.yaml"), "--project", "P", "--name", "other")
    assert again.exit_code == 0 and "other@1" in again.stdout
    listed = _run("recipes", "list", "--project", "P")
    assert listed.exit_code == 0 and "churn clean@1" in listed.stdout and "other@1" in listed.stdout
    exported = _run("recipes", "export", "churn clean", "--project", "P", "--format", "json")
    assert exported.exit_code == 0 and '"kind": "outliers"' in exported.stdout
    (recipe_cli / "copy.json").write_text(exported.stdout, encoding="utf-8")
    reimported = _run("recipes", "import", str(recipe_cli / "copy.json"), "--project", "P")
    assert reimported.exit_code == 0 and "churn clean@2" in reimported.stdout

    applied = _run("recipes", "apply", "churn clean@1", "--project", "P", "--dataset", "churn v1")
    assert applied.exit_code == 0, applied.output
    version_id, sha = applied.stdout.split()
    assert version_id.isdigit() and re.fullmatch(r"[0-9a-f]{64}", sha)
    assert "churn v2" in applied.stderr and "from churn v1 by churn clean@1" in applied.stderr
    from_file = _run("recipes", "apply", str(recipe_cli / "clean.yaml"), "--project", "P", "--dataset", "churn v1")
    assert from_file.exit_code == 0, from_file.output
    reused = _run("recipes", "apply", "churn clean@1", "--project", "P", "--dataset", "churn v1", "--reuse", "churn v2")
    assert reused.exit_code == 0, reused.output
    versions = _run("datasets", "list", "--project", "P").stdout
    assert "churn v4" in versions and "recipe_apply" in versions


@pytest.mark.parametrize(
    "args,needle",
    [
        (["nope", "--dataset", "churn v1"], "no saved recipe"),
        (["churn clean@9", "--dataset", "churn v1"], "churn clean@9"),
        (["churn clean", "--dataset", "nope v1"], "nope v1"),
        (["missing.yaml", "--dataset", "churn v1"], "not found"),
        (["EVIL", "--dataset", "churn v1"], "anchors and aliases"),
        (["BIG", "--dataset", "churn v1"], "too large"),
        (["OTHER", "--dataset", "churn v1"], "no column"),
        (["churn clean", "--dataset", "churn v1", "--reuse", "churn v1"], "not made by"),
    ],
)
def test_recipes_apply_bad_arguments_exit_2_with_one_line(recipe_cli, args, needle):
    (recipe_cli / "evil.yaml").write_text("a: &a [1, 2]\nb: [*a, *a]\n", encoding="utf-8")
    (recipe_cli / "big.json").write_text("x" * 1_000_001, encoding="utf-8")
    other = _RECIPE_YAML + "columns: {salary: numeric}\n"
    (recipe_cli / "other.yaml").write_text(other, encoding="utf-8")
    files = {"EVIL": "evil.yaml", "BIG": "big.json", "OTHER": "other.yaml", "missing.yaml": "missing.yaml"}
    args = [str(recipe_cli / files[a]) if a in files else a for a in args]
    result = _run("recipes", "apply", *args, "--project", "P")
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error:") and len(message.splitlines()) == 1 and "Traceback" not in result.output
    assert needle in message
    assert "churn v2" not in _run("datasets", "list", "--project", "P").stdout


def test_recipes_export_and_import_bad_arguments(recipe_cli, monkeypatch):
    result = _run("recipes", "export", "churn clean", "--project", "P", "--format", "xml")
    assert result.exit_code == 2 and "yaml, json" in result.stderr
    (recipe_cli / "bad.txt").write_text("{}", encoding="utf-8")
    result = _run("recipes", "import", str(recipe_cli / "bad.txt"), "--project", "P")
    assert result.exit_code == 2 and ".json, .yaml or .yml" in result.stderr
    monkeypatch.setenv("MLCORE_LANG", "es")
    result = _run("recipes", "export", "nada", "--project", "P")
    assert result.exit_code == 2 and "No hay ninguna receta guardada" in result.stderr
    assert "churn clean@1" in _run("recipes", "list", "--project", "P").stdout
    assert "@2" not in _run("recipes", "list", "--project", "P").stdout


# --------------------------------------------------------------------------- monitoring (issue 12)


def test_monitor_drift_and_check_exit_codes(trained_cli, tmp_path, settings, monkeypatch):
    from threadpoolctl import threadpool_limits

    from mlcore.auth import get_user
    from mlcore.data.synthetic import make_churn
    from mlcore.monitoring.alerts import DriftRule
    from mlcore.monitoring.records import save_alert_rules
    from mlcore.workspace import open_workspace

    later = tmp_path / "next.csv"
    make_churn(240, random_state=5).next_month.to_csv(later, index=False)
    assert _run("datasets", "import", str(later), "--project", "P", "--target", "churned").exit_code == 0
    assert _run("models", "register", "--project", "P", "--candidate", "2", "--name", "churn").exit_code == 0
    assert _run("models", "promote", "churn@1", "--project", "P", "--stage", "staging").exit_code == 0
    assert _run("models", "promote", "churn@1", "--project", "P", "--stage", "production").exit_code == 0

    with threadpool_limits(1):
        drift = _run("monitor", "drift", "--project", "P", "--model", "churn", "--dataset", "next v1")
    assert drift.exit_code == 0, drift.output
    first = drift.stdout.splitlines()[0]
    assert first.startswith("next v1 vs churn@1: Strong drift")
    assert "monthly_charges" in drift.stdout and "prediction" in drift.stdout and "- Drift alert" in drift.stdout

    # default rules: the drift is critical (no batch scored, but the drift report is recent: not stale)
    check = _run("monitor", "check", "--project", "P")
    assert check.exit_code == 2, check.output
    assert check.stdout.startswith("[critical] Critical: Drift:") and "payment_method" in check.stdout
    assert _run("monitor", "check", "--project", "P", "--fail-on", "critical").exit_code == 2

    ws = open_workspace(settings)
    with session_scope(ws.engine) as s:
        project_id = get_project_by_name(session=s, name="P").id
        user = get_user(session=s, name="cli-user")
        rules = [DriftRule(severity="warning")]
        save_alert_rules(session=s, actor=user, project_id=project_id, rules=rules, expected_version=0)
    warned = _run("monitor", "check", "--project", "P")
    assert warned.exit_code == 1 and warned.stdout.startswith("[warning] Warning: Drift:")
    assert _run("monitor", "check", "--project", "P", "--fail-on", "critical").exit_code == 0
    with session_scope(ws.engine) as s:
        user = get_user(session=s, name="cli-user")
        save_alert_rules(session=s, actor=user, project_id=project_id, rules=[], expected_version=1)
    quiet = _run("monitor", "check", "--project", "P")
    assert quiet.exit_code == 0 and "No alert fires for project P" in quiet.stdout
    monkeypatch.setenv("MLCORE_LANG", "es")
    assert "No salta ninguna alerta" in _run("monitor", "check", "--project", "P").stdout
    ws.engine.dispose()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["monitor", "check", "--project", "Nope"], "Nope"),
        (["monitor", "check", "--project", "P", "--fail-on", "loud"], "severity"),
        (["monitor", "drift", "--project", "P", "--model", "ghost", "--dataset", "churn v1"], "ghost"),
        (["monitor", "drift", "--project", "P", "--model", "churn@1", "--dataset", "nope v9"], "nope"),
    ],
)
def test_monitor_bad_arguments_exit_2_with_one_line(env, tmp_path, args, needle):
    _run("projects", "create", "P")
    _run("datasets", "import", str(_churn_csv(tmp_path, rows=120)), "--project", "P", "--target", "churned")
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error:") and needle.lower() in result.stderr.lower()
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_train_with_a_recipe(recipe_cli):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        result = _run(
            "train", "--project", "P", "--dataset", "churn v1", "--models", "dummy,logreg", "--cv", "3",
            "--recipe", "churn clean",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "run 1" and "logistic_regression" in result.stdout
    missing = _run("train", "--project", "P", "--dataset", "churn v1", "--recipe", "nope@3")
    assert missing.exit_code == 2 and "nope@3" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- batch predictions (issue 11)


def _production(trained_cli) -> None:
    assert _run("models", "register", "--project", "P", "--candidate", "2", "--name", "churn").exit_code == 0
    assert _run("models", "promote", "churn@1", "--project", "P", "--stage", "staging").exit_code == 0
    assert _run("models", "promote", "churn@1", "--project", "P", "--stage", "production").exit_code == 0


def test_predict_batch_scores_prints_the_batch_and_replaces_on_rerun(trained_cli, tmp_path):
    _production(trained_cli)
    args = ["predict", "batch", "--project", "P", "--model", "churn", "--dataset", "churn v1"]
    first = _run(*args, "--segments", "region,contract", "--batch-key", "nightly")
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0] == "batch 1: nightly" and "240 rows scored with churn@1" in lines[1]
    assert "predicted positive:" in lines[1] and "%" in lines[1]
    again = _run(*args, "--segments", "region,contract", "--batch-key", "nightly")
    assert again.exit_code == 0 and again.stdout.startswith("batch 2: nightly") and "replaced batch 1" in again.stdout
    csv = tmp_path / "churn.csv"  # the file the data came from, as a cron job would pass it
    explained = _run(
        "predict", "batch", "--project", "P", "--model", "churn@production", "--input", str(csv), "--explain"
    )
    assert explained.exit_code == 0, explained.output
    assert explained.stdout.startswith("batch 3: auto-")


def test_predict_batch_bad_arguments_exit_2_with_one_line(trained_cli, tmp_path, monkeypatch):
    _production(trained_cli)
    db = tmp_path / "shop.db"
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("create table customers (id integer)")
    base = ["predict", "batch", "--project", "P"]
    cases = [
        (["--model", "churn"], "exactly one"),
        (["--model", "churn", "--dataset", "churn v1", "--input", "x.csv"], "exactly one"),
        (["--model", "churn", "--query", "DELETE FROM customers", "--url", f"sqlite:///{db}"], "SELECT"),
        (["--model", "churn", "--query", "SELECT * FROM customers"], "URL"),
        (["--model", "churn", "--dataset", "churn v1", "--url", "sqlite://"], "--query"),
        (["--model", "nope", "--dataset", "churn v1"], "nope"),
        (["--model", "churn", "--dataset", "churn v1", "--segments", "a,b,c,d"], "at most 3"),
        (["--model", "churn", "--dataset", "churn v1", "--segments", "=cmd|' /C calc'!A0"], "not in the rows"),
        (["--model", "churn", "--dataset", "churn v1", "--threshold", "2"], "threshold"),
        (["--model", "churn", "--dataset", "churn v1", "--key", "nope"], "nope"),
        (["--model", "churn", "--input", str(tmp_path / "missing.csv")], "not found"),
    ]
    for args, needle in cases:
        result = _run(*base, *args)
        message = result.stderr.strip()
        assert result.exit_code == 2, (args, result.output)
        assert message.startswith("error:") and len(message.splitlines()) == 1 and "Traceback" not in result.output
        assert needle in message, (args, message)
    monkeypatch.setenv("MLCORE_LANG", "es")
    result = _run(*base, "--model", "churn")
    assert result.exit_code == 2 and "exactamente un origen" in result.stderr

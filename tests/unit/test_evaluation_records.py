"""Evaluation records: the evaluate job stores complete results in one transaction (and nothing when
cancelled), reproduces the run's folds, records every use of a locked test set, keeps one production
version per model when a "go" promotes, refuses the wrong roles and bad input with clear messages."""

from __future__ import annotations

import math
import shutil
from dataclasses import replace

import numpy as np
import pytest
from sqlmodel import func, select
from threadpoolctl import threadpool_limits

from mlcore.auth import create_user, set_member
from mlcore.config import Limits, Settings
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.data.synthetic import make_churn
from mlcore.errors import ConflictError, InputError, NotFound, PermissionDenied
from mlcore.jobs import request_cancel, run_job
from mlcore.modeling import evaluation_records as er
from mlcore.modeling.tracking import (
    apply_settings,
    default_spec,
    list_registry,
    read_test_rows,
    register_model,
    run_detail,
    submit_training,
    transition_stage,
)
from mlcore.planning.records import save_canvas
from mlcore.projects import ProjectCreate, create_project
from mlcore.store.engine import session_scope
from mlcore.store.models import Artifact, AuditEvent, User
from mlcore.store.models_evaluation import CandidateEvaluation, HeldOutUse, ModelDeployDecision
from mlcore.store.models_modeling import ModelVersion
from mlcore.workspace import open_workspace

PW = "correct horse 1"
N_ROWS = 300
FAMILIES = ["dummy", "logistic_regression", "hist_gradient_boosting"]
FAST = {"hist_gradient_boosting": {"max_iter": 15}}


@pytest.fixture(autouse=True)
def _one_thread():
    """Models fit on one thread: on a busy two-core machine OpenMP threads wait for each other."""
    with threadpool_limits(limits=1):
        yield


def _settings(home) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{home / 'ciclo.db'}", limits=Limits())


def _import(ws, project_id, actor_id, frame, name, target="churned"):
    loaded = ingest.load_frame(frame, source=ingest.SourceInfo(format="synthetic"))
    return save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=project_id, dataset_name=name, target=target),
        actor_id=actor_id,
        operation="synthetic",
    )


def _train(ws, project_id, actor_id, version_id, **changes):
    with session_scope(ws.engine) as s:
        base = default_spec(
            session=s, store=ws.store, project_id=project_id, version_id=version_id, target=changes.pop("target", None)
        )
    settings = {"families": FAMILIES, "n_splits": 3, "params": FAST, **changes}
    spec = apply_settings(base, settings, task_type="classification")
    job = submit_training(
        engine=ws.engine,
        settings=ws.settings,
        project_id=project_id,
        version_id=version_id,
        spec=spec,
        actor_id=actor_id,
        launch=False,
    )
    view = run_job(engine=ws.engine, job_id=job, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    with session_scope(ws.engine) as s:
        return run_detail(session=s, project_id=project_id, run_id=view.result["run_id"])


def _evaluate(ws, info, mode, candidate_ids, actor="mo", **options):
    job = er.submit_evaluation(
        engine=ws.engine,
        settings=ws.settings,
        project_id=info["project"],
        candidate_ids=candidate_ids,
        mode=mode,
        actor_id=info[actor],
        launch=False,
        **options,
    )
    return run_job(engine=ws.engine, job_id=job, settings=ws.settings)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A workspace with a team, the churn data (this month and next), a canvas with costs, one trained
    run and its candidates' out-of-fold predictions; copied for each test."""
    home = tmp_path_factory.mktemp("evaluation") / "home"
    ws = open_workspace(_settings(home))
    with threadpool_limits(limits=1):
        with session_scope(ws.engine) as s:
            admin = create_user(session=s, actor=None, name="root", role="admin", password=PW)
            people = {"admin": admin.id}
            project = create_project(session=s, data=ProjectCreate(name="Churn"), actor=admin)
            for name, role in [
                ("mo", "model_developer"),
                ("pd", "product_designer"),
                ("eth", "ai_ethics_reviewer"),
                ("dep", "deployment_engineer"),
                ("edu", "domain_expert"),
                ("vera", "viewer"),
            ]:
                user = create_user(session=s, actor=admin, name=name, role=role, password=PW)
                set_member(session=s, actor=admin, project_id=project.id, user_id=user.id, role=role)
                people[name] = user.id
            save_canvas(
                session=s,
                project_id=project.id,
                data={
                    "task_type": "classification",
                    "metric": "roc_auc",
                    "threshold": 0.8,
                    "cost_false_positive": 5,
                    "cost_false_negative": 50,
                    "latency": "seconds",
                },
                expected_version=0,
                actor=s.get(User, people["pd"]),
            )
            project_id = project.id
        demo = make_churn(N_ROWS, random_state=3)
        current = demo.current.assign(country="CL")  # one group only: a bad sensitive column
        version = _import(ws, project_id, people["admin"], current, "churn")
        newer = _import(ws, project_id, people["admin"], demo.next_month.assign(country="CL"), "churn_next_month")
        detail = _train(ws, project_id, people["mo"], version.id)
        info = {
            **people,
            "project": project_id,
            "version": version.id,
            "newer": newer.id,
            "run": detail.run.id,
            **{c.family: c.id for c in detail.candidates},
        }
        view = _evaluate(ws, info, "oof", [info["logistic_regression"], info["hist_gradient_boosting"]])
        assert view.status == "succeeded", (view.error_key, view.error_params, view.error_ref)
    ws.engine.dispose()
    return home, info


@pytest.fixture
def env(template, tmp_path):
    home, info = template
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    ws = open_workspace(_settings(copy))
    yield ws, info
    ws.engine.dispose()


def _user(s, info, name) -> User:
    return s.get(User, info[name])


def _count(ws, model, *conditions) -> int:
    with session_scope(ws.engine) as s:
        return s.exec(select(func.count()).select_from(model).where(*conditions)).one()


def _events(ws, action):
    with session_scope(ws.engine) as s:
        return s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def _files(ws) -> set[str]:
    return {p.name for p in ws.store.root.rglob("*") if p.is_file() and p.parent.name != "tmp"}


# --------------------------------------------------------------------------- comparing runs


def test_compare_runs_ranks_with_baseline_and_tests_the_top_candidates(env):
    ws, info = env
    with session_scope(ws.engine) as s:
        comparison = er.compare_runs(session=s, project_id=info["project"], run_ids=[info["run"]], lang="en")
    board = comparison.board
    assert board.metric == "roc_auc"  # the canvas metric comes first
    assert comparison.comparability.paired and comparison.note_key is None
    assert board.baseline == "Baseline (ignores the inputs) · run 1"
    assert board.table["name"].iloc[-1] == board.baseline  # the baseline ranks last here
    frame = er.leaderboard_frame(comparison, lang="es")
    assert set(frame["candidate_id"]) == {info[f] for f in FAMILIES}
    assert frame["run_id"].eq(info["run"]).all() and "±" in frame["roc_auc"].iloc[0]
    assert frame.loc[frame["baseline"], "margin"].iloc[0] == 0.0
    # the best against the second one and against the baseline
    assert len(comparison.comparisons) == 2
    versus_baseline = comparison.comparisons[-1]
    assert versus_baseline.worse == board.baseline and versus_baseline.significant
    assert "probablemente es real" in er.comparisons_frame(comparison, lang="es")["verdict"].iloc[-1]
    figure = er.fold_figure(comparison, lang="en")
    assert len(figure.data) == 3 and all(len(trace.x) == 3 for trace in figure.data)  # 3 folds each


def test_compare_refuses_other_targets_and_lineages_with_the_reason(env):
    ws, info = env
    other_target = _train(ws, info["project"], info["mo"], info["version"], target="senior", families=["dummy"])
    other_data = _train(ws, info["project"], info["mo"], info["newer"], families=["dummy"])
    with session_scope(ws.engine) as s, pytest.raises(InputError) as refused:
        er.compare_runs(session=s, project_id=info["project"], run_ids=[info["run"], other_target.run.id])
    assert refused.value.key == "evaluation.compare.different_target"
    assert "churned" in refused.value.message("en") and "senior" in refused.value.message("es")
    with session_scope(ws.engine) as s, pytest.raises(InputError) as refused:
        er.compare_runs(session=s, project_id=info["project"], run_ids=[info["run"], other_data.run.id])
    assert refused.value.key == "evaluation.compare.different_lineage"
    assert "run 1" in refused.value.message("en")


def test_runs_on_other_folds_are_ranked_but_not_tested(env):
    ws, info = env
    reseeded = _train(
        ws, info["project"], info["mo"], info["version"], seed=7, families=["dummy", "logistic_regression"]
    )
    with session_scope(ws.engine) as s:
        comparison = er.compare_runs(session=s, project_id=info["project"], run_ids=[info["run"], reseeded.run.id])
    assert len(comparison.board.table) == 5 and comparison.comparisons == ()
    assert comparison.note_key == "evaluation.compare.not_paired_folds"
    assert "fold" in comparison.note("en")
    with session_scope(ws.engine) as s, pytest.raises(InputError) as bad:
        er.compare_runs(session=s, project_id=info["project"], run_ids=[info["run"]], metric="mae")
    assert bad.value.key == "evalpage.compare.metric_not_shared"


# --------------------------------------------------------------------------- out-of-fold predictions


def test_out_of_fold_predictions_reproduce_the_recorded_folds(env):
    ws, info = env
    with session_scope(ws.engine) as s:
        found = er.latest_evaluations(
            session=s, project_id=info["project"], candidate_ids=[info["logistic_regression"]], kind="oof"
        )
        detail = run_detail(session=s, project_id=info["project"], run_id=info["run"])
    record = found[info["logistic_regression"]]
    assert record.summary["fold_difference"] <= 1e-9  # every fold's metric recomputed as training recorded it
    stored = er.read_predictions(store=ws.store, record=record)
    test_rows = read_test_rows(store=ws.store, run=detail.run)
    # every training row predicted exactly once, by a model that did not see it; no test row
    assert len(stored.rows) == detail.run.n_train_rows == len(set(stored.rows))
    assert not set(stored.rows) & set(test_rows)
    assert sorted(set(stored.folds)) == [1, 2, 3] and stored.binary
    scores = stored.predictions.positive_scores
    assert ((scores >= 0) & (scores <= 1)).all()
    candidate = next(c for c in detail.candidates if c.id == info["logistic_regression"])
    pooled = record.summary["metrics"]["roc_auc"]
    assert abs(pooled - candidate.mean["roc_auc"]) < 0.05  # pooled over folds, near the fold mean
    for kind in er.CURVE_KINDS:
        assert er.curve_figure(kind, {"a": stored.predictions}, lang="es").data
    assert er.confusion_figure(stored.predictions, threshold=0.3).data[0].z


def test_job_results_are_written_in_one_transaction(env, monkeypatch):
    ws, info = env
    ids = [info["dummy"], info["logistic_regression"]]
    view = _evaluate(ws, info, "oof", ids)
    assert view.status == "succeeded" and view.result["n_rows"] == 2 * 240 and view.result["label"] == "churn v1"
    with session_scope(ws.engine) as s:
        rows = s.exec(select(CandidateEvaluation).where(CandidateEvaluation.job_id == view.id)).all()
        assert sorted(r.candidate_id for r in rows) == sorted(ids)
        assert all(s.get(Artifact, r.artifact_sha256) is not None for r in rows)  # registered with them
    # a failure while saving the second result leaves neither
    before = _count(ws, CandidateEvaluation)
    real = er.CandidateEvaluation
    calls = []

    def failing(**values):
        calls.append(values)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(**values)

    monkeypatch.setattr(er, "CandidateEvaluation", failing)
    view = _evaluate(ws, info, "oof", ids)
    assert view.status == "failed" and view.error_key == "errors.unexpected"
    monkeypatch.setattr(er, "CandidateEvaluation", real)
    assert _count(ws, CandidateEvaluation) == before


def test_a_cancelled_job_leaves_nothing(env):
    ws, info = env
    before_rows, before_files = _count(ws, CandidateEvaluation), _files(ws)
    for mode in ("oof", "stress"):
        job = er.submit_evaluation(
            engine=ws.engine,
            settings=ws.settings,
            project_id=info["project"],
            candidate_ids=[info["hist_gradient_boosting"]],
            mode=mode,
            actor_id=info["mo"],
            launch=False,
        )
        with session_scope(ws.engine) as s:
            request_cancel(session=s, job_id=job)
        assert run_job(engine=ws.engine, job_id=job, settings=ws.settings).status == "cancelled"
    assert _count(ws, CandidateEvaluation) == before_rows
    assert _files(ws) == before_files


# --------------------------------------------------------------------------- the locked test set


def test_the_test_set_is_used_once_and_a_second_use_is_warned_and_recorded(env):
    ws, info = env
    submit = {
        "engine": ws.engine,
        "settings": ws.settings,
        "project_id": info["project"],
        "candidate_ids": [info["logistic_regression"]],
        "mode": "test",
        "actor_id": info["mo"],
        "launch": False,
    }
    first, again = er.submit_evaluation(**submit), er.submit_evaluation(**submit)
    assert first == again  # a double click while it is queued is the same job, not a second use
    view = run_job(engine=ws.engine, job_id=first, settings=ws.settings)
    assert view.status == "succeeded"
    with session_scope(ws.engine) as s:
        uses = er.held_out_uses(session=s, project_id=info["project"])
        results = er.held_out_results_frame(
            session=s, store=ws.store, project_id=info["project"], candidate_ids=[info[f] for f in FAMILIES]
        )
    # the run's baseline was scored on the same rows, in the same (first) use
    assert [(u.use_number, u.acknowledged, sorted(u.candidate_ids)) for u in uses] == [
        (1, False, sorted([info["logistic_regression"], info["dummy"]]))
    ]
    assert set(results["candidate_id"]) == {info["logistic_regression"], info["dummy"]}
    assert results["rows"].eq(60).all() and results["use_number"].eq(1).all()
    assert results.set_index("candidate_id").loc[info["dummy"], "roc_auc"] == 0.5

    with pytest.raises(InputError) as warned:
        _evaluate(ws, info, "test", [info["hist_gradient_boosting"]])
    assert warned.value.key == "evalpage.test.already_used" and warned.value.params["count"] == 1
    assert "mo" in warned.value.message("en")
    view = _evaluate(ws, info, "test", [info["hist_gradient_boosting"]], acknowledge_reuse=True)
    assert view.status == "succeeded"
    with session_scope(ws.engine) as s:
        uses = er.held_out_uses(session=s, project_id=info["project"])
        earlier = er.previous_uses(session=s, project_id=info["project"], candidate_ids=[info["logistic_regression"]])
        table = er.held_out_uses_frame(uses, labels={info["hist_gradient_boosting"]: "HGB"}, lang="es")
    assert [(u.use_number, u.acknowledged, u.created_by) for u in uses] == [(2, True, "mo"), (1, False, "mo")]
    assert len(earlier) == 2 and table["candidates"].iloc[0].startswith("HGB")
    events = _events(ws, "evaluation.test_set")
    assert [e.after["use_number"] for e in events] == [1, 2] and events[1].after["acknowledged"] is True


def test_only_model_developers_look_at_the_test_set(env):
    ws, info = env
    for who in ("eth", "pd", "vera", "edu"):
        with pytest.raises(PermissionDenied):
            _evaluate(ws, info, "test", [info["logistic_regression"]], actor=who)
    assert _count(ws, HeldOutUse) == 0


# --------------------------------------------------------------------------- stress tests and speed


def test_stress_tests_store_robustness_slices_and_another_version(env):
    ws, info = env
    view = _evaluate(
        ws,
        info,
        "stress",
        [info["logistic_regression"]],
        actor="eth",
        slice_columns=["contract", "tenure_months"],
        other_version_id=info["newer"],
    )
    assert view.status == "succeeded", (view.error_key, view.error_params, view.error_ref)
    with session_scope(ws.engine) as s:
        record = er.latest_evaluations(
            session=s, project_id=info["project"], candidate_ids=[info["logistic_regression"]], kind="stress"
        )[info["logistic_regression"]]
    result = er.read_stress(store=ws.store, record=record)
    robust = result.robustness
    assert robust.n_rows == 240 and set(robust.frame["perturbation"]) >= {"none", "noise", "missing", "unseen_category"}
    unperturbed = robust.frame[(robust.frame["perturbation"] == "none") & (robust.frame["metric"] == "roc_auc")]
    assert unperturbed["change"].iloc[0] == 0.0
    worst_missing = robust.frame[(robust.frame["perturbation"] == "missing") & (robust.frame["metric"] == "roc_auc")]
    assert worst_missing["value"].iloc[-1] < robust.baseline["roc_auc"]  # half the cells empty hurts
    table = er.robustness_frame(robust, lang="es")
    assert set(table["perturbation"]) == {
        "Sin cambios",
        "Ruido en los números",
        "Valores faltantes",
        "Números fuera de rango",
        "Categorías nunca vistas",
    }
    assert result.slices is not None and set(result.slices.frame["column"]) == {"contract", "tenure_months"}
    slices = er.slices_frame(result.slices, lang="en")
    flagged = slices["worst"].to_numpy()
    assert (flagged[: flagged.sum()]).all()  # flagged ones come first
    ((label, other),) = result.other
    assert label == "churn_next_month v1" and other.n_rows == N_ROWS and "customer_id" in other.ignored_columns
    assert math.isclose(other.change["roc_auc"], other.metrics["roc_auc"] - other.reference["roc_auc"])
    assert record.summary["same_lineage"] is False
    assert er.robustness_figure(robust, lang="en").data


def test_stress_and_speed_refuse_bad_input(env):
    ws, info = env
    cases = [
        ({"mode": "stress", "slice_columns": ["no_such_column"]}, "evalpage.stress.bad_columns"),
        ({"mode": "stress", "other_version_id": info["version"]}, "evalpage.stress.bad_version"),
        ({"mode": "performance", "max_rows": 0}, "evaluation.bad_count"),
        ({"mode": "explode"}, "evalpage.unknown_mode"),
    ]
    for options, key in cases:
        mode = options.pop("mode")
        with pytest.raises(InputError) as bad:
            _evaluate(ws, info, mode, [info["logistic_regression"]], **options)
        assert bad.value.key == key
        assert "{" not in bad.value.message("es")
    with pytest.raises(InputError) as bad:
        _evaluate(ws, info, "oof", [])
    assert bad.value.key == "evalpage.no_candidates"
    with pytest.raises(NotFound):
        _evaluate(ws, info, "oof", [999])


def test_speed_is_measured_with_the_host_and_capped_sizes(env):
    ws, info = env
    view = _evaluate(ws, info, "performance", [info["logistic_regression"]], max_rows=500, n_calls=10)
    assert view.status == "succeeded"
    with session_scope(ws.engine) as s:
        record = er.latest_evaluations(
            session=s, project_id=info["project"], candidate_ids=[info["logistic_regression"]], kind="performance"
        )[info["logistic_regression"]]
    report = er.read_performance(store=ws.store, record=record)
    assert [n for n, _ in report.throughput] == [500] and report.latency_calls == 10
    assert report.latency_ms_p50 <= report.latency_ms_p95 <= report.latency_ms_p99
    assert report.model_bytes > 0 and report.host["cpus"] >= 1 and report.training_seconds is not None
    frame = er.performance_frame(report, lang="es")
    assert frame["value"].str.contains("filas/s").any()
    small = Settings(ws.settings.home, ws.settings.database_url, Limits(max_cells=50_000))
    assert er.performance_sizes(n_features=10, settings=small) == (1_000, 5_000)


# --------------------------------------------------------------------------- threshold, settings, fairness


def test_threshold_is_found_saved_and_read_for_a_model_version(env):
    ws, info = env
    cid = info["logistic_regression"]
    with session_scope(ws.engine) as s:
        record = er.latest_evaluations(session=s, project_id=info["project"], candidate_ids=[cid], kind="oof")[cid]
        costs = er.project_costs(session=s, project_id=info["project"])
    p = er.read_predictions(store=ws.store, record=record).predictions
    assert costs == (5.0, 50.0)
    choice = er.find_threshold(p, goal="min_cost", costs=costs)
    at_choice = er.threshold_metrics(p, choice.threshold, costs=costs)
    # no threshold on the grid costs less than the one found
    for cut in np.linspace(0, 1, 21):
        assert er.threshold_metrics(p, float(cut), costs=costs).cost >= at_choice.cost - 1e-9
    constrained = er.find_threshold(p, goal="constraint", constraint="precision", bound=0.9)
    assert constrained.met and constrained.metrics.precision >= 0.9
    assert er.threshold_metrics_frame(at_choice, lang="es")["measure"].str.contains("Costo").any()
    with session_scope(ws.engine) as s:
        saved = er.save_threshold(
            session=s,
            actor=_user(s, info, "mo"),
            project_id=info["project"],
            candidate_id=cid,
            threshold=choice.threshold,
            source="min_cost",
            details={"costs": list(costs)},
        )
        version = register_model(
            session=s, actor=_user(s, info, "mo"), project_id=info["project"], candidate_id=cid, name="churn"
        )
    assert saved.version == 1 and saved.source == "min_cost"
    with session_scope(ws.engine) as s:
        assert er.threshold_for_model_version(
            session=s, project_id=info["project"], model_version_id=version.id
        ) == pytest.approx(choice.threshold)
    with session_scope(ws.engine) as s, pytest.raises(ConflictError):  # someone saved since version 0
        er.save_threshold(
            session=s, actor=_user(s, info, "eth"), project_id=info["project"], candidate_id=cid, threshold=0.4
        )
    for bad, key in ((1.5, "evaluation.threshold_out_of_range"), (float("nan"), "evaluation.threshold_out_of_range")):
        with session_scope(ws.engine) as s, pytest.raises(InputError) as refused:
            er.save_threshold(
                session=s,
                actor=_user(s, info, "mo"),
                project_id=info["project"],
                candidate_id=cid,
                threshold=bad,
                expected_version=1,
            )
        assert refused.value.key == key
    with session_scope(ws.engine) as s:
        er.save_threshold(
            session=s,
            actor=_user(s, info, "eth"),
            project_id=info["project"],
            candidate_id=cid,
            threshold=0.4,
            expected_version=1,
        )
    assert [e.after["threshold"] for e in _events(ws, "evaluation.threshold")] == [pytest.approx(choice.threshold), 0.4]


def test_settings_and_fairness_per_sensitive_column(env):
    ws, info = env
    cid = info["logistic_regression"]
    with session_scope(ws.engine) as s:
        settings = er.save_evaluation_settings(
            session=s,
            actor=_user(s, info, "eth"),
            project_id=info["project"],
            sensitive_columns=[" senior ", "country", "senior"],
            fairness_limit=0.2,
            fairness_measure="demographic_parity_difference",
        )
    assert settings.sensitive_columns == ("senior", "country") and settings.version == 1
    with session_scope(ws.engine) as s:
        view = er.fairness_for(session=s, store=ws.store, project_id=info["project"], candidate_id=cid, column="senior")
    assert view is not None and view.source == "oof" and view.threshold == 0.5
    groups = er.fairness_frame(view.report)
    assert list(groups["group"]) == ["False", "True"] and groups["count"].sum() == 240
    rates = groups["selection_rate"]
    assert view.report.demographic_parity_difference == pytest.approx(rates.max() - rates.min())
    assert er.fairness_figure(view.report, lang="es").data
    with session_scope(ws.engine) as s, pytest.raises(InputError) as one_group:
        er.fairness_for(session=s, store=ws.store, project_id=info["project"], candidate_id=cid, column="country")
    assert one_group.value.key == "evaluation.fairness.one_group" and "country" in one_group.value.message("es")
    with session_scope(ws.engine) as s, pytest.raises(InputError) as absent:
        er.fairness_for(session=s, store=ws.store, project_id=info["project"], candidate_id=cid, column="planet")
    assert absent.value.key == "evalpage.fairness.no_column"
    bad_settings = [
        ({"sensitive_columns": ["a\x00b"]}, "evalpage.settings.bad_column"),
        ({"sensitive_columns": "senior"}, "evalpage.settings.bad_columns"),
        ({"sensitive_columns": [], "fairness_limit": 2.0}, "evaluation.check.bad_fairness_limit"),
        ({"sensitive_columns": [], "fairness_measure": "vibes"}, "evaluation.check.unknown_fairness_measure"),
    ]
    for values, key in bad_settings:
        with session_scope(ws.engine) as s, pytest.raises(InputError) as refused:
            er.save_evaluation_settings(
                session=s, actor=_user(s, info, "eth"), project_id=info["project"], expected_version=1, **values
            )
        assert refused.value.key == key
    with session_scope(ws.engine) as s, pytest.raises(ConflictError):
        er.save_evaluation_settings(
            session=s, actor=_user(s, info, "mo"), project_id=info["project"], sensitive_columns=[]
        )


# --------------------------------------------------------------------------- the deploy decision


def test_a_go_promotes_exactly_one_production_version_and_is_audited(env):
    ws, info = env
    assert (
        _evaluate(ws, info, "test", [info["logistic_regression"], info["hist_gradient_boosting"]]).status == "succeeded"
    )
    with session_scope(ws.engine) as s:
        mo = _user(s, info, "mo")
        first = register_model(
            session=s, actor=mo, project_id=info["project"], candidate_id=info["hist_gradient_boosting"], name="churn"
        )
        register_model(
            session=s, actor=mo, project_id=info["project"], candidate_id=info["logistic_regression"], name="churn"
        )
        first = transition_stage(
            session=s,
            actor=mo,
            project_id=info["project"],
            model_version_id=first.id,
            stage="staging",
            expected_version=1,
        )
        transition_stage(
            session=s,
            actor=mo,
            project_id=info["project"],
            model_version_id=first.id,
            stage="production",
            expected_version=first.version,
        )
    with session_scope(ws.engine) as s:
        context = er.decision_context(
            session=s, store=ws.store, project_id=info["project"], candidate_id=info["logistic_regression"]
        )
    statuses = {c.criterion: c.status for c in context.checks.checks}
    assert statuses["metric_threshold"] == "pass" and statuses["baseline_margin"] == "pass"
    assert statuses["latency"] == "unknown" and context.checks.recommendation == "incomplete"
    assert context.baseline_metrics["roc_auc"] == 0.5 and context.test_rows == 60
    assert context.canvas_source == "draft" and [v.ref for v in context.versions] == ["churn@2"]

    with session_scope(ws.engine) as s:
        made = er.record_deploy_decision(
            session=s,
            store=ws.store,
            actor=_user(s, info, "pd"),
            project_id=info["project"],
            candidate_id=info["logistic_regression"],
            outcome="go",
            rationale="Recall matters most; latency is measured next week.",
        )
    assert made.promoted and made.model_ref == "churn@2" and made.replaced_ref == "churn@1"
    assert made.overrides and made.recommendation == "incomplete"
    with session_scope(ws.engine) as s:
        stages = {v.ref: v.stage for m in list_registry(session=s, project_id=info["project"]) for v in m.versions}
        in_production = s.exec(select(ModelVersion).where(ModelVersion.stage == "production")).all()
    assert stages == {"churn@1": "archived", "churn@2": "production"} and len(in_production) == 1
    moves = _events(ws, "model.stage")[-2:]
    assert [(e.after["ref"], e.after["stage"], e.actor_name) for e in moves] == [
        ("churn@1", "archived", "pd"),
        ("churn@2", "production", "pd"),
    ]
    (decided,) = _events(ws, "evaluation.decide")
    assert decided.after["outcome"] == "go" and "latency" in decided.after["unknown"] and decided.reason
    with session_scope(ws.engine) as s:
        history = er.deploy_decisions(session=s, project_id=info["project"], lang="es")
    frame = er.decisions_frame(history, lang="es")
    assert frame["outcome"].iloc[0] == "adelante"
    assert frame["promoted"].iloc[0] and frame["model"].iloc[0] == "churn@2"


def test_a_go_needs_a_registered_version_and_a_no_go_does_not(env):
    ws, info = env
    with session_scope(ws.engine) as s, pytest.raises(InputError) as refused:
        er.record_deploy_decision(
            session=s,
            store=ws.store,
            actor=_user(s, info, "pd"),
            project_id=info["project"],
            candidate_id=info["hist_gradient_boosting"],
            outcome="go",
            rationale="Looks good",
        )
    assert refused.value.key == "evalpage.decision.not_registered" and "registr" in refused.value.message("es")
    assert _count(ws, ModelDeployDecision) == 0
    with session_scope(ws.engine) as s:
        made = er.record_deploy_decision(
            session=s,
            store=ws.store,
            actor=_user(s, info, "pd"),
            project_id=info["project"],
            candidate_id=info["hist_gradient_boosting"],
            outcome="no_go",
            rationale="Not tested on the held-out set yet. <script>alert(1)</script>",
        )
    assert not made.promoted and made.model_ref == "" and made.recommendation == "incomplete"
    for bad, key in (("maybe", "evaluation.decision.unknown_outcome"), ("go", "evaluation.decision.empty")):
        with session_scope(ws.engine) as s, pytest.raises(InputError) as refused:
            er.record_deploy_decision(
                session=s,
                store=ws.store,
                actor=_user(s, info, "pd"),
                project_id=info["project"],
                candidate_id=info["hist_gradient_boosting"],
                outcome=bad,
                rationale="  ",
            )
        assert refused.value.key == key
    # the rationale typed by a person is escaped in the HTML report
    with session_scope(ws.engine) as s:
        page = er.evaluation_report(
            session=s,
            store=ws.store,
            project_id=info["project"],
            candidate_id=info["hist_gradient_boosting"],
            fmt="html",
        )
    assert "<script>" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("who", ["vera", "edu", "mo", "dep", "eth"])
def test_only_the_approver_decides(env, who):
    ws, info = env
    with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
        er.record_deploy_decision(
            session=s,
            store=ws.store,
            actor=_user(s, info, who),
            project_id=info["project"],
            candidate_id=info["logistic_regression"],
            outcome="no_go",
            rationale="no",
        )
    assert _count(ws, ModelDeployDecision) == 0


def test_viewers_and_experts_cannot_run_or_save(env):
    ws, info = env
    for who in ("vera", "edu", "pd"):
        with pytest.raises(PermissionDenied):
            _evaluate(ws, info, "oof", [info["logistic_regression"]], actor=who)
        with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
            er.save_threshold(
                session=s,
                actor=_user(s, info, who),
                project_id=info["project"],
                candidate_id=info["dummy"],
                threshold=0.5,
            )
        with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
            er.save_evaluation_settings(
                session=s, actor=_user(s, info, who), project_id=info["project"], sensitive_columns=["senior"]
            )


# --------------------------------------------------------------------------- reports


def test_report_and_card_come_from_stored_artifacts_in_both_languages(env):
    ws, info = env
    cid = info["logistic_regression"]
    assert _evaluate(ws, info, "test", [cid]).status == "succeeded"
    assert _evaluate(ws, info, "stress", [cid], slice_columns=["contract"]).status == "succeeded"
    with session_scope(ws.engine) as s:
        er.save_evaluation_settings(
            session=s, actor=_user(s, info, "eth"), project_id=info["project"], sensitive_columns=["senior", "country"]
        )
        data = er.evaluation_report_data(session=s, store=ws.store, project_id=info["project"], candidate_id=cid)
        english = er.evaluation_report(session=s, store=ws.store, project_id=info["project"], candidate_id=cid)
        spanish = er.evaluation_report(
            session=s, store=ws.store, project_id=info["project"], candidate_id=cid, lang="es", fmt="html"
        )
        card = er.evaluation_card_sections(session=s, store=ws.store, project_id=info["project"], candidate_id=cid)
        card_es = er.model_card(session=s, store=ws.store, project_id=info["project"], candidate_id=cid, lang="es")
        documents = er.evaluation_documents(session=s, store=ws.store, project_id=info["project"], candidate_id=cid)
    assert data.test_rows == 60 and data.leaderboard is not None and data.robustness is not None
    assert data.threshold is not None and data.threshold.cost is not None  # the canvas's costs
    assert len(data.fairness) == 1 and data.fairness[0].sensitive == "senior"  # "country" has one group
    assert any("country" in c for c in data.caveats)
    shown = f"{data.test_metrics['roc_auc']:.4f}".rstrip("0").rstrip(".")
    assert f"| ROC AUC | {shown} | 0.5 |" in english  # the stored test metrics, beside the baseline
    assert "## Robustness" in english and "Logistic regression · run 1" in english
    assert spanish.startswith("<!DOCTYPE html>") and "Informe de evaluación" in spanish
    assert card.test_metrics == data.test_metrics and "churn v1" in card.data
    assert "Ficha del modelo" in card_es and "Equidad" in card_es
    # the download page reads everything once: the same documents as one by one
    assert documents.card_markdown.split("\n", 1)[0] == "# Model card: Logistic regression · run 1"
    assert documents.report_html.startswith("<!DOCTYPE html>") and "## Robustness" in documents.report_markdown
    with session_scope(ws.engine) as s, pytest.raises(InputError):
        er.evaluation_report(session=s, store=ws.store, project_id=info["project"], candidate_id=cid, fmt="pdf")


def test_regression_projects_get_residual_plots_and_no_threshold(env):
    ws, info = env
    with session_scope(ws.engine) as s:
        admin = _user(s, info, "admin")
        prices = create_project(session=s, data=ProjectCreate(name="Prices", task_type="regression"), actor=admin)
        set_member(session=s, actor=admin, project_id=prices.id, user_id=info["mo"], role="model_developer")
    frame = make_churn(200, random_state=5).current
    version = _import(ws, prices.id, info["admin"], frame, "charges", target="monthly_charges")
    with session_scope(ws.engine) as s:
        base = default_spec(session=s, store=ws.store, project_id=prices.id, version_id=version.id)
    spec = replace(apply_settings(base, {"families": ["dummy", "ridge"], "n_splits": 3}, task_type="regression"))
    job = submit_training(
        engine=ws.engine,
        settings=ws.settings,
        project_id=prices.id,
        version_id=version.id,
        spec=spec,
        actor_id=info["mo"],
        launch=False,
    )
    view = run_job(engine=ws.engine, job_id=job, settings=ws.settings)
    ridge = view.result["candidate_ids"][1]
    view = _evaluate(ws, {**info, "project": prices.id}, "oof", [ridge])
    assert view.status == "succeeded"
    with session_scope(ws.engine) as s:
        record = er.latest_evaluations(session=s, project_id=prices.id, candidate_ids=[ridge], kind="oof")[ridge]
    assert record.summary["fold_difference"] <= 1e-9
    p = er.read_predictions(store=ws.store, record=record).predictions
    assert p.task_type == "regression" and len(p) == 160
    for figure in (er.predicted_actual_figure, er.residuals_figure, er.error_range_figure):
        assert figure(p, lang="es").data
    with pytest.raises(InputError) as refused:
        er.threshold_metrics(p, 0.5)
    assert refused.value.key == "evalpage.needs_two_classes"
    with session_scope(ws.engine) as s, pytest.raises(InputError) as refused:
        er.save_threshold(
            session=s, actor=_user(s, info, "mo"), project_id=prices.id, candidate_id=ridge, threshold=0.5
        )
    assert refused.value.key == "evalpage.needs_two_classes"

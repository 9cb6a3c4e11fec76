"""The native overview, its figures and relation scores, and the ydata-profiling reports."""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from mlcore.data.profiling import (
    Overview,
    as_datetime,
    column_distribution,
    compare_reports_html,
    distribution_figure,
    missing_figure,
    overview,
    profile_report_html,
    target_relation_figure,
    target_relation_strength,
)
from mlcore.data.synthetic import make_churn
from mlcore.errors import InputError

ROLES = {
    "customer_id": "identifier",
    "signup_date": "datetime",
    "contract": "categorical",
    "payment_method": "categorical",
    "region": "categorical",
    "senior": "boolean",
    "has_partner": "boolean",
    "last_complaint": "text",
    "cancellation_fee_charged": "boolean",
    "churned": "categorical",
}


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return make_churn(2000, random_state=5).current


@pytest.fixture(scope="module")
def ov(churn) -> Overview:
    return overview(churn, roles=ROLES, target="churned", sample_rows=25)


# --------------------------------------------------------------------------- overview


def test_overview_shapes_and_counts(churn, ov):
    assert (ov.n_rows, ov.n_cols) == churn.shape
    table = ov.columns.set_index("column")
    assert list(table.index) == list(churn.columns)
    assert table["n_missing"].to_dict() == churn.isna().sum().to_dict()
    assert table["n_distinct"].to_dict() == churn.nunique().to_dict()
    assert ov.sample.shape == (25, churn.shape[1]) and ov.sample.index.isin(churn.index).all()
    assert ov.sample.index.is_monotonic_increasing
    assert ov.roles["customer_id"] == "identifier" and ov.roles["tenure_months"] == "numeric"  # from dtype
    assert 0 < ov.missing_share < 1


def test_overview_shares_and_statistics_are_consistent(ov):
    table = ov.columns
    for share in ("missing_share", "distinct_share", "top_share"):
        values = table[share].dropna()
        assert ((values >= 0) & (values <= 1)).all(), share
    numeric = table[table["role"] == "numeric"]
    ordered = numeric[["min", "q25", "median", "q75", "max"]].to_numpy()
    assert (np.diff(ordered, axis=1) >= 0).all()
    assert (numeric["std"] >= 0).all()
    assert table.loc[table["role"] != "numeric", "mean"].isna().all()
    categorical = table[table["role"].isin(["categorical", "boolean", "identifier"])]
    assert categorical["top_value"].notna().all()


def test_distributions_account_for_every_row(churn, ov):
    for name, dist in ov.distributions.items():
        present = int(churn[name].notna().sum())
        assert dist.n_missing == len(churn) - present
        if dist.kind in ("histogram", "lengths"):
            assert sum(dist.counts) == present and len(dist.edges) == len(dist.counts) + 1
            assert list(dist.edges) == sorted(dist.edges)
        elif dist.kind == "bars":
            assert sum(dist.counts) + dist.n_other == present
            assert list(dist.counts) == sorted(dist.counts, reverse=True)
    assert ov.distributions["signup_date"].is_datetime
    assert ov.distributions["last_complaint"].kind == "lengths"
    assert ov.distributions["contract"].kind == "bars"
    # One bar per whole number for small counts.
    assert ov.distributions["num_support_tickets"].edges[:2] == (-0.5, 0.5)


def test_bars_keep_the_top_values_and_count_the_rest():
    df = pd.DataFrame({"c": [f"v{i}" for i in range(30)] * 2 + ["v0"] * 5})
    dist = column_distribution(df, "c")
    assert dist.labels[0] == "v0" and len(dist.labels) == 20
    assert (dist.n_other, dist.n_other_values) == (20, 10)


def test_figures_build_for_every_role(churn, ov):
    labels = {"title": "Título", "x": "Valor", "y": "Filas", "other": "Otros"}
    for name in churn.columns:
        fig = distribution_figure(ov, name, labels=labels)
        assert fig.layout.title.text == "Título" and fig.layout.yaxis.title.text == "Filas"
        assert len(fig.data) == 1
        distribution_figure(churn, name, role=ov.roles[name])
    fig = missing_figure(ov, labels={"y": "Faltantes"})
    shares = list(fig.data[0].y)
    assert shares == sorted(shares, reverse=True) and fig.layout.yaxis.title.text == "Faltantes"
    regression_target = "total_charges"
    for name in churn.columns:
        if name != "churned":
            fig = target_relation_figure(churn, name, target="churned", task_type="classification", role=ov.roles[name])
            assert len(fig.data) >= 1, name
        if name != regression_target:
            fig = target_relation_figure(
                churn, name, target=regression_target, task_type="regression", role=ov.roles[name], max_points=300
            )
            assert len(fig.data) >= 1, name
            if fig.data[0].type == "scattergl":
                assert len(fig.data[0].x) <= 300


def test_relation_figure_shapes(churn):
    boxes = target_relation_figure(churn, "tenure_months", target="churned", task_type="classification")
    assert {t.type for t in boxes.data} == {"box"} and len(boxes.data) == 2
    assert boxes.data[0].q1 is not None  # summarised: no raw rows travel to the browser
    bars = target_relation_figure(churn, "contract", target="churned", task_type="classification", role="categorical")
    assert bars.layout.barmode == "stack"
    stacked = np.array([t.y for t in bars.data]).sum(axis=0)
    assert np.allclose(stacked, 1.0)


def test_relation_strength_ranks_the_leak_first(churn):
    scores = target_relation_strength(churn, target="churned", roles=ROLES, task_type="classification")
    assert scores["feature"].iloc[0] == "cancellation_fee_charged"
    assert "churned" not in set(scores["feature"]) and "customer_id" not in set(scores["feature"])
    assert scores["score"].is_monotonic_decreasing
    assert scores["score"].between(0, 1).all() and (scores["metric"] == "auc").all()
    regression = target_relation_strength(churn, target="tenure_months", roles=ROLES, task_type="regression")
    assert regression["feature"].iloc[0] in {"signup_date", "total_charges"} and (regression["metric"] == "r2").all()
    assert regression["score"].iloc[0] > 0.5


def test_relation_strength_multiclass_and_degenerate_targets():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=300), "noise": rng.normal(size=300)})
    df["y"] = pd.cut(df["x"], [-10, -0.5, 0.5, 10], labels=["low", "mid", "high"]).astype(str)
    scores = target_relation_strength(df, target="y", roles={}, task_type="classification")
    assert scores["feature"].iloc[0] == "x" and scores["metric"].iloc[0] == "auc_ovr"
    assert scores["score"].iloc[0] > 0.9
    single = target_relation_strength(df.assign(y="same"), target="y", roles={}, task_type="classification")
    assert single["score"].isna().all()
    with pytest.raises(InputError) as err:
        target_relation_strength(df, target="y", roles={}, task_type="regression")
    assert err.value.key == "profiling.target_not_numeric"


def test_as_datetime_reads_mixed_formats_and_time_zones():
    mixed = as_datetime(pd.Series(["2024-03-01", "1 Mar 2024", "2024-03-01T12:00:00+02:00", "never", None]))
    assert mixed.iloc[:2].tolist() == [pd.Timestamp("2024-03-01")] * 2
    assert mixed.iloc[2] == pd.Timestamp("2024-03-01 10:00") and mixed.iloc[3:].isna().all()
    aware = pd.Series(pd.date_range("2024-01-01", periods=2, freq="h", tz="America/Santiago"))
    assert as_datetime(aware).dt.tz is None


@pytest.mark.parametrize(
    ("call", "key"),
    [
        (lambda df: overview(df.iloc[:0], roles={}, target=None), "profiling.no_rows"),
        (lambda df: overview(df, roles={}, target="nope"), "profiling.unknown_target"),
        (lambda df: distribution_figure(df, "nope"), "profiling.unknown_column"),
        (lambda df: target_relation_figure(df, "a", target="a", task_type="regression"), "profiling.feature_is_target"),
        (lambda df: target_relation_figure(df, "a", target="b", task_type="other"), "profiling.unknown_task"),
        (lambda df: profile_report_html(df.iloc[:0], title="t"), "profiling.no_rows"),
        (lambda df: profile_report_html(df, title="t", sample_threshold=0), "profiling.bad_threshold"),
        (
            lambda df: compare_reports_html(df, df.rename(columns=str.upper), title_a="a", title_b="b"),
            "profiling.nothing_to_compare",
        ),
    ],
)
def test_bad_inputs_raise_input_errors(call, key):
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [0, 1]})
    with pytest.raises(InputError) as err:
        call(df)
    assert err.value.key == key


# --------------------------------------------------------------------------- ydata-profiling

_REMOTE = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture
def no_network(monkeypatch):
    """Fail on any HTTP request ydata-profiling might make (its telemetry uses requests)."""
    import requests

    calls: list[str] = []

    def refuse(url, *args, **kwargs):
        calls.append(url)
        raise AssertionError(f"network call to {url}")

    monkeypatch.setattr(requests, "get", refuse)
    monkeypatch.setattr(requests.Session, "request", lambda self, method, url, *a, **k: refuse(url))
    monkeypatch.delenv("YDATA_PROFILING_NO_ANALYTICS", raising=False)
    return calls


@pytest.fixture(scope="module")
def small(churn) -> pd.DataFrame:
    return churn.head(500)


@pytest.mark.slow
def test_profile_report_is_offline_and_self_contained(small, no_network):
    steps: list[tuple[float, str]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = profile_report_html(small, title="Churn — julio", progress=lambda f, k: steps.append((f, k)))
    assert not [w for w in caught if issubclass(w.category, FutureWarning | DeprecationWarning)]
    assert no_network == [] and os.environ["YDATA_PROFILING_NO_ANALYTICS"] == "True"
    assert (result.sampled, result.n_rows, result.n_rows_profiled, result.minimal) == (False, 500, 500, True)
    assert result.html.lstrip().lower().startswith("<!doctype html") and "Churn — julio" in result.html
    assert _REMOTE.search(result.html) is None
    assert 0 < result.size_bytes < 20 * 1024 * 1024
    assert steps[0] == (0.0, "profiling.progress.start") and steps[-1] == (1.0, "profiling.progress.done")


@pytest.mark.slow
def test_profile_report_samples_large_frames(small, no_network):
    result = profile_report_html(small[["tenure_months", "contract"]], title="t", sample_threshold=120)
    assert result.sampled and result.n_rows_profiled == 120 and result.n_rows == 500


@pytest.mark.slow
def test_compare_report_renders(churn, no_network):
    a = churn.iloc[:300, :6]
    b = make_churn(300, random_state=9).next_month.iloc[:, :6]
    html = compare_reports_html(a, b, title_a="Mayo", title_b="Junio")
    assert "Mayo" in html and "Junio" in html
    assert _REMOTE.search(html) is None and no_network == []


@pytest.mark.slow
def test_profile_report_survives_awkward_frames(no_network):
    rng = np.random.default_rng(4)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    # One 10 kB "word" per row: ydata-profiling's word cloud gives up on it, the report does not.
    essays = pd.DataFrame({"essay": ["".join(rng.choice(letters, 10_000)) for _ in range(20)]})
    assert "essay" in profile_report_html(essays, title="essays").html
    odd = pd.DataFrame({"💰 " + "nombre muy largo " * 18: [1.5], "vacía": [None], "cuándo": ["31/01/2024"]})
    result = profile_report_html(odd, title="una fila")
    assert result.n_rows_profiled == 1 and _REMOTE.search(result.html) is None

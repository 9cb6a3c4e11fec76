"""Tests for the synthetic churn dataset: determinism, shapes, and that the sidecar tells the truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlcore.data.synthetic import (
    MIN_ROWS,
    ChurnDemo,
    PlantedProblems,
    make_churn,
    write_churn_demo,
)
from mlcore.errors import InputError
from mlcore.i18n import translate

LOCALES = Path(__file__).resolve().parents[2] / "mlcore" / "locales"


@pytest.fixture(scope="module")
def demo() -> ChurnDemo:
    return make_churn(20_000, random_state=11)


def _batches(d: ChurnDemo) -> list[tuple[pd.DataFrame, PlantedProblems, pd.Series]]:
    return [
        (d.current, d.problems, d.clean_target),
        (d.next_month, d.next_month_problems, d.next_month_clean_target),
    ]


def _iqr_fences(values: pd.Series) -> tuple[float, float]:
    q1, q3 = values.quantile([0.25, 0.75])
    return q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)


def _honest_features(frame: pd.DataFrame, problems: PlantedProblems) -> pd.DataFrame:
    dropped = [
        problems.identifier_column,
        problems.leaky_column,
        problems.target,
        problems.text_column,
        problems.datetime_column,
    ]
    x = frame.drop(columns=dropped)
    x = pd.get_dummies(x, columns=list(x.select_dtypes("object").columns), dtype=float)
    x = x.astype(float)
    return x.fillna(x.median())


# --------------------------------------------------------------------------- determinism and shape


def test_same_seed_gives_identical_data() -> None:
    a, b = make_churn(600, random_state=7), make_churn(600, random_state=7)
    pd.testing.assert_frame_equal(a.current, b.current)
    pd.testing.assert_frame_equal(a.next_month, b.next_month)
    pd.testing.assert_series_equal(a.clean_target, b.clean_target)
    assert a.problems == b.problems
    assert a.next_month_problems == b.next_month_problems


def test_different_seed_gives_different_data() -> None:
    a, b = make_churn(600, random_state=7), make_churn(600, random_state=8)
    assert not a.current.equals(b.current)
    assert not a.next_month.equals(b.next_month)
    assert a.problems.flipped_labels != b.problems.flipped_labels


def test_current_batch_does_not_depend_on_next_month_size() -> None:
    a = make_churn(400, random_state=3)
    b = make_churn(400, random_state=3, next_month_rows=90)
    pd.testing.assert_frame_equal(a.current, b.current)
    assert a.problems == b.problems


@pytest.mark.parametrize(("n_rows", "next_rows"), [(MIN_ROWS, None), (50, 20), (137, 300), (2_000, None)])
def test_shapes_and_schema(n_rows: int, next_rows: int | None) -> None:
    d = make_churn(n_rows, random_state=0, next_month_rows=next_rows)
    assert d.current.shape[0] == n_rows
    assert d.next_month.shape[0] == (n_rows if next_rows is None else next_rows)
    assert 15 <= d.current.shape[1] <= 20
    assert list(d.current.columns) == list(d.next_month.columns)
    assert (d.current.dtypes == d.next_month.dtypes).all()
    for frame, problems, clean in _batches(d):
        assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
        assert clean.index.equals(frame.index)
        for column in (
            problems.identifier_column,
            problems.datetime_column,
            problems.text_column,
            problems.leaky_column,
            problems.target,
        ):
            assert column in frame.columns
        assert pd.api.types.is_datetime64_any_dtype(frame[problems.datetime_column])
        assert set(frame[problems.target].unique()) <= {0, 1}
        assert set(clean.unique()) <= {0, 1}


@pytest.mark.parametrize("kwargs", [{"n_rows": MIN_ROWS - 1}, {"n_rows": 100, "next_month_rows": 5}])
def test_too_few_rows_is_an_input_error(kwargs: dict[str, int]) -> None:
    with pytest.raises(InputError) as caught:
        make_churn(**kwargs)
    assert caught.value.key == "synthetic.too_few_rows"
    assert caught.value.params["minimum"] == MIN_ROWS
    english, spanish = caught.value.message("en"), caught.value.message("es")
    assert str(MIN_ROWS) in english and str(MIN_ROWS) in spanish
    assert english != spanish and "{" not in english + spanish


def test_catalogs_have_the_same_keys() -> None:
    en = json.loads((LOCALES / "en" / "synthetic.json").read_text(encoding="utf-8"))
    es = json.loads((LOCALES / "es" / "synthetic.json").read_text(encoding="utf-8"))
    assert set(en) == set(es)
    assert all(key.startswith("synthetic.") for key in en)
    assert translate("synthetic.bad_sidecar", "es", detail="x") != translate("synthetic.bad_sidecar", "en", detail="x")


def test_feature_ranges_are_plausible(demo: ChurnDemo) -> None:
    c, p = demo.current, demo.problems
    assert c["tenure_months"].between(0, 72).all()
    assert set(c["contract"]) == {"monthly", "one_year", "two_year"}
    assert set(c["has_partner"]) == {"yes", "no"}
    assert c["senior"].dtype == bool
    assert c["satisfaction_score"].dropna().isin([1, 2, 3, 4, 5]).all()
    assert (c["num_support_tickets"] >= 0).all()
    assert (c["income"].dropna() > 0).all()
    honest = ~c.index.isin(p.outliers["monthly_charges"])
    assert (c.loc[honest, "monthly_charges"] > 0).all()
    # signup date and tenure tell the same story
    age_days = (c[p.datetime_column].max() - c[p.datetime_column]).dt.days
    assert np.corrcoef(age_days, c["tenure_months"])[0, 1] > 0.99
    complaints = c[p.text_column].dropna()
    assert 0.1 < len(complaints) / len(c) < 0.9
    assert complaints.str.len().between(10, 200).all()


# --------------------------------------------------------------------------- target and labels


def test_positive_rate_is_about_twenty_percent(demo: ChurnDemo) -> None:
    rate = demo.current["churned"].mean()
    assert demo.problems.positive_rate == pytest.approx(rate)
    assert 0.17 < rate < 0.23
    assert demo.next_month_problems.positive_rate == pytest.approx(demo.next_month["churned"].mean())
    assert demo.next_month_problems.positive_rate > rate + 0.02


def test_flipped_labels_are_exactly_where_target_differs_from_clean(demo: ChurnDemo) -> None:
    for frame, problems, clean in _batches(demo):
        differs = np.flatnonzero(frame[problems.target].to_numpy() != clean.to_numpy())
        assert problems.flipped_labels == differs.tolist()
        assert 0.04 < len(problems.flipped_labels) / len(frame) < 0.06
        flipped = frame[problems.target].iloc[problems.flipped_labels]
        assert 0 < flipped.mean() < 1  # both directions


def test_leaky_column_agrees_with_target_far_more_than_any_honest_feature(demo: ChurnDemo) -> None:
    c, p = demo.current, demo.problems
    y = c[p.target]
    leak_auc = roc_auc_score(y, (c[p.leaky_column] == "yes").astype(int))
    x = _honest_features(c, p)
    honest_aucs = [roc_auc_score(y, x[column]) for column in x.columns if x[column].nunique() > 1]
    best_honest = max(max(a, 1 - a) for a in honest_aucs)
    assert leak_auc > 0.95
    assert leak_auc > best_honest + 0.15


def test_honest_features_give_a_useful_but_imperfect_model() -> None:
    # Imperfect because of the flipped labels (and gaps, outliers, the blur at the cut): a model
    # that knew the clean outcome exactly would still reach only ~0.89 against the noisy labels.
    d = make_churn(5_000, random_state=2)
    x = _honest_features(d.current, d.problems)
    y = d.current[d.problems.target]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.4, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(x_train, y_train)
    auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    assert 0.7 < auc < 0.95  # measured 0.85


def test_clean_outcome_is_nearly_a_function_of_the_features() -> None:
    """Churn is recorded by a rule on the recorded features, so the planted flips are the only
    real label noise: the clean outcome is almost perfectly predictable, the observed one is not."""
    d = make_churn(5_000, random_state=2)
    x = _honest_features(d.current, d.problems)
    for column in ("tenure_months", "monthly_charges", "income"):  # the rule uses them on a log scale
        x[f"log_{column}"] = np.log1p(x[column].clip(lower=0))
    aucs = {}
    for name, y in (("clean", d.clean_target), ("observed", d.current[d.problems.target])):
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.4, random_state=0, stratify=y)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000)).fit(x_train, y_train)
        aucs[name] = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    assert aucs["clean"] > 0.98  # measured 0.995
    assert aucs["observed"] < aucs["clean"] - 0.08


def test_complaint_text_carries_signal(demo: ChurnDemo) -> None:
    c = demo.current
    text = c["last_complaint"]
    threatens = text.fillna("").str.contains("cancel|switch providers")
    assert c.loc[threatens, "churned"].mean() > c.loc[text.isna(), "churned"].mean() + 0.1


# --------------------------------------------------------------------------- planted problems


@pytest.mark.parametrize("n_rows", [50, 3_000])
def test_every_sidecar_position_shows_its_problem(n_rows: int) -> None:
    d = make_churn(n_rows, random_state=5)
    for frame, p, _ in _batches(d):
        n = len(frame)
        groups = [
            p.flipped_labels,
            *p.missing_at_random.values(),
            *p.missing_not_at_random_rows.values(),
            *p.outliers.values(),
        ]
        for rows in groups:
            assert rows, "every kind of problem is planted at least once"
            assert rows == sorted(set(rows))
            assert rows[0] >= 0 and rows[-1] < n

        for column, rows in p.missing_at_random.items():
            assert np.flatnonzero(frame[column].isna()).tolist() == rows
        assert set(p.missing_not_at_random) == set(p.missing_not_at_random_rows)
        for column, rows in p.missing_not_at_random_rows.items():
            assert np.flatnonzero(frame[column].isna()).tolist() == rows

        for column, rows in p.outliers.items():
            low, high = _iqr_fences(frame[column].dropna())
            planted = frame[column].iloc[rows]
            assert ((planted < low) | (planted > high)).all()

        assert p.duplicate_rows
        for original, duplicate in p.duplicate_rows:
            assert 0 <= original < duplicate < n
            assert frame.iloc[original].equals(frame.iloc[duplicate])
        duplicated = np.flatnonzero(frame.duplicated(keep="first")).tolist()
        assert duplicated == sorted(dup for _, dup in p.duplicate_rows)


def test_duplicates_are_about_one_percent_and_ids_are_unique_otherwise(demo: ChurnDemo) -> None:
    for frame, p, _ in _batches(demo):
        assert 0.005 < len(p.duplicate_rows) / len(frame) < 0.015
        ids = frame[p.identifier_column]
        assert ids.str.fullmatch(r"C\d{7,}").all()
        repeated = np.flatnonzero(ids.duplicated(keep="first")).tolist()
        assert repeated == sorted(dup for _, dup in p.duplicate_rows)
    assert not set(demo.current["customer_id"]) & set(demo.next_month["customer_id"])


def test_mcar_rates_and_income_missing_for_high_earners(demo: ChurnDemo) -> None:
    c, p = demo.current, demo.problems
    for column, rows in p.missing_at_random.items():
        assert 0.02 < len(rows) / len(c) < 0.06, column
    assert "income" in p.missing_not_at_random
    missing = c["income"].isna()
    # Income is higher in the capital and lower among seniors, so the missing share must be too.
    capital = (c["region"] == "Metropolitana") & ~c["senior"]
    assert missing[capital].mean() > 1.5 * missing[c["senior"]].mean()
    # ...and missingness is not independent of everything observed, unlike MCAR columns.
    sat_missing = c["satisfaction_score"].isna()
    assert abs(sat_missing[capital].mean() - sat_missing[c["senior"]].mean()) < 0.02


# --------------------------------------------------------------------------- drift


def _mean_without_outliers(frame: pd.DataFrame, p: PlantedProblems, column: str) -> float:
    keep = ~frame.index.isin(p.outliers.get(column, []))
    return float(frame.loc[keep, column].mean())


def test_next_month_drifts_on_named_features_only(demo: ChurnDemo) -> None:
    c, n = demo.current, demo.next_month
    p, q = demo.problems, demo.next_month_problems
    assert p.drifted_features == q.drifted_features
    assert set(p.drifted_features) <= set(c.columns) - {p.target}

    def ratio(column: str) -> float:
        return _mean_without_outliers(n, q, column) / _mean_without_outliers(c, p, column)

    assert ratio("monthly_charges") > 1.08
    assert ratio("num_support_tickets") > 1.2
    assert (n["contract"] == "monthly").mean() > (c["contract"] == "monthly").mean() + 0.05
    new_payments = set(n["payment_method"]) - set(c["payment_method"])
    assert new_payments and all(m in p.drifted_features["payment_method"] for m in new_payments)
    assert n["last_complaint"].notna().mean() > c["last_complaint"].notna().mean()
    for steady in ("tenure_months", "avg_call_minutes", "income", "satisfaction_score"):
        assert steady not in p.drifted_features
        assert abs(ratio(steady) - 1) < 0.05, steady


# --------------------------------------------------------------------------- sidecar and files


def test_sidecar_round_trips_through_json(demo: ChurnDemo) -> None:
    for problems in (demo.problems, demo.next_month_problems):
        text = problems.to_json()
        back = PlantedProblems.from_json(text)
        assert back == problems
        assert all(isinstance(pair, tuple) for pair in back.duplicate_rows)
        assert json.loads(text)["target"] == "churned"


@pytest.mark.parametrize("text", ["not json", "[]", '{"target": "churned"}'])
def test_bad_sidecar_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError) as caught:
        PlantedProblems.from_json(text)
    assert caught.value.key == "synthetic.bad_sidecar"


def test_write_churn_demo_writes_csvs_and_sidecars(tmp_path: Path) -> None:
    d = make_churn(300, random_state=4, next_month_rows=120)
    folder = tmp_path / "demo"
    paths = write_churn_demo(d, folder)
    assert set(paths) == {"current", "next_month", "problems", "next_month_problems"}
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths.values())

    current = pd.read_csv(paths["current"], parse_dates=[d.problems.datetime_column])
    assert current.shape == d.current.shape
    assert list(current.columns) == list(d.current.columns)
    assert current["customer_id"].tolist() == d.current["customer_id"].tolist()
    pd.testing.assert_series_equal(current["income"], d.current["income"])
    assert current["signup_date"].equals(d.current["signup_date"])
    assert pd.read_csv(paths["next_month"]).shape == d.next_month.shape
    problems = PlantedProblems.from_json(paths["problems"].read_text(encoding="utf-8"))
    assert problems == d.problems
    nxt = PlantedProblems.from_json(paths["next_month_problems"].read_text(encoding="utf-8"))
    assert nxt == d.next_month_problems

    # Writing again replaces the files and leaves no temporary files behind.
    write_churn_demo(make_churn(40, random_state=1), folder)
    assert len(pd.read_csv(paths["current"])) == 40
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths.values())

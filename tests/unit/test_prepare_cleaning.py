"""Row steps: each on tiny hand-computed frames through ``apply_row_steps``, their reusable state, and the
errors they give for columns and data they cannot work on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlcore.data.prepare.cleaning import bin_edges, decimal_mark, fences, read_dates, read_numbers
from mlcore.data.prepare.recipe import Recipe, apply_row_steps, make_step
from mlcore.errors import InputError

ROLES = {"id": "identifier", "age": "numeric", "income": "numeric", "city": "categorical", "y": "numeric"}


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "age": [20.0, np.nan, 40.0, 30.0, np.nan, 50.0],
            "income": [1.0, 2.0, 3.0, 4.0, 5.0, 100.0],
            "city": [" Lima", "lima", "Quito ", None, "Cusco", "Lima"],
            "y": [0, 1, 0, 1, 0, 1],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def _apply(*steps, frame=None, states=None, target="y"):
    recipe = Recipe("t", steps=tuple(steps), columns=ROLES, target=target)
    return apply_row_steps(_frame() if frame is None else frame, recipe, states=states)


# ----------------------------------------------------------------------------- impute


def test_impute_median_hand_computed_with_indicator_and_state():
    out, report = _apply(make_step("impute_rows", strategy="median", add_indicator=True))
    assert out["age"].tolist() == [20.0, 35.0, 40.0, 30.0, 35.0, 50.0]
    assert list(out.columns) == ["id", "age", "age_missing", "income", "income_missing", "city", "y"]
    assert out["age_missing"].tolist() == [False, True, False, False, True, False]
    step = report.steps[0]
    assert dict(step.changed) == {"age": 2} and step.state == {"fill": {"age": 35.0, "income": 3.5}}
    assert report.roles["age_missing"] == "boolean"
    # reusing the state fills new rows with the learnt median, not theirs
    new = _frame().assign(age=[np.nan, 1.0, 1.0, 1.0, 1.0, 1.0])
    again, _ = _apply(make_step("impute_rows", strategy="median"), frame=new, states=report.states)
    assert again.loc[10, "age"] == 35.0


def test_impute_other_strategies():
    frequent, _ = _apply(make_step("impute_rows", strategy="most_frequent", columns=["city"]))
    assert frequent.loc[13, "city"] == " Lima"  # ties go to the smallest value
    constant, _ = _apply(make_step("impute_rows", strategy="constant", fill_value="unknown", columns=["city"]))
    assert constant.loc[13, "city"] == "unknown"
    zero, _ = _apply(make_step("impute_rows", strategy="constant", fill_value=0, columns=["age"]))
    assert zero["age"].tolist()[1] == 0.0
    for strategy in ("knn", "iterative"):
        out, report = _apply(make_step("impute_rows", strategy=strategy, columns=["age", "income"], n_neighbors=2))
        assert not out["age"].isna().any() and out["income"].equals(_frame()["income"])
        assert report.steps[0].state is None and report.steps[0].facts["fit_rows"] == 6


def test_impute_refuses_what_it_cannot_fill():
    with pytest.raises(InputError) as err:
        _apply(make_step("impute_rows", strategy="median", columns=["city"]))
    assert err.value.key == "prep.wrong_role" and err.value.params["column"] == "city"
    assert err.value.params["step"] == "1 (impute_rows)"
    with pytest.raises(InputError) as err:
        _apply(make_step("impute_rows", strategy="mean"), frame=_frame().assign(age=np.nan))
    assert err.value.key == "prep.all_missing" and err.value.params["column"] == "age"
    with pytest.raises(InputError) as err:
        _apply(make_step("impute_rows", strategy="constant", fill_value="x", columns=["age"]))
    assert err.value.key == "prep.wrong_role"
    with pytest.raises(InputError) as err:
        _apply(make_step("impute_rows", strategy="median", columns=["y"]))
    assert err.value.key == "prep.target_not_allowed"
    with pytest.raises(InputError) as err:
        _apply(make_step("impute_rows", add_indicator=True, columns=["age"]), frame=_frame().assign(age_missing=1))
    assert err.value.key == "prep.name_taken"


# ----------------------------------------------------------------------------- columns and duplicates


def test_drop_columns_and_its_errors():
    out, report = _apply(make_step("drop_columns", columns=["income", "id"]))
    assert list(out.columns) == ["age", "city", "y"]
    assert report.steps[0].columns_removed == ("id", "income")
    for columns, key in ((["nope"], "prep.unknown_column"), (["y"], "prep.target_not_allowed")):
        with pytest.raises(InputError) as err:
            _apply(make_step("drop_columns", columns=columns))
        assert err.value.key == key


def test_drop_duplicates_ignores_identifiers_by_default():
    frame = _frame().assign(age=1.0, income=1.0, city="x", y=0)
    out, report = _apply(make_step("drop_duplicates"), frame=frame)
    assert out.index.tolist() == [10] and report.steps[0].facts == {"duplicates": 5}
    assert report.steps[0].rows_removed == 5
    kept, _ = _apply(make_step("drop_duplicates", ignore_identifiers=False), frame=frame)
    assert len(kept) == 6
    last, _ = _apply(make_step("drop_duplicates", columns=["y"], keep="last"))
    assert last.index.tolist() == [14, 15]


# ----------------------------------------------------------------------------- outliers


def test_fences_hand_computed():
    assert fences(np.array([1.0, 2.0, 3.0, 4.0, 100.0]), method="iqr") == (-1.0, 7.0)
    low, high = fences(np.array([0.0, 2.0, np.nan]), method="zscore", z_threshold=1.0)
    assert (low, high) == (0.0, 2.0)
    assert fences(np.array([np.nan]), method="iqr") == (-np.inf, np.inf)


def test_outliers_clip_remove_flag():
    clipped, report = _apply(make_step("outliers", columns=["income"], action="clip"))
    q1, q3 = 2.25, 4.75
    assert clipped.loc[15, "income"] == q3 + 1.5 * (q3 - q1)
    assert dict(report.steps[0].changed) == {"income": 1}
    assert report.steps[0].state == {"bounds": {"income": [q1 - 3.75, q3 + 3.75]}}
    removed, report = _apply(make_step("outliers", columns=["income"], action="remove"))
    assert 15 not in removed.index and report.rows_after == 5
    flagged, _ = _apply(make_step("outliers", columns=["income", "age"], action="flag", flag_column="odd"))
    assert flagged["odd"].tolist() == [False] * 5 + [True]
    assert flagged["age"].isna().sum() == 2  # missing values are never outliers
    # a target may be cleaned when named explicitly
    _apply(make_step("outliers", columns=["y"], action="clip"))


def test_isolation_forest_flags_and_refuses_to_clip():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.normal(size=200), "income": rng.normal(size=200)})
    frame.loc[0, ["age", "income"]] = [40.0, -40.0]
    recipe = Recipe("t", steps=(make_step("outliers", method="isolation_forest", action="flag", contamination=0.01),))
    out, report = apply_row_steps(frame, recipe)
    assert out.loc[0, "outlier"] and report.steps[0].facts["outliers"] == 2
    with pytest.raises(InputError) as err:
        Recipe("t", steps=(make_step("outliers", method="isolation_forest", action="clip"),)).validate(
            roles={"age": "numeric"}
        )
    assert err.value.key == "prep.clip_needs_bounds"


def test_outliers_need_numbers():
    frame = _frame().assign(income=["1", "2", "3", "4", "5", "x"])
    with pytest.raises(InputError) as err:
        _apply(make_step("outliers", columns=["income"]), frame=frame)
    assert err.value.key == "prep.column_not_numeric" and err.value.params["column"] == "income"


# ----------------------------------------------------------------------------- types


def test_numbers_written_as_text():
    assert decimal_mark(pd.Series(["1.234,5", "3,25", "7"])) == ","
    assert decimal_mark(pd.Series(["1,234.5", "0.5"])) == "."
    assert read_numbers(pd.Series(["1.234,5", " 7 ", "n/a", None, "$ 3.000"]), ",").tolist()[:2] == [1234.5, 7.0]
    assert read_numbers(pd.Series(["$ 3,000.50", "-2.5"]), ".").tolist() == [3000.5, -2.5]
    frame = _frame().assign(city=["1,5", "2,25", "n/a", None, "10", "1.000,5"])
    roles = {**ROLES, "city": "text"}
    recipe = Recipe("t", steps=(make_step("fix_types", columns=["city"]),), columns=roles)
    out, report = apply_row_steps(frame, recipe)
    assert out["city"].tolist()[:2] == [1.5, 2.25] and out.loc[15, "city"] == 1000.5
    assert np.isnan(out.loc[12, "city"]) and report.roles["city"] == "numeric"
    step = report.steps[0]
    assert step.facts["unread"] == {"city": 1} and step.facts["examples"] == {"city": ["n/a"]}
    assert step.state == {"decimal": {"city": ","}} and dict(step.changed) == {"city": 5}
    point, _ = apply_row_steps(frame, Recipe("t", steps=(make_step("fix_types", columns=["city"], decimal="point"),)))
    assert point["city"].tolist()[0] == 15.0  # the comma read as a thousands separator


def test_dates_written_as_text():
    dates = read_dates(pd.Series(["03/04/2024", "31/12/2024", None]), date_format=None, dayfirst=True)
    assert dates.dt.month.tolist()[:2] == [4, 12]
    mixed = read_dates(pd.Series(["2024-01-31", "Feb 3 2024", "never"]), date_format=None, dayfirst=False)
    assert mixed.dt.day.tolist()[:2] == [31.0, 3.0] and mixed.isna().tolist() == [False, False, True]
    numbers = read_dates(pd.Series([20240131, 20240201]), date_format="%Y%m%d", dayfirst=False)
    assert numbers.dt.month.tolist() == [1, 2]
    out, report = _apply(make_step("fix_types", columns=["city"], to="date"))
    assert report.roles["city"] == "datetime" and out["city"].isna().all()
    assert report.steps[0].facts["unread"] == {"city": 5}
    with pytest.raises(InputError) as err:
        _apply(make_step("fix_types", columns=["age"], to="number"))
    assert err.value.key == "prep.wrong_role"


# ----------------------------------------------------------------------------- categories


def test_tidy_categories_trim_case_and_merge_rare():
    out, report = _apply(make_step("tidy_categories", case="title"))
    assert out["city"].tolist() == ["Lima", "Lima", "Quito", None, "Cusco", "Lima"]
    assert dict(report.steps[0].changed) == {"city": 3} and report.steps[0].state is None
    merged, report = _apply(make_step("tidy_categories", case="lower", min_count=2, other_label="other"))
    assert merged["city"].tolist() == ["lima", "lima", "other", None, "other", "lima"]
    assert report.steps[0].state == {"kept": {"city": ["lima"]}} and report.steps[0].facts == {"merged": {"city": 2}}
    top, _ = _apply(make_step("tidy_categories", max_categories=1))
    assert set(top["city"].dropna()) == {"Lima", "other"}
    # new data: an unseen category goes to "other" when the state is reused
    new = _frame().assign(city=["Lima", "Arequipa", "lima ", None, "LIMA", "Quito"])
    again, _ = _apply(make_step("tidy_categories", case="lower", min_count=2), frame=new, states=report.states)
    assert again["city"].tolist() == ["lima", "other", "lima", None, "lima", "other"]


# ----------------------------------------------------------------------------- binning


def test_bin_edges_and_smoothing():
    assert bin_edges(np.array([0.0, 1, 2, 3, 4]), n_bins=2, strategy="uniform").tolist() == [0.0, 2.0, 4.0]
    assert bin_edges(np.array([1.0, 1.0, 1.0]), n_bins=4, strategy="quantile").tolist() == [1.0]
    frame = _frame().assign(income=[1.0, 2.0, 3.0, 10.0, 11.0, np.nan])
    out, report = _apply(make_step("bin_numeric", columns=["income"], n_bins=2, strategy="uniform"), frame=frame)
    assert out["income"].tolist()[:5] == [2.0, 2.0, 2.0, 10.5, 10.5] and np.isnan(out.loc[15, "income"])
    assert report.steps[0].state == {"edges": {"income": [1.0, 6.0, 11.0]}, "values": {"income": [2.0, 10.5]}}
    index, _ = _apply(
        make_step("bin_numeric", columns=["income"], n_bins=2, strategy="uniform", replace_with="index"), frame=frame
    )
    assert index["income"].tolist()[:5] == [0.0, 0.0, 0.0, 1.0, 1.0]
    edges, _ = _apply(
        make_step("bin_numeric", columns=["income"], n_bins=2, strategy="uniform", replace_with="edges"), frame=frame
    )
    assert edges["income"].tolist()[:5] == [1.0, 1.0, 1.0, 11.0, 11.0]
    new = frame.assign(income=[0.0, 100.0, 5.0, 7.0, 2.0, 2.0])
    again, _ = _apply(
        make_step("bin_numeric", columns=["income"], n_bins=2, strategy="uniform"), frame=new, states=report.states
    )
    assert again["income"].tolist() == [2.0, 10.5, 2.0, 10.5, 2.0, 2.0]


# ----------------------------------------------------------------------------- the report


def test_report_is_json_safe_and_states_round_trip_through_json():
    steps = (
        make_step("impute_rows"),
        make_step("outliers", action="clip"),
        make_step("tidy_categories", min_share=0.2),
        make_step("bin_numeric", columns=["income"], n_bins=3),
    )
    out, report = _apply(*steps)
    text = json.dumps(report.to_dict(), allow_nan=False)
    states = [s["state"] for s in json.loads(text)["steps"]]
    again, _ = _apply(*steps, states=states)
    pd.testing.assert_frame_equal(out, again)
    with pytest.raises(InputError) as err:
        _apply(*steps, states=states[:2])
    assert err.value.key == "prep.bad_states"


def test_a_step_that_removes_every_row_is_refused():
    with pytest.raises(InputError) as err:
        _apply(make_step("drop_duplicates", columns=["y"], keep="none"), frame=_frame().assign(y=1))
    assert err.value.key == "prep.all_rows_removed" and err.value.params["step"] == "1 (drop_duplicates)"

"""A synthetic customer-churn dataset with planted data problems: Ciclo's demo project and test bed.

The sidecar (:class:`PlantedProblems`) says exactly what was planted and where, so quality
checks, label-error detection and drift monitoring can be tested against the truth.
"""

from __future__ import annotations

import json
import operator
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mlcore.errors import InputError

__all__ = [
    "MIN_ROWS",
    "ChurnDemo",
    "PlantedProblems",
    "make_churn",
    "write_churn_demo",
]

MIN_ROWS = 20
"""Smallest batch :func:`make_churn` builds: every kind of problem needs at least one row."""

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

_CONTRACTS = ("monthly", "one_year", "two_year")
_PAYMENTS = ("credit_card", "debit_card", "bank_transfer", "cash", "digital_wallet")
_REGIONS = (
    "Metropolitana",
    "Valparaíso",
    "Biobío",
    "Coquimbo",
    "Maule",
    "Araucanía",
    "Antofagasta",
    "Los Lagos",
)
_REGION_WEIGHTS = (0.42, 0.12, 0.11, 0.08, 0.07, 0.07, 0.07, 0.06)

_YES_NO = np.array(["no", "yes"], dtype=object)
_TARGET = "churned"
_LEAK = "cancellation_fee_charged"
_ID = "customer_id"
_DATE = "signup_date"
_TEXT = "last_complaint"

_FLIP_RATE = 0.05
_DUPLICATE_RATE = 0.01
_MCAR_RATES = {"satisfaction_score": 0.04, "avg_call_minutes": 0.03}
_OUTLIER_RATE = 0.002
# The customer's propensity to leave (what their complaints reveal) is a logistic model of the
# features and of their unobserved dissatisfaction, with this intercept (averaging ~16.7%).
_CHURN_INTERCEPT = -2.04
# Whether a customer churned, though, is recorded by a business rule on what the company knows:
# the risk score of the recorded features above a cut, blurred only right at the cut (the clean
# outcome is a steep logistic of the score). Calibrated on a million rows so that ~16.7% churn
# before label noise; the 5% symmetric flips then lift the observed rate to ~20%. Because the
# outcome is (nearly) a function of the features, the planted flips are the only real label
# noise, and a detector can tell them from ordinary customers.
_CHURN_CUT = 1.2
_CHURN_SHARPNESS = 20.0
_DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class _Regime:
    """The knobs that differ between this month's batch and next month's."""

    snapshot: str
    id_parity: int
    price_factor: float = 1.0
    contract_shift: float = 0.0
    wallet_share: float = 0.0
    ticket_factor: float = 1.0
    network_complaints: float = 1.0


_CURRENT = _Regime(snapshot="2025-05-31", id_parity=1)
_NEXT_MONTH = _Regime(
    snapshot="2025-06-30",
    id_parity=0,
    price_factor=1.15,
    contract_shift=0.7,
    wallet_share=0.12,
    ticket_factor=1.4,
    network_complaints=2.5,
)
_DRIFT = {
    "monthly_charges": "all prices raised ~15% (price rise at the start of the month)",
    "total_charges": "slightly higher (~2%): only the latest bill carries the price rise",
    "contract": "mix shifts toward monthly contracts (fewer one- and two-year contracts)",
    "payment_method": "new category 'digital_wallet' appears (~12% of customers)",
    "num_support_tickets": "support tickets up ~40% after a network outage",
    "last_complaint": "more complaints, and more of them about the network",
}


@dataclass(frozen=True)
class PlantedProblems:
    """What was planted in one batch, by row position (``df.iloc``) in the final frame.

    Positions include planted duplicates: when a row with a planted problem was duplicated,
    both the original and its copy are listed (the copy carries the same problem).

    Attributes
    ----------
    missing_at_random : dict of str to list of int
        Column -> positions set missing completely at random (MCAR).
    missing_not_at_random : dict of str to str
        Column -> plain description of the missingness mechanism.
    missing_not_at_random_rows : dict of str to list of int
        Column -> positions made missing by that mechanism.
    outliers : dict of str to list of int
        Column -> positions holding planted outliers (beyond the IQR fences).
    duplicate_rows : list of (int, int)
        ``(original position, duplicate position)``; the duplicate always comes later.
    flipped_labels : list of int
        Positions whose target was flipped (both directions, ~5% of rows).
    leaky_column, identifier_column, datetime_column, text_column, target : str
        Roles of the special columns.
    positive_rate : float
        Share of positive targets, measured after flipping.
    drifted_features : dict of str to str
        Feature -> description of the shift in the next-month batch relative to this month.
        The same dictionary is stored in the sidecars of both batches.

    Examples
    --------
    >>> p = make_churn(200, random_state=1).problems
    >>> PlantedProblems.from_json(p.to_json()) == p
    True
    """

    missing_at_random: dict[str, list[int]]
    missing_not_at_random: dict[str, str]
    missing_not_at_random_rows: dict[str, list[int]]
    outliers: dict[str, list[int]]
    duplicate_rows: list[tuple[int, int]]
    flipped_labels: list[int]
    leaky_column: str
    identifier_column: str
    datetime_column: str
    text_column: str
    target: str
    positive_rate: float
    drifted_features: dict[str, str]

    def to_json(self) -> str:
        """Serialise to JSON: one field per line, lists kept on one line."""
        lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in asdict(self).items()]
        return "{\n" + ",\n".join(lines) + "\n}\n"

    @classmethod
    def from_json(cls, s: str) -> PlantedProblems:
        """Rebuild from :meth:`to_json` output.

        Raises
        ------
        InputError
            ``synthetic.bad_sidecar`` if ``s`` is not a sidecar written by :meth:`to_json`.
        """
        try:
            raw = json.loads(s)
            names = {f.name for f in fields(cls)}
            if not isinstance(raw, dict) or set(raw) != names:
                raise ValueError("unexpected or missing fields")
            raw["duplicate_rows"] = [(int(a), int(b)) for a, b in raw["duplicate_rows"]]
            raw["positive_rate"] = float(raw["positive_rate"])
            return cls(**raw)
        except (ValueError, TypeError) as exc:
            raise InputError("synthetic.bad_sidecar", detail=str(exc)) from exc


@dataclass(frozen=True)
class ChurnDemo:
    """The demo project's data: this month's labelled batch and next month's drifted one.

    Attributes
    ----------
    current : pandas.DataFrame
        This month's labelled customers (``RangeIndex``, so labels are positions).
    next_month : pandas.DataFrame
        Different customers a month later, same columns, drifted on
        ``problems.drifted_features``; labelled too, with a higher churn rate.
    problems : PlantedProblems
        The sidecar for ``current``.
    next_month_problems : PlantedProblems
        The sidecar for ``next_month``: it has the same kinds of planted problems at the
        same rates (so only the named features drift), and the same ``drifted_features``.
    clean_target : pandas.Series
        ``current``'s target before label flipping (not a column: a model never sees it).
    next_month_clean_target : pandas.Series
        The same for ``next_month``.
    """

    current: pd.DataFrame
    next_month: pd.DataFrame
    problems: PlantedProblems
    next_month_problems: PlantedProblems
    clean_target: pd.Series
    next_month_clean_target: pd.Series


def make_churn(n_rows: int = 20_000, *, random_state: int = 0, next_month_rows: int | None = None) -> ChurnDemo:
    """Generate a telecom customer-churn dataset with planted problems and a drifted next month.

    The clean churn outcome is (nearly) a business rule on the recorded features: a customer
    churns when a risk score (short tenure, monthly contract, many support tickets, high charges
    and low satisfaction raise it) passes a cut, with natural noise only right at the cut. The
    ~5% flipped labels are therefore the only real label noise, and they are what keeps an
    honest model imperfect (with gaps, outliers and the cut's blur). Planted in both batches:
    MCAR gaps in ``satisfaction_score`` and ``avg_call_minutes``, income missing mostly for high
    earners, outliers in ``monthly_charges`` and ``data_usage_gb``, ~1% exact duplicate rows,
    ~5% flipped labels, and ``cancellation_fee_charged``, which leaks the target. ``last_complaint`` is free text,
    missing when the customer did not complain.

    Parameters
    ----------
    n_rows : int, default 20000
        Rows in ``current``, planted duplicates included.
    random_state : int, default 0
        Seed; the same seed gives identical frames. ``current`` does not depend on
        ``next_month_rows``.
    next_month_rows : int, optional
        Rows in ``next_month``; defaults to ``n_rows``.

    Returns
    -------
    ChurnDemo

    Raises
    ------
    InputError
        ``synthetic.too_few_rows`` if either batch would have fewer than ``MIN_ROWS`` rows.

    Examples
    --------
    >>> demo = make_churn(1_000, random_state=0)
    >>> demo.current.shape
    (1000, 18)
    >>> demo.problems.target, demo.problems.leaky_column
    ('churned', 'cancellation_fee_charged')
    >>> bool(demo.current["customer_id"].isin(demo.next_month["customer_id"]).any())
    False
    """
    n_rows = operator.index(n_rows)
    n_next = n_rows if next_month_rows is None else operator.index(next_month_rows)
    for requested in (n_rows, n_next):
        if requested < MIN_ROWS:
            raise InputError("synthetic.too_few_rows", minimum=MIN_ROWS, requested=requested)
    current_seed, next_seed = np.random.SeedSequence(random_state).spawn(2)
    current, problems, clean = _make_batch(n_rows, np.random.default_rng(current_seed), _CURRENT)
    nxt, nxt_problems, nxt_clean = _make_batch(n_next, np.random.default_rng(next_seed), _NEXT_MONTH)
    return ChurnDemo(
        current=current,
        next_month=nxt,
        problems=problems,
        next_month_problems=nxt_problems,
        clean_target=clean,
        next_month_clean_target=nxt_clean,
    )


def write_churn_demo(demo: ChurnDemo, folder: Path) -> dict[str, Path]:
    """Write the demo as CSV files plus JSON sidecars, each atomically.

    Files: ``current.csv``, ``next_month.csv``, ``problems.json`` (sidecar of ``current``)
    and ``next_month_problems.json``. Each is written to a temporary file in ``folder`` and
    moved into place with ``os.replace``, so a reader never sees a half-written file.

    Parameters
    ----------
    demo : ChurnDemo
    folder : pathlib.Path
        Created if missing.

    Returns
    -------
    dict of str to pathlib.Path
        Keys ``current``, ``next_month``, ``problems``, ``next_month_problems``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_churn_demo(make_churn(100), Path(tmp))
    ...     sorted(p.name for p in paths.values())
    ['current.csv', 'next_month.csv', 'next_month_problems.json', 'problems.json']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def csv_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
        def write(path: Path) -> None:
            frame.to_csv(path, index=False, date_format="%Y-%m-%d", lineterminator="\n")

        return write

    def text_writer(text: str) -> Callable[[Path], None]:
        def write(path: Path) -> None:
            path.write_text(text, encoding="utf-8")

        return write

    targets: dict[str, tuple[str, Callable[[Path], None]]] = {
        "current": ("current.csv", csv_writer(demo.current)),
        "next_month": ("next_month.csv", csv_writer(demo.next_month)),
        "problems": ("problems.json", text_writer(demo.problems.to_json())),
        "next_month_problems": (
            "next_month_problems.json",
            text_writer(demo.next_month_problems.to_json()),
        ),
    }
    paths: dict[str, Path] = {}
    for key, (name, write) in targets.items():
        paths[key] = _write_atomically(folder / name, write)
    return paths


def _write_atomically(final: Path, write: Callable[[Path], None]) -> Path:
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}-", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final


# --------------------------------------------------------------------------- generation


def _sigmoid(x: Floats) -> Floats:
    return 1.0 / (1.0 + np.exp(-x))


def _pick(rng: np.random.Generator, weights: Floats) -> Ints:
    """Draw one category per row from row-wise (unnormalised) ``weights`` of shape (n, k)."""
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cumulative[:, -1]
    picked = (cumulative < u[:, None]).sum(axis=1, dtype=np.int64)
    # Guards against rounding at the top edge of the cumulative sum.
    top: Ints = np.minimum(picked, weights.shape[1] - 1)
    return top


def _count(rate: float, n: int) -> int:
    return max(1, round(rate * n))


def _make_batch(
    n_rows: int, rng: np.random.Generator, regime: _Regime
) -> tuple[pd.DataFrame, PlantedProblems, pd.Series]:
    """Build one batch: clean customers, then planted problems, then duplicates inserted."""
    n_dup = _count(_DUPLICATE_RATE, n_rows)
    n_base = n_rows - n_dup
    columns, clean = _make_customers(n_base, rng, regime)

    flipped = rng.choice(n_base, _count(_FLIP_RATE, n_base), replace=False)
    observed = clean.copy()
    observed[flipped] = 1 - observed[flipped]
    # The fee is charged when a customer leaves (it is recorded with the outcome, so it is
    # never known at prediction time), but it is waived for a few leavers.
    leak = _YES_NO[((observed == 1) & (rng.random(n_base) > 0.04)).astype(np.int64)]

    mcar: dict[str, Ints] = {}
    for column, rate in _MCAR_RATES.items():
        rows = np.sort(rng.choice(n_base, _count(rate, n_base), replace=False))
        columns[column][rows] = np.nan
        mcar[column] = rows

    income = columns["income"]
    # Refusing to state income becomes likely above ~CLP 1.5M a month.
    p_missing = 0.01 + 0.65 * _sigmoid(6.0 * (np.log(income) - np.log(1_500_000.0)))
    mnar = np.flatnonzero(rng.random(n_base) < p_missing)
    if len(mnar) == 0:
        mnar = np.array([int(np.argmax(income))], dtype=np.int64)
    income[mnar] = np.nan

    outliers = {
        "monthly_charges": _plant_outliers(columns["monthly_charges"], rng, factors=(10.0, 100.0)),
        "data_usage_gb": _plant_outliers(columns["data_usage_gb"], rng, factors=(1024.0,), sentinel=-999.0),
    }

    base = pd.DataFrame(
        {
            **{name: columns[name] for name in _COLUMN_ORDER[:-2]},
            _LEAK: leak,
            _TARGET: observed,
        }
    )
    order, is_dup = _order_with_duplicates(n_base, n_dup, rng)
    frame = base.take(order)
    frame.index = pd.RangeIndex(n_rows)
    base_position = np.flatnonzero(~is_dup)  # base rows keep their relative order
    dup_position = np.flatnonzero(is_dup)

    def final(rows: Ints) -> list[int]:
        # Every final row copied from a planted base row: the original and any duplicate.
        planted = np.zeros(n_base, dtype=bool)
        planted[rows] = True
        rows_out: list[int] = np.flatnonzero(planted[order]).tolist()
        return rows_out

    problems = PlantedProblems(
        missing_at_random={column: final(rows) for column, rows in mcar.items()},
        missing_not_at_random={
            "income": "income missing mostly for high earners, who decline to state it: about 2% of "
            "those earning under CLP 700k a month, 6% at CLP 1M, a third at CLP 1.5M, over half above CLP 2M"
        },
        missing_not_at_random_rows={"income": final(mnar)},
        outliers={column: final(rows) for column, rows in outliers.items()},
        duplicate_rows=[(int(base_position[order[d]]), int(d)) for d in dup_position],
        flipped_labels=final(flipped),
        leaky_column=_LEAK,
        identifier_column=_ID,
        datetime_column=_DATE,
        text_column=_TEXT,
        target=_TARGET,
        positive_rate=float(frame[_TARGET].mean()),
        drifted_features=dict(_DRIFT),
    )
    clean_target = pd.Series(clean[order], name=_TARGET)
    return frame, problems, clean_target


def _order_with_duplicates(n_base: int, n_dup: int, rng: np.random.Generator) -> tuple[Ints, Bools]:
    """Return the base row behind each final row, and which final rows are duplicates.

    Each duplicate is inserted at a random place after its original, as a repeated
    export would leave it.
    """
    sources = rng.choice(n_base, n_dup, replace=False)
    keys = np.concatenate([np.arange(n_base, dtype=np.float64), sources + rng.random(n_dup) * (n_base - sources)])
    element = np.argsort(keys, kind="stable")  # ties keep the original first
    source = np.concatenate([np.arange(n_base), sources])
    return source[element].astype(np.int64), element >= n_base


def _plant_outliers(
    values: Floats,
    rng: np.random.Generator,
    *,
    factors: Sequence[float],
    sentinel: float | None = None,
) -> Ints:
    """Scale a few values by ``factors`` (unit or typing errors) or overwrite with ``sentinel``."""
    # Scaling only values above the median keeps every planted value far beyond the fences.
    upper = np.flatnonzero(values >= np.median(values))
    rows = np.sort(rng.choice(upper, min(_count(_OUTLIER_RATE, len(values)), len(upper)), replace=False))
    kinds = len(factors) + (sentinel is not None)
    kind = rng.integers(0, kinds, len(rows))
    for k, factor in enumerate(factors):
        chosen = rows[kind == k]
        values[chosen] = np.round(values[chosen] * factor, 2)
    if sentinel is not None:
        values[rows[kind == len(factors)]] = sentinel
    return rows


_COLUMN_ORDER = (
    _ID,
    _DATE,
    "tenure_months",
    "contract",
    "payment_method",
    "region",
    "senior",
    "has_partner",
    "income",
    "monthly_charges",
    "total_charges",
    "num_support_tickets",
    "avg_call_minutes",
    "data_usage_gb",
    "satisfaction_score",
    _TEXT,
    _LEAK,
    _TARGET,
)


def _make_customers(n: int, rng: np.random.Generator, regime: _Regime) -> tuple[dict[str, Any], Ints]:
    """Draw clean customers and their true churn outcome."""
    new = rng.random(n) < 0.35
    days = np.where(new, rng.exponential(8 * _DAYS_PER_MONTH, n), rng.uniform(0, 72 * _DAYS_PER_MONTH, n))
    days = np.minimum(days, 72 * _DAYS_PER_MONTH - 1).astype(np.int64)
    tenure = np.floor(days / _DAYS_PER_MONTH).astype(np.int64)
    log_tenure = np.log1p(tenure) - 2.5
    signup = np.datetime64(regime.snapshot, "D") - days.astype("timedelta64[D]")

    senior = rng.random(n) < 0.16
    partner = rng.random(n) < np.where(senior, 0.55, 0.45)

    contract_weights = np.column_stack(
        [
            np.ones(n),
            np.exp(-1.3 + 0.035 * tenure - regime.contract_shift),
            np.exp(-2.4 + 0.055 * tenure - regime.contract_shift),
        ]
    )
    contract = _pick(rng, contract_weights)

    pay_base = np.array([0.30, 0.28, 0.24, 0.18, 0.0]) * (1.0 - regime.wallet_share)
    pay_base[4] = regime.wallet_share
    pay_weights = np.tile(pay_base, (n, 1))
    pay_weights[senior, 3] *= 2.0  # older customers pay in cash more often
    payment = _pick(rng, pay_weights)

    region = rng.choice(len(_REGIONS), n, p=np.array(_REGION_WEIGHTS))
    income = np.exp(np.log(750_000.0) + 0.6 * rng.standard_normal(n))
    income *= np.where(region == 0, 1.2, 1.0) * np.where(senior, 0.7, 1.0)
    income = np.round(income, -3)

    data = np.exp(np.log(12.0) + 0.8 * rng.standard_normal(n)) * np.where(senior, 0.5, 1.0)
    data = np.round(np.maximum(data, 0.05), 2)

    list_price = (14_990.0 + 650.0 * data**0.8) * np.array([1.0, 0.92, 0.85])[contract]
    list_price = np.maximum(list_price + rng.normal(0.0, 2_500.0, n), 7_990.0)
    monthly = np.round(list_price * regime.price_factor)
    # Past bills were at the old list price; only this month's bill carries a price rise.
    total = list_price * np.maximum(tenure, 1) * rng.uniform(0.92, 1.05, n) + (monthly - list_price)
    total = np.round(total)

    dissatisfaction = rng.standard_normal(n)  # latent: drives tickets, complaints, churn
    ticket_rate = np.exp(-0.5 + 0.55 * dissatisfaction + 0.25 * (payment == 3))
    tickets = rng.poisson(ticket_rate * regime.ticket_factor).astype(np.int64)
    capped_tickets = np.minimum(tickets, 6)

    calls = np.round(rng.gamma(2.0, 90.0 * np.where(senior, 1.3, 1.0)), 1)

    sat_latent = -0.9 * dissatisfaction + 0.25 * log_tenure + rng.normal(0.0, 0.6, n)
    satisfaction = 1.0 + np.searchsorted(np.array([-1.56, -0.82, 0.08, 1.06]), sat_latent)

    charge_z = (np.log(monthly) - np.log(25_000.0)) / 0.35
    score = (
        -0.55 * log_tenure
        + np.array([0.9, -0.1, -0.9])[contract]
        + 0.3 * capped_tickets
        + 0.6 * charge_z
        - 0.5 * (satisfaction - 3.0)
        + np.array([0.0, 0.0, -0.2, 0.35, 0.2])[payment]
        + 0.25 * senior
        - 0.25 * partner
        - 0.2 * (np.log(income) - np.log(750_000.0)) / 0.6
    )
    churn_p = _sigmoid(_CHURN_INTERCEPT + score + 0.5 * dissatisfaction)
    clean, _ = _churn_outcome(rng, score)

    complaint = _make_complaints(
        rng,
        regime,
        dissatisfaction=dissatisfaction,
        tickets=capped_tickets,
        charge_z=charge_z,
        churn_p=churn_p,
    )
    columns: dict[str, Any] = {
        _ID: _make_ids(n, rng, regime.id_parity),
        _DATE: signup.astype("datetime64[ns]"),
        "tenure_months": tenure,
        "contract": np.array(_CONTRACTS, dtype=object)[contract],
        "payment_method": np.array(_PAYMENTS, dtype=object)[payment],
        "region": np.array(_REGIONS, dtype=object)[region],
        "senior": senior,
        "has_partner": _YES_NO[partner.astype(np.int64)],
        "income": income,
        "monthly_charges": monthly,
        "total_charges": total,
        "num_support_tickets": tickets,
        "avg_call_minutes": calls,
        "data_usage_gb": data,
        "satisfaction_score": satisfaction.astype(np.float64),
        _TEXT: complaint,
    }
    return columns, clean


def _churn_outcome(rng: np.random.Generator, score: Floats) -> tuple[Ints, Floats]:
    """The clean churn outcome of each customer and its probability given the recorded features."""
    probability = _sigmoid(_CHURN_SHARPNESS * (score - _CHURN_CUT))
    outcome: Ints = (rng.random(len(score)) < probability).astype(np.int64)
    return outcome, probability


def _make_ids(n: int, rng: np.random.Generator, parity: int) -> npt.NDArray[np.object_]:
    """Unique ids like ``C0004217``; the batches use odd and even numbers so they never meet."""
    numbers = rng.permutation(2 * np.cumsum(rng.integers(1, 4, n)) - parity)
    width = max(7, len(str(int(numbers.max()))))
    # Digits are written straight into bytes: formatting a million ids in Python is slow.
    chars = np.empty((n, width + 1), dtype=np.uint8)
    chars[:, 0] = ord("C")
    rest = numbers.copy()
    for column in range(width, 0, -1):
        chars[:, column] = ord("0") + rest % 10
        rest //= 10
    return chars.view(f"S{width + 1}").ravel().astype(f"U{width + 1}").astype(object)


_OPENINGS = ("", "Hello, ", "Again: ", "Third time writing. ")
_OPENING_CAPITAL = (True, False, False, True)
_TOPICS: tuple[tuple[str, ...], ...] = (
    (  # network
        "No signal at home since last week",
        "The internet keeps dropping every evening",
        "Calls cut out in the middle of conversations",
        "Mobile data is extremely slow downtown",
        "The fiber connection has been down for three days",
    ),
    (  # billing
        "I was charged twice this month",
        "My bill is higher than the price I was promised",
        "There is a fee on my invoice I never agreed to",
        "The discount I was promised never showed up on my bill",
        "I paid but the app still shows a debt",
    ),
    (  # support
        "I waited over an hour on the phone with support",
        "The technician never showed up for the appointment",
        "Support closed my ticket without solving anything",
        "Nobody answers the chat",
        "Every agent tells me something different",
    ),
    (  # price
        "The plan is too expensive for what it offers",
        "Another company offered me the same plan for less",
        "The price went up again without notice",
        "I found a cheaper offer elsewhere",
    ),
    (  # other
        "The app does not let me change my plan",
        "Roaming did not work on my trip",
        "I never received the replacement SIM card",
        "The router they sent me is faulty",
    ),
)
_ENDINGS_CALM = (".", ".", ". Please fix this.", ". Very disappointed.")
_ENDINGS_LEAVING = (
    ". I am thinking of cancelling.",
    ". If this is not fixed I will switch providers.",
    ". I want to cancel my contract.",
)


def _make_complaints(
    rng: np.random.Generator,
    regime: _Regime,
    *,
    dissatisfaction: Floats,
    tickets: Ints,
    charge_z: Floats,
    churn_p: Floats,
) -> npt.NDArray[np.object_]:
    """Assemble short complaints from templates; missing for customers who did not complain.

    Threats to leave follow the customer's *propensity* to leave, not the outcome, so the text carries
    signal without leaking the label.
    """
    n = len(tickets)
    complained = rng.random(n) < _sigmoid(-1.1 + 0.45 * tickets + 0.5 * dissatisfaction)

    topic_weights = np.column_stack(
        [
            np.full(n, 0.30 * regime.network_complaints),
            np.full(n, 0.25),
            0.20 + 0.05 * tickets,
            0.15 * np.exp(0.8 * charge_z),
            np.full(n, 0.10),
        ]
    )
    topic = _pick(rng, topic_weights)
    sizes = np.array([len(t) for t in _TOPICS])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    phrase = offsets[topic] + (rng.random(n) * sizes[topic]).astype(np.int64)
    opening = np.where(tickets >= 3, rng.integers(2, 4, n), (rng.random(n) < 0.2).astype(np.int64))
    leaving = rng.random(n) < np.minimum(0.9, 1.5 * churn_p)
    ending = np.where(
        leaving,
        len(_ENDINGS_CALM) + rng.integers(0, len(_ENDINGS_LEAVING), n),
        rng.integers(0, len(_ENDINGS_CALM), n),
    )
    code = (opening * len(_PHRASES) + phrase) * len(_ENDINGS) + ending
    return np.where(complained, _SENTENCES[code], np.nan).astype(object)


def _all_sentences() -> npt.NDArray[np.object_]:
    """Every opening x phrase x ending, so rows pick a sentence by one integer code."""
    sentences: list[str] = []
    for opening, capital in zip(_OPENINGS, _OPENING_CAPITAL, strict=True):
        for phrase in _PHRASES:
            body = phrase if capital or phrase.startswith("I ") else phrase[0].lower() + phrase[1:]
            sentences.extend(opening + body + ending for ending in _ENDINGS)
    return np.array(sentences, dtype=np.object_)


_PHRASES = tuple(p for topic in _TOPICS for p in topic)
_ENDINGS = _ENDINGS_CALM + _ENDINGS_LEAVING
_SENTENCES = _all_sentences()

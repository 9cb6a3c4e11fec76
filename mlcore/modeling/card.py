"""What ships with a model: its card (Markdown, English or Spanish), the schema of the inputs it
expects, and the exact package versions it was trained with."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from mlcore.errors import InputError
from mlcore.i18n import LANGUAGES, translate
from mlcore.markdown import md_cell, md_escape
from mlcore.modeling.environment import PACKAGES
from mlcore.modeling.training import CandidateResult

__all__ = [
    "MAX_SCHEMA_CATEGORIES",
    "ModelCardData",
    "input_schema",
    "model_card_markdown",
    "requirements_txt",
]

MAX_SCHEMA_CATEGORIES = 1000
"""Most categories listed per column in an input schema (the rest are flagged as truncated)."""

_MODEL_PREFIXES = ("model__regressor__", "model__")


@dataclass(frozen=True)
class ModelCardData:
    """What a model card says, taken from a training run.

    Attributes
    ----------
    title : str
        The model's name as people call it ("Churn model, May").
    family, task_type, target : str
    data_version_sha : str
        SHA-256 of the dataset version trained on.
    features : tuple of str
    metrics : tuple of str
        In the order to show them.
    mean, std : mapping of str to float
        Cross-validated metrics.
    params : mapping
        The model's hyper-parameters (defaults included).
    scheme : str
    n_splits : int
    environment : mapping
        :func:`mlcore.modeling.environment.environment_fingerprint` of the run.
    intended_use, limitations : str
        Written by the team; an empty text says it is still to be written.
    trained_at : datetime, optional
    roles : mapping of str to str
        Column -> role, shown next to each feature when known.
    """

    title: str
    family: str
    task_type: str
    target: str
    data_version_sha: str
    features: tuple[str, ...]
    metrics: tuple[str, ...]
    mean: Mapping[str, float]
    std: Mapping[str, float]
    params: Mapping[str, Any]
    scheme: str
    n_splits: int
    environment: Mapping[str, Any]
    intended_use: str = ""
    limitations: str = ""
    trained_at: datetime | date | None = None
    roles: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_candidate(
        cls,
        candidate: CandidateResult,
        *,
        title: str,
        target: str,
        data_version_sha: str,
        environment: Mapping[str, Any],
        intended_use: str = "",
        limitations: str = "",
        trained_at: datetime | date | None = None,
    ) -> ModelCardData:
        """The card data of a trained candidate; the model's hyper-parameters are those of its ``model`` step."""
        params: dict[str, Any] = {}
        for key, value in candidate.params.items():
            for prefix in _MODEL_PREFIXES:
                if key.startswith(prefix) and "__" not in key[len(prefix) :]:
                    params.setdefault(key[len(prefix) :], value)
                    break
        return cls(
            title=title,
            family=candidate.family,
            task_type=candidate.task_type,
            target=target,
            data_version_sha=data_version_sha,
            features=candidate.features,
            metrics=candidate.metrics,
            mean=dict(candidate.mean),
            std=dict(candidate.std),
            params=dict(sorted(params.items())),
            scheme=str(candidate.config.get("scheme", "")),
            n_splits=int(candidate.config.get("n_splits", len(candidate.fold_metrics))),
            environment=dict(environment),
            intended_use=intended_use,
            limitations=limitations,
            trained_at=trained_at,
            roles={c: r for c, r in candidate.config.get("roles", {}).items() if c in candidate.features},
        )


# ----------------------------------------------------------------------------- Markdown

_md = md_escape
_cell = md_cell


def _number(value: Any, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return "—"
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e15):
        text = f"{int(value):,}"
    elif abs(value) >= 1e-3:
        text = f"{value:,.4f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.3g}"
    if lang == "es":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def _value(value: Any, lang: str) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v, lang) for v in value) + "]"
    if isinstance(value, str):
        return value
    return _number(value, lang)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _paragraph(text: str) -> str:
    return "  \n".join(_md(line) for line in text.strip().split("\n"))


def model_card_markdown(card: ModelCardData, *, lang: str = "en") -> str:
    """Write the model card as Markdown in ``lang``: details, intended use, data, performance,
    parameters, limitations and environment. Every text the team typed is escaped.

    Parameters
    ----------
    card : ModelCardData
    lang : str
        One of :data:`mlcore.i18n.LANGUAGES`.

    Raises
    ------
    InputError
        ``modeling.unknown_language``.

    Examples
    --------
    >>> card = ModelCardData("Churn *v1*", "random_forest", "classification", "churned", "ab" * 32,
    ...                      ("tenure",), ("roc_auc",), {"roc_auc": 0.81}, {"roc_auc": 0.01},
    ...                      {"n_estimators": 100}, "stratified_kfold", 5, {"python": "3.11.9", "packages": {}})
    >>> text = model_card_markdown(card, lang="es")
    >>> text.splitlines()[0]
    '# Ficha del modelo: Churn \\\\*v1\\\\*'
    >>> "0,81 ± 0,01" in text
    True
    """
    if lang not in LANGUAGES:
        raise InputError("modeling.unknown_language", lang=str(lang)[:20], choices=", ".join(LANGUAGES))

    def t(key: str, **params: Any) -> str:
        return translate(key, lang, **params)

    scheme = t(f"modeling.scheme.{card.scheme}") if card.scheme else "—"
    validation = (
        scheme if card.scheme == "holdout" else t("modeling.card.validation_value", scheme=scheme, folds=card.n_splits)
    )
    trained = "—"
    if isinstance(card.trained_at, datetime):
        trained = card.trained_at.strftime("%Y-%m-%d %H:%M")
    elif isinstance(card.trained_at, date):
        trained = card.trained_at.isoformat()
    out = ["# " + _md(" ".join(t("modeling.card.title", title=card.title).split()))]

    out.append("## " + t("modeling.card.details"))
    out.append(
        _table(
            [t("modeling.card.field"), t("modeling.card.value")],
            [
                [t("modeling.card.family"), t(f"modeling.family.{card.family}")],
                [t("modeling.card.task"), t(f"planning.task.{card.task_type}")],
                [t("modeling.card.target"), card.target],
                [t("modeling.card.trained_at"), trained],
                [t("modeling.card.validation"), validation],
            ],
        )
    )

    out.append("## " + t("modeling.card.intended_use"))
    out.append(_paragraph(card.intended_use) if card.intended_use.strip() else t("modeling.card.intended_use_missing"))

    out.append("## " + t("modeling.card.data"))
    out.append(
        t("modeling.card.data_version", sha=card.data_version_sha or "—")
        + "  \n"
        + t("modeling.card.feature_count", count=len(card.features))
    )
    if card.features:
        out.append(
            "\n".join(
                "- "
                + _md(" ".join(name.split()))
                + (f" ({t('role.' + card.roles[name])})" if name in card.roles else "")
                for name in card.features
            )
        )

    out.append("## " + t("modeling.card.performance"))
    out.append(t("modeling.card.performance_note", validation=validation))
    rows = [
        [
            t(f"planning.metric.{m}"),
            f"{_number(card.mean.get(m), lang)} ± {_number(card.std.get(m), lang)}",
        ]
        for m in card.metrics
    ]
    out.append(_table([t("modeling.card.metric"), t("modeling.card.mean_std")], rows))

    out.append("## " + t("modeling.card.parameters"))
    if card.params:
        out.append(
            _table(
                [t("modeling.card.parameter"), t("modeling.card.value")],
                [[name, _value(value, lang)] for name, value in card.params.items()],
            )
        )
    else:
        out.append(t("modeling.card.no_parameters"))

    out.append("## " + t("modeling.card.limitations"))
    out.append(_paragraph(card.limitations) if card.limitations.strip() else t("modeling.card.limitations_missing"))

    out.append("## " + t("modeling.card.environment"))
    env = card.environment
    recorded = env.get("packages")
    packages: Mapping[str, Any] = recorded if isinstance(recorded, Mapping) else {}
    env_rows = [["Python", str(env.get("python") or "—")]]
    env_rows += [[name, str(version or "—")] for name, version in sorted(packages.items())]
    env_rows += [
        ["Ciclo", str(env.get("ciclo") or "—")],
        [t("modeling.card.git_commit"), str(env.get("git_commit") or "—")],
        [t("modeling.card.host"), str(env.get("host") or "—")],
        [t("modeling.card.platform"), str(env.get("platform") or "—")],
    ]
    out.append(_table([t("modeling.card.component"), t("modeling.card.version")], env_rows))
    return "\n\n".join(out) + "\n"


# ----------------------------------------------------------------------------- input schema


def input_schema(frame: pd.DataFrame, features: Sequence[str], roles: Mapping[str, str]) -> dict[str, Any]:
    """Describe the inputs a model expects, JSON-safe, for its package and for checking new rows.

    Per feature: ``name``, ``role``, ``dtype``, ``missing`` (whether missing values were seen), and
    for numbers and dates ``min``/``max`` (dates as ISO text), for categories and yes/no the
    ``categories`` seen (as text, sorted, at most :data:`MAX_SCHEMA_CATEGORIES`, with
    ``categories_truncated``).

    Raises
    ------
    InputError
        ``modeling.features_not_columns``, ``modeling.role_missing``.

    Examples
    --------
    >>> df = pd.DataFrame({"plan": ["a", "b", None], "age": [30, 41, 25]})
    >>> schema = input_schema(df, ["plan", "age"], {"plan": "categorical", "age": "numeric"})
    >>> schema["columns"][0]["categories"], schema["columns"][1]["max"]
    (['a', 'b'], 41)
    """
    absent = [c for c in features if c not in frame.columns]
    if absent:
        raise InputError("modeling.features_not_columns", columns=", ".join(map(str, absent[:10])))
    unroled = [c for c in features if c not in roles]
    if unroled:
        raise InputError("modeling.role_missing", columns=", ".join(map(str, unroled[:10])))
    columns: list[dict[str, Any]] = []
    for name in features:
        series, role = frame[name], roles[name]
        entry: dict[str, Any] = {
            "name": str(name),
            "role": role,
            "dtype": str(series.dtype),
            "missing": bool(series.isna().any()),
        }
        present = series.dropna()
        if role == "numeric" and len(present) and pd.api.types.is_numeric_dtype(series):
            low, high = present.min(), present.max()
            entry["min"], entry["max"] = _plain_number(low), _plain_number(high)
        elif role == "datetime" and len(present) and pd.api.types.is_datetime64_any_dtype(series):
            entry["min"], entry["max"] = present.min().isoformat(), present.max().isoformat()
        elif role in ("categorical", "boolean"):
            seen = sorted({str(v) for v in present.unique()})
            entry["categories"] = seen[:MAX_SCHEMA_CATEGORIES]
            entry["categories_truncated"] = len(seen) > MAX_SCHEMA_CATEGORIES
        columns.append(entry)
    return {"format": 1, "columns": columns}


def _plain_number(value: Any) -> int | float | bool:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool | int):
        return value
    return float(value)


# ----------------------------------------------------------------------------- requirements

_SAFE_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+!_-]*$")


def requirements_txt(fingerprint: Mapping[str, Any]) -> str:
    """``requirements.txt`` pinning the exact versions a run used (``name==version``), sorted.

    Packages the fingerprint did not find are left out; a header comment names the Python version
    and says that unpickling needs Ciclo's ``mlcore`` (its custom transformers live there).

    Raises
    ------
    InputError
        ``modeling.bad_fingerprint`` if a recorded version is not a plain version string.

    Examples
    --------
    >>> print(requirements_txt({"python": "3.11.9", "ciclo": "0.1.0",
    ...                         "packages": {"numpy": "2.3.5", "scikit-learn": "1.9.1", "pyarrow": None}}))
    # Exact versions this model was trained with (Python 3.11.9).
    # Loading it also needs Ciclo's mlcore package (ciclo 0.1.0), which defines its custom transformers.
    numpy==2.3.5
    scikit-learn==1.9.1
    <BLANKLINE>
    """
    packages = fingerprint.get("packages")
    if not isinstance(packages, Mapping):
        packages = {}
    lines = [
        f"# Exact versions this model was trained with (Python {_safe(fingerprint.get('python'), 'python')}).",
        "# Loading it also needs Ciclo's mlcore package"
        f" (ciclo {_safe(fingerprint.get('ciclo'), 'ciclo')}), which defines its custom transformers.",
    ]
    for name in sorted(packages, key=str):
        version = packages[name]
        if version is None:
            continue
        if name not in PACKAGES and not _SAFE_VERSION.match(str(name)):
            raise InputError("modeling.bad_fingerprint", entry=str(name)[:60])
        lines.append(f"{name}=={_safe(version, str(name))}")
    return "\n".join(lines) + "\n"


def _safe(value: Any, entry: str) -> str:
    if value is None:
        return "?"
    text = str(value)
    if not _SAFE_VERSION.match(text):
        raise InputError("modeling.bad_fingerprint", entry=entry[:60])
    return text

"""Explanations in words: values and effects formatted for people, and one plain-language sentence per row.

Everything that may come from the data (column names, values, the outcome's name) is escaped for Markdown
(which also neutralises HTML), so a sentence can be shown with ``st.markdown`` as it is.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlcore.i18n import translate
from mlcore.markdown import md_cell

if TYPE_CHECKING:
    from mlcore.modeling.explain_views import LocalExplanation

__all__ = [
    "MAX_SHOWN_CHARS",
    "explanation_sentence",
    "format_effect",
    "format_number",
    "format_percent",
    "format_value",
]

MAX_SHOWN_CHARS = 40
"""Longest value or column name shown in a sentence (longer ones are cut with an ellipsis)."""


def format_number(value: float | int | None, lang: str = "en") -> str:
    """A number for people: whole numbers with thousands separators, others with a few decimals.

    Spanish uses a decimal comma and a dot between thousands.

    Examples
    --------
    >>> format_number(14972.0), format_number(3.456), format_number(0.00042), format_number(1234.5, "es")
    ('14,972', '3.46', '0.00042', '1.234,5')
    >>> format_number(float("nan"))
    '—'
    """
    if value is None or isinstance(value, bool) or not math.isfinite(float(value)):
        return "—"
    number = float(value)
    if number == int(number) and abs(number) < 1e15:
        text = f"{int(number):,}"
    elif abs(number) >= 100:
        text = f"{number:,.1f}"
    elif abs(number) >= 1:
        text = f"{number:,.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{number:.2g}" if abs(number) < 0.001 else f"{number:.3f}".rstrip("0").rstrip(".")
    if lang == "es":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_percent(probability: float, lang: str = "en") -> str:
    """A probability as a whole percentage (``0.642`` → ``64%``; Spanish ``64 %``).

    Examples
    --------
    >>> format_percent(0.642), format_percent(0.2, "es"), format_percent(0.004)
    ('64%', '20 %', '0.4%')
    """
    share = 100.0 * float(probability)
    text = f"{share:.0f}" if abs(share) >= 1 or share == 0 else f"{share:.1f}"
    if lang == "es":
        return text.replace(".", ",") + " %"
    return text + "%"


def _signed(text_of: str, value: float) -> str:
    return ("+" if value >= 0 else "-") + text_of


def format_effect(value: float, *, output_space: str, lang: str = "en", unit: str = "") -> str:
    """A contribution as people read it: probability points, or a signed number in the target's units.

    ``value`` is in points for the probability spaces (already converted, see
    :func:`mlcore.modeling.explain_views.local_explanation`), otherwise in the model's units.

    Examples
    --------
    >>> format_effect(18.2, output_space="probability"), format_effect(-0.4, output_space="log_odds", lang="es")
    ('+18 points', '-0,4 puntos')
    >>> format_effect(1250.0, output_space="raw", unit="CLP")
    '+1,250 CLP'
    """
    magnitude = abs(float(value))
    if output_space in ("probability", "log_odds"):
        shown = f"{magnitude:.0f}" if magnitude >= 1 else f"{magnitude:.1f}"
        if lang == "es":
            shown = shown.replace(".", ",")
        return str(translate("explain.sentence.points", lang, points=_signed(shown, value)))
    text = _signed(format_number(magnitude, lang), value)
    return f"{text} {md_cell(_cut(unit))}" if unit else text


def _cut(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"


def format_value(value: Any, kind: str = "categorical", lang: str = "en") -> str:
    """A feature value as the user knows it, shortened; missing values as a word.

    Not escaped: escape it where it is shown (:func:`explanation_sentence` does).

    Examples
    --------
    >>> format_value(2.0, "numeric"), format_value(pd.Timestamp("2024-03-01"), "datetime")
    ('2', '2024-03-01')
    >>> format_value(None, lang="es"), format_value("x" * 50)[-3:]
    ('(falta)', 'xx…')
    """
    if value is None or (not isinstance(value, str) and bool(np.all(pd.isna(value)))):
        return translate("explain.value.missing", lang)
    if kind == "numeric" and isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return format_number(float(value), lang)
    if kind == "datetime" or isinstance(value, pd.Timestamp):
        stamp = pd.Timestamp(value)
        return str(stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M"))
    return _cut(str(value))


def explanation_sentence(
    local: LocalExplanation,
    *,
    lang: str = "en",
    outcome: str | None = None,
    unit: str = "",
    top: int = 2,
) -> str:
    """One sentence saying how far the model moved this row's prediction from the average, and why.

    "The model raised the probability of churn from 20% (average) to 64%, mainly because contract =
    monthly (+18 points) and tenure_months = 2 (+14 points)." For models explained in log-odds the
    starting point is called the model baseline (the probability at the average log-odds, which can be far
    from the average predicted probability).

    The reasons are the ``top`` features that pushed the most in the direction of the change (the largest
    ones either way when none did). For classification the effects are probability points (for models
    explained in log-odds they are the change in probability shared out in proportion to the log-odds
    contributions, see :func:`~mlcore.modeling.explain_views.local_explanation`); for regression they are in
    the target's units (``unit``); for models without probabilities (linear SVM) they are score units.

    Parameters
    ----------
    local : LocalExplanation
    lang : {"en", "es"}
    outcome : str, optional
        What is predicted, in ``lang`` ("churn", "monthly charges"). Default: the explained class
        (classification) or "the target".
    unit : str, optional
        The target's unit for regression ("CLP").
    top : int, default 2

    Returns
    -------
    str
        Markdown-safe: names, values, the outcome and the unit are escaped.
    """
    space = local.output_space
    if outcome is None:
        outcome = (
            translate("explain.sentence.outcome_class", lang, label=_cut(str(local.class_label)))
            if local.task_type == "classification"
            else translate("explain.sentence.outcome_target", lang)
        )
    outcome_text = md_cell(_cut(outcome))
    probabilities = local.probability is not None and local.base_probability is not None
    if probabilities:
        assert local.probability is not None and local.base_probability is not None
        change = local.probability - local.base_probability
        base_text = format_percent(local.base_probability, lang)
        prediction_text = format_percent(local.probability, lang)
        family = "probability"
        tiny = 0.0005
    else:
        change = local.prediction - local.base_value
        base_text = _amount(local.base_value, lang, unit if space == "raw" else "")
        prediction_text = _amount(local.prediction, lang, unit if space == "raw" else "")
        family = "value" if space == "raw" else "score"
        scale = max(abs(local.base_value), abs(local.prediction), 1e-12)
        tiny = 1e-6 * scale
    if abs(change) <= tiny:
        return translate(f"explain.sentence.{family}.same", lang, outcome=outcome_text, prediction=prediction_text)
    direction = "raised" if change > 0 else "lowered"
    frame = local.contributions
    effect = frame["points"] if probabilities else frame["contribution"]
    pushing = frame[np.sign(effect) == np.sign(change)]
    chosen = pushing if len(pushing) else frame
    order = (effect.loc[chosen.index]).abs().sort_values(ascending=False, kind="stable").index[: max(int(top), 1)]
    reasons = []
    for i in order:
        row = frame.loc[i]
        reasons.append(
            translate(
                "explain.sentence.reason",
                lang,
                feature=md_cell(_cut(str(row["feature"]))),
                value=md_cell(str(row["value_text"])),
                effect=format_effect(
                    float(effect.loc[i]),
                    output_space=space if probabilities else ("raw" if space == "raw" else "margin"),
                    lang=lang,
                    unit=unit if space == "raw" else "",
                ),
            )
        )
    start = "baseline" if space == "log_odds" else "average"
    sentence = translate(
        f"explain.sentence.{family}.{direction}",
        lang,
        start=translate(f"explain.sentence.start.{start}", lang),
        outcome=outcome_text,
        base=base_text,
        prediction=prediction_text,
        reasons=_join(reasons, lang),
    )
    if probabilities and not local.points_exact:
        sentence += " " + translate("explain.sentence.approximate", lang)
    return sentence


def _amount(value: float, lang: str, unit: str) -> str:
    text = format_number(value, lang)
    return f"{text} {md_cell(_cut(unit))}" if unit else text


def _join(parts: list[str], lang: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    word = translate("explain.sentence.and", lang)
    return ", ".join(parts[:-1]) + f" {word} " + parts[-1]

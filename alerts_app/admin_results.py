"""A CheckResult as people read it in the admin: a per-feature table and the causes,
numbers rounded for reading (the raw JSON stays, folded, below them).

Used by the CheckResult page, the rule page's recent results and "Evaluate now".
Pure: a result's fields in, rows of strings out (no ORM, no request).

- drift (data_drift, prediction_drift): feature, method, statistic, p-value, threshold,
  drifted yes/no and the comparable score of `checks/causes.py` (`drift_score`, the score
  a cause carries), most drifted first; p-values under 1e-6 read "< 1e-6";
- data quality: feature, rows, each rate in % (its limit in the header when set),
  breaking yes/no and the score of its cause;
- every result: its causes (summary and score), why it is insufficient_data or an error;
  its status as a coloured badge.
"""

import json

from django.utils.html import format_html

from alerts_app.checks.causes import UNBOUNDED, drift_score, percent, shown_name
from alerts_app.checks.quality import LIMITS
from alerts_app.rule_fields import format_number

STATE_COLOURS = {
    "firing": "#cf222e",
    "pending": "#bf8700",
    "resolved": "#1a7f37",
    "ok": "#1a7f37",
    "breached": "#cf222e",
    "insufficient_data": "#656d76",
    "error": "#8250df",
}


def badge(text: str | None) -> str:
    if not text:
        return "—"
    # A class, not an inline style (refused by the CSP): see access/static/access/admin.css
    state = text if text in STATE_COLOURS else "other"
    return format_html('<b class="mw-state mw-state-{}">{}</b>', state, text.replace("_", " "))


TINY_P = 1e-6
DASH = "—"
RATE_COLUMNS = {
    "missing_rate": "missing",
    "type_error_rate": "type errors",
    "out_of_range_rate": "out of range",
    "unseen_category_rate": "unseen categories",
}


def number(value, digits: int = 4) -> str:
    """`value` to `digits` significant digits ("—" for none)."""
    return DASH if value is None else format_number(float(value), digits)


def p_value(p) -> str:
    """ "< 1e-6" for tiny p-values, else two significant digits: "0.0037", "0.25"."""
    if p is None:
        return DASH
    return "< 1e-6" if p < TINY_P else format_number(float(p), 2)


def score(value) -> str:
    """A cause's score (1 = exactly at the threshold); "unbounded" past any limit."""
    if value is None:
        return DASH
    return "unbounded" if value >= UNBOUNDED else format_number(float(value), 3)


def yes_no(flag) -> str:
    return "yes" if flag else "no"


def decisive_p(test: dict):
    """The p-value the verdict reads: after the rule's correction when there was one."""
    adjusted = test.get("p_value_adjusted")
    return adjusted if adjusted is not None else test.get("p_value")


def p_value_cell(test: dict) -> str:
    decisive, raw = decisive_p(test), test.get("p_value")
    shown = p_value(decisive)
    if raw is not None and decisive is not None and p_value(raw) != shown:
        return f"{shown} (raw {p_value(raw)})"
    return shown


def drift_rows(features: dict) -> list[dict]:
    """One row per tested feature, most drifted first (by score, then name)."""
    rows = []
    for name, test in features.items():
        value = feature_score(test)
        rows.append(
            {
                "feature": shown_name(name),
                "method": test["method"],
                "statistic": number(test["statistic"]),
                "p_value": p_value_cell(test),
                "threshold": number(test["threshold"]),
                "drifted": yes_no(test.get("drifted")),
                "score": score(value),
                "_order": (-(value if value is not None else -1.0), name),
            }
        )
    return [strip_order(row) for row in sorted(rows, key=lambda r: r["_order"])]


def feature_score(test: dict) -> float | None:
    """The cause score of one feature's test (None when the test has no number)."""
    if test.get("statistic") is None or test.get("threshold") is None:
        return None
    return drift_score(
        test["method"],
        test["statistic"],
        decisive_p(test),
        test["threshold"],
        bool(test.get("calibrated")),
    )


def strip_order(row: dict) -> dict:
    return {key: value for key, value in row.items() if key != "_order"}


def quality_columns(config: dict) -> list[tuple[str, str]]:
    """(rate key, header) of the rates, each header with its limit when the rule sets one."""
    columns = []
    for rate, header in RATE_COLUMNS.items():
        limit = config.get(LIMITS[rate])
        columns.append(
            (rate, f"{header} (limit {percent(limit)})" if limit is not None else header)
        )
    return columns


def quality_rows(features: dict, causes: list[dict]) -> list[dict]:
    """One row per feature, breaking ones first (by their cause's score), then by name."""
    scores = {c["feature"]: c["score"] for c in causes if c.get("kind") == "feature"}
    rows = [
        {
            "feature": name,
            "rows": number(quality.get("rows"), 12),
            "rates": [
                DASH if quality.get(rate) is None else percent(quality[rate])
                for rate in RATE_COLUMNS
            ],
            "breaks": yes_no(quality.get("violations")),
            "score": score(scores.get(name)),
            "_order": (-scores.get(name, -1.0), name),
        }
        for name, quality in features.items()
    ]
    return [strip_order(row) for row in sorted(rows, key=lambda r: r["_order"])]


def is_drift(features) -> bool:
    return bool(features) and all(
        isinstance(test, dict) and "method" in test and "statistic" in test
        for test in features.values()
    )


def is_quality(features) -> bool:
    return bool(features) and all(
        isinstance(test, dict) and "violations" in test for test in features.values()
    )


def cause_rows(causes) -> list[dict]:
    return [
        {"summary": c.get("summary", ""), "kind": c.get("kind", ""), "score": score(c.get("score"))}
        for c in causes or []
        if isinstance(c, dict)
    ]


def explain(status: str, value, threshold, details: dict | None, config: dict | None) -> dict:
    """The template context of one result (`_result.html`)."""
    details = details or {}
    features = details.get("features")
    causes = details.get("causes") or []
    return {
        "status": status,
        "value": number(value),
        "threshold": number(threshold),
        "reason": details.get("reason") or details.get("error") or "",
        "drift": drift_rows(features) if is_drift(features) else [],
        "quality": quality_rows(features, causes) if is_quality(features) else [],
        "quality_columns": [h for _, h in quality_columns(config or {})],
        "skipped": sorted((details.get("skipped") or {}).items()),
        "causes": cause_rows(causes),
        "raw": json.dumps(details, indent=2, sort_keys=True),
    }


def one_line(details: dict | None, limit: int = 3) -> str:
    """The top causes in a line ("a (KS 0.33); b (PSI 0.41); and 2 more"), else why
    there is no verdict, else ""."""
    details = details or {}
    summaries = [c.get("summary", "") for c in details.get("causes") or [] if isinstance(c, dict)]
    if summaries:
        more = len(summaries) - limit
        return "; ".join(summaries[:limit]) + (f"; and {more} more" if more > 0 else "")
    return str(details.get("reason") or details.get("error") or "")

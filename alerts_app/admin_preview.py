"""The rule form's "Preview": the rule as filled in, backtested (`alerts_app.backtest`) and
drawn, without saving anything.

The form's fields go through the admin's own rule form (the same validation as a save;
errors answer by field label), `days` through the API's bounds; the answer is the
backtest's, in words ("would have fired 3 times in 30 days, 41 h in total") and as a
Plotly figure (the value at each evaluation, the threshold, each firing shaded) that
`alerts_app/static/alerts_app/preview.js` draws with the app's own plotly.js.
"""

from collections import Counter
from datetime import datetime

from django.forms.utils import pretty_name
from django.utils import timezone

from alerts_app.backtest import (
    DEFAULT_DAYS,
    MAX_DAYS,
    MAX_EVALUATIONS,
    backtest,
    evaluation_count,
)

FIRING_FILL = "rgba(214, 39, 40, 0.18)"
STATUS_COLOURS = {
    "ok": "#2ca02c",
    "breached": "#d62728",
    "insufficient_data": "#7f7f7f",
    "error": "#9467bd",
}


def parse_days(raw: str | None, interval: int | None) -> tuple[int | None, str | None]:
    """(days, None) or (None, why) for the Preview's `days` field (the API's bounds)."""
    if raw in (None, ""):
        days = DEFAULT_DAYS
    else:
        try:
            days = int(raw)
        except ValueError:
            return None, "A whole number of days is required."
    if not 1 <= days <= MAX_DAYS:
        return None, f"Between 1 and {MAX_DAYS} days."
    if interval and evaluation_count(interval, days) > MAX_EVALUATIONS:
        most = MAX_EVALUATIONS * interval // 86400
        return None, (
            f"At most {MAX_EVALUATIONS} evaluations: with an interval of {interval} s, "
            f"at most {most} day(s)."
        )
    return days, None


def form_errors(form) -> dict[str, list[str]]:
    """The form's errors keyed by what the user reads next to the field (its label)."""
    named = {}
    for key, messages in form.errors.items():
        field = form.fields.get(key)
        label = str(field.label) if field is not None and field.label else pretty_name(key)
        named["Form" if key == "__all__" else label] = [str(m) for m in messages]
    return named


def preview(rule, days: int, end: datetime | None = None) -> dict:
    """The Preview's answer for an unsaved rule: the backtest, its words and its figure."""
    end = end or timezone.now()
    answer = backtest(rule, days, end)
    return {
        "summary": answer["summary"],
        "evaluations": answer["evaluations"],
        "firings": [jsonable(f) for f in answer["firings"]],
        "figure": figure(answer, end),
    }


def jsonable(firing: dict) -> dict:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in firing.items()
    }


def figure(answer: dict, end: datetime) -> dict:
    """A Plotly figure (plain JSON) of the replay: value per evaluation coloured by status,
    the threshold when it is one number, and a shaded band per firing. No user text."""
    series = answer["series"]
    times = [p["t"].isoformat() for p in series]
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "value",
            "x": times,
            "y": [p["value"] for p in series],
            "customdata": [p["status"] for p in series],
            "marker": {
                "size": 5,
                "color": [STATUS_COLOURS.get(p["status"], "#7f7f7f") for p in series],
            },
            "line": {"color": "#1f77b4", "width": 1},
            "hovertemplate": "%{x}<br>value %{y:.4g}<br>%{customdata}<extra></extra>",
        }
    ]
    threshold = usual_threshold(series)
    if threshold is not None and times:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "threshold",
                "x": [times[0], times[-1]],
                "y": [threshold, threshold],
                "line": {"color": "#d62728", "dash": "dash", "width": 1},
                "hoverinfo": "skip",
            }
        )
    shapes = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": f["started_at"].isoformat(),
            "x1": (f["resolved_at"] or end).isoformat(),
            "y0": 0,
            "y1": 1,
            "fillcolor": FIRING_FILL,
            "line": {"width": 0},
            "layer": "below",
        }
        for f in answer["firings"]
    ]
    return {
        "data": traces,
        "layout": {
            "height": 320,
            "margin": {"l": 50, "r": 20, "t": 30, "b": 40},
            "showlegend": True,
            "legend": {"orientation": "h", "y": 1.12},
            "xaxis": {"type": "date"},
            "yaxis": {"title": {"text": "value"}},
            "shapes": shapes,
        },
    }


def usual_threshold(series: list[dict]) -> float | None:
    """The threshold most evaluations compared with (None: none did)."""
    found = Counter(p.get("threshold") for p in series if p.get("threshold") is not None)
    return found.most_common(1)[0][0] if found else None

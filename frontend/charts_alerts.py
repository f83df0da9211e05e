"""Pure figure builders for alerts, rule history and version comparison; SVG sparklines."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from frontend.charts import (
    COLORWAY,
    GRID,
    SPAN_LEGEND,
    THRESHOLD_COLOR,
    band_traces,
    base_layout,
    empty_figure,
    floats,
    ms,
    ms_one,
    scatter,
    span_legend,
    span_shapes,
    time_axis,
    value_axis,
    with_layout,
)


def span_label(span) -> str:
    return f"{span.rule} · {span.feature}" if span.feature else span.rule


def alert_timeline(spans: list, window: tuple, title: str = "Alert timeline") -> go.Figure:
    """One row per alert (rule, feature), a bar per pending or firing stretch."""
    if not spans:
        return empty_figure(
            "No alerts were pending or firing in this range.", title=title, height=180
        )
    fig = go.Figure(layout=base_layout(title, hovermode="closest", barmode="overlay"))
    start, end = ms_one(window[0]), ms_one(window[1])
    for state in ("pending", "firing"):
        chosen = [s for s in spans if s.state == state]
        if not chosen:
            continue
        begins = np.array([max(ms_one(s.start), start) for s in chosen])
        ends = np.array([min(ms_one(s.end) if s.end else end, end) for s in chosen])
        fig.add_trace(
            go.Bar(
                y=[span_label(s) for s in chosen],
                x=ends - begins,
                base=begins,
                orientation="h",
                name=state,
                marker={"color": SPAN_LEGEND[state]},
                customdata=[[s.severity, "open" if s.end is None else "closed"] for s in chosen],
                hovertemplate="%{y}<br>%{base|%Y-%m-%d %H:%M} → %{x}<br>"
                "%{customdata[0]} · %{customdata[1]}<extra>" + state + "</extra>",
            )
        )
    rows = len({span_label(s) for s in spans})
    fig.update_layout(
        xaxis=time_axis(window),
        yaxis={"automargin": True, "type": "category"},
        height=max(180, 110 + 28 * rows),
    )
    return fig


def rule_history_figure(frame: pd.DataFrame, title: str, window: tuple, spans=()) -> go.Figure:
    """A rule's check values over time with its threshold and the breaching evaluations."""
    if frame.empty:
        return empty_figure("No evaluations of this rule in this range.", title=title)
    fig = go.Figure(layout=base_layout(title))
    x = ms(frame["timestamp"])
    if (frame["count"] > 1).any():
        fig.add_traces(
            band_traces(x, floats(frame["min"]), floats(frame["max"]), COLORWAY[0], "value")
        )
    fig.add_trace(
        scatter(
            len(x),
            x=x,
            y=floats(frame["value"]),
            mode="lines",
            name="value",
            line={"color": COLORWAY[0]},
        )
    )
    if frame["threshold"].notna().any():
        fig.add_trace(
            scatter(
                len(x),
                x=x,
                y=floats(frame["threshold"]),
                mode="lines",
                name="threshold",
                line={"color": THRESHOLD_COLOR, "dash": "dash", "shape": "hv"},
            )
        )
    breached = frame[frame["breached"]]
    if not breached.empty:
        fig.add_trace(
            scatter(
                len(breached),
                x=ms(breached["timestamp"]),
                y=floats(breached["max"]),
                mode="markers",
                name="breached",
                marker={"color": THRESHOLD_COLOR, "size": 6},
            )
        )
    fig.add_traces(span_legend(spans))
    fig.update_layout(xaxis=time_axis(window), yaxis=value_axis("value"))
    return with_layout(fig, shapes=span_shapes(spans, window[1]))


def versions_figure(frame: pd.DataFrame, metric: str | None) -> go.Figure:
    """Versions side by side in the range: key metric, predictions, error rate, latency."""
    title = "Versions"
    if frame.empty or (frame["predictions"].sum() == 0 and frame["metric"].isna().all()):
        return empty_figure("No version has data in this range.", title=title, height=220)
    panels = [
        ("metric", f"{metric} (avg)" if metric else "key metric", None),
        ("predictions", "predictions", None),
        ("error_rate", "error rate", ".1%"),
        ("latency_ms", "mean latency (ms)", None),
    ]
    fig = make_subplots(
        rows=1, cols=len(panels), subplot_titles=[p[1] for p in panels], horizontal_spacing=0.06
    )
    versions = [str(v) for v in frame["version"]]
    for col, (column, label, fmt) in enumerate(panels, start=1):
        fig.add_trace(
            go.Bar(
                x=versions,
                y=floats(frame[column]),
                name=label,
                showlegend=False,
                marker={"color": COLORWAY[col - 1]},
                hovertemplate="version %{x}: %{y:.4g}<extra>" + label + "</extra>",
            ),
            row=1,
            col=col,
        )
        if fmt:
            fig.update_yaxes(tickformat=fmt, row=1, col=col)
    fig.update_layout(base_layout(title, height=280, hovermode="closest"))
    fig.update_xaxes(type="category", title_text="version")
    fig.update_yaxes(gridcolor=GRID, zeroline=False, rangemode="tozero")
    return fig


def sparkline_points(values, width: int = 120, height: int = 28, pad: float = 2.0) -> str:
    """SVG polyline points for a sparkline of `values` (NaN skipped); "" when too few."""
    y = np.asarray([v for v in values if v is not None], dtype=float)
    y = y[np.isfinite(y)]
    if y.size < 2:
        return ""
    x = np.linspace(pad, width - pad, y.size)
    lo, hi = float(y.min()), float(y.max())
    scaled = (
        np.full(y.size, height / 2)
        if hi == lo
        else (height - pad - (y - lo) / (hi - lo) * (height - 2 * pad))
    )
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, scaled, strict=True))

"""Pure figure builders: DataFrames (and small lists) in, `plotly.graph_objects.Figure` out.

No ORM, no settings, no clock. Times travel as epoch milliseconds in float64 arrays
(Plotly serialises numpy arrays as base64 typed arrays) on axes typed "date", which
keeps a 1,500-point trace near 20 kB. Colours work on light and dark pages: the page
sets the font and grid colours; figures only pick series colours and transparency.
"""

from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from alerts_app.checks.causes import drift_score

GL_THRESHOLD = 1000  # points above which a trace is drawn with WebGL (scattergl)
COLORWAY = [
    "#3b82f6",
    "#f59e0b",
    "#10b981",
    "#a855f7",
    "#ef4444",
    "#06b6d4",
    "#ec4899",
    "#84cc16",
    "#f97316",
    "#6366f1",
]
STAGE_COLORS = {
    "production": "#3b82f6",
    "train": "#10b981",
    "validation": "#f59e0b",
    "test": "#a855f7",
}
SPAN_COLORS = {"pending": "rgba(245, 158, 11, 0.16)", "firing": "rgba(239, 68, 68, 0.18)"}
SPAN_LEGEND = {"pending": "#f59e0b", "firing": "#ef4444"}
THRESHOLD_COLOR = "#ef4444"
GRID = "rgba(128, 128, 128, 0.22)"
EPOCH = pd.Timestamp(0, tz="UTC")


# --- shared helpers ----------------------------------------------------------------------


def ms(times) -> np.ndarray:
    """Epoch milliseconds of timestamps (a Series, list or scalar-list), as float64."""
    series = pd.to_datetime(
        pd.Series(list(times) if not isinstance(times, pd.Series) else times), utc=True
    )
    return ((series - EPOCH).dt.total_seconds() * 1000.0).to_numpy(dtype="float64")


def ms_one(moment) -> float:
    """Epoch milliseconds of one time (naive means UTC); cheap enough per shape."""
    return float(pd.Timestamp(moment).timestamp() * 1000.0)


def floats(values) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64")


def compact(values) -> np.ndarray:
    """float32 for plotted values: 7 significant digits, half the bytes on the wire."""
    return floats(values).astype("float32")


def scatter(n: int, **kwargs):
    """A scatter trace, WebGL when it has many points."""
    return go.Scattergl(**kwargs) if n > GL_THRESHOLD else go.Scatter(**kwargs)


def base_layout(title: str = "", height: int = 320, **extra) -> dict:
    return {
        "title": {"text": title, "x": 0.01, "font": {"size": 14}},
        "height": height,
        "margin": {"l": 56, "r": 16, "t": 40 if title else 16, "b": 40},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "colorway": COLORWAY,
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
        "template": go.layout.Template(),
        **extra,
    }


def time_axis(window: tuple | None = None, title: str = "") -> dict:
    axis = {"type": "date", "title": {"text": title}, "gridcolor": GRID, "zeroline": False}
    if window is not None:
        axis["range"] = [ms_one(window[0]), ms_one(window[1])]
    return axis


def value_axis(title: str, **extra) -> dict:
    return {"title": {"text": title}, "gridcolor": GRID, "zeroline": False, **extra}


def empty_figure(message: str, title: str = "", height: int = 260) -> go.Figure:
    """A figure saying why it has nothing to draw (never a blank box)."""
    fig = go.Figure(layout=base_layout(title, height=height))
    fig.update_layout(
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": message,
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "font": {"size": 13},
            }
        ],
    )
    return fig


def with_layout(fig: go.Figure, **layout) -> go.Figure:
    """`fig` with `layout` keys set, skipping Plotly's per-property validation: a year of
    alert spans is a few hundred shapes, which validation alone takes ~1 ms each to check.
    The shapes come from `span_shapes`/`threshold_lines`, whose dicts are known valid."""
    return go.Figure(
        data=fig.data, layout={**fig.layout.to_plotly_json(), **layout}, _validate=False
    )


def span_shapes(spans: Iterable, window_end, yref: str = "paper") -> list[dict]:
    """Shaded vertical bands for pending/firing spans (open spans run to the window's end)."""
    return [
        {
            "type": "rect",
            "xref": "x",
            "yref": yref,
            "x0": ms_one(s.start),
            "x1": ms_one(s.end or window_end),
            "y0": 0,
            "y1": 1,
            "fillcolor": SPAN_COLORS[s.state],
            "line": {"width": 0},
            "layer": "below",
            "name": f"{s.state}: {s.rule}",
        }
        for s in spans
        if s.state in SPAN_COLORS
    ]


def span_legend(spans: Iterable) -> list[go.Scatter]:
    """Legend entries for the bands (shapes have no legend of their own)."""
    states = sorted({s.state for s in spans if s.state in SPAN_COLORS})
    return [
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=f"{state} alert",
            marker={"symbol": "square", "size": 12, "color": SPAN_LEGEND[state]},
            hoverinfo="skip",
        )
        for state in states
    ]


def threshold_lines(thresholds: Iterable[dict], row: int | None = None) -> list[dict]:
    """Dashed horizontal lines: [{"value", "label"}] -> layout shapes."""
    shapes = []
    for t in thresholds:
        yref = "y" if row in (None, 1) else f"y{row}"
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": yref,
                "y0": t["value"],
                "y1": t["value"],
                "name": t["label"],
                "line": {"color": THRESHOLD_COLOR, "width": 1.5, "dash": "dash"},
            }
        )
    return shapes


def threshold_annotations(thresholds: Iterable[dict], row: int | None = None) -> list[dict]:
    """A label above each threshold line, at the right end; neighbours by value alternate
    with the left end, so two close thresholds (0.9 and 0.93) never print on each other."""
    yref = "y" if row in (None, 1) else f"y{row}"
    ordered = sorted(thresholds, key=lambda t: t["value"])
    return [
        {
            "text": t["label"],
            "xref": "paper",
            "x": 0 if i % 2 else 1,
            "xanchor": "left" if i % 2 else "right",
            "yref": yref,
            "y": t["value"],
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 10, "color": THRESHOLD_COLOR},
        }
        for i, t in enumerate(ordered)
    ]


def band_traces(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, color: str, name: str) -> list:
    """A min-max band (two traces, the second filled to the first), hidden from hover."""
    common = {
        "mode": "lines",
        "line": {"width": 0, "color": color},
        "hoverinfo": "skip",
        "showlegend": False,
        "legendgroup": name,
    }
    return [
        scatter(len(x), x=x, y=lo, name=f"{name} min", **common),
        scatter(
            len(x),
            x=x,
            y=hi,
            name=f"{name} max",
            fill="tonexty",
            fillcolor=with_alpha(color, 0.18),
            **common,
        ),
    ]


def with_alpha(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


# --- metric trends -----------------------------------------------------------------------


def metric_figure(
    frame: pd.DataFrame, name: str, window: tuple, spans=(), thresholds=()
) -> go.Figure:
    """One metric over time: a line per stage (bucket average) inside its min-max band,
    rule thresholds as dashed lines, pending/firing alert spans as shaded bands."""
    rows = frame[frame["name"] == name] if not frame.empty else frame
    if rows.empty:
        return empty_figure(f"No {name} values in this range.", title=name)
    fig = go.Figure(layout=base_layout(name))
    for stage, part in rows.groupby("stage", sort=True):
        fig.add_traces(stage_traces(part, str(stage)))
    fig.add_traces(span_legend(spans))
    fig.update_layout(
        xaxis=time_axis(window),
        yaxis=value_axis(name),
        annotations=threshold_annotations(thresholds),
    )
    return with_layout(fig, shapes=span_shapes(spans, window[1]) + threshold_lines(thresholds))


def stage_traces(part: pd.DataFrame, stage: str) -> list:
    part = part.sort_values("timestamp")
    x, color = ms(part["timestamp"]), STAGE_COLORS.get(stage, COLORWAY[0])
    line = scatter(
        len(x),
        x=x,
        y=compact(part["value"]),
        mode="lines",
        name=stage,
        legendgroup=stage,
        line={"color": color, "width": 1.6},
        customdata=part["count"].to_numpy(dtype="int32"),
        hovertemplate="%{y:.4g} (avg of %{customdata})<extra>" + stage + "</extra>",
    )
    if (part["count"] > 1).any():
        return [*band_traces(x, compact(part["min"]), compact(part["max"]), color, stage), line]
    return [line]


# --- serving: volume, latency, error rate ------------------------------------------------


def serving_figure(
    frame: pd.DataFrame, window: tuple, spans=(), latency_thresholds=(), error_thresholds=()
) -> go.Figure:
    """Three stacked panels sharing time: predictions per bucket, latency p50/p95, error rate."""
    if frame.empty:
        return empty_figure("No predictions in this range.", title="Serving", height=300)
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        subplot_titles=("predictions", "latency (ms)", "error rate"),
    )
    x = ms(frame["timestamp"])
    fig.add_trace(
        go.Bar(x=x, y=floats(frame["count"]), name="predictions", marker={"color": COLORWAY[0]}),
        row=1,
        col=1,
    )
    for column, color in (("p50", COLORWAY[2]), ("p95", COLORWAY[1])):
        fig.add_trace(
            scatter(
                len(x),
                x=x,
                y=floats(frame[column]),
                mode="lines",
                name=f"latency {column}",
                line={"color": color},
            ),
            row=2,
            col=1,
        )
    fig.add_trace(
        scatter(
            len(x),
            x=x,
            y=floats(frame["error_rate"]),
            mode="lines",
            name="error rate",
            line={"color": COLORWAY[4]},
        ),
        row=3,
        col=1,
    )
    fig.add_traces(span_legend(spans))
    fig.update_layout(base_layout("Serving", height=520))
    fig.update_xaxes(time_axis(window, title=""))
    fig.update_yaxes(gridcolor=GRID, zeroline=False)
    fig.update_yaxes(title_text="count", row=1, col=1)
    fig.update_yaxes(title_text="ms", row=2, col=1)
    fig.update_yaxes(title_text="share", tickformat=".1%", rangemode="tozero", row=3, col=1)
    shapes = [
        *span_shapes(spans, window[1]),
        *threshold_lines(latency_thresholds, row=2),
        *threshold_lines(error_thresholds, row=3),
    ]
    fig.update_layout(
        annotations=[
            *fig.layout.annotations,
            *threshold_annotations(latency_thresholds, row=2),
            *threshold_annotations(error_thresholds, row=3),
        ]
    )
    return with_layout(fig, shapes=shapes)


# --- drift heatmap -----------------------------------------------------------------------

# Cells are coloured by the score the causes use (alerts_app.checks.causes.drift_score):
# statistic ÷ threshold, or −log10(p) ÷ −log10(threshold), so 1 is "at the threshold"
# whatever the method. The colour axis is log10(score) from 0.1× to 100×, with a step at 1×:
# below it greys (no drift), above it amber to dark red (drifted).
SCORE_RANGE = (0.1, 100.0)
SCORE_TICKS = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
AT_THRESHOLD = 1 / 3  # log10(1) on the colour axis [log10(0.1), log10(100)] = [-1, 2]
SCORE_COLORSCALE = [
    [0.0, "rgba(148, 163, 184, 0.10)"],
    [AT_THRESHOLD, "rgba(148, 163, 184, 0.60)"],
    [AT_THRESHOLD, "#fcd34d"],
    [0.6, "#f97316"],
    [1.0, "#7f1d1d"],
]


def cell_scores(cells: pd.DataFrame) -> np.ndarray:
    """The comparable score of each (feature, bucket) row: the p-value its verdict read
    (after the rule's multiple-testing correction, when stored) for p-value tests."""
    adjusted = cells["p_value_adjusted"] if "p_value_adjusted" in cells else cells["p_value"]
    p_values = adjusted.where(adjusted.notna(), cells["p_value"])
    scores = [
        drift_score(method, statistic, p, threshold)
        if pd.notna(threshold) and (pd.notna(statistic) or pd.notna(p))
        else np.nan
        for method, statistic, p, threshold in zip(
            cells["method"],
            cells["statistic"],
            p_values.astype(object).where(p_values.notna(), None),
            cells["threshold"],
            strict=True,
        )
    ]
    return np.asarray(scores, dtype="float64")


def score_color(scores: np.ndarray) -> np.ndarray:
    """log10 of the score clipped to SCORE_RANGE: the heatmap's colour axis."""
    return np.log10(np.clip(scores, *SCORE_RANGE))


def score_label(value: float) -> str:
    return f"{value:g}×" + (" threshold" if value == 1 else "")


def drift_heatmap(frame: pd.DataFrame, window: tuple, title: str = "Feature drift") -> go.Figure:
    """Feature x time bucket, coloured by the comparable drift score (1 = at the
    threshold); drifted cells carry an x, so no hover is needed to see them. A cell drawn
    from several rules shows its highest score."""
    if frame.empty:
        return empty_figure("No drift evaluations in this range.", title=title)
    cells = frame.assign(score=cell_scores(frame))
    cells["text"] = [cell_text(*row) for row in zip(*text_columns(cells), strict=True)]
    cells = (
        cells.sort_values("score", ascending=False, na_position="last")
        .groupby(["feature", "timestamp"], sort=True)
        .agg(
            score=("score", "first"),
            drifted=("drifted", "any"),
            text=("text", "first"),
        )
        .reset_index()
    )
    features = sorted(cells["feature"].unique(), reverse=True)
    times = sorted(cells["timestamp"].unique())

    def grid(column: str) -> pd.DataFrame:
        return cells.pivot(index="feature", columns="timestamp", values=column).reindex(
            index=features, columns=times
        )

    fig = go.Figure(
        go.Heatmap(
            x=ms(pd.Series(times)),
            y=features,
            z=score_color(grid("score").to_numpy(dtype="float64")).astype("float32"),
            text=grid("text").fillna("").to_numpy(),
            hovertemplate="%{y}<br>%{x}<br>%{text}<extra></extra>",
            colorscale=SCORE_COLORSCALE,
            zmin=float(np.log10(SCORE_RANGE[0])),
            zmax=float(np.log10(SCORE_RANGE[1])),
            colorbar={
                "title": {"text": "score ÷ threshold", "side": "right"},
                "tickvals": [float(np.log10(t)) for t in SCORE_TICKS],
                "ticktext": [score_label(t) for t in SCORE_TICKS],
                "thickness": 12,
            },
            xgap=1,
            ygap=1,
        )
    )
    drifted = cells[cells["drifted"]]
    fig.add_trace(
        go.Scatter(
            x=ms(drifted["timestamp"]),
            y=drifted["feature"],
            mode="markers",
            name="drifted",
            marker={
                "symbol": "x",
                "size": 8,
                "color": "#ffffff",
                "line": {"width": 1, "color": "#1e3a8a"},
            },
            hoverinfo="skip",
            showlegend=False,
        )
    )
    height = max(260, 90 + 22 * len(features))
    fig.update_layout(
        base_layout(title, height=height, hovermode="closest"),
        xaxis=time_axis(window),
        yaxis={"title": {"text": ""}, "automargin": True},
    )
    return fig


def text_columns(cells: pd.DataFrame) -> list:
    return [cells[c] for c in ("method", "statistic", "p_value", "threshold", "drifted", "score")]


def cell_text(method, statistic, p_value, threshold, drifted, score=None) -> str:
    """The hover line of one cell, short (one per cell goes on the wire):
    `ks 0.21 p=1e-06 thr 0.05 → 4.6× DRIFTED`."""
    parts = [str(method)]
    if pd.notna(statistic):
        parts.append(f"{statistic:.3g}")
    if pd.notna(p_value):
        parts.append(f"p={p_value:.2g}")
    if pd.notna(threshold):
        parts.append(f"thr {threshold:.3g}")
    if score is not None and pd.notna(score):
        parts.append(f"→ {score:.2g}×")
    parts.append("DRIFTED" if drifted else "ok")
    return " ".join(parts)


# --- reference vs current ----------------------------------------------------------------


def distribution_figure(
    frame: pd.DataFrame, feature: str, verdict: dict | None = None
) -> go.Figure:
    """Side-by-side bars of the reference's and the window's proportions per bin."""
    title = f"{feature}: reference vs current"
    if verdict and verdict.get("statistic") is not None:
        flag = "drifted" if verdict.get("drifted") else "no drift"
        title += f" — {verdict.get('method', '')} {float(verdict['statistic']):.3g} ({flag})"
    if frame.empty:
        return empty_figure(f"No reference for {feature}.", title=title)
    fig = go.Figure(layout=base_layout(title, hovermode="x", barmode="group"))
    fig.add_trace(
        go.Bar(
            x=list(frame["bin"]),
            y=floats(frame["reference"]),
            name="reference",
            marker={"color": "#94a3b8"},
        )
    )
    fig.add_trace(
        go.Bar(
            x=list(frame["bin"]),
            y=floats(frame["current"]),
            name="current",
            marker={"color": COLORWAY[0]},
        )
    )
    fig.update_layout(
        xaxis={"title": {"text": ""}, "type": "category", "automargin": True},
        yaxis=value_axis("share of rows", tickformat=".0%"),
        # Above the plot on the right: the bins' labels below may be rotated and tall.
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom"},
        margin={"l": 56, "r": 16, "t": 64, "b": 40},
    )
    return fig


# --- performance -------------------------------------------------------------------------


def performance_figure(
    serving: pd.DataFrame,
    estimates: dict[str, pd.DataFrame],
    window: tuple,
    regression: bool = False,
    thresholds=(),
) -> go.Figure:
    """Realised quality from labels, rule estimates (CBPE dashed), label coverage (bars)."""
    column, label = (
        ("mae", "realised MAE (labels)")
        if regression
        else ("accuracy", "realised accuracy (labels)")
    )
    labelled = (
        serving[(serving["labelled"] > 0) & serving[column].notna()]
        if not (serving.empty)
        else serving
    )
    if (serving.empty or serving["labelled"].sum() == 0) and not estimates:
        return empty_figure(
            "No labels or performance estimates in this range yet.", title="Performance"
        )
    fig = go.Figure(layout=base_layout("Performance"))
    if not serving.empty:
        fig.add_trace(
            go.Bar(
                x=ms(serving["timestamp"]),
                y=floats(serving["label_coverage"]),
                name="label coverage",
                yaxis="y2",
                opacity=0.35,
                marker={"color": "#94a3b8"},
            )
        )
    if not labelled.empty:
        fig.add_trace(
            go.Scatter(
                x=ms(labelled["timestamp"]),
                y=floats(labelled[column]),
                mode="lines+markers",
                name=label,
                marker={"size": 4},
            )
        )
    for name, frame in estimates.items():
        dash = "dash" if name.startswith("estimated") else "solid"
        fig.add_trace(
            scatter(
                len(frame),
                x=ms(frame["timestamp"]),
                y=floats(frame["value"]),
                mode="lines",
                name=name,
                line={"dash": dash},
            )
        )
    fig.update_layout(
        xaxis=time_axis(window),
        yaxis=value_axis("MAE" if regression else "score"),
        yaxis2={
            "title": {"text": "label coverage"},
            "overlaying": "y",
            "side": "right",
            "range": [0, 1],
            "tickformat": ".0%",
            "showgrid": False,
        },
        shapes=threshold_lines(thresholds),
        annotations=threshold_annotations(thresholds),
        margin={"l": 56, "r": 56, "t": 40, "b": 40},
    )
    return fig

"""Pure figure builders for training runs: curves by step and weight statistics."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from frontend.charts import (
    COLORWAY,
    GRID,
    STAGE_COLORS,
    base_layout,
    empty_figure,
    floats,
    scatter,
    value_axis,
)

HIGHER_IS_BETTER = ("acc", "auc", "f1", "precision", "recall", "r2", "score")


def curve_key(name: str) -> str:
    """Keras logs `val_loss` next to `loss`: both belong to the curve `loss`."""
    return name.removeprefix("val_").removeprefix("validation_").removeprefix("train_")


def lower_is_better(name: str) -> bool:
    return not any(token in name.lower() for token in HIGHER_IS_BETTER)


def overfitting_step(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    lower: bool = True,
    patience: int = 3,
    tolerance: float = 0.01,
) -> int | None:
    """The step where over-fitting starts: the best validation value, when validation then
    worsens for `patience` evaluations (beyond `tolerance`, relative) while training keeps
    improving. None for a healthy run."""
    if len(validation) <= patience or train.empty:
        return None
    val = validation.sort_values("step")
    sign = 1.0 if lower else -1.0
    scores = sign * val["value"].to_numpy(dtype=float)
    best = int(np.nanargmin(scores))
    after = scores[best + 1 :]
    if len(after) < patience or not np.all(
        after[-patience:] > scores[best] + abs(scores[best]) * tolerance
    ):
        return None
    best_step = int(val["step"].iloc[best])
    train_sorted = train.sort_values("step")
    at_best = train_sorted[train_sorted["step"] <= best_step]["value"]
    later = sign * train_sorted[train_sorted["step"] > best_step]["value"].to_numpy(dtype=float)
    if at_best.empty or later.size == 0:
        return None
    return best_step if later[-1] < sign * float(at_best.iloc[-1]) else None


def training_figure(frame: pd.DataFrame, title: str = "Training curves") -> go.Figure:
    """One panel per curve (train vs validation by step), the over-fitting step starred."""
    if frame.empty:
        return empty_figure("No training or validation metrics logged by step.", title=title)
    frame = frame.assign(curve=frame["name"].map(curve_key))
    curves = sorted(frame["curve"].unique())[:6]
    fig = make_subplots(
        rows=len(curves), cols=1, shared_xaxes=False, vertical_spacing=0.12, subplot_titles=curves
    )
    for row, curve in enumerate(curves, start=1):
        add_curve(fig, frame[frame["curve"] == curve], curve, row)
    fig.update_layout(base_layout(title, height=140 + 230 * len(curves), hovermode="x"))
    fig.update_xaxes(gridcolor=GRID, zeroline=False)
    fig.update_xaxes(title_text="step", row=len(curves), col=1)
    fig.update_yaxes(gridcolor=GRID, zeroline=False)
    return fig


def add_curve(fig: go.Figure, part: pd.DataFrame, curve: str, row: int) -> None:
    by_stage = {stage: rows.sort_values("step") for stage, rows in part.groupby("stage")}
    for stage, rows in by_stage.items():
        fig.add_trace(
            scatter(
                len(rows),
                x=floats(rows["step"]),
                y=floats(rows["value"]),
                mode="lines",
                name=f"{curve} · {stage}",
                legendgroup=stage,
                line={"color": STAGE_COLORS.get(stage, COLORWAY[0])},
            ),
            row=row,
            col=1,
        )
    fig.update_yaxes(title_text=curve, row=row, col=1)
    if "train" not in by_stage or "validation" not in by_stage:
        return
    step = overfitting_step(by_stage["train"], by_stage["validation"], lower_is_better(curve))
    if step is None:
        return
    val = by_stage["validation"]
    value = float(val.loc[val["step"] == step, "value"].iloc[0])
    fig.add_trace(
        go.Scatter(
            x=[step],
            y=[value],
            mode="markers+text",
            name="over-fitting starts",
            legendgroup="over-fitting",
            showlegend=not any(t.name == "over-fitting starts" for t in fig.data),
            text=[f"over-fitting from step {step}"],
            textposition="top center",
            marker={"symbol": "star", "size": 14, "color": "#ef4444"},
        ),
        row=row,
        col=1,
    )
    fig.add_vline(x=step, line={"color": "#ef4444", "dash": "dot", "width": 1}, row=row, col=1)


def weights_figure(frame: pd.DataFrame, title: str = "Weight statistics") -> go.Figure:
    """Per tensor by step: weight L2 norm, gradient norm (log scale), NaN/Inf marked."""
    if frame.empty:
        return empty_figure("No weight statistics logged for this version.", title=title)
    has_grad = frame["grad_norm"].notna().any()
    rows = 2 if has_grad else 1
    titles = ("weight L2 norm", "gradient norm") if has_grad else ("weight L2 norm",)
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.1, subplot_titles=titles
    )
    for index, (tensor, part) in enumerate(frame.groupby("tensor", sort=True)):
        add_tensor(
            fig, part.sort_values("step"), str(tensor), COLORWAY[index % len(COLORWAY)], has_grad
        )
    add_bad_values(fig, frame)
    fig.update_layout(base_layout(title, height=300 + 200 * rows, hovermode="closest"))
    fig.update_xaxes(gridcolor=GRID, zeroline=False)
    fig.update_xaxes(title_text="step", row=rows, col=1)
    fig.update_yaxes(value_axis("L2 norm"), row=1, col=1)
    if has_grad:
        fig.update_yaxes(value_axis("gradient norm", type="log"), row=2, col=1)
    return fig


def add_tensor(fig: go.Figure, part: pd.DataFrame, tensor: str, color: str, has_grad: bool):
    x = floats(part["step"])
    fig.add_trace(
        scatter(
            len(x),
            x=x,
            y=floats(part["l2_norm"]),
            mode="lines",
            name=tensor,
            legendgroup=tensor,
            line={"color": color},
        ),
        row=1,
        col=1,
    )
    if has_grad:
        fig.add_trace(
            scatter(
                len(x),
                x=x,
                y=floats(part["grad_norm"]),
                mode="lines",
                name=f"{tensor} grad",
                legendgroup=tensor,
                showlegend=False,
                line={"color": color},
            ),
            row=2,
            col=1,
        )


def add_bad_values(fig: go.Figure, frame: pd.DataFrame) -> None:
    bad = frame[(frame["nan"].fillna(0) > 0) | (frame["inf"].fillna(0) > 0)]
    if bad.empty:
        return
    fig.add_trace(
        go.Scatter(
            x=floats(bad["step"]),
            y=floats(bad["l2_norm"]),
            mode="markers",
            name="NaN / Inf",
            text=[
                f"{t}: {int(n)} NaN, {int(i)} Inf"
                for t, n, i in zip(
                    bad["tensor"], bad["nan"].fillna(0), bad["inf"].fillna(0), strict=True
                )
            ],
            marker={"symbol": "x", "size": 10, "color": "#ef4444"},
        ),
        row=1,
        col=1,
    )

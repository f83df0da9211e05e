"""Pure figure builders on small DataFrames: traces, axes, thresholds, alert bands."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from frontend import charts, charts_alerts, charts_training
from frontend.spans import Span

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = (T0, T0 + timedelta(hours=10))


def metric_rows(n: int, stage: str = "production", name: str = "accuracy") -> pd.DataFrame:
    times = [T0 + timedelta(minutes=i) for i in range(n)]
    values = np.linspace(0.9, 0.8, n)
    return pd.DataFrame(
        {
            "name": name,
            "stage": stage,
            "timestamp": times,
            "value": values,
            "min": values - 0.01,
            "max": values + 0.01,
            "count": 3,
        }
    )


def span(state: str, start_h: float, end_h: float | None, rule: str = "acc") -> Span:
    end = T0 + timedelta(hours=end_h) if end_h is not None else None
    return Span(
        alert_id=1,
        rule_id=1,
        rule=rule,
        kind="metric_threshold",
        metric="accuracy",
        severity="critical",
        feature="",
        state=state,
        start=T0 + timedelta(hours=start_h),
        end=end,
    )


def test_ms_turns_timestamps_into_epoch_milliseconds():
    assert charts.ms([T0]).tolist() == [T0.timestamp() * 1000]


def test_a_metric_figure_has_a_line_and_a_min_max_band_per_stage():
    frame = pd.concat([metric_rows(5), metric_rows(5, stage="test")])
    fig = charts.metric_figure(frame, "accuracy", WINDOW)
    lines = [t for t in fig.data if t.mode == "lines" and t.showlegend is not False]
    assert [t.name for t in lines] == ["production", "test"]
    assert len(fig.data) == 6  # per stage: band low, band high (filled), line
    assert fig.data[1].fill == "tonexty"
    assert fig.layout.yaxis.title.text == "accuracy"
    assert fig.layout.xaxis.type == "date"


def test_a_metric_figure_draws_thresholds_as_dashed_lines_with_labels():
    fig = charts.metric_figure(
        metric_rows(5), "accuracy", WINDOW, thresholds=[{"value": 0.85, "label": "acc < 0.85"}]
    )
    (line,) = [s for s in fig.layout.shapes if s.type == "line"]
    assert (line.y0, line.y1, line.line.dash) == (0.85, 0.85, "dash")
    assert fig.layout.annotations[0].text == "acc < 0.85"


def test_alert_spans_become_shaded_bands_open_ones_run_to_the_window_end():
    spans = [span("pending", 1, 2), span("firing", 2, None)]
    fig = charts.metric_figure(metric_rows(5), "accuracy", WINDOW, spans=spans)
    pending, firing = [s for s in fig.layout.shapes if s.type == "rect"]
    assert pending.fillcolor == charts.SPAN_COLORS["pending"]
    assert firing.x1 == charts.ms_one(WINDOW[1])
    assert {t.name for t in fig.data} >= {"pending alert", "firing alert"}


def test_large_traces_use_webgl_and_small_ones_svg():
    big = charts.metric_figure(metric_rows(charts.GL_THRESHOLD + 1), "accuracy", WINDOW)
    small = charts.metric_figure(metric_rows(10), "accuracy", WINDOW)
    assert {t.type for t in big.data} == {"scattergl"}
    assert {t.type for t in small.data} == {"scatter"}


def test_an_empty_frame_gives_a_figure_that_says_why():
    fig = charts.metric_figure(metric_rows(0), "accuracy", WINDOW)
    assert len(fig.data) == 0
    assert "No accuracy values" in fig.layout.annotations[0].text


def serving_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": [T0, T0 + timedelta(hours=1)],
            "count": [10, 20],
            "errors": [1, 0],
            "error_rate": [0.1, 0.0],
            "p50": [12.0, 14.0],
            "p95": [40.0, 90.0],
            "labelled": [5, 0],
            "label_coverage": [0.5, 0.0],
            "accuracy": [0.8, np.nan],
            "mae": [np.nan, np.nan],
        }
    )


def test_the_serving_figure_has_volume_latency_and_error_panels_with_thresholds():
    fig = charts.serving_figure(
        serving_rows(),
        WINDOW,
        latency_thresholds=[{"value": 80, "label": "p95 > 80"}],
        error_thresholds=[{"value": 0.05, "label": "errors > 5%"}],
    )
    assert [t.name for t in fig.data] == ["predictions", "latency p50", "latency p95", "error rate"]
    assert fig.data[0].type == "bar" and fig.data[3].yaxis == "y3"
    lines = {(s.yref, s.y0) for s in fig.layout.shapes if s.type == "line"}
    assert lines == {("y2", 80), ("y3", 0.05)}
    assert fig.layout.yaxis2.title.text == "ms"


def test_the_drift_heatmap_is_feature_by_time_and_marks_drifted_cells():
    frame = pd.DataFrame(
        {
            "timestamp": [T0, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1)],
            "feature": ["age", "city", "age", "city"],
            "statistic": [0.05, 0.3, 0.1, 0.02],
            "threshold": 0.2,
            "p_value": None,
            "method": "psi",
            "drifted": [False, True, False, False],
            "rule": "drift",
        }
    )
    fig = charts.drift_heatmap(frame, WINDOW)
    heatmap, marks = fig.data
    assert heatmap.type == "heatmap" and list(heatmap.y) == ["city", "age"]
    # colour = log10(statistic / threshold): 1.5x, 0.1x, 0.25x, 0.5x the threshold
    np.testing.assert_allclose(heatmap.z, np.log10([[1.5, 0.1], [0.25, 0.5]]), rtol=1e-6, atol=1e-6)
    assert list(marks.y) == ["city"] and marks.x.tolist() == [charts.ms_one(T0)]
    assert "DRIFTED" in heatmap.text[0][0] and "→ 1.5×" in heatmap.text[0][0]


def test_ks_and_chi2_cells_share_one_scale_where_one_is_the_threshold():
    """KS 0.21 and χ² 110 have raw statistics 500x apart; their scores are
    −log10(p) ÷ −log10(0.05), with χ²'s p after the rule's correction."""
    frame = pd.DataFrame(
        {
            "timestamp": [T0, T0, T0],
            "feature": ["income", "channel", "age"],
            "statistic": [0.21, 110.0, 0.04],
            "threshold": [0.05, 0.05, 0.05],
            "p_value": [1e-6, 1e-20, 0.2],
            "p_value_adjusted": [None, 1e-18, 0.4],
            "method": ["ks", "chi2", "ks"],
            "drifted": [True, True, False],
            "rule": "drift",
        }
    )
    scores = charts.cell_scores(frame)
    np.testing.assert_allclose(
        scores, [6 / -np.log10(0.05), 18 / -np.log10(0.05), -np.log10(0.4) / -np.log10(0.05)]
    )
    assert scores[0] == pytest.approx(4.6117, abs=1e-4)  # KS
    assert scores[1] == pytest.approx(13.8351, abs=1e-4)  # χ²
    heatmap = charts.drift_heatmap(frame, WINDOW).data[0]
    assert list(heatmap.y) == ["income", "channel", "age"]
    np.testing.assert_allclose(np.asarray(heatmap.z).ravel(), np.log10(scores), rtol=1e-6)
    # both drifted cells sit above the colour scale's step at 1x, the other below it
    step = np.log10(1.0)
    assert [bool(z > step) for z in np.asarray(heatmap.z).ravel()] == [True, True, False]
    ticks = dict(zip(heatmap.colorbar.tickvals, heatmap.colorbar.ticktext, strict=True))
    assert ticks[0.0] == "1× threshold"
    assert "threshold" in heatmap.colorbar.title.text


def test_scores_beyond_the_colour_range_are_clipped_not_dropped():
    frame = pd.DataFrame(
        {
            "timestamp": [T0, T0],
            "feature": ["a", "b"],
            "statistic": [0.0, 50.0],
            "threshold": [0.1, 0.1],
            "p_value": [None, None],
            "method": ["wasserstein", "wasserstein"],
            "drifted": [False, True],
            "rule": "drift",
        }
    )
    z = np.asarray(charts.drift_heatmap(frame, WINDOW).data[0].z).ravel()
    np.testing.assert_allclose(z, [2.0, -1.0])  # rows b, a: 500x -> 100x, 0 -> 0.1x


def test_the_distribution_figure_groups_reference_and_current_bars():
    frame = pd.DataFrame({"bin": ["< 1", "≥ 1"], "reference": [0.5, 0.5], "current": [0.2, 0.8]})
    fig = charts.distribution_figure(
        frame, "age", {"method": "psi", "statistic": 0.4, "drifted": True}
    )
    assert [t.name for t in fig.data] == ["reference", "current"]
    assert fig.layout.barmode == "group"
    assert "psi 0.4 (drifted)" in fig.layout.title.text


def test_the_performance_figure_shows_realised_estimated_and_coverage():
    estimate = pd.DataFrame(
        {
            "timestamp": [T0],
            "value": [0.9],
            "min": [0.9],
            "max": [0.9],
            "threshold": [0.85],
            "count": [1],
            "breached": [False],
        }
    )
    fig = charts.performance_figure(serving_rows(), {"estimated f1 (cbpe)": estimate}, WINDOW)
    names = [t.name for t in fig.data]
    assert names == ["label coverage", "realised accuracy (labels)", "estimated f1 (cbpe)"]
    assert fig.data[0].yaxis == "y2" and fig.data[2].line.dash == "dash"
    assert fig.data[1].y.tolist() == [0.8]  # only buckets with labels


def curves(turn: int | None) -> pd.DataFrame:
    steps = np.arange(1, 21)
    train = 1 / steps
    val = 1 / steps + (np.maximum(0, steps - turn) * 0.05 if turn else 0)
    return pd.concat(
        [
            pd.DataFrame({"name": "loss", "stage": "train", "step": steps, "value": train}),
            pd.DataFrame({"name": "val_loss", "stage": "validation", "step": steps, "value": val}),
        ]
    )


def test_overfitting_starts_at_the_best_validation_step_while_training_improves():
    frame = curves(turn=8)
    train, val = frame[frame.stage == "train"], frame[frame.stage == "validation"]
    assert charts_training.overfitting_step(train, val) == 8


def test_a_healthy_run_has_no_overfitting_step():
    frame = curves(turn=None)
    train, val = frame[frame.stage == "train"], frame[frame.stage == "validation"]
    assert charts_training.overfitting_step(train, val) is None


def test_the_training_figure_pairs_val_loss_with_loss_and_stars_the_turn():
    fig = charts_training.training_figure(curves(turn=8))
    assert [t.name for t in fig.data] == [
        "loss · train",
        "loss · validation",
        "over-fitting starts",
    ]
    assert fig.data[2].x == (8,)
    assert fig.layout.xaxis.title.text == "step"  # one panel: its axis is the last one


def test_the_weights_figure_plots_norms_per_tensor_and_marks_nan():
    frame = pd.DataFrame(
        {
            "tensor": ["a", "a", "b", "b"],
            "step": [1, 2, 1, 2],
            "l2_norm": [1.0, 1.1, 2.0, 2.1],
            "grad_norm": [0.1, 0.2, 0.3, 9.0],
            "mean": 0.0,
            "std": 1.0,
            "update_ratio": None,
            "nan": [0, 0, 0, 3],
            "inf": 0,
        }
    )
    fig = charts_training.weights_figure(frame)
    assert [t.name for t in fig.data] == ["a", "a grad", "b", "b grad", "NaN / Inf"]
    assert fig.data[4].x.tolist() == [2.0]
    assert fig.layout.yaxis2.type == "log"


def test_the_alert_timeline_has_a_bar_per_span_from_start_to_end():
    fig = charts_alerts.alert_timeline([span("pending", 1, 2), span("firing", 2, None)], WINDOW)
    pending, firing = fig.data
    assert pending.orientation == "h" and pending.base.tolist() == [
        charts.ms_one(T0 + timedelta(hours=1))
    ]
    assert firing.x.tolist() == [8 * 3600 * 1000.0]  # open: to the window's end


def test_the_rule_history_plots_value_threshold_and_breaches():
    frame = pd.DataFrame(
        {
            "timestamp": [T0, T0 + timedelta(hours=1)],
            "value": [0.9, 0.7],
            "min": [0.9, 0.7],
            "max": [0.9, 0.7],
            "threshold": [0.8, 0.8],
            "count": [1, 1],
            "breached": [False, True],
        }
    )
    fig = charts_alerts.rule_history_figure(frame, "acc", WINDOW)
    assert [t.name for t in fig.data] == ["value", "threshold", "breached"]
    assert fig.data[2].y.tolist() == [0.7]


def test_the_versions_figure_has_a_panel_per_measure():
    frame = pd.DataFrame(
        {
            "version": ["1", "2"],
            "created_at": [T0, T0],
            "predictions": [10, 5],
            "error_rate": [0.1, 0.0],
            "latency_ms": [12.0, 9.0],
            "metric": [0.9, 0.8],
        }
    )
    fig = charts_alerts.versions_figure(frame, "accuracy")
    assert len(fig.data) == 4 and all(isinstance(t, go.Bar) for t in fig.data)
    assert fig.layout.annotations[0].text == "accuracy (avg)"


def test_sparkline_points_span_the_box_and_skip_missing_values():
    points = charts_alerts.sparkline_points([1.0, None, 3.0, float("nan"), 2.0], 100, 20, 0)
    assert points == "0.0,20.0 50.0,0.0 100.0,10.0"
    assert charts_alerts.sparkline_points([1.0]) == ""


def test_figures_are_small_when_serialised():
    fig = charts.metric_figure(metric_rows(1000), "accuracy", WINDOW)
    assert len(fig.to_json()) < 65_000  # typed arrays: ~21 bytes per point, 3 traces

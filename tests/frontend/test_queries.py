"""Dashboard queries: ranges, alert spans, downsampling with span edges, serving frames."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from frontend import queries
from frontend.ranges import RangeError, TimeRange, around, parse_range
from frontend.spans import alert_spans, spans_from_history
from models_app import ingest
from models_app.models import ModelVersion, Prediction
from tests.frontend.conftest import NOW

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_preset_ends_now():
    window = parse_range({"range": "24h"}, NOW)
    assert (window.start, window.end, window.key) == (NOW - timedelta(hours=24), NOW, "24h")


def test_a_preset_ends_at_the_models_last_data_when_it_went_quiet():
    window = parse_range({"range": "1h"}, NOW, anchor=NOW - timedelta(days=3))
    assert window.end == NOW - timedelta(days=3) + timedelta(minutes=1)


def test_a_custom_range_takes_naive_times_as_utc_and_is_not_live():
    window = parse_range({"start": "2026-01-01T00:00", "end": "2026-01-02T00:00"}, NOW)
    assert window.start == T0 and window.key == "custom" and not window.is_live
    assert window.querystring() == "start=2026-01-01T00%3A00%3A00Z&end=2026-01-02T00%3A00%3A00Z"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"range": "2y"}, "range"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-01-02", "end": "2026-01-01"}, "end"),
        ({"end": "2026-01-01"}, "start"),
    ],
)
def test_a_bad_range_names_its_parameter(params, field):
    with pytest.raises(RangeError) as error:
        parse_range(params, NOW)
    assert error.value.field == field


def test_around_frames_an_alert_with_a_margin():
    window = around(T0, T0 + timedelta(hours=2), NOW)
    assert (window.start, window.end) == (T0 - timedelta(hours=1), T0 + timedelta(hours=3))


def test_an_active_alert_is_framed_from_an_hour_before_its_onset_to_now():
    window = around(NOW - timedelta(minutes=3), None, NOW)
    assert (window.start, window.end) == (NOW - timedelta(minutes=63), NOW)


def test_the_frame_reaches_back_to_the_rules_24th_result_before_the_onset():
    """Daily results: 24 of them before an onset 3 minutes ago reach 24 days back, so the
    drift heatmap has 24 columns of history instead of the 3 of a 33-minute window."""
    onset = NOW - timedelta(minutes=3)
    window = around(onset, None, NOW, earlier=onset - timedelta(days=24))
    assert (window.start, window.end) == (onset - timedelta(days=24), NOW)
    capped = around(onset, None, NOW, earlier=onset - timedelta(days=400))
    assert capped.start == onset - timedelta(days=30)


def at(hour: float) -> datetime:
    return T0 + timedelta(hours=hour)


def test_spans_follow_the_transitions_and_the_last_one_stays_open():
    history = [
        (at(1), "pending"),
        (at(2), "firing"),
        (at(3), "firing"),
        (at(4), "resolved"),
        (at(5), "pending"),
        (at(6), "ok"),
        (at(7), "pending"),
    ]
    assert spans_from_history(history) == [
        ("pending", at(1), at(2)),
        ("firing", at(2), at(4)),
        ("pending", at(5), at(6)),
        ("pending", at(7), None),
    ]


def test_alert_spans_are_read_per_model_and_clipped_to_the_window(watched):
    window = TimeRange(NOW - timedelta(hours=24), NOW, "24h")
    spans = alert_spans(watched.pk, window)
    assert [(s.state, s.end) for s in spans] == [
        ("pending", NOW - timedelta(hours=7)),
        ("firing", None),
    ]
    assert (
        alert_spans(
            watched.pk, TimeRange(NOW - timedelta(days=9), NOW - timedelta(days=8), "custom")
        )
        == []
    )


def metric(version, values: list[tuple[datetime, float]]):
    ingest.record_metrics(
        version,
        [
            {"name": "m", "value": v, "timestamp": t, "step": None, "stage": "production"}
            for t, v in values
        ],
    )


@pytest.mark.django_db
def test_downsampling_keeps_the_points_at_an_alert_spans_edges(model):
    version = model.versions.get()
    metric(version, [(T0 + timedelta(minutes=i), float(i)) for i in range(600)])
    window = TimeRange(T0, T0 + timedelta(minutes=600), "custom")
    edges = [(T0 + timedelta(minutes=101, seconds=30), T0 + timedelta(minutes=333, seconds=30))]
    frame = queries.metric_frame(model, None, window, [("m", "production")], edges, max_points=20)
    kept = set(zip(frame["timestamp"], frame["value"], strict=True))
    assert (pd.Timestamp(T0 + timedelta(minutes=102)), 102.0) in kept
    assert (pd.Timestamp(T0 + timedelta(minutes=333)), 333.0) in kept
    assert len(frame) <= 22
    assert frame["max"].max() == 599.0 and frame["min"].min() == 0.0


@pytest.mark.django_db
def test_metric_names_lists_each_name_and_stage_once(model):
    version = model.versions.get()
    ingest.record_metrics(
        version,
        [
            {"name": n, "value": 1.0, "timestamp": T0, "step": 1, "stage": s}
            for n, s in [
                ("loss", "train"),
                ("loss", "validation"),
                ("acc", "production"),
                ("loss", "train"),
            ]
        ],
    )
    names = queries.metric_names(model)
    assert names.values.tolist() == [
        ["acc", "production"],
        ["loss", "train"],
        ["loss", "validation"],
    ]
    assert queries.key_metric(names) == ("acc", "production")


def predictions(version: ModelVersion):
    rows = [
        (0, 10.0, "", 1, 1),
        (10, 20.0, "", 1, 0),
        (20, 30.0, "x", 0, None),
        (70, 40.0, "", 1, 1),
        (80, 100.0, "", 0, 0),
    ]
    Prediction.objects.bulk_create(
        [
            Prediction(
                model=version.model,
                version=version,
                timestamp=T0 + timedelta(minutes=m),
                latency_ms=latency,
                error=error,
                prediction=pred,
                label=label,
                features={},
            )
            for m, latency, error, pred, label in rows
        ]
    )


@pytest.mark.django_db
def test_the_serving_frame_counts_errors_labels_and_latency_percentiles(model):
    predictions(model.versions.get())
    window = TimeRange(T0, T0 + timedelta(hours=2), "custom")
    frame = queries.serving_frame(model, None, window, buckets=2)
    assert frame["count"].tolist() == [3, 2]
    assert frame["errors"].tolist() == [1, 0]
    assert frame["p50"].tolist() == [20.0, 70.0]
    assert frame["p95"].tolist() == pytest.approx([29.0, 97.0])
    assert frame["label_coverage"].tolist() == pytest.approx([2 / 3, 1.0])
    assert frame["accuracy"].tolist() == [0.5, 1.0]


@pytest.mark.django_db
def test_the_portable_serving_path_gives_the_same_frame(model):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("compares the PostgreSQL query with the portable path")
    predictions(model.versions.get())
    window = TimeRange(T0, T0 + timedelta(hours=2), "custom")
    rows = Prediction.objects.filter(model=model)
    width = 3600.0
    sql = queries.finish_serving(queries.serving_sql(rows, window, width))
    portable = queries.finish_serving(queries.serving_pandas(rows, window, width))
    pd.testing.assert_frame_equal(sql, portable, check_dtype=False)


@pytest.mark.django_db
def test_training_frames_are_by_step(model):
    version = model.versions.get()
    ingest.record_metrics(
        version,
        [
            {"name": "loss", "value": 1 / s, "timestamp": T0, "step": s, "stage": "train"}
            for s in range(1, 101)
        ],
    )
    frame = queries.training_frame(version, max_points=10)
    assert len(frame) == 10 and frame["step"].tolist()[:2] == [1, 11]
    assert frame["value"].iloc[0] == pytest.approx(sum(1 / s for s in range(1, 11)) / 10)


def test_span_edges_merge_a_pending_stretch_with_the_firing_one_it_became():
    from frontend.spans import Span, span_edges

    def make(state, start, end):
        return Span(
            1,
            1,
            "r",
            "metric_threshold",
            "m",
            "warning",
            "",
            state,
            at(start),
            at(end) if end is not None else None,
        )

    window = TimeRange(at(0), at(10), "custom")
    edges = span_edges(
        [make("pending", 1, 2), make("firing", 2, 4), make("pending", 6, None)], window
    )
    assert edges == [(at(1), at(4)), (at(6), at(10))]


def send_predictions(version: ModelVersion, start: datetime, hours: int):
    from models_app import validation

    records = [
        {
            "timestamp": (start + timedelta(hours=h, minutes=m)).isoformat(),
            "features": {"x": m},
            "prediction": 1,
            "label": 1 if m < 20 else None,
            "latency_ms": 10.0 * (m + 1),
            "error": "boom" if m == 40 else None,
        }
        for h in range(hours)
        for m in (0, 10, 20, 30, 40, 50)
    ]
    rows = validation.validate_records(
        records, validation.prediction_record, now=start + timedelta(days=400)
    )
    ingest.record_predictions(version, rows)


@pytest.mark.django_db
@pytest.mark.parametrize("days", [10, 60])
def test_long_windows_read_serving_figures_from_profiles(model, days):
    from models_app.profiles import rollup_pending

    send_predictions(model.versions.get(), T0, hours=48)
    rollup_pending()
    window = TimeRange(T0, T0 + timedelta(days=days), "custom")
    frame = queries.serving_frame(model, None, window)
    assert frame["count"].sum() == 288 and frame["errors"].sum() == 48
    assert frame["labelled"].sum() == 96
    assert len(frame) == (48 if days == 10 else 2)  # hourly, else daily buckets
    assert frame["p50"].iloc[0] == pytest.approx(210.0, rel=0.01)  # of 10, 110, ... 510
    assert frame["accuracy"].isna().all()
    raw = queries.serving_frame(model, None, TimeRange(T0, T0 + timedelta(days=2), "custom"))
    assert raw["count"].sum() == 288 and raw["accuracy"].dropna().eq(1.0).all()


@pytest.mark.django_db
def test_versions_on_long_windows_sum_their_profiles(model):
    from models_app.profiles import rollup_pending

    send_predictions(model.versions.get(), T0, hours=3)
    rollup_pending()
    window = TimeRange(T0, T0 + timedelta(days=60), "custom")
    (row,) = queries.version_frame(model, window, None).to_dict("records")
    assert (row["predictions"], row["error_rate"]) == (18, pytest.approx(1 / 6))
    assert row["latency_ms"] == pytest.approx(260.0)

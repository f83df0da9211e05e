"""Dashboard server time and bytes at 30 d and 365 d, against a naive baseline.

One model with 1,000,000 metric points (4 metrics) and 1,000,000 predictions over a
year, plus a year of hourly check results of a threshold rule (with its alert spans) and
a drift rule, loaded with COPY into a scratch PostgreSQL database. Each dashboard
request runs in-process through Django's test client (server time: routing, queries,
figure building, JSON; no network). The naive baseline ships every stored point of the
same figures as a Plotly figure, measured in the same run.

    .venv/bin/python bench/dashboard.py            # builds the data (about 2 minutes)
    .venv/bin/python bench/dashboard.py --reuse    # measures the data of the last run

Goal: every page and figure under 300 ms, a page with all its figures under 1 MB, and
at least 20x fewer bytes than the baseline.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = os.environ.get("MODELWATCH_BENCH_DB", "mw_bench_dashboard")
METRICS = ["accuracy", "f1", "latency_ms", "throughput"]
N_POINTS = 1_000_000
N_PREDICTIONS = 1_000_000
END = datetime(2026, 6, 30, tzinfo=UTC)
START = END - timedelta(days=365)
REPEAT = 3
ALERT_DAYS = 60  # of the threshold rule's results, the ones that move its alert


def setup_django(reuse: bool) -> None:
    from bench.harness import ADMIN_DSN, bench_database

    if reuse:
        os.environ["DATABASE_URL"] = ADMIN_DSN.rsplit("/", 1)[0] + f"/{DATABASE}"
    else:
        os.environ["DATABASE_URL"] = bench_database(DATABASE)[0]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "monitor_site.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    if reuse:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # the schema may have moved on since the load


def load_metrics(version, rng) -> None:
    from models_app import pgcopy
    from models_app.models import MetricPoint

    per_metric = N_POINTS // len(METRICS)
    seconds = np.sort(rng.uniform(0, (END - START).total_seconds(), per_metric))
    for index, name in enumerate(METRICS):
        values = (
            0.9
            + 0.02 * np.sin(seconds / 86400 * 2 * np.pi + index)
            + rng.normal(0, 0.01, per_metric)
        )
        rows = (
            (
                version.model_id,
                version.pk,
                name,
                float(v),
                START + timedelta(seconds=float(s)),
                None,
                "production",
            )
            for s, v in zip(seconds, values, strict=True)
        )
        pgcopy.copy_rows(
            MetricPoint._meta.db_table,
            ["model_id", "version_id", "name", "value", "timestamp", "step", "stage"],
            rows,
        )


def prediction_row(moment: datetime, rng_values: tuple) -> dict:
    a, b, c, latency, erred, labelled, pred = rng_values
    return {
        "id": None,
        "timestamp": moment,
        "features": {"age": round(a, 2), "income": round(b, 1), "segment": "abc"[c]},
        "prediction": pred,
        "scores": {"0": 0.3, "1": 0.7},
        "label": pred if labelled else None,
        "latency_ms": latency,
        "error": "timeout" if erred else "",
    }


def load_predictions(version, rng) -> None:
    from models_app import ingest, pgcopy, profiles
    from models_app.models import Prediction

    seconds = np.sort(rng.uniform(0, (END - START).total_seconds(), N_PREDICTIONS))
    columns = zip(
        rng.normal(40, 10, N_PREDICTIONS),
        rng.lognormal(10, 1, N_PREDICTIONS),
        rng.integers(0, 3, N_PREDICTIONS),
        rng.lognormal(3.5, 0.4, N_PREDICTIONS),
        rng.random(N_PREDICTIONS) < 0.01,
        rng.random(N_PREDICTIONS) < 0.7,
        rng.integers(0, 2, N_PREDICTIONS),
        strict=True,
    )
    for start in range(0, N_PREDICTIONS, 100_000):
        rows = [
            prediction_row(
                START + timedelta(seconds=float(s)),
                tuple(float(v) if i in (0, 1, 3) else int(v) for i, v in enumerate(values)),
            )
            for s, values in zip(
                seconds[start : start + 100_000],
                [next(columns) for _ in range(100_000)],
                strict=True,
            )
        ]
        pgcopy.copy_text(
            Prediction._meta.db_table,
            ingest.PREDICTION_COLUMNS,
            ingest.prediction_lines(version, rows),
        )
        profiles.record_profiles(version, rows)  # what ingest.record_predictions also writes


def load_alerting(model, version, rng) -> None:
    """A year of hourly results for a threshold rule (alert spans) and a drift rule.

    The threshold rule's last ALERT_DAYS of results are played through the alert engine
    (`demo.replay`), so its alert spans are the ones live evaluations would leave.
    """
    from alerts_app.models import AlertRule, CheckResult
    from demo.replay import PastCheck, replay

    hours = [START + timedelta(hours=h) for h in range(365 * 24)]
    rule = AlertRule.objects.create(
        name="accuracy low",
        model=model,
        kind="metric_threshold",
        pending_for=3600,
        config={
            "metric": "accuracy",
            "aggregation": "avg",
            "window": "1h",
            "operator": "<",
            "threshold": 0.885,
        },
    )
    values = (
        0.9
        + 0.02 * np.sin(np.arange(len(hours)) / 24 * 2 * np.pi)
        + rng.normal(0, 0.004, len(hours))
    )
    checks = [
        PastCheck(t, "breached" if v < 0.885 else "ok", float(v), 0.885)
        for t, v in zip(hours, values, strict=True)
    ]
    CheckResult.objects.bulk_create(
        [  # as a live evaluation stores them (version: all)
            CheckResult(
                rule=rule,
                evaluated_at=c.at,
                status=c.status,
                value=c.value,
                threshold=c.threshold,
                passed=c.status == "ok",
            )
            for c in checks[: -ALERT_DAYS * 24]
        ],
        batch_size=5000,
    )
    replay(rule, checks[-ALERT_DAYS * 24 :])
    drift = AlertRule.objects.create(
        name="drift", model=model, kind="data_drift", config={"method": "psi"}
    )
    CheckResult.objects.bulk_create(
        [
            CheckResult(
                rule=drift,
                version=version,
                evaluated_at=t,
                status="ok",
                passed=True,
                value=0.0,
                details={
                    "features": {
                        f"feature_{i}": {
                            "method": "psi",
                            "statistic": float(rng.random() * 0.3),
                            "p_value": None,
                            "threshold": 0.2,
                            "drifted": False,
                        }
                        for i in range(10)
                    }
                },
            )
            for t in hours
        ],
        batch_size=2000,
    )
    load_drift_alert(drift, version, hours[-1])


def load_drift_alert(rule, version, moment) -> None:
    """The drift rule's newest result breached on age and income, its firing alert, and a
    reference: what the alert page reads."""
    from alerts_app.models import Alert, CheckResult
    from models_app.models import Reference

    drifted = {"age": 0.9, "income": 0.5, "segment": 0.3}
    newest = CheckResult.objects.get(rule=rule, evaluated_at=moment)
    newest.details["features"] |= {
        name: {
            "method": "psi",
            "statistic": value,
            "p_value": None,
            "threshold": 0.2,
            "drifted": True,
        }
        for name, value in drifted.items()
    }
    CheckResult.objects.filter(pk=newest.pk).update(
        status="breached", passed=False, value=0.3, threshold=0.25, details=newest.details
    )
    Alert.objects.create(
        rule=rule,
        version=version,
        fingerprint=f"rule:{rule.pk}|bench",
        state="firing",
        value=0.3,
        threshold=0.25,
        started_at=moment,
        pending_since=moment,
        last_evaluated=moment,
    )
    Reference.objects.create(
        version=version,
        n_rows=1000,
        summary={
            "features": {
                "age": {
                    "type": "numeric",
                    "edges": [25.0, 35.0, 45.0, 55.0],
                    "bin_counts": [70, 240, 380, 240, 70],
                },
                "income": {
                    "type": "numeric",
                    "edges": [10000.0, 20000.0, 40000.0],
                    "bin_counts": [400, 250, 200, 150],
                },
                "segment": {"type": "categorical", "categories": {"a": 400, "b": 350, "c": 250}},
            }
        },
    )


def load() -> None:
    from django.db import transaction

    from models_app.models import Model, ModelVersion

    rng = np.random.default_rng(3)
    started = time.perf_counter()
    with transaction.atomic():
        model = Model.objects.create(name="bench", task="binary_classification", last_seen_at=END)
        version = ModelVersion.objects.create(model=model, version="1", created_at=START)
        load_metrics(version, rng)
        load_predictions(version, rng)
        load_alerting(model, version, rng)
        Model.objects.filter(pk=model.pk).update(last_seen_at=END)
    from models_app.profiles import rollup_pending

    rollup_pending(limit=50_000, max_rounds=1000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"loaded {N_POINTS:,} metric points and {N_PREDICTIONS:,} predictions "
        f"in {time.perf_counter() - started:.0f} s"
    )


def timed(call, repeat: int = REPEAT) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def dashboard_requests(range_key: str) -> dict[str, str]:
    base = f"/models/bench/figures/%s.json?range={range_key}"
    paths = {"page": f"/models/bench/?range={range_key}"}
    paths |= {f"metric {name}": base % "metric" + f"&name={name}" for name in METRICS}
    for figure in (
        "timeline",
        "serving",
        "performance",
        "drift",
        "distribution",
        "training",
        "weights",
        "versions",
    ):
        paths[figure] = base % figure
    return paths


def naive_figures(window: tuple) -> dict:
    """Every stored point of the same data, shipped as Plotly figures (the baseline)."""
    import plotly.graph_objects as go

    from alerts_app.models import CheckResult
    from models_app.models import MetricPoint, Prediction

    start, end = window
    figures = {}
    for name in METRICS:

        def metric(name=name):
            rows = list(
                MetricPoint.objects.filter(model__name="bench", name=name, timestamp__range=window)
                .order_by("timestamp")
                .values_list("timestamp", "value")
            )
            return go.Figure(go.Scattergl(x=[r[0] for r in rows], y=[r[1] for r in rows]))

        figures[f"metric {name}"] = metric

    def serving():
        rows = list(
            Prediction.objects.filter(model__name="bench", timestamp__range=window)
            .order_by("timestamp")
            .values_list("timestamp", "latency_ms", "error")
        )
        x = [r[0] for r in rows]
        return go.Figure(
            [
                go.Scattergl(x=x, y=[r[1] for r in rows], name="latency"),
                go.Scattergl(x=x, y=[int(bool(r[2])) for r in rows], name="error"),
            ]
        )

    def performance():
        rows = list(
            Prediction.objects.filter(
                model__name="bench", timestamp__range=window, label__isnull=False
            )
            .order_by("timestamp")
            .values_list("timestamp", "prediction", "label")
        )
        return go.Figure(go.Scattergl(x=[r[0] for r in rows], y=[int(r[1] == r[2]) for r in rows]))

    def drift():
        rows = list(
            CheckResult.objects.filter(rule__kind="data_drift", evaluated_at__range=window)
            .order_by("evaluated_at")
            .values_list("evaluated_at", "details")
        )
        names = sorted(rows[0][1]["features"]) if rows else []
        z = [[r[1]["features"][n]["statistic"] for r in rows] for n in names]
        return go.Figure(go.Heatmap(x=[r[0] for r in rows], y=names, z=z))

    return figures | {"serving": serving, "performance": performance, "drift": drift}


def measure(range_key: str, days: int, client) -> None:
    ours = {}
    for label, path in dashboard_requests(range_key).items():
        seconds, response = timed(lambda path=path: client.get(path))
        assert response.status_code == 200, (path, response.status_code)
        ours[label] = (seconds, len(response.content))
    window = (END + timedelta(minutes=1) - timedelta(days=days), END + timedelta(minutes=1))
    naive = {}
    for label, build in naive_figures(window).items():
        seconds, size = timed(lambda build=build: len(build().to_json()), repeat=1)
        naive[label] = (seconds, size)
    report(range_key, ours, naive)


def alert_requests() -> dict[str, str]:
    """The alert page of the drift alert and of the threshold alert, their figures, the
    overview, the alert list, the rules page and the drift rule's page."""
    from alerts_app.models import Alert

    drift = Alert.objects.get(rule__kind="data_drift")
    threshold = Alert.objects.filter(rule__kind="metric_threshold").order_by("-id").first()
    paths = {
        "alert page (drift)": f"/alerts/{drift.pk}/",
        "alert history": f"/alerts/{drift.pk}/figures/history.json",
    }
    for feature in ("age", "income", "segment"):
        paths[f"alert dist {feature}"] = (
            f"/alerts/{drift.pk}/figures/distribution.json?feature={feature}"
        )
    if threshold is not None:
        paths["alert page (metric)"] = f"/alerts/{threshold.pk}/"
        paths["alert history (metric)"] = f"/alerts/{threshold.pk}/figures/history.json"
    return paths | {
        "overview": "/",
        "alert list": "/alerts/",
        "rules page": "/rules/",
        "rule page (drift)": f"/rules/{drift.rule_id}/",
        "rule dist age": f"/rules/{drift.rule_id}/figures/distribution.json?feature=age",
    }


def measure_alert_pages(client) -> None:
    ours = {}
    for label, path in alert_requests().items():
        seconds, response = timed(lambda path=path: client.get(path))
        assert response.status_code == 200, (path, response.status_code)
        ours[label] = (seconds, len(response.content))
    report("alert and rules pages", ours, {})


def drift_columns(client, query: str) -> np.ndarray:
    """The drift heatmap's column times (epoch ms) for a page query, as the browser has them."""
    import base64

    fig = client.get(f"/models/bench/figures/drift.json?{query}").json()
    x = fig["data"][0]["x"]
    return np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"])


def model_page_requests(client) -> dict[str, str]:
    """The model page framed on the drift alert (`?alert=`), its heatmap over that frame,
    and the drift-cell endpoint (a click on the newest column) at 30 d and 365 d."""
    import html
    import re
    from urllib.parse import urlencode

    from alerts_app.models import Alert

    drift = Alert.objects.get(rule__kind="data_drift")
    page = client.get(f"/models/bench/?alert={drift.pk}").content.decode()
    framed = html.unescape(re.search(r'figures/drift\.json\?([^"]+)"', page).group(1))
    paths = {
        "page ?alert= (drift)": f"/models/bench/?alert={drift.pk}",
        "drift, alert frame": f"/models/bench/figures/drift.json?{framed}",
    }
    for range_key in ("30d", "365d"):
        query = f"range={range_key}"
        at = drift_columns(client, query)[-1]
        cell = urlencode({"feature": "age", "at": str(at)})
        paths[f"drift cell {range_key}"] = f"/models/bench/figures/drift-cell.json?{query}&{cell}"
    return paths


def measure_model_page(client) -> None:
    ours = {}
    for label, path in model_page_requests(client).items():
        seconds, response = timed(lambda path=path: client.get(path))
        assert response.status_code == 200, (path, response.status_code)
        ours[label] = (seconds, len(response.content))
    report("model page: alert frame and heatmap cells", ours, {})


def report(range_key: str, ours: dict, naive: dict) -> None:
    print(f"\n=== range {range_key} ===")
    print(f"{'request':<22}{'ms':>9}{'kB':>10}{'naive ms':>11}{'naive kB':>11}{'bytes x':>9}")
    for label, (seconds, size) in ours.items():
        line = f"{label:<22}{seconds * 1000:>9.1f}{size / 1000:>10.1f}"
        if label in naive:
            n_seconds, n_size = naive[label]
            line += f"{n_seconds * 1000:>11.0f}{n_size / 1000:>11.0f}{n_size / size:>9.0f}"
        print(line)
    total_time = sum(s for s, _ in ours.values())
    total_bytes = sum(b for _, b in ours.values())
    compared = [k for k in ours if k in naive]
    if not compared:
        return
    ours_bytes = sum(ours[k][1] for k in compared)
    naive_bytes = sum(naive[k][1] for k in compared)
    slowest = max(ours.items(), key=lambda kv: kv[1][0])
    print(
        f"page + every figure: {total_time * 1000:.0f} ms server time in all, "
        f"{total_bytes / 1e6:.2f} MB; slowest request {slowest[0]} "
        f"{slowest[1][0] * 1000:.0f} ms"
    )
    print(
        f"figures with a baseline: {ours_bytes / 1e3:.0f} kB vs naive "
        f"{naive_bytes / 1e6:.1f} MB = {naive_bytes / ours_bytes:.0f}x fewer bytes; "
        f"time {sum(ours[k][0] for k in compared) * 1000:.0f} ms vs "
        f"{sum(naive[k][0] for k in compared) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep the data of the last run")
    args = parser.parse_args()
    setup_django(args.reuse)
    if not args.reuse:
        load()
    from django.test import Client
    from django.utils import timezone

    from tests.factories import grant_all_models, make_user

    timezone.now = lambda: END  # presets end at the data's end, as they would live
    client = Client()
    viewer = (
        make_user("bench-viewer")
        if not args.reuse
        else __import__("django.contrib.auth", fromlist=["get_user_model"])
        .get_user_model()
        .objects.get(username="bench-viewer")
    )
    client.force_login(grant_all_models(viewer, "viewer"))  # scoped as a real viewer is
    for range_key, days in (("30d", 30), ("365d", 365)):
        measure(range_key, days, client)
    measure_alert_pages(client)
    measure_model_page(client)


if __name__ == "__main__":
    main()

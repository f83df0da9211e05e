"""/metrics: off without a token, bearer-guarded, the values known ingests and evaluations
leave, the multiprocess files added up, and a Grafana dashboard over exported metrics."""

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerts_app import lifecycle
from alerts_app.metrics import dispatch_lag
from alerts_app.schedule import evaluate_due_rule
from tests.alerts_app.results import result
from tests.factories import make_alert_rule

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-0123456789"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def metrics_on(settings):
    settings.MODELWATCH_METRICS_TOKEN = TOKEN


def scrape(client) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of one authorised scrape."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_are_off_without_a_token(client, settings):
    settings.MODELWATCH_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Token {TOKEN}", TOKEN])
def test_a_scrape_without_the_bearer_token_is_refused(client, metrics_on, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_ingested_records_are_counted_per_model_and_kind(
    client, api, model, metrics_on, django_capture_on_commit_callbacks
):
    key = ("modelwatch_ingested_records_total", (("kind", "metrics"), ("model", "fraud")))
    before = scrape(client).get(key, 0.0)
    rows = [{"name": "loss", "value": v} for v in (0.1, 0.2, 0.3)]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/models/fraud/metrics/", {"records": rows}, format="json")
    assert response.status_code == 201, response.json()
    samples = scrape(client)
    assert samples[key] == before + 3
    model.refresh_from_db()
    seen = ("modelwatch_model_last_seen_timestamp_seconds", (("model", "fraud"),))
    assert samples[seen] == model.last_seen_at.timestamp()


@pytest.mark.django_db
def test_alerts_are_counted_by_model_rule_severity_and_state(client, model, metrics_on):
    firing = make_alert_rule(model, name="High loss", severity="critical")
    resolved = make_alert_rule(model, name="Drift", severity="warning")
    lifecycle.apply_result(firing, result(firing), T0)
    lifecycle.apply_result(resolved, result(resolved), T0)
    lifecycle.apply_result(resolved, result(resolved, "ok", 0.1), T0 + timedelta(minutes=1))
    samples = scrape(client)
    labels = (("model", "fraud"), ("rule", "High loss"), ("severity", "critical"))
    assert samples[("modelwatch_alerts", (*labels, ("state", "firing")))] == 1
    labels = (("model", "fraud"), ("rule", "Drift"), ("severity", "warning"))
    assert samples[("modelwatch_alerts", (*labels, ("state", "resolved")))] == 1
    assert not any(k[0] == "modelwatch_alerts" and ("state", "pending") in k[1] for k in samples)


@pytest.mark.django_db
def test_rule_evaluations_are_timed_per_kind(client, model, metrics_on):
    rule = make_alert_rule(model)
    key = ("modelwatch_rule_evaluation_seconds_count", (("kind", "metric_threshold"),))
    before = scrape(client).get(key, 0.0)
    evaluate_due_rule(rule.id)
    evaluate_due_rule(rule.id)
    after = scrape(client)
    assert after[key] == before + 2
    inf = (
        "modelwatch_rule_evaluation_seconds_bucket",
        (("kind", "metric_threshold"), ("le", "+Inf")),
    )
    assert after[inf] == after[key]


@pytest.mark.django_db
def test_dispatch_lag_is_the_oldest_due_evaluation_not_done(model):
    now = T0
    assert dispatch_lag(now) == 0.0
    make_alert_rule(model, name="claimed", interval=300, next_run_at=now + timedelta(seconds=240))
    assert dispatch_lag(now) == 60.0  # claimed for now - 60 s, not evaluated yet
    make_alert_rule(model, name="due", next_run_at=now - timedelta(seconds=120))
    make_alert_rule(model, name="off", enabled=False, next_run_at=now - timedelta(days=1))
    make_alert_rule(
        model,
        name="done",
        interval=300,
        next_run_at=now + timedelta(seconds=10),
        last_run_at=now - timedelta(seconds=100),
    )
    assert dispatch_lag(now) == 120.0


@pytest.mark.django_db
def test_every_metric_the_grafana_dashboard_queries_is_exported(client, metrics_on):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    exported = set()
    for name in re.findall(r"^# TYPE (\S+) (\w+)", response.content.decode(), re.M):
        base, kind = name
        exported |= {base, f"{base}_total"}
        if kind == "histogram":
            exported |= {f"{base}_bucket", f"{base}_count", f"{base}_sum"}
    dashboard = json.loads((ROOT / "docs" / "grafana" / "modelwatch.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bmodelwatch_\w+", target["expr"])
    }
    assert len(dashboard["panels"]) >= 8 and queried
    assert queried <= exported, queried - exported
    assert {
        "modelwatch_alerts",
        "modelwatch_rule_evaluation_seconds_bucket",
        "modelwatch_ingested_records_total",
        "modelwatch_model_last_seen_timestamp_seconds",
        "modelwatch_dispatch_lag_seconds",
    } <= queried


COUNT_IN_A_PROCESS = (
    "from monitor_site.metrics import INGESTED_RECORDS, RULE_EVALUATION_SECONDS; "
    "INGESTED_RECORDS.labels('fraud', 'metrics').inc({n}); "
    "RULE_EVALUATION_SECONDS.labels('data_drift').observe(0.2)"
)
READ_ALL = (
    "import django; django.setup(); "
    "from prometheus_client import generate_latest; "
    "from alerts_app.metrics import FilesCollector, metrics_dir; "
    "from prometheus_client import CollectorRegistry; r = CollectorRegistry(); "
    "r.register(FilesCollector(metrics_dir())); print(generate_latest(r).decode())"
)


def run(code: str, **env) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "monitor_site.settings"} | env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_processes_count_into_files_that_one_scrape_adds_up(tmp_path):
    """Multiprocess mode as under gunicorn + Celery, and as docker-compose lays it out:
    web and worker in their own subdirectories of one volume, read as a whole."""
    for sub, n in (("web", 3), ("web", 4), ("worker", 5)):
        run(COUNT_IN_A_PROCESS.format(n=n), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / sub))
    text = run(
        READ_ALL,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "web"),
        MODELWATCH_METRICS_DIR=str(tmp_path),
    )
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert (
        samples[("modelwatch_ingested_records_total", (("kind", "metrics"), ("model", "fraud")))]
        == 12
    )
    assert samples[("modelwatch_rule_evaluation_seconds_count", (("kind", "data_drift"),))] == 3
    assert samples[("modelwatch_rule_evaluation_seconds_sum", (("kind", "data_drift"),))] == (
        pytest.approx(0.6)
    )


def test_the_gunicorn_config_gives_the_workers_a_directory_when_none_is_set():
    code = (
        "import os; os.environ.pop('PROMETHEUS_MULTIPROC_DIR', None); "
        "import monitor_site.gunicorn_conf as c; "
        "print(os.path.isdir(os.environ['PROMETHEUS_MULTIPROC_DIR']), c.OWN_DIR == "
        "os.environ['PROMETHEUS_MULTIPROC_DIR']); c.on_exit(None); print(os.path.isdir(c.OWN_DIR))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert done.stdout.split() == ["True", "True", "False"], done.stderr


def test_per_host_directories_keep_containers_apart_and_are_read_together(tmp_path):
    import socket

    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "MODELWATCH_METRICS_PER_HOST": "1"}
    run(COUNT_IN_A_PROCESS.format(n=2), **env)
    run(COUNT_IN_A_PROCESS.format(n=5), **env)
    written = {path.parent for path in tmp_path.rglob("*.db")}
    assert written == {tmp_path / socket.gethostname()}
    text = run(READ_ALL, **env)
    assert 'modelwatch_ingested_records_total{kind="metrics",model="fraud"} 7.0' in text

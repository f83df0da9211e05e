"""The demo is an app over the others: nothing imports it, models_app does not import
alerts_app, and the demo reaches alerts only through the engine (no hand-made rows)."""

from pathlib import Path

from tests.source_imports import imported_modules

ROOT = Path(__file__).resolve().parents[2]
ALERT_TABLES = {
    "alerts_app.models.Alert",
    "alerts_app.models.AlertTransition",
    "alerts_app.models.Delivery",
}


def sources(app: str) -> list[Path]:
    return sorted((ROOT / app).rglob("*.py"))


def test_no_app_imports_the_demo():
    for app in ("models_app", "alerts_app", "frontend", "access", "monitor_site"):
        for path in sources(app):
            demo = {m for m in imported_modules(path) if m == "demo" or m.startswith("demo.")}
            assert demo == set(), path


def test_models_app_does_not_import_alerts_app():
    for path in sources("models_app"):
        alerts = {m for m in imported_modules(path) if m.startswith("alerts_app")}
        assert alerts == set(), path


def test_the_demo_writes_no_alert_rows_itself():
    for path in sources("demo"):
        assert imported_modules(path) & ALERT_TABLES == set(), path
        assert "fingerprint=" not in path.read_text(), path

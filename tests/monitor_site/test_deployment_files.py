"""docker-compose.yml, the Dockerfile and .env.example describe a runnable deployment."""

import re
import shlex
from pathlib import Path

import yaml

from monitor_site.celery import app

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services():
    services = {"postgres", "redis", "web", "beat", "migrate"} | set(WORKERS)
    assert services <= set(compose()["services"])


WORKERS = {
    "worker-ingest": "ingest",
    "worker-evaluate": "evaluate,celery",
    "worker-deliver": "deliver",
}


def test_one_worker_service_takes_each_queue():
    services = compose()["services"]
    for name, queues in WORKERS.items():
        command = services[name]["command"]
        assert command[command.index("-Q") + 1] == queues, name


def test_every_long_running_service_has_a_healthcheck_or_is_beat():
    services = compose()["services"]
    for name in ["postgres", "redis", "web", *WORKERS]:
        assert "healthcheck" in services[name], name


def test_app_services_point_at_postgres_and_redis():
    web = compose()["services"]["web"]
    assert web["environment"]["DATABASE_URL"].startswith("postgres://")
    assert web["environment"]["CELERY_BROKER_URL"].startswith("redis://redis")
    assert web["environment"]["DJANGO_DEBUG"] == "0"


def test_commands_name_modules_that_exist():
    services = compose()["services"]
    assert services["web"]["command"][:2] == ["gunicorn", "monitor_site.wsgi"]
    assert (ROOT / "monitor_site" / "wsgi.py").exists()
    for name, sub in [*((w, "worker") for w in WORKERS), ("beat", "beat")]:
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "monitor_site"] and command[3] == sub
    assert app.main == "modelwatch"


def test_no_secret_is_written_in_compose():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "SECRET_KEY=" not in text
    assert re.search(r"POSTGRES_PASSWORD:\s*\$\{POSTGRES_PASSWORD:\?", text)


def test_env_example_documents_every_setting_read_from_the_environment():
    settings_text = (ROOT / "monitor_site" / "settings.py").read_text()
    read = set(re.findall(r'\benv[a-z]*\("([A-Z_]+)"', settings_text))
    read |= set(re.findall(r'os\.environ(?:\.get\(|\[)"([A-Z_]+)"', settings_text))
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - documented == set()


def test_the_dockerfile_runs_as_an_unprivileged_user():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    users = [shlex.split(line)[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] != "root"

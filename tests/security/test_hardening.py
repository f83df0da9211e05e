"""Production hardening: check --deploy, security headers, CSP, CSRF, rate limits, secrets."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.test import Client, override_settings
from rest_framework.test import APIClient

from access import tokens
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]
METRICS = {"records": [{"name": "loss", "value": 0.5}]}


def production_env(tmp_path, **extra) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DJANGO_DEBUG"}
    }
    return (
        clean
        | {
            "DJANGO_SETTINGS_MODULE": "monitor_site.settings",
            "DJANGO_DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "MODELWATCH_DATA_DIR": str(tmp_path),
            "ALLOWED_HOSTS": "modelwatch.example.com",
        }
        | extra
    )


def manage(tmp_path, *args, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=production_env(tmp_path, **extra),
        timeout=120,
    )


def test_check_deploy_finds_nothing_under_production_settings(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_the_placeholder_secret_key(tmp_path):
    result = manage(tmp_path, "check", SECRET_KEY="change-me-to-a-long-random-string")
    assert result.returncode != 0
    assert "placeholder" in result.stderr


@pytest.mark.parametrize("rate", ["fast", "10/fortnight", "-1/minute", "1.5/second"])
def test_a_malformed_rate_limit_fails_at_start(tmp_path, rate):
    result = manage(tmp_path, "check", MODELWATCH_THROTTLE_USER=rate)
    assert result.returncode != 0
    assert "MODELWATCH_THROTTLE_USER must look like" in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/api/v1/models/", "/api/v1/docs/"])
def test_every_answer_carries_the_security_headers(path):
    response = Client().get(path)
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_templates_hold_no_inline_script_handler_or_style():
    templates = [
        *ROOT.glob("frontend/templates/**/*.html"),
        *ROOT.glob("access/templates/**/*.html"),
    ]
    assert templates
    for template in templates:
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert "style=" not in text, template


@pytest.mark.django_db
def test_a_session_write_to_the_api_needs_the_csrf_token(model):
    staff = make_user("root", staff=True)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    refused = client.patch("/api/v1/models/fraud/", {"description": "x"}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    client.get("/")  # a page with a form sets the csrftoken cookie
    csrf = client.cookies["csrftoken"].value
    allowed = client.patch(
        "/api/v1/models/fraud/", {"description": "x"}, format="json", HTTP_X_CSRFTOKEN=csrf
    )
    assert allowed.status_code == 200


@pytest.mark.django_db
def test_token_writes_need_no_csrf_token(api, model):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=api._credentials["HTTP_AUTHORIZATION"])
    assert client.post("/api/v1/models/fraud/metrics/", METRICS, format="json").status_code == 201


@pytest.mark.django_db
def test_the_login_and_logout_forms_need_the_csrf_token():
    make_user("bob")
    client = Client(enforce_csrf_checks=True)
    assert (
        client.post("/accounts/login/", {"username": "bob", "password": "pw-12345-xyz"}).status_code
        == 403
    )
    page = client.get("/accounts/login/?next=/alerts/")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    token = page.context["csrf_token"]
    logged_in = client.post(
        "/accounts/login/",
        {
            "username": "bob",
            "password": "pw-12345-xyz",
            "next": "/alerts/",
            "csrfmiddlewaretoken": str(token),
        },
    )
    assert (logged_in.status_code, logged_in.url) == (302, "/alerts/")
    assert client.get("/alerts/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 403
    token = client.get("/alerts/").context["csrf_token"]
    assert client.post("/accounts/logout/", {"csrfmiddlewaretoken": str(token)}).url == (
        "/accounts/login/"
    )
    assert client.get("/alerts/").status_code == 302


@pytest.mark.django_db
def test_a_wrong_password_shows_the_login_page_again():
    make_user("bob")
    page = Client().post("/accounts/login/", {"username": "bob", "password": "nope"})
    assert page.status_code == 200 and b"Please enter a correct username" in page.content


@pytest.mark.django_db
@override_settings(MODELWATCH_THROTTLE_USER="3/minute", MODELWATCH_THROTTLE_INGEST="5/minute")
def test_users_are_rate_limited_and_told_when_to_retry(api, model):
    codes = [api.get("/api/v1/models/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = api.get("/api/v1/models/")
    assert 1 <= int(limited["Retry-After"]) <= 61
    # telemetry writes count against the ingest limit, not the user's
    posts = [
        api.post("/api/v1/models/fraud/metrics/", METRICS, format="json").status_code
        for _ in range(6)
    ]
    assert posts == [201] * 5 + [429]


@pytest.mark.django_db
@override_settings(MODELWATCH_THROTTLE_INGEST="2/minute")
def test_each_ingest_token_has_its_own_budget(model):
    def client(key):
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return c

    first, second = (client(tokens.create_token(model, n)[1]) for n in ("a", "b"))
    send = lambda c: c.post("/api/v1/models/fraud/metrics/", METRICS, format="json")  # noqa: E731
    assert [send(first).status_code for _ in range(3)] == [201, 201, 429]
    assert send(second).status_code == 201


@pytest.mark.django_db
@override_settings(MODELWATCH_THROTTLE_ANON="2/minute", MODELWATCH_THROTTLE_USER="off")
def test_anonymous_callers_are_rate_limited_by_address(api):
    anon = APIClient()
    assert [anon.get("/api/v1/schema/").status_code for _ in range(3)] == [200, 200, 429]
    assert all(api.get("/api/v1/models/").status_code == 200 for _ in range(5))


def tracked_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout
    return [ROOT / name for name in names.split()]


SECRET_PATTERNS = [
    r"-----BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----",
    r"AKIA[0-9A-Z]{16}",
    r"hooks\.slack\.com/services/T[A-Z0-9]{8,}/B[A-Z0-9]{8,}/[A-Za-z0-9]{24}",
    r"xox[abprs]-[0-9A-Za-z-]{10,}",
    r"gh[pousr]_[A-Za-z0-9]{36}",
    r"mwi_[A-Za-z0-9_-]{43}",
]


def test_no_secret_is_committed():
    files = tracked_files()
    assert files and not any(f.relative_to(ROOT).parts[0] in {"var", ".env"} for f in files)
    for path in files:
        if path.suffix in {".png", ".gz", ".jpg", ".whl"} or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        for pattern in SECRET_PATTERNS:
            assert not re.search(pattern, text), f"{pattern} in {path}"
    settings_text = (ROOT / "monitor_site/settings.py").read_text()
    assert not re.search(r"^SECRET_KEY\s*=\s*['\"]", settings_text, re.M)


def test_compose_is_production_safe_by_default():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    app = {name: s for name, s in services.items() if name not in {"postgres", "redis"}}
    assert all(s["environment"]["DJANGO_DEBUG"] == "0" for s in app.values())
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)  # behind a proxy only
    assert "ports" not in services["postgres"] and "ports" not in services["redis"]
    assert "${POSTGRES_PASSWORD:?" in (ROOT / "docker-compose.yml").read_text()
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^SECRET_KEY=$", example, re.M)


@pytest.mark.django_db
def test_only_the_browsable_api_may_use_inline_styles_and_never_inline_scripts(api, model):
    html = api.get("/api/v1/models/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    policy = dict(d.strip().split(" ", 1) for d in html["Content-Security-Policy"].split(";"))
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["script-src"] == "'self'"
    strict = api.get("/api/v1/models/")["Content-Security-Policy"]
    assert "unsafe-inline" not in strict


@pytest.mark.django_db
@override_settings(
    ALLOWED_HOSTS=[".example.com"], SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=[r"^healthz$"]
)
def test_the_compose_healthcheck_sends_a_host_that_production_accepts(monkeypatch):
    import urllib.request

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    code = compose["services"]["web"]["healthcheck"]["test"][3]
    sent = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda request: sent.append(request))
    monkeypatch.setenv("ALLOWED_HOSTS", ".example.com,other.org")
    exec(code, {})  # noqa: S102  (the compose file's own one-liner)
    host = sent[0].get_header("Host")
    assert host == "example.com"
    answer = Client(HTTP_HOST=host).get(sent[0].selector)
    assert answer.status_code in (200, 503)  # not 400 (bad host) nor 301 (to https)

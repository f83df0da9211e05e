"""ModelWatch settings: everything comes from the environment, with a default that works.

Unset `DATABASE_URL` means SQLite under `MODELWATCH_DATA_DIR`; unset `CELERY_BROKER_URL`
means Kombu's filesystem transport under the same folder. See `.env.example`.
"""

import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    value = env(name, default).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (0/1), got {value!r}")


def envint(name: str, default: str) -> int:
    try:
        return int(env(name, default))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer") from exc


def envfloat(name: str, default: str) -> float:
    try:
        return float(env(name, default))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number") from exc


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def envnetworks(name: str, default: str) -> str:
    """Comma-separated IP addresses or networks ("127.0.0.1, 10.0.0.0/8"), checked at start."""
    value = env(name, default)
    for item in filter(None, (part.strip() for part in value.split(","))):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or networks, got {item!r}"
            ) from None
    return value


def envrate(name: str, default: str) -> str:
    """A DRF-style rate ("600/minute", "20/second") or "off" (access/throttling)."""
    value = env(name, default).strip()
    if value.lower() in {"", "off", "0", "none"}:
        return "off"
    number, _, period = value.partition("/")
    if not number.strip().isdigit() or int(number) < 1 or period.strip()[:1] not in set("smhd"):
        raise ImproperlyConfigured(f'{name} must look like "600/minute" or "off", got {value!r}')
    return value


DEBUG = envbool("DJANGO_DEBUG", "1")
DATA_DIR = Path(env("MODELWATCH_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The SECRET_KEY: from the environment, else generated once into DATA_DIR.

    A generated key is only acceptable in development (DEBUG on); production must
    set one explicitly so that every web process and worker share it.
    """
    if os.environ.get("SECRET_KEY"):
        if not DEBUG and os.environ["SECRET_KEY"].startswith("change-me"):
            raise ImproperlyConfigured("SECRET_KEY is still the .env.example placeholder")
        return os.environ["SECRET_KEY"]
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_DEBUG=0")
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
PORT = envint("PORT", "8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "guardian",
    "csp",
    "models_app",
    "alerts_app",
    "frontend",
    # Per-model roles, ingest tokens, audit log (docs/security.md).
    "access",
    # The demo's models, telemetry, rules and alerts (`manage.py seed_demo`).
    "demo",
]

MIDDLEWARE = [
    # Outermost: a database outage anywhere below answers 503 (monitor_site/errors.py).
    "monitor_site.errors.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Changes made while serving a request are audited under its user (after DRF auth too).
    "access.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "access.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "monitor_site.urls"
WSGI_APPLICATION = "monitor_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project-wide template overrides (admin/base_site.html adds the admin stylesheet).
        "DIRS": [BASE_DIR / "monitor_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", "60"),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: WAL and a busy timeout let them.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve app static files straight from the apps (no collectstatic needed to run).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Per-model permissions: django-guardian object permissions next to Django's own.
# First: the sign-in lockout refuses a locked username or address before any password is
# hashed (access/login_limits.py).
AUTHENTICATION_BACKENDS = [
    "access.login_limits.LoginLimitBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # no guardian "anonymous" user: anonymous visitors get nothing
GUARDIAN_MONKEY_PATCH_USER = False

# Security headers (docs/security.md). The CSP allows only the app's own scripts and
# styles; figures travel as JSON (json_script), never as inline script.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # plotly.js writes empty style attributes (style=""): allow exactly that value.
        "style-src-attr": [
            "'unsafe-hashes'",
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        ],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# API rate limits per anonymous address, per user, and per ingest token/user for telemetry
# writes ("N/second|minute|hour|day" or "off"); see access/throttling.py.
MODELWATCH_THROTTLE_ANON = envrate("MODELWATCH_THROTTLE_ANON", "120/minute")
MODELWATCH_THROTTLE_USER = envrate("MODELWATCH_THROTTLE_USER", "6000/minute")
MODELWATCH_THROTTLE_INGEST = envrate("MODELWATCH_THROTTLE_INGEST", "60000/minute")
# Failed sign-ins allowed per username and per client address before both are locked out
# until the window ends (access/login_limits.py).
MODELWATCH_LOGIN_FAILURES_USER = envrate("MODELWATCH_LOGIN_FAILURES_USER", "10/hour")
MODELWATCH_LOGIN_FAILURES_ADDRESS = envrate("MODELWATCH_LOGIN_FAILURES_ADDRESS", "30/hour")
# Reverse proxies (addresses or networks) whose X-Forwarded-For is believed; empty: the
# TCP peer is the client, whatever the header says (rate limits and lockout count by it).
MODELWATCH_TRUSTED_PROXIES = envnetworks("MODELWATCH_TRUSTED_PROXIES", "")

MODELWATCH_MAX_BATCH = envint("MODELWATCH_MAX_BATCH", "10000")
MODELWATCH_MAX_BODY_BYTES = envint("MODELWATCH_MAX_BODY_BYTES", str(32 * 1024 * 1024))
# What one prediction batch may make the server do (docs/telemetry.md "Limits"): declared
# features per model and distinct feature keys per record or batch; feature values
# (records x features); profile rows written (hour buckets x features); characters of a
# string feature value.
MODELWATCH_MAX_FEATURES = envint("MODELWATCH_MAX_FEATURES", "1000")
MODELWATCH_MAX_FEATURE_VALUES = envint("MODELWATCH_MAX_FEATURE_VALUES", "1000000")
MODELWATCH_MAX_PROFILE_ROWS = envint("MODELWATCH_MAX_PROFILE_ROWS", "10000")
MODELWATCH_MAX_VALUE_LENGTH = envint("MODELWATCH_MAX_VALUE_LENGTH", "10000")
MODELWATCH_BASE_URL = env("MODELWATCH_BASE_URL", f"http://127.0.0.1:{PORT}")
# Django's own form/body limit stays above ours so that our parser answers 413 first.
DATA_UPLOAD_MAX_MEMORY_SIZE = MODELWATCH_MAX_BODY_BYTES + 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = MODELWATCH_MAX_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "access.authentication.IngestTokenAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["access.permissions.ModelAccess"],
    "DEFAULT_THROTTLE_CLASSES": [
        "access.throttling.AnonThrottle",
        "access.throttling.UserThrottle",
        "access.throttling.IngestThrottle",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "models_app.api.parsers.OrjsonParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "models_app.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    # django-filter's backend, with boolean filters that refuse values they cannot read.
    "DEFAULT_FILTER_BACKENDS": [
        "monitor_site.filters.StrictFilterBackend",
        # Lists and lookups hold only the models a user may view (docs/security.md).
        "access.permissions.ModelScopeFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "EXCEPTION_HANDLER": "monitor_site.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ModelWatch API",
    "DESCRIPTION": "Register ML models, send telemetry, manage alert rules.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AlertStateEnum": "alerts_app.models.AlertState",
        # rules and backtests share the kinds: one name, not a hash of the choices
        "RuleKindEnum": "alerts_app.models.RuleKind",
    },
    # Every operation's error answers (401/403/503, 400, 404, 413/415) are in the schema.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "monitor_site.schema_errors.add_error_responses",
    ],
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "0")
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One queue per kind of work, each scaled on machines of its own (docs/scaling.md):
# ingestion upkeep (rollups, retention), rule evaluation, deliveries. Every task is routed
# by name; a task missing here goes to CELERY_TASK_DEFAULT_QUEUE.
MODELWATCH_QUEUE_INGEST = env("MODELWATCH_QUEUE_INGEST", "ingest")
MODELWATCH_QUEUE_EVALUATE = env("MODELWATCH_QUEUE_EVALUATE", "evaluate")
MODELWATCH_QUEUE_DELIVER = env("MODELWATCH_QUEUE_DELIVER", "deliver")
TASK_QUEUES = {
    "models_app.tasks.rollup_profiles_task": MODELWATCH_QUEUE_INGEST,
    "models_app.tasks.prune_telemetry_task": MODELWATCH_QUEUE_INGEST,
    "alerts_app.tasks.heartbeat_task": MODELWATCH_QUEUE_EVALUATE,
    "alerts_app.tasks.dispatch_task": MODELWATCH_QUEUE_EVALUATE,
    "alerts_app.tasks.evaluate_rules_task": MODELWATCH_QUEUE_EVALUATE,
    "alerts_app.tasks.deliver_task": MODELWATCH_QUEUE_DELIVER,
    "alerts_app.tasks.sweep_deliveries_task": MODELWATCH_QUEUE_DELIVER,
    "alerts_app.tasks.flush_incident_task": MODELWATCH_QUEUE_DELIVER,
    "alerts_app.tasks.deliver_incident_task": MODELWATCH_QUEUE_DELIVER,
    "alerts_app.tasks.sweep_incidents_task": MODELWATCH_QUEUE_DELIVER,
}
CELERY_TASK_ROUTES = {name: {"queue": queue} for name, queue in TASK_QUEUES.items()}
# Alerting (docs/alerting.md): dispatcher cadence, notification retries, webhook safety.
MODELWATCH_DISPATCH_INTERVAL = envfloat("MODELWATCH_DISPATCH_INTERVAL", "30")
MODELWATCH_DISPATCH_BATCH = envint("MODELWATCH_DISPATCH_BATCH", "1000")
MODELWATCH_DISPATCH_CHUNK = envint("MODELWATCH_DISPATCH_CHUNK", "10")
# Fairness between tenants (docs/alerting.md): rules of one model enqueued per cycle, rules
# per model and per user, and the shortest interval a rule may have.
MODELWATCH_DISPATCH_PER_MODEL = envint("MODELWATCH_DISPATCH_PER_MODEL", "20")
MODELWATCH_MAX_RULES_PER_MODEL = envint("MODELWATCH_MAX_RULES_PER_MODEL", "50")
MODELWATCH_MAX_RULES_PER_USER = envint("MODELWATCH_MAX_RULES_PER_USER", "200")
MODELWATCH_RULE_MIN_INTERVAL = envint("MODELWATCH_RULE_MIN_INTERVAL", "60")
MODELWATCH_NOTIFY_MAX_ATTEMPTS = envint("MODELWATCH_NOTIFY_MAX_ATTEMPTS", "8")  # ~1 h of retries
MODELWATCH_NOTIFY_BACKOFF_SECONDS = envfloat("MODELWATCH_NOTIFY_BACKOFF_SECONDS", "30")
MODELWATCH_NOTIFY_BACKOFF_MAX = envfloat("MODELWATCH_NOTIFY_BACKOFF_MAX", "3600")
MODELWATCH_NOTIFY_REQUEUE_AFTER = envint("MODELWATCH_NOTIFY_REQUEUE_AFTER", "60")
MODELWATCH_NOTIFY_STUCK_AFTER = envint("MODELWATCH_NOTIFY_STUCK_AFTER", "600")
MODELWATCH_WEBHOOK_TIMEOUT = envfloat("MODELWATCH_WEBHOOK_TIMEOUT", "10")
MODELWATCH_ALLOW_PRIVATE_WEBHOOKS = envbool("MODELWATCH_ALLOW_PRIVATE_WEBHOOKS", "0")
# /metrics for Prometheus: off (404) while empty; else scrapes send it as a bearer token.
MODELWATCH_METRICS_TOKEN = env("MODELWATCH_METRICS_TOKEN", "")
# Routing and incidents (docs/alerting.md "Incidents"): the sweeper's period; the built-in
# inhibition (a firing no_data alert holds back its model's drift/quality/performance).
MODELWATCH_INCIDENT_SWEEP_INTERVAL = envfloat("MODELWATCH_INCIDENT_SWEEP_INTERVAL", "15")
MODELWATCH_INHIBIT_NO_DATA = envbool("MODELWATCH_INHIBIT_NO_DATA", "1")
CELERY_BEAT_SCHEDULE = {
    # Liveness: /healthz reports the last beat-driven heartbeat a worker executed.
    "worker-heartbeat": {
        "task": "alerts_app.tasks.heartbeat_task",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Alerting: enqueue every due rule once; retry lost or stuck notification sends.
    # A dispatch claims rules in a transaction, so two of them never enqueue a rule
    # twice: it expires late enough (2 cycles, 10 s at least) that a worker slow to take
    # it (a busy machine, a broker just back) still dispatches, instead of discarding
    # every cycle's message and evaluating nothing.
    "alert-dispatcher": {
        "task": "alerts_app.tasks.dispatch_task",
        "schedule": MODELWATCH_DISPATCH_INTERVAL,
        "options": {"expires": max(2 * MODELWATCH_DISPATCH_INTERVAL, 10)},
    },
    "delivery-sweeper": {
        "task": "alerts_app.tasks.sweep_deliveries_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Incidents: flushes whose delayed message was lost, lost or stuck incident sends.
    "incident-sweeper": {
        "task": "alerts_app.tasks.sweep_incidents_task",
        "schedule": MODELWATCH_INCIDENT_SWEEP_INTERVAL,
        "options": {"expires": max(MODELWATCH_INCIDENT_SWEEP_INTERVAL - 1, 1)},
    },
    # Telemetry: merge partial profiles each minute; prune past retention once a day.
    "profile-rollup": {
        "task": "models_app.tasks.rollup_profiles_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "telemetry-retention": {
        "task": "models_app.tasks.prune_telemetry_task",
        "schedule": 24 * 3600.0,
        "options": {"expires": 3600},
    },
}
MODELWATCH_HEARTBEAT_STALE_SECONDS = envint("MODELWATCH_HEARTBEAT_STALE_SECONDS", "120")
# Telemetry (docs/telemetry.md): raw predictions vs profiles/metrics retention, in days.
MODELWATCH_RETENTION_DAYS = envint("MODELWATCH_RETENTION_DAYS", "90")
MODELWATCH_PROFILE_RETENTION_DAYS = envint("MODELWATCH_PROFILE_RETENTION_DAYS", "730")
# Rows of a reference (CSV upload or window) and columns of an uploaded one.
MODELWATCH_REFERENCE_MAX_ROWS = envint("MODELWATCH_REFERENCE_MAX_ROWS", "200000")
MODELWATCH_REFERENCE_MAX_COLUMNS = envint("MODELWATCH_REFERENCE_MAX_COLUMNS", "1000")
# Parquet references are read a column at a time: far more rows than a CSV; and the body
# of a reference upload (streamed to a temporary file) may exceed MODELWATCH_MAX_BODY_BYTES.
MODELWATCH_REFERENCE_MAX_PARQUET_ROWS = envint("MODELWATCH_REFERENCE_MAX_PARQUET_ROWS", "50000000")
MODELWATCH_REFERENCE_MAX_BYTES = envint("MODELWATCH_REFERENCE_MAX_BYTES", str(4 * 1024**3))

EMAIL_BACKEND = env("EMAIL_BACKEND", "monitor_site.mail.LogEmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "0")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "modelwatch@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", "1")
    CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", "1")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "1")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

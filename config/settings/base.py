"""Every setting, read from the environment (and a `.env` file when present).

With no DATABASE_URL and no REDIS_URL the product runs embedded: SQLite under var/, the
in-memory channel layer, Celery tasks executed in-process, periodic work from `runperiodic`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("ADUAN_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept under var/."""
    if key := str(env.str("SECRET_KEY", default="")):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        # Written whole under a name of its own, then linked into place (atomic, and only
        # the first process wins): server processes starting together on a fresh var/
        # once read the file between its creation and its content, an empty key.
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        draft = VAR_DIR / f"secret_key.{os.getpid()}"
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_urlsafe(50))
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Product settings -------------------------------------------------------------------
ADUAN_TICKET_PREFIX = env.str("ADUAN_TICKET_PREFIX", default="ADU").upper()
ADUAN_TIME_ZONE = env.str("ADUAN_TIME_ZONE", default="Asia/Jakarta")
ADUAN_DEFAULT_REGION = env.str("ADUAN_DEFAULT_REGION", default="ID")  # for local phone numbers
ADUAN_AUTO_CLOSE_DAYS = env.int("ADUAN_AUTO_CLOSE_DAYS", default=7)
# How long a web chat socket token opens the socket; the widget renews it with its secret.
ADUAN_CHAT_TOKEN_SECONDS = env.int("ADUAN_CHAT_TOKEN_SECONDS", default=600)
# Networks server-side fetches may reach although not public (an internal proxy); none by default.
ADUAN_FETCH_ALLOWED_NETWORKS = env.list("ADUAN_FETCH_ALLOWED_NETWORKS", default=[])
ADUAN_MAX_ATTACHMENT_BYTES = env.int("ADUAN_MAX_ATTACHMENT_BYTES", default=10 * 1024 * 1024)
ADUAN_MAX_ATTACHMENTS_PER_TICKET = env.int("ADUAN_MAX_ATTACHMENTS_PER_TICKET", default=50)
ADUAN_MAX_UPLOAD_BYTES_PER_DAY = env.int(
    "ADUAN_MAX_UPLOAD_BYTES_PER_DAY", default=100 * 1024 * 1024
)
ADUAN_ADMIN_URL = env.str("ADUAN_ADMIN_URL", default="admin/")
ADUAN_PERIODIC_INTERVAL = env.int("ADUAN_PERIODIC_INTERVAL", default=60)
# Threads serving HTTP in each server process (at most DATABASE_POOL_MAX are useful).
ADUAN_HTTP_THREADS = env.int("ADUAN_HTTP_THREADS", default=4)
# Provider deliveries in each server process: INSERTs in flight at once (each stores all
# that arrived meanwhile), and threads running them (each keeps a database connection).
ADUAN_WEBHOOK_WRITERS = env.int("ADUAN_WEBHOOK_WRITERS", default=1)
ADUAN_WEBHOOK_THREADS = env.int("ADUAN_WEBHOOK_THREADS", default=3)
# A citizen's ticket list and detail answered on the event loop (complaints.api.fastpath),
# with this many database connections per server process; off: Django answers them too.
ADUAN_API_FAST_PATH = env.bool("ADUAN_API_FAST_PATH", default=True)
ADUAN_API_FAST_CONNECTIONS = env.int("ADUAN_API_FAST_CONNECTIONS", default=4)
# How long a server process trusts what it read of a channel account (secret, active).
ADUAN_CHANNEL_ACCOUNT_CACHE_SECONDS = env.float("ADUAN_CHANNEL_ACCOUNT_CACHE_SECONDS", default=5.0)

# --- Applications -----------------------------------------------------------------------
INSTALLED_APPS = [
    "config.admin.AduanAdminConfig",  # django.contrib.admin, with the dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular_sidecar",
    "django_filters",
    "drf_spectacular",
    "channels",
    "axes",
    "complaints",
    "channels_ingest",
    "anymail",
    "escalation",
    "partners",
    "webchat",
    "quality",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.health.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.csp.StaffPagesPolicy",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'aduan.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    # ASGI: no persistent per-thread connections; the psycopg pool shares them instead.
    _db["CONN_MAX_AGE"] = 0
    _timeouts = " ".join(
        f"-c {name}={env.int(var, default=default)}"
        for name, var, default in (
            ("lock_timeout", "DATABASE_LOCK_TIMEOUT_MS", 5_000),
            ("statement_timeout", "DATABASE_STATEMENT_TIMEOUT_MS", 60_000),
            ("idle_in_transaction_session_timeout", "DATABASE_IDLE_TX_TIMEOUT_MS", 60_000),
        )
    )
    # Server-side binding lets psycopg prepare statements a connection runs repeatedly:
    # planning the API's queries costs PostgreSQL more than running them (auth 1.5 -> 0.4 ms).
    # Turn it off behind a transaction-pooling PgBouncer older than 1.21.
    _server_side = env.bool("DATABASE_SERVER_SIDE_BINDING", default=True)
    _db["OPTIONS"] = {
        "options": _timeouts,
        "server_side_binding": _server_side,
        "prepare_threshold": 2 if _server_side else None,
    }
    if env.bool("DATABASE_POOL", default=True):
        # Pooled connections are checked before use: one that died with its server is replaced.
        _db["CONN_HEALTH_CHECKS"] = True
        _db["OPTIONS"]["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=10),
            # Waiting longer for a connection than a client waits for an answer helps no one:
            # past this the request gets 503 with Retry-After.
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=3.0),
        }
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE transactions serialise writers instead of failing with "database is locked".
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker -----------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES: dict[str, Any] = {
        "default": {
            # django-redis keeps one client per process; Django's own backend builds a new
            # client (copying ~170 response callbacks) for every cache call.
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    CHANNEL_LAYERS: dict[str, Any] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, which cuts the
            # layer's 5 s blocking pops (an idle socket's consumer would crash): longer.
            # Its pools also stop at 100 connections and then fail rather than wait: a
            # hundred agents' sockets joining their groups at once took them all (500s).
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 15,
                        "socket_connect_timeout": 1,
                        "max_connections": env.int("ADUAN_CHANNEL_LAYER_CONNECTIONS", 1000),
                    }
                ]
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery (namespace CELERY_). Tasks are idempotent, so they are acknowledged late and
# re-queued if their worker dies; beat only wakes sweeps whose state lives in PostgreSQL.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
# Queueing from a request gives up fast when Redis is gone (the work is in PostgreSQL and
# the periodic sweep finds it): one quick retry instead of kombu's default ~6 s of them.
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "connect_retries_timeout": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Webhooks wake the inbox drain at most once per this many seconds per server process (the
# drain then takes everything stored meanwhile); a drain task gives the queue back after
# about ADUAN_INGEST_DRAIN_SECONDS, so the acknowledgement sends queued meanwhile go out.
ADUAN_INGEST_WAKE_SECONDS = env.float("ADUAN_INGEST_WAKE_SECONDS", default=1.0)
ADUAN_INGEST_DRAIN_SECONDS = env.float("ADUAN_INGEST_DRAIN_SECONDS", default=0.5)
# Outbound messages of one task sent at once by each Celery process (provider latency).
ADUAN_SEND_THREADS = env.int("ADUAN_SEND_THREADS", default=32)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "sweep-fingerprints": {"task": "quality.tasks.sweep_fingerprints", "schedule": 600.0},
    "close-resolved-tickets": {
        "task": "complaints.tasks.close_resolved_tickets",
        "schedule": 3600.0,
    },
    "sweep-channels": {
        "task": "channels_ingest.tasks.sweep_channels",
        "schedule": env.float("ADUAN_CHANNEL_SWEEP_SECONDS", default=60.0),
    },
    "sla-sweep": {
        "task": "escalation.tasks.sla_sweep",
        "schedule": env.float("ADUAN_SLA_SWEEP_SECONDS", default=60.0),
    },
    "poll-mailboxes": {
        "task": "channels_ingest.tasks.poll_mailboxes",
        "schedule": env.float("ADUAN_IMAP_POLL_SECONDS", default=60.0),
    },
}

# How long a process trusts what it read of SLA policies and business calendars (each
# process forgets at once what its own admin edits change).
ADUAN_SLA_CACHE_SECONDS = env.float("ADUAN_SLA_CACHE_SECONDS", default=30.0)
# Critical tickets: the on-duty contacts are told again this often until one acknowledges.
ADUAN_CRITICAL_REPEAT_MINUTES = env.int("ADUAN_CRITICAL_REPEAT_MINUTES", default=5)
# Escalations are also POSTed here (JSON, signed with HMAC-SHA256 over "timestamp.body").
ADUAN_ESCALATION_WEBHOOK_URL = env.str("ADUAN_ESCALATION_WEBHOOK_URL", default="")
ADUAN_ESCALATION_WEBHOOK_SECRET = env.str("ADUAN_ESCALATION_WEBHOOK_SECRET", default="")

# Where citizens reach this site, for links in messages (the satisfaction question).
ADUAN_PUBLIC_URL = env.str("ADUAN_PUBLIC_URL", default="http://127.0.0.1:8000")
# A timeliness score at or below this opens a supervisor review.
ADUAN_CSAT_LOW_SCORE = env.int("ADUAN_CSAT_LOW_SCORE", default=2)

# --- Agents' workspace -------------------------------------------------------------------
# Who holds a ticket, in the status block of public replies, when no partner does.
ADUAN_TEAM_NAME = env.str("ADUAN_TEAM_NAME", default="Tim Pengaduan")
# When the agents' shifts start (local time, 24-hour clock): the handover page's shifts.
ADUAN_SHIFT_STARTS = env.list("ADUAN_SHIFT_STARTS", default=["07:00", "15:00", "23:00"])

# --- Email ------------------------------------------------------------------------------
# Mail out goes through Django's email backend: SMTP when EMAIL_HOST is set, otherwise
# (embedded, no services) into files under var/mail, where nothing is lost.
if env.str("EMAIL_HOST", default=""):
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
else:
    EMAIL_BACKEND = env.str(
        "EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
    )
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="pengaduan@aduan.example")
# Inbound mail: the largest message taken (SMTP answers 552 above it; IMAP sets it aside),
# the attachments kept per message, and the messages a sender may send in an hour before
# their mail opens no more tickets (a storm of auto-generated mail).
ADUAN_EMAIL_MAX_BYTES = env.int("ADUAN_EMAIL_MAX_BYTES", default=25 * 1024 * 1024)
ADUAN_EMAIL_MAX_FILES = env.int("ADUAN_EMAIL_MAX_FILES", default=20)
ADUAN_EMAIL_SENDER_LIMIT = env.int("ADUAN_EMAIL_SENDER_LIMIT", default=30)
# The name the SMTP receiver greets with (default: the machine's name).
ADUAN_SMTP_HOSTNAME = env.str("ADUAN_SMTP_HOSTNAME", default="")
# Provider inbound webhooks (/anymail/<provider>/inbound/) are served only with a basic
# auth secret ("user:password"); signing keys for the providers that sign as well.
ANYMAIL = {
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default=""),
    "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
    "MAILERSEND_INBOUND_SECRET": env.str("ANYMAIL_MAILERSEND_INBOUND_SECRET", default=""),
}

# --- Channel providers (base URLs overridable for a proxy or a local test double) -------
WHATSAPP_API_BASE = env.str("WHATSAPP_API_BASE", default="https://graph.facebook.com")
META_GRAPH_API_BASE = env.str("META_GRAPH_API_BASE", default="https://graph.facebook.com")
META_GRAPH_VERSION = env.str("META_GRAPH_VERSION", default="v24.0")
TELEGRAM_API_BASE = env.str("TELEGRAM_API_BASE", default="https://api.telegram.org")
X_API_BASE = env.str("X_API_BASE", default="https://api.x.com")

# --- Authentication ---------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)  # the default (never) would let anyone lock agents out
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.health.lockout"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0)
LOGIN_URL = f"/{ADUAN_ADMIN_URL}login/"

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("id", "Bahasa Indonesia")]
TIME_ZONE = ADUAN_TIME_ZONE
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Served from the apps' folders, without collectstatic: in development and test servers.
WHITENOISE_USE_FINDERS = DEBUG or env.bool("ADUAN_STATIC_FROM_APPS", default=False)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
DATA_UPLOAD_MAX_NUMBER_FILES = 10

# --- Security ---------------------------------------------------------------------------
# HTTPS=true behind TLS (production): secure cookies, HSTS, redirect to https.
HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env.bool("TRUST_PROXY_SSL_HEADER", default=False):  # only behind a proxy that sets it
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["complaints.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "complaints.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "complaints.api.throttles.UserThrottle",
        "complaints.api.throttles.AnonThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("THROTTLE_USER", default="600/min"),
        "anon": env.str("THROTTLE_ANON", default="120/min"),
        "ticket_create": env.str("THROTTLE_TICKET_CREATE", default="10/min"),
        "sign_in": env.str("THROTTLE_SIGN_IN", default="20/min"),
        "chat_start": env.str("THROTTLE_CHAT_START", default="10/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Aduan citizen API",
    "DESCRIPTION": (
        "Submit and follow complaints from a mobile app. Authenticate with "
        "`Authorization: Bearer <token>` from `/api/v1/auth/token/`. Errors are JSON "
        '`{"code", "detail", "fields"?}`; another citizen\'s ticket is 404.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "complaints.api.schema.add_error_responses",
    ],
}

# --- Logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # aiosmtpd logs every SMTP command at INFO ("mail.log").
    "loggers": {"axes": {"level": "WARNING"}, "mail.log": {"level": "WARNING"}},
}

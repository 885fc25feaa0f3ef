"""Settings, read from the environment. Defaults are the embedded setup."""

import contextlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

from studio.env import (
    DEFAULT_CELERY_BROKER_URL,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("STUDIO_DATA_DIR", str(BASE_DIR / "data")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for a development key).")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The studio's public address, used for `url` in run documents and in emails.
STUDIO_BASE_URL = env_str("STUDIO_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # First: its runserver command (TCP_NODELAY) overrides staticfiles' one.
    "runs",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "template_partials",
    # Sign-in throttling: failed sign-ins counted per username and per address.
    "axes",
    # django-ninja: the API docs page served with its own vendored Swagger UI (no CDN).
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy (below) and Permissions-Policy on every answer.
    "csp.middleware.CSPMiddleware",
    "runs.middleware.PermissionsPolicyMiddleware",
    # Static files from the web process itself: compressed, with far-future caching
    # of the hashed names collectstatic writes.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A NUL in a URL: 400 before any view (PostgreSQL cannot take one, even to look up).
    "runs.middleware.UnstorableTextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The studio's own 403 and 404 pages, whatever DEBUG says (runs/views/errors.py).
    "runs.views.errors.ErrorPagesMiddleware",
    # Last: answers a locked-out sign-in with runs.views.signin.locked_out.
    "axes.middleware.AxesMiddleware",
]
CSRF_FAILURE_VIEW = "runs.views.errors.csrf_failure"

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"
ASGI_APPLICATION = "studio.asgi.application"

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
                # {{ CSP_NONCE }} for an inline script that must stay inline (none yet).
                "csp.context_processors.nonce",
            ],
        },
    },
]


def _databases() -> dict:
    url = env_str("DATABASE_URL")
    if url:
        try:
            db = dj_database_url.parse(url, conn_max_age=env_int("CONN_MAX_AGE", 60))
        except ValueError as exc:
            raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
        if db["ENGINE"] == "django.db.backends.sqlite3":
            db["OPTIONS"] = _SQLITE_OPTIONS
        elif db["ENGINE"] == "django.db.backends.postgresql":
            db["OPTIONS"] = {**_POSTGRESQL_OPTIONS, **db.get("OPTIONS", {})}
        return {"default": db}
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "studio.sqlite3",
            "OPTIONS": _SQLITE_OPTIONS,
            # Tests use a real file (WAL and locking as in production, unlike an
            # in-memory database); one per process, so parallel runs never share it.
            "TEST": {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }


# Statements bound on the server, and prepared from their fifth use on a connection:
# PostgreSQL then plans the per-request queries (token, run, membership) once per
# connection instead of once per query (get run at a million runs: 3.7 -> 2.0 ms).
# Django leaves preparing off by default for transaction-mode poolers: behind such a
# pooler, `?server_side_binding=false` in DATABASE_URL turns both off (docs/deploy.md).
_POSTGRESQL_OPTIONS = {"server_side_binding": True, "prepare_threshold": 5}


# WAL lets readers run beside one writer; IMMEDIATE takes the write lock at BEGIN,
# so concurrent writers queue on the busy timeout instead of failing with
# "database is locked" when a read transaction tries to upgrade. The page cache is a
# connection's, and a gthread worker holds a connection a thread: 16 MB each keeps a
# worker's memory bounded (64 MB had let one grow to 229 MB, no faster: bench/README.md).
_SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": (
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA busy_timeout=30000;"
        "PRAGMA cache_size=-16000;"
        "PRAGMA temp_store=MEMORY;"
    ),
}

DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username or address before any password is tried.
    "runs.views.signin.SignInThrottle",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling (django-axes; runs/views/signin.py): this many failures in a row for
# a username, or from an address, lock it out for so many minutes.
STUDIO_LOGIN_FAILURE_LIMIT = env_int("STUDIO_LOGIN_FAILURE_LIMIT", 10)
STUDIO_LOGIN_LOCKOUT_MINUTES = env_float("STUDIO_LOGIN_LOCKOUT_MINUTES", 15.0)
AXES_FAILURE_LIMIT = STUDIO_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=STUDIO_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "runs.views.signin.locked_out"
AXES_CLIENT_IP_CALLABLE = "runs.views.signin.client_ip"
# Failures are counted; successful sign-ins are not logged as access records. Lockouts
# are logged as warnings; the start-up banner and each failure's info line are not.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "runs:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "staticfiles")))
# WhiteNoise serves from it (and warns when it is missing, as before a collectstatic).
with contextlib.suppress(OSError):  # a read-only image, the files collected elsewhere
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))


def _storages() -> dict:
    """Run files on the local disk (MEDIA_ROOT) or, with S3_BUCKET, in an S3-compatible
    object store (credentials from boto3's usual AWS_ACCESS_KEY_ID /
    AWS_SECRET_ACCESS_KEY); static files hashed and compressed for WhiteNoise."""
    bucket = env_str("S3_BUCKET")
    if bucket:
        default = {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
                "region_name": env_str("S3_REGION") or None,
                "location": env_str("S3_PREFIX").strip("/"),
                # Files are streamed by the studio after a permission check, never linked.
                "default_acl": None,
                "querystring_auth": True,
            },
        }
    else:
        default = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    # Hashed names need `collectstatic`; with DEBUG the files come from their folders.
    static = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    return {"default": default, "staticfiles": {"BACKEND": static}}


STORAGES = _storages()
# Metric batches and file uploads can be large; the API enforces its own caps.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 64 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024
STUDIO_MAX_UPLOAD_BYTES = env_int("STUDIO_MAX_UPLOAD_BYTES", 512 * 1024 * 1024)

# The API docs (/api/docs) and schema (/api/openapi.json) need a signed-in user or a
# token; off, anyone who reaches the studio reads them. On unless DEBUG.
STUDIO_API_DOCS_LOGIN = env_bool("STUDIO_API_DOCS_LOGIN", not DEBUG)

# Images in run descriptions from any http(s) host; off: only from the studio itself
# (its own files and pages), so that opening a run tells no other server who looked.
STUDIO_REMOTE_IMAGES = env_bool("STUDIO_REMOTE_IMAGES", False)

# The API's request budget per token (runs/api/throttle.py): so many requests a window of
# so many seconds, then 429 with Retry-After; 0 turns it off. A long run's ingest (a
# metric batch every 0.5 s, heartbeats every second) uses a few a second; a sweep of
# short runs two a run (create, and the end with the last points).
STUDIO_API_RATE_LIMIT = env_int("STUDIO_API_RATE_LIMIT", 30000)
STUDIO_API_RATE_WINDOW = env_float("STUDIO_API_RATE_WINDOW", 60.0)


def _caches() -> dict:
    """Django's cache: Redis with CACHE_URL (shared by every web process: the API budget
    counts across them), else each process's memory."""
    url = env_str("CACHE_URL")
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ImproperlyConfigured(f"CACHE_URL={url!r} is not a redis:// URL")
        return {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
        }
    return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


CACHES = _caches()

# Runs whose heartbeat is older than this are marked Failed (HeartbeatLost).
STUDIO_HEARTBEAT_TIMEOUT = env_float("STUDIO_HEARTBEAT_TIMEOUT", 120.0)
# SQLite: how often (seconds, per process) a new connection checks whether the query
# planner's statistics are stale and refreshes them (runs.services.maintenance); 0: never.
STUDIO_DB_OPTIMIZE_INTERVAL = env_float("STUDIO_DB_OPTIMIZE_INTERVAL", 600.0)
# PostgreSQL: the planner's max_parallel_workers_per_gather on the studio's connections
# (runs.services.maintenance); 0: no parallel plans; negative: the server's own setting.
DATABASE_PARALLEL_WORKERS = env_int("DATABASE_PARALLEL_WORKERS", 0)

# Email: SMTP when EMAIL_HOST is set; otherwise each message is written to a file
# under EMAIL_FILE_PATH, which the Alerts page's Outbox tab shows (the embedded setup).
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "runs.notifications.mailbox.EmailBackend",
)
EMAIL_HOST = EMAIL_HOST or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")
# Seconds an SMTP conversation may stall before the sender gives up and retries later.
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10.0)
EMAIL_FILE_PATH = Path(env_str("EMAIL_FILE_PATH", str(DATA_DIR / "mail")))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "studio@localhost")

# Notifications: the children of one parent whose status changes within this many
# seconds go out as one message per rule and recipient.
STUDIO_NOTIFY_GROUP_SECONDS = env_float("STUDIO_NOTIFY_GROUP_SECONDS", 60.0)
# Retries: the first after this many seconds, doubling up to the cap, at most so many tries.
STUDIO_NOTIFY_RETRY_SECONDS = env_float("STUDIO_NOTIFY_RETRY_SECONDS", 5.0)
STUDIO_NOTIFY_RETRY_MAX_SECONDS = env_float("STUDIO_NOTIFY_RETRY_MAX_SECONDS", 3600.0)
STUDIO_NOTIFY_MAX_ATTEMPTS = env_int("STUDIO_NOTIFY_MAX_ATTEMPTS", 20)
# Seconds a webhook may take to answer.
STUDIO_WEBHOOK_TIMEOUT = env_float("STUDIO_WEBHOOK_TIMEOUT", 10.0)
# Webhooks reach public addresses only, and these networks (CIDR, comma-separated:
# "10.20.0.0/16,192.168.5.7/32"), checked after DNS resolution at each delivery.
STUDIO_WEBHOOK_ALLOWED_NETWORKS = env_networks("STUDIO_WEBHOOK_ALLOWED_NETWORKS")
# Queue the sender as a Celery task when a status change writes notifications (with a
# Celery worker running `celery -A studio worker -B`); off: runworker or
# `manage.py send_notifications --loop` sends them.
STUDIO_NOTIFY_CELERY = env_bool("STUDIO_NOTIFY_CELERY", False)

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", DEFAULT_CELERY_BROKER_URL)
CELERY_TASK_ACKS_LATE = True

# Submitted runs (runs.executors): the snapshot caps a worker unpacks within, where it
# unpacks them, and how long a cancelled script has between SIGTERM and SIGKILL.
STUDIO_SNAPSHOT_MAX_FILES = env_int("STUDIO_SNAPSHOT_MAX_FILES", 2000)
STUDIO_SNAPSHOT_MAX_BYTES = env_int("STUDIO_SNAPSHOT_MAX_BYTES", 100 * 1024 * 1024)
STUDIO_SNAPSHOT_MAX_RATIO = env_int("STUDIO_SNAPSHOT_MAX_RATIO", 100)
STUDIO_WORKER_DIR = Path(env_str("STUDIO_WORKER_DIR", str(DATA_DIR / "worker")))
STUDIO_CANCEL_GRACE = env_float("STUDIO_CANCEL_GRACE", 2.0)

# Production hardening: on unless DEBUG; `manage.py check --deploy` passes with
# DEBUG off, a real SECRET_KEY and HTTPS in front.
SECURE_CONTENT_TYPE_NOSNIFF = True
# Django's database sessions, their read written once (runs/sessions.py).
SESSION_ENGINE = "runs.sessions"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts only from the studio's own files (and an
# inline script carrying the request's nonce), never inline or eval'd, so markup that
# slipped past every other defence still runs nothing. Styles from the studio's files;
# style attributes (a row's indent, a bar's width) are allowed, <style> elements are not.
# Images from the studio (and data: URIs, which Swagger UI's icons are), or any http(s)
# host with STUDIO_REMOTE_IMAGES. The studio frames nothing and is framed by nothing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", *(["https:", "http:"] if STUDIO_REMOTE_IMAGES else [])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "frame-src": ["'none'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Drops Django's own DEBUG-only console handler, which printed every
        # django.* line a second time beside the root handler they propagate to.
        "django": {"handlers": [], "level": "INFO"},
        "django.db.backends": {"level": "INFO"},
    },
}

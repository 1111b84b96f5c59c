"""Django settings, read from environment variables.

SQLite file in the data directory by default (``CIVICBUDGET_DATA_DIR``, default
``./civicbudget-data``); PostgreSQL when ``DATABASE_URL`` is set. ``CIVICBUDGET_ENV=production``
switches on the secure defaults that ``manage check --deploy`` asks for.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("CIVICBUDGET_DATA_DIR", Path.cwd() / "civicbudget-data")).resolve()
PRODUCTION = os.environ.get("CIVICBUDGET_ENV", "development") == "production"


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    key = os.environ.get("CIVICBUDGET_SECRET_KEY") or os.environ.get("SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise RuntimeError("CIVICBUDGET_SECRET_KEY must be set when CIVICBUDGET_ENV=production")
    # Development and demo: a random key kept in the data directory, so sessions
    # survive a restart and no key is ever committed.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

SMS_BACKENDS = ("disabled", "file", "console", "http")


def sms_backend(environ, production: bool) -> str:
    """Return the SMS backend the environment asks for, refusing unsafe ones in production.

    Production defaults to ``disabled`` (nothing is sent; online voting says so and the
    error is logged) rather than to a backend that writes phones and codes somewhere local.
    """
    from django.core.exceptions import ImproperlyConfigured

    backend = (environ.get("CIVICBUDGET_SMS_BACKEND") or ("disabled" if production else "file")).strip().lower()
    if backend not in SMS_BACKENDS:
        raise ImproperlyConfigured(
            f"CIVICBUDGET_SMS_BACKEND={backend!r} is not one of {', '.join(SMS_BACKENDS)}.")
    insecure = (environ.get("CIVICBUDGET_ALLOW_INSECURE_SMS") or "").strip().lower() in {"1", "true", "yes", "on"}
    if production and backend in ("file", "console") and not insecure:
        where = "a file in the data directory" if backend == "file" else "the server's output"
        raise ImproperlyConfigured(
            f"CIVICBUDGET_SMS_BACKEND={backend} writes phone numbers and voting codes to {where}; "
            "CIVICBUDGET_ENV=production refuses it. Set CIVICBUDGET_SMS_BACKEND=http with "
            "CIVICBUDGET_SMS_URL (your gateway), or disabled; only for a test server, set "
            "CIVICBUDGET_ALLOW_INSECURE_SMS=1 to override.")
    if backend == "http" and not environ.get("CIVICBUDGET_SMS_URL"):
        raise ImproperlyConfigured("CIVICBUDGET_SMS_BACKEND=http needs CIVICBUDGET_SMS_URL (the gateway's URL).")
    return backend


SMS_BACKEND = sms_backend(os.environ, PRODUCTION)
SMS_URL = os.environ.get("CIVICBUDGET_SMS_URL", "")
SMS_TOKEN = os.environ.get("CIVICBUDGET_SMS_TOKEN", "")
# A separate key for the keyed hashes of identity numbers and phones, so rotating the
# session key does not orphan every stored hash.
IDENTITY_HMAC_KEY = os.environ.get("CIVICBUDGET_IDENTITY_KEY", SECRET_KEY)
DEBUG = _env_bool("CIVICBUDGET_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("CIVICBUDGET_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
# Proxies (IPs or CIDRs) whose X-Forwarded-For is believed: civicbudget.clientaddr, docs/operations.md.
CIVICBUDGET_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("CIVICBUDGET_TRUSTED_PROXIES", "").split(",") if p.strip()
]
for _proxy in CIVICBUDGET_TRUSTED_PROXIES:
    ipaddress.ip_network(_proxy, strict=False)  # a typo stops the start, with the value named
# Overrides of civicbudget.ratelimit.LIMITS, e.g. "sms_per_client_per_hour=50,rating_per_phone_per_day=10".
CIVICBUDGET_RATE_LIMITS = {
    name.strip(): int(value)
    for name, _sep, value in (
        item.partition("=") for item in os.environ.get("CIVICBUDGET_RATE_LIMITS", "").split(",") if item.strip()
    )
}
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CIVICBUDGET_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Before the civicbudget apps: axes's failed-login receiver runs first, so the audit
    # receiver in accounts sees whether axes counted the attempt or refused it as locked.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # the API docs page's scripts from our own static files, not a CDN
    "civicbudget.accounts",
    "civicbudget.audit",
    "civicbudget.places",
    "civicbudget.cycles",
    "civicbudget.proposals",
    "civicbudget.deliberation",
    "civicbudget.voting",
    "civicbudget.paper",
    "civicbudget.results",
    "civicbudget.delivery",
    "civicbudget.outreach",
    "civicbudget.notifications",
    "civicbudget.partners",
    "civicbudget.opendata",
    "civicbudget.paperaudit",
    "civicbudget.web",
    "civicbudget.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "civicbudget.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "civicbudget.outreach.sources.OutreachSourceMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "civicbudget.web.middleware.OutOfRangeIdMiddleware",
    "civicbudget.web.middleware.PermissionDeniedMiddleware",
    "civicbudget.web.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

# Scripts and everything else only from this site: an injected <script> or an outside
# script does not run. Inline style attributes stay allowed (the templates use a few).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

ROOT_URLCONF = "civicbudget.urls"
WSGI_APPLICATION = "civicbudget.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "civicbudget.web.context.staff_roles",
            ],
        },
    },
]

_default_sqlite = f"sqlite:///{DATA_DIR / 'civicbudget.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_sqlite),
        conn_max_age=int(os.environ.get("CIVICBUDGET_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the demo server's threads and a CLI command share the file.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        # secure_delete: a ballot's row in the open batch is overwritten when its batch is
        # written, so a copy of the file does not keep the order ballots came in.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;",
    }
    # Tests use a real file too, so threads and the live server share it as in production.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:staff-login"
LOGIN_REDIRECT_URL = "web:staff-home"
LOGOUT_REDIRECT_URL = "web:home"

# Every account is a staff account: 12 characters at least, not common, not all digits, not
# like the user name, and never the printed demo password.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "civicbudget.accounts.security.NotDemoPasswordValidator"},
]

# django-axes counts failed logins (docs/operations.md, docs/decisions/0012): the 10th wrong
# password in a row for a user name, from anywhere or from one address, locks it for 30
# minutes; a successful login resets the count. Every failure lands in the audit trail.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "civicbudget.accounts.backends.StaffBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("CIVICBUDGET_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = dt.timedelta(
    minutes=int(os.environ.get("CIVICBUDGET_LOGIN_COOLOFF_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = ["username", ["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
# Guessing on during a lock-out does not prolong it (an attacker could keep an officer out).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "civicbudget.accounts.security.axes_username"
AXES_CLIENT_IP_CALLABLE = "civicbudget.accounts.security.client_ip"
AXES_LOCKOUT_TEMPLATE = "web/staff/locked.html"
AXES_DISABLE_ACCESS_LOG = True  # successful logins need no second table of addresses
AXES_VERBOSE = False

# Two-factor sign-in (django-otp, TOTP): required for operators and district admins.
OTP_TOTP_ISSUER = os.environ.get("CIVICBUDGET_OTP_ISSUER", "civicbudget")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("CIVICBUDGET_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
# The site's public address as residents type it: printed on posters and in QR codes when
# the kit is written from the command line (the back-office uses the address it was asked on).
PUBLIC_URL = os.environ.get("CIVICBUDGET_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
USE_TZ = True

STATIC_URL = "static/"
# Set only where `civicbudget manage collectstatic` is used (e.g. behind a CDN).
STATIC_ROOT = os.environ.get("CIVICBUDGET_STATIC_ROOT") or None
# Static files come straight from the package (no collectstatic step), so the demo
# starts fast and every server of a cluster serves the same files.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("CIVICBUDGET_MEDIA_ROOT", DATA_DIR / "media"))
MEDIA_URL = "media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
if os.environ.get("CIVICBUDGET_TASKS_BACKEND", "database") == "database":
    # Tasks wait in the database until `civicbudget manage db_worker` runs them (docs/results.md).
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _env_bool("CIVICBUDGET_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("CIVICBUDGET_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CIVICBUDGET_LOG_LEVEL", "INFO")},
    "loggers": {
        # Request lines can carry query strings with phone numbers: keep them out.
        "django.server": {"level": "WARNING"},
        "gunicorn.access": {"level": "WARNING"},
    },
}

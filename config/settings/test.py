"""Test overrides only: fast hashing, eager Celery, in-memory channel layer."""

from config.settings.base import *  # noqa: F403
from config.settings.base import ALLOWED_HOSTS, DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Thread tests open one connection per thread; a pool per test run is not needed there.
if "pool" in DATABASES["default"].get("OPTIONS", {}):
    del DATABASES["default"]["OPTIONS"]["pool"]
# Static files come from the app folders (no collectstatic before tests).
STATIC_ROOT = None  # type: ignore[assignment]
WHITENOISE_USE_FINDERS = True
# Provider inbound mail webhooks with the samples' secrets (MANIFEST test_secrets).
ANYMAIL = {
    "WEBHOOK_SECRET": "pengaduan:Rahasia-Basic-Auth-2026",
    "MAILGUN_WEBHOOK_SIGNING_KEY": "uji-mailgun-signing-key-0001",
}

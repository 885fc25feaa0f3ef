"""Loaded with -p before Django is set up: the environment the tests run in."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# A connection a request: the live server's threads (one per keep-alive client
# connection) then hold no database connection between requests, and the test
# databases can be dropped at the end.
os.environ.setdefault("CONN_MAX_AGE", "0")
# The Celery executor's tests use a real Redis: a database of its own (never FLUSHALL).
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/9")

"""gunicorn's settings, from the environment:

    gunicorn -c studio/gunicorn.py studio.wsgi

GUNICORN_WORKERS processes (default: 2 a core, plus one) of GUNICORN_THREADS threads
(default 4: the SDK keeps connections open, which threads serve without holding a
process), bound to GUNICORN_BIND (default 0.0.0.0:8000). A worker is replaced after
about GUNICORN_MAX_REQUESTS requests, which bounds its memory.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.env import env_int, env_str  # noqa: E402

bind = env_str("GUNICORN_BIND", "0.0.0.0:8000")
workers = env_int("GUNICORN_WORKERS", 2 * (os.cpu_count() or 1) + 1)
threads = env_int("GUNICORN_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"
timeout = env_int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
max_requests = env_int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = max_requests // 10
accesslog = env_str("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
# The application is loaded once, before the workers fork: they share its memory.
preload_app = True

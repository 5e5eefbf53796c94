"""Gunicorn settings of the portal's web nodes: `gunicorn -c gunicorn.conf.py`.

Every value comes from the environment so that one file serves a laptop and a web node; see
README.md, "Producción". The portal is synchronous (Django ORM, WeasyPrint, pyHanko), so it runs
sync workers, each with a few threads for requests that wait on the TSA or the OCSP responder.
"""

import multiprocessing
import os
from pathlib import Path

wsgi_app = "isseg_portal.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Workers: one process per core plus one by default; each bounded in memory by max_requests.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread" if threads > 1 else "sync"
# A worker is replaced after this many requests (with jitter so they do not all restart at
# once): the contract render and the signature validation allocate a lot, and Python returns
# little of it to the system.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 1000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 100))
# The longest request is a signature's preparation: render, time-stamp and OCSP, each bounded
# by SIGNATURES_HTTP_TIMEOUT (10 s). Past this a worker is killed and its request gets a 502.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))

# Requests larger than this never reach Django (the largest upload is a 20 MB PDF on /verificar/).
limit_request_line = 4094
limit_request_fields = 100

# The load balancer's address, whose X-Forwarded-* headers gunicorn believes.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Django logs every request as one JSON line with its request id (isseg_portal.logging); the
# access log would repeat it with the raw path, which can carry a survey's or a folio's token.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Where workers keep their heartbeat files: a memory file system (GUNICORN_WORKER_TMP_DIR, e.g.
# the node's /dev/shm) when the default temporary directory is on a disk that may stall.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None
proc_name = "isseg-portal"
# The control socket of `gunicornc` (status, worker count, reload): in the portal's own var/
# (ISSEG_VAR_DIR), one per checkout, readable by its user only; never gunicorn's default of
# $XDG_RUNTIME_DIR or ~/.gunicorn/, which two portals of one user would share (the second
# one to start takes it from the first).
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or str(
    Path(os.environ.get("ISSEG_VAR_DIR") or Path(__file__).resolve().parent / "var")
    / "gunicorn.ctl"
)
control_socket_mode = 0o600

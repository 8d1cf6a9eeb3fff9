"""gunicorn settings for the portal (`gunicorn -c deploy/gunicorn.conf.py portal.wsgi`).

Why these values:
- sync workers: every request is short (webhooks store a row and answer 202;
  the widget answers from the shared cache when warm) and a cold widget call
  blocks on RetailCRM for at most its deadline, so threads buy little and sync
  workers keep Django's per-thread DB connections simple;
- workers = 2 x cores (at least 2): measured best on a 2-core box (bench/load.py);
  `WEB_CONCURRENCY` overrides it;
- timeout 30 s: above the widget's cold deadline, below the proxy's;
- max_requests with jitter recycles workers so a slow leak never grows;
- child_exit folds a finished worker's metrics files into one archive
  (PROMETHEUS_MULTIPROC_DIR, deploy/README.md "Monitoring");
- access log to stdout: journald or the container runtime keeps it. The
  log format carries no query string, because a signed widget link is
  a credential.
"""

import multiprocessing
import os

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, 2 * multiprocessing.cpu_count())))
# GUNICORN_THREADS > 1 switches to gthread workers (keep-alive connections);
# bench/load.py measures both.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# The proxy (nginx, a load balancer) terminates TLS and sets X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# %(U)s is the path without the query string; a widget link carries its signed
# token in the path, so the access logger below redacts it (the proxy in front
# should keep its own access logs private too).
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


class RedactingLogger(Logger):
    """gunicorn's logger with widget-link tokens cut out of logged paths."""

    def atoms(self, resp, req, environ, request_time):
        from integration.core.log_filters import redact

        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


logger_class = RedactingLogger


def child_exit(server, worker):
    """A worker has exited (recycled after max_requests, or killed): fold its
    metrics files into the host's archive, so the metrics directory does not
    grow by two files per recycled worker (integration.ops.metrics_files)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from integration.ops.metrics_files import process_files_fold

        try:
            process_files_fold(worker.pid, directory)
        except OSError:
            server.log.exception("Could not fold the metrics files of worker %s", worker.pid)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "portal-web"

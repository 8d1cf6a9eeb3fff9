"""The transport that enforces the outbound policy (integration.core.outbound_policy)
on every socket the vendor clients open.

Why at connect time: a base URL checked when the form was saved proves
nothing about the request made an hour later. DNS may answer differently now
(rebinding: public at validation, 169.254.169.254 at connect), so the check
has to run on the very addresses the socket connects to. Here the urllib3
connection resolves the name itself, checks *every* answer, and then connects
to the checked address literally, so no second look-up can slip in between.
TLS still verifies the certificate against the host *name* (only the socket
is ours; SNI and hostname checks are urllib3's).

Why a small custom urllib3 connection rather than a library: `advocate`
(the classic requests wrapper) was last released in 2020 for urllib3 1.x and
patches its internals; `requests-hardened` brings its own configuration
model and changes more than the address check. The project needs exactly
three things that neither expresses directly (loopback only in development,
an allow-list by host *name* that also opens private addresses, and our own
error tree), and the override is one method (`_new_conn`) of urllib3's public
connection classes, installed through requests' documented adapter hook.

Connections are kept alive across clients: every client used to build its
own session, so each card opened a new connection per request (measured:
DNS, socket and connect were the largest single cost of our own time per
card against the emulator, and against a real HTTPS account each is a TLS
handshake: one or two more round-trips before the first byte). The pools
are shared per process (`_shared_pool_manager`), a child process never
keeps its parent's sockets (`os.register_at_fork`), and a socket idle
longer than `REUSE_IDLE_SECONDS` is closed and opened afresh, through the
same check, rather than reused: well inside any server's keep-alive, so a
request (a POST, which is never retried) does not meet a socket the server
already closed, and a policy change reaches new sockets within a second.

Also here, because the session is where they happen:
- redirects to another origin are refused before anything is sent there (a
  same-origin redirect is followed for GETs: same origin, same key scope,
  and its socket is checked like any other);
- environment proxies and `.netrc` are ignored (`trust_env = False`): a
  proxy would make the address check judge the proxy, and `.netrc` would
  attach someone else's credentials.
"""

import os
import socket
import sys
import threading
import time
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from integration.core import outbound_policy as policy

MAX_REDIRECTS = 3
REUSE_IDLE_SECONDS = 1.0
REUSE_MAX_AGE_SECONDS = 60.0  # however busy, a socket is checked again this often
SHARED_POOLS = 64  # hosts kept at once (one per vendor account)


class _GuardedConnectionMixin:
    """`_new_conn` that resolves, checks every address, then connects to a
    checked address (never to the name again)."""

    def _new_conn(self) -> socket.socket:
        host = self._dns_host.lower().rstrip(".")
        try:
            answers = policy.resolve(host, self.port, urllib3_connection.allowed_gai_family())
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        last_error = None
        for *_, sockaddr in answers:
            try:
                sock = urllib3_connection.create_connection(
                    (sockaddr[0], self.port), self.timeout,
                    source_address=self.source_address, socket_options=self.socket_options,
                )
            except TimeoutError as error:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. "
                          f"(connect timeout={self.timeout})") from error
            except OSError as error:
                last_error = error
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _FreshSocketsPoolMixin:
    """A pooled socket idle longer than REUSE_IDLE_SECONDS, or older than
    REUSE_MAX_AGE_SECONDS however busy, is closed; the connection then opens
    a new one (through `_new_conn`, so resolved and checked again) when used.
    The age limit matters under steady traffic: the pool hands out the
    socket used last, so without it one busy socket would never be checked
    again."""

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        now = time.monotonic()
        idle_since = getattr(conn, "portal_idle_since", None)
        born = getattr(conn, "portal_socket_born", None)
        if (idle_since is not None and now - idle_since > REUSE_IDLE_SECONDS) or (
                born is not None and now - born > REUSE_MAX_AGE_SECONDS):
            conn.close()
        return conn

    def _put_conn(self, conn):
        if conn is not None:
            now = time.monotonic()
            conn.portal_idle_since = now
            sock = getattr(conn, "sock", None)
            if sock is None:
                conn.portal_socket_born = None
            elif getattr(conn, "portal_socket_id", None) != id(sock):
                conn.portal_socket_id, conn.portal_socket_born = id(sock), now
        super()._put_conn(conn)


class GuardedHTTPConnectionPool(_FreshSocketsPoolMixin, HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(_FreshSocketsPoolMixin, HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


_shared_managers: dict = {}
_shared_lock = threading.Lock()


def _forget_parent_sockets():
    _shared_managers.clear()


os.register_at_fork(after_in_child=_forget_parent_sockets)


def _shared_pool_manager(maxsize: int, block: bool, **pool_kwargs) -> PoolManager:
    """The process's pool manager for these pool settings (see the module
    docstring): sockets are pooled per scheme, host and port, never per
    tenant; requests carry their own key header."""
    key = (maxsize, block, tuple(sorted(pool_kwargs.items())))
    with _shared_lock:
        manager = _shared_managers.get(key)
        if manager is None:
            manager = PoolManager(num_pools=SHARED_POOLS, maxsize=maxsize, block=block,
                                  **pool_kwargs)
            manager.pool_classes_by_scheme = {
                "http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool,
            }
            _shared_managers[key] = manager
        return manager


class GuardedAdapter(HTTPAdapter):
    """requests adapter whose pools open only policy-checked sockets, shared
    by every client of the process."""

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        self._pool_connections, self._pool_maxsize, self._pool_block = (
            connections, maxsize, block)
        self.poolmanager = _shared_pool_manager(maxsize, block, **pool_kwargs)

    def close(self):
        """The pools are the process's, not this adapter's: left open."""
        for proxy in self.proxy_manager.values():
            proxy.clear()

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise policy.Refused(policy.ADDRESS, "proxies are not used for vendor calls")


class GuardedSession(requests.Session):
    """A session that never leaves the origin it was asked for."""

    def __init__(self):
        super().__init__()
        self.trust_env = False
        self.max_redirects = MAX_REDIRECTS

    def get_redirect_target(self, response):
        target = super().get_redirect_target(response)
        if target:
            absolute = urljoin(response.url, target)
            if policy.origin_of(absolute) != policy.origin_of(response.url):
                response.close()  # give the socket back; nothing more is read
                raise policy.Refused(policy.REDIRECT, "to another origin")
        return target


def guarded_session(adapter: HTTPAdapter) -> GuardedSession:
    session = GuardedSession()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

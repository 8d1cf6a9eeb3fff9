"""Where the portal may send a vendor request: the one definition.

Why it exists: a shop admin types the vendor's base URL, and the portal then
sends that shop's API key there, from inside our network. Without rules a URL
is a way to make the portal call anything it can reach (server-side request
forgery): the cloud metadata service at 169.254.169.254, a database on a
private address, the portal itself on loopback. The rules:

- **https only**; plain http only in development (`OUTBOUND_DEV_MODE`, which
  follows `DEBUG` as the process started) or for a host named in
  `OUTBOUND_ALLOWED_HOSTS`;
- **public addresses only**: loopback, private, link-local, shared (CGN),
  reserved, multicast and unspecified addresses are refused, also when they
  hide inside an IPv6 form (`::ffff:127.0.0.1`, 6to4, Teredo, NAT64).
  Development allows loopback (any port: the emulators run there); private,
  link-local and metadata addresses stay refused even then, unless the host
  is in the allow-list;
- **metadata host names** (`metadata.google.internal`, `*.internal`...) are
  refused whatever they resolve to, allow-list or not;
- **no user-info** (`https://user:pass@host`): credentials travel in their
  own fields, never in a URL that ends up in headers and logs.

The same rules run twice: when a form is validated (`check_url`, with a DNS
look-up, so a person hears about a bad address at once) and when a socket is
opened (`connect_addresses`, in integration.vendors.outbound), on the very
addresses the socket then connects to. Only the second one is a guarantee:
DNS may answer differently a second later (rebinding).

This module is pure (no requests, no models) so that models, forms and the
transport share it.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

SCHEME = "scheme"
USERINFO = "userinfo"
HOST = "host"
ADDRESS = "address"
REDIRECT = "redirect"
KEY_ORIGIN = "key_origin"

# Cloud metadata services under a name; the addresses they use
# (169.254.169.254, fd00:ec2::254, 100.100.100.200) are refused as
# link-local / private / shared anyway.
METADATA_HOSTS = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data",
    "instance-data.ec2.internal", "metadata.azure.internal", "metadata.tencentyun.com",
})
METADATA_SUFFIXES = (".internal",)
DEFAULT_PORTS = {"http": 80, "https": 443}
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """A URL, address or redirect the policy does not allow. `reason` is one
    of the constants above; the message is for logs, never for people."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"refused by the outbound policy ({reason}){': ' if detail else ''}"
                         f"{detail}")
        self.reason = reason


def dev_mode() -> bool:
    return bool(getattr(settings, "OUTBOUND_DEV_MODE", False))


def allowed_hosts() -> frozenset[str]:
    return frozenset(h.strip().lower().rstrip(".")
                     for h in getattr(settings, "OUTBOUND_ALLOWED_HOSTS", []) if h.strip())


def _hostname(parts) -> str:
    try:
        return (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _port(parts) -> int | None:
    try:
        return parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None


def origin_of(url: str) -> str:
    """`scheme://host:port` of a URL (default port filled in, host lower
    case, user-info dropped): what a stored key is bound to. "" when the URL
    has no usable host."""
    parts = urlsplit((url or "").strip())
    host, port = _hostname(parts), _port(parts)
    if not host or not port:
        return ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}:{port}"


def account_url(url: str) -> str:
    """The origin plus the path of a base URL: one vendor account (two
    sandbox accounts, or two installs under one host, differ by path)."""
    parts = urlsplit((url or "").strip())
    return origin_of(url) + parts.path.rstrip("/")


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _embedded_ipv4(ip):
    """The IPv4 address an IPv6 address stands for, if any."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_class(ip) -> str:
    """"public", "loopback" or "internal" (everything else we refuse)."""
    inner = _embedded_ipv4(ip)
    if inner is not None:
        return address_class(inner)
    if ip.is_loopback:
        return "loopback"
    if (ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global):
        return "internal"
    return "public"


def check_address(host: str, address: str) -> None:
    """Raise `Refused` unless the portal may connect to `address` for `host`."""
    ip = _ip(address)
    if ip is None:
        raise Refused(ADDRESS, "not an IP address")
    if host in allowed_hosts():
        return
    kind = address_class(ip)
    if kind == "public" or (kind == "loopback" and dev_mode()):
        return
    raise Refused(ADDRESS, f"{kind} address")


def _check_host_name(host: str) -> None:
    if not host:
        raise Refused(HOST, "no host")
    if host in METADATA_HOSTS or host.endswith(METADATA_SUFFIXES):
        raise Refused(HOST, "metadata host")


def resolve(host: str, port: int, family: int = socket.AF_UNSPEC) -> list[tuple]:
    """Every address `host` resolves to, each checked; raises `Refused` when
    any is refused (a name that also points inside is no vendor) and
    `socket.gaierror` when the name does not resolve.

    Looked up through `socket.getaddrinfo` at call time, so tests can answer
    for a name of their own."""
    _check_host_name(host)
    literal = _ip(host)
    if literal is not None:
        check_address(host, str(literal))
    answers = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    for *_, sockaddr in answers:
        check_address(host, sockaddr[0])
    return answers


def check_url(url: str, *, resolve_host: bool = False) -> None:
    """Raise `Refused` for a base URL the portal must not use.

    Static checks always (scheme, user-info, metadata names, literal
    addresses); with `resolve_host` the name is looked up too and every
    answer checked (a name that does not resolve passes: the connection test
    then says "unreachable")."""
    raw = (url or "").strip()
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    host = _hostname(parts)
    if "@" in parts.netloc or parts.username or parts.password:
        raise Refused(USERINFO)
    if scheme == "https" or (scheme == "http" and (dev_mode() or host in allowed_hosts())):
        pass
    else:
        raise Refused(SCHEME, scheme or "none")
    _check_host_name(host)
    port = _port(parts)
    if port is None:
        raise Refused(HOST, "bad port")
    literal = _ip(host)
    if literal is not None:
        check_address(host, str(literal))
    elif resolve_host:
        try:
            resolve(host, port)
        except (socket.gaierror, UnicodeError, OSError):
            pass

"""The client's address, as far as it can be trusted.

Behind the documented reverse proxy every request arrives from the proxy's
address, so counting refused logins or webhook secrets per `REMOTE_ADDR`
would put every client in one bucket (and let anyone lock out everyone).
Each proxy appends the address it received the request from to
`X-Forwarded-For`; whatever a client wrote there itself stays to the left.
So the client is the entry `TRUSTED_PROXY_COUNT` places from the right,
and only when the request really comes from a trusted proxy
(`FORWARDED_ALLOW_IPS`, the list gunicorn trusts too): a client that reaches
the server directly cannot name its own address.

Why not django-ipware (django-axes' optional helper): it cannot check that
`REMOTE_ADDR` is a proxy at all, and its chain parser honours quotes, so a
client that sends `X-Forwarded-For: "x` swallows the entry the proxy
appended after it. A split on commas counted from the right has neither
problem. django-axes (the admin login lock-out, `AXES_CLIENT_IP_CALLABLE`)
and the webhook receivers use this one definition.
"""

import ipaddress

from django.conf import settings


def _trusted_proxy(address: str) -> bool:
    allowed = settings.FORWARDED_ALLOW_IPS
    return "*" in allowed or address_in_networks(address, allowed)


def address_in_networks(address: str, networks) -> bool:
    """Whether an IP address falls in any of the networks ("10.0.0.0/8",
    "127.0.0.1"); an entry that is not a network is skipped, and a value
    that is not an address is in none."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in networks:
        try:
            if ip in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request) -> str:
    """The address of the client that made `request`; the nearest proxy's
    own address when the forwarded chain is missing, too short or not an
    address where the proxies wrote it."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0 or not _trusted_proxy(remote):
        return remote
    chain = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(chain) < count:
        return remote
    try:
        return str(ipaddress.ip_address(chain[-count].strip()))
    except ValueError:
        return remote

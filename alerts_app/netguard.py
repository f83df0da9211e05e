"""Keep webhooks off loopback and private networks, so a rule cannot probe the inside.

Checked twice: when a channel is saved (`webhook_url_error`) and on every connection a
transport opens (`GuardedAdapter`): the address actually dialled is the one that was
checked, so a name that re-resolves to 127.0.0.1 after validation (DNS rebinding) is
still refused. `MODELWATCH_ALLOW_PRIVATE_WEBHOOKS=1` lifts both checks (the embedded
`make run` and tests with a local receiver set it).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class PrivateAddressError(OSError):
    """The target resolves to an address on loopback or a private network."""


def private_allowed() -> bool:
    return bool(getattr(settings, "MODELWATCH_ALLOW_PRIVATE_WEBHOOKS", False))


# IPv6 prefixes whose last 32 bits are an IPv4 address that a translator or the host's
# own stack may dial: IPv4-compatible (::a.b.c.d, deprecated), IPv4-translated (RFC 6052
# ::ffff:0:a.b.c.d) and the NAT64 well-known prefix (RFC 6052 64:ff9b::/96).
LAST_32_BITS_IPV4 = tuple(
    ipaddress.IPv6Network(net) for net in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
# NAT64 local-use prefix (RFC 8215): where the IPv4 sits depends on the operator's
# prefix length, so none of it counts as public.
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, compatible, translated,
    NAT64, 6to4 (2002::/16) and Teredo (2001::/32, server and client)."""
    found = [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) for net in LAST_32_BITS_IPV4 if ip in net]
    if ip.ipv4_mapped:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour:
        found.append(ip.sixtofour)
    if ip.teredo:
        found.extend(ip.teredo)
    return found


def is_private_address(address: str) -> bool:
    """Loopback, private, link-local, reserved, multicast or unspecified, including an
    IPv4 address of that kind embedded in an IPv6 one (see `embedded_ipv4`)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL_USE:
            return True
        candidates += embedded_ipv4(ip)
    return any(not c.is_global or c.is_multicast for c in candidates)


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def public_addresses(host: str, port: int) -> list[str]:
    """The addresses of `host`; PrivateAddressError if any of them is not public."""
    addresses = resolve(host, port)
    for address in addresses:
        if is_private_address(address):
            raise PrivateAddressError(f"{host} resolves to {address}, a non-public address")
    return addresses


def webhook_url_error(url: str, allow_private: bool | None = None) -> str | None:
    """Why `url` cannot be a webhook target, or None when it can.

    A name that does not resolve here is accepted (it may resolve where the workers run);
    the send-time check still applies to it.
    """
    try:
        parts = urlsplit(url or "")
        port = parts.port  # ValueError past 65535 or when not a number
    except ValueError:  # also "http://[::1/" (an unclosed bracket)
        return "Enter a valid http:// or https:// URL: its host or port cannot be read."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Enter an http:// or https:// URL with a host."
    if allow_private if allow_private is not None else private_allowed():
        return None
    try:
        public_addresses(parts.hostname, port or 443)
    except PrivateAddressError as exc:
        return (
            f"Refused: {exc}. Webhooks may not target loopback or private networks "
            "(set MODELWATCH_ALLOW_PRIVATE_WEBHOOKS=1 to allow)."
        )
    except (OSError, UnicodeError):
        return None
    return None


class _GuardMixin:
    """Dial only an address that was checked, whatever the name resolves to later."""

    def _new_conn(self):
        if private_allowed():
            return super()._new_conn()
        addresses = public_addresses(self._dns_host, self.port)
        original, self._dns_host = self._dns_host, addresses[0]
        try:
            return super()._new_conn()
        finally:
            self._dns_host = original


class GuardedHTTPConnection(_GuardMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardMixin, HTTPSConnection):
    pass


class GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse non-public addresses."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPPool,
            "https": GuardedHTTPSPool,
        }

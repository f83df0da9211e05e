"""IPv6 addresses that carry an IPv4 one are judged by the IPv4 address they carry."""

import pytest

from alerts_app import netguard

LOOPBACK_IN_IPV6 = [
    "::7f00:1",  # IPv4-compatible ::127.0.0.1
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:0:7f00:1",  # IPv4-translated (RFC 6052)
    "64:ff9b::7f00:1",  # NAT64 well-known prefix
    "64:ff9b::a9fe:a9fe",  # NAT64 to 169.254.169.254 (cloud metadata)
    "2002:7f00:1::1",  # 6to4 around 127.0.0.1
    "2002:a00:1::1",  # 6to4 around 10.0.0.1
    "2001:0:7f00:1::1",  # Teredo whose server is 127.0.0.1
    "2001:0:808:808:0:0:80ff:fffe",  # Teredo whose client is 127.0.0.1 (bits inverted)
    "64:ff9b:1::808:808",  # NAT64 local-use prefix: operator-defined, never public
]
PUBLIC_IN_IPV6 = ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111"]


@pytest.mark.parametrize("address", LOOPBACK_IN_IPV6)
def test_an_ipv6_address_carrying_a_private_ipv4_is_private(address):
    assert netguard.is_private_address(address)


@pytest.mark.parametrize("address", PUBLIC_IN_IPV6)
def test_an_ipv6_address_carrying_a_public_ipv4_stays_public(address):
    assert not netguard.is_private_address(address)


@pytest.mark.parametrize("address", LOOPBACK_IN_IPV6[:6])
def test_a_webhook_url_naming_such_an_address_is_refused(address):
    error = netguard.webhook_url_error(f"http://[{address}]:8080/hook", allow_private=False)
    assert error and error.startswith(f"Refused: {address} resolves to"), error


def test_a_name_resolving_to_such_an_address_is_refused_when_dialled(monkeypatch):
    monkeypatch.setattr(netguard, "resolve", lambda host, port: ["64:ff9b::7f00:1"])
    with pytest.raises(netguard.PrivateAddressError, match="64:ff9b::7f00:1"):
        netguard.public_addresses("hooks.example.com", 443)

"""The address of the client behind a request: the one function rate limits and audits use.

``X-Forwarded-For`` is written by whoever sends the request, so it is believed only when the
socket peer (``REMOTE_ADDR``) is one of ``settings.CIVICBUDGET_TRUSTED_PROXIES``; then the
right-most address that is not itself a trusted proxy is the client (each proxy appends the
peer it saw, so entries further left were written by the client and prove nothing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# A longer chain than any real deployment has proxies is not walked further.
MAX_HOPS = 20


def parse_trusted_proxies(values: Iterable[str] | str) -> list[Network]:
    """Parse IPs and CIDRs (``10.0.0.0/8``, ``127.0.0.1``); raise ValueError naming a bad one."""
    if isinstance(values, str):
        values = values.split(",")
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"CIVICBUDGET_TRUSTED_PROXIES: “{value}” is not an IP address or "
                             "network (e.g. 127.0.0.1 or 10.0.0.0/8)") from None
    return networks


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 client reaching an IPv6 socket shows as ::ffff:a.b.c.d: one client, one address.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Address, proxies: list[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(request: HttpRequest) -> str:
    """Return the client's IP address as text ("" when the socket peer is unknown)."""
    peer = _address(request.META.get("REMOTE_ADDR", "") or "")
    if peer is None:
        return ""
    proxies = parse_trusted_proxies(getattr(settings, "CIVICBUDGET_TRUSTED_PROXIES", []))
    if not proxies or not _trusted(peer, proxies):
        return str(peer)
    hops = (request.META.get("HTTP_X_FORWARDED_FOR", "") or "")[-4096:].split(",")[-MAX_HOPS:]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage left of here was not written by a proxy we trust
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)

"""Who is on the other end: the client address behind trusted reverse proxies only.

`X-Forwarded-For` is believed only when the connection comes from a configured proxy
(`desk.auth.trusted_proxies`); then the right-most address that is not itself a trusted proxy is
the client. Anyone else's header is ignored, so rotating it changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network


def _parse(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address | None, proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in net for net in proxies)


def client_address(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The client's address as text ("unknown" without a peer)."""
    if not peer:
        return "unknown"
    if not forwarded_for or not _trusted(_parse(peer), proxies):
        return peer
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            break  # garbage the trusted proxy passed on: fall back to the last proxy seen
        if not _trusted(address, proxies):
            return str(address)
        peer = str(address)
    return peer


def throttle_key(address: str) -> str:
    """What the log-in throttle counts by: an IPv4 address, or the /64 of an IPv6 one (one
    subscriber gets a whole /64, so single IPv6 addresses are free to rotate)."""
    parsed = _parse(address)
    if not isinstance(parsed, IPv6Address):
        return address
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(IPv6Network((parsed, 64), strict=False))

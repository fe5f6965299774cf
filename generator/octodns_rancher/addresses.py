"""Which addresses may be published: a name in public DNS must lead somewhere from outside.

Some addresses are valid text but never reach the host they come from when another machine
uses them: the machine's own loopback, a link's own link-local addresses, group (multicast) and
broadcast addresses, "any address" (unspecified), and IPv6 forms that only embed an IPv4
address for one machine's own stack or a local translator. rancher-metadata passes these on
when a host's agent IP, its ``io.rancher.host.external_dns_ip`` label or a port's bind IP holds
one (a port bound to ``127.0.0.1`` is not reachable from another machine at all). They are
refused, with the reason, wherever an address is read.

Private ranges (RFC 1918, shared address space, IPv6 unique local addresses) stay allowed:
internal zones served on private networks are common, and those addresses are reachable
there. So are the documentation ranges, which examples and tests use. docs/safety.md lists
the classes.
"""

from __future__ import annotations

import functools
import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv4 classes: (first, last, reason) as integers, checked in this order.
_V4 = tuple(
    (int(net[0]), int(net[-1]), why)
    for net, why in (
        (ipaddress.IPv4Network(text), why)
        for text, why in (
            ("0.0.0.0/8", "unspecified ('this network', RFC 1122), never a destination"),
            ("127.0.0.0/8", "loopback: every machine's own address"),
            ("169.254.0.0/16", "link-local: only meaningful on one link"),
            ("224.0.0.0/4", "multicast: a group address, not a host"),
            ("255.255.255.255/32", "broadcast"),
            ("240.0.0.0/4", "reserved (RFC 1112), not routed"),
        )
    )
)
# IPv6 classes, after the unspecified and loopback addresses.
_V6 = tuple(
    (int(net[0]), int(net[-1]), why)
    for net, why in (
        (ipaddress.IPv6Network(text), why)
        for text, why in (
            ("::ffff:0:0/96", "IPv4-mapped: one machine's own stack's form of an IPv4 address"),
            ("::ffff:0:0:0/96", "IPv4-translated (RFC 2765): used inside a translator only"),
            ("::/96", "IPv4-compatible: deprecated (RFC 4291), not routed"),
            ("64:ff9b::/96", "NAT64 (RFC 6052): synthesised by a local DNS64, not published"),
            ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215): only meaningful in one network"),
            ("fe80::/10", "link-local: only meaningful on one link"),
            ("fec0::/10", "site-local: deprecated (RFC 3879)"),
            ("ff00::/8", "multicast: a group address, not a host"),
        )
    )
)
_SCOPED = "scoped: names one machine's interface, not an address others can use"


def refusal(ip: IPAddress) -> str:
    """'' when ``ip`` may be published, else the class it belongs to and why it is refused."""
    value = int(ip)
    if ip.version == 6:
        if value == 0:
            return "unspecified: 'any address', never a destination"
        if value == 1:
            return "loopback: every machine's own address"
        classes = _V6
    else:
        classes = _V4
    for first, last, why in classes:
        if first <= value <= last:
            return why
    return ""


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> tuple[IPAddress, str]:
    """The address ``text`` holds and its :func:`refusal` (or why a scoped one is refused).

    Raises ValueError like ``ipaddress.ip_address``. Cached: the record rules and the last
    check before rendering read the same few addresses (those of the hosts) many times.
    """
    ip = ipaddress.ip_address(text)
    if ip.version == 6 and ip.scope_id:
        return ip, _SCOPED
    return ip, refusal(ip)


def refusal_of_text(text: str) -> str | None:
    """:func:`refusal` of an address given as text; None when the text is no IP address."""
    try:
        return parse(text)[1]
    except ValueError:
        return None

"""Where a webhook may go: public HTTPS receivers, and internal ones only when allow-listed.

Staff type the URL, so it must not become a way into the platform's own network (SSRF):
loopback, private, link-local, unique-local, multicast, unspecified and reserved addresses
are refused, cloud metadata endpoints always. The rule is applied to every address the host
resolves to, when the profile is saved and again right before each send (DNS can change).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.notify.domain.errors import NotifyRuleViolation

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata services (AWS, GCP, Azure, OpenStack, Alibaba, Oracle): never a receiver,
# whatever the allow-list says; they hand out cloud credentials.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
# IPv6 prefixes that carry an IPv4 address (NAT64); the embedded address is checked too.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class WebhookRefused(NotifyRuleViolation):
    """A webhook URL or address the policy does not admit; the message says why, generically."""

    def __init__(self, message: str) -> None:
        super().__init__("webhook-not-allowed", message)


@dataclass(frozen=True)
class WebhookTarget:
    """The parts of a webhook URL the checks need; ``host`` is lower-case, IDNA-encoded."""

    scheme: str
    host: str
    port: int

    @property
    def origin(self) -> str:
        """Scheme, host and port: what may be shown of a URL that carries a token."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


@dataclass(frozen=True)
class WebhookPolicy:
    """Which receivers are admitted beyond the public internet, and whether over plain HTTP.

    ``allowed_hosts`` are host names (``hooks.intern.example``; ``.intern.example`` for every
    host under it), admitted whatever they resolve to (except metadata addresses);
    ``allowed_networks`` are address ranges. ``allow_http`` admits plain HTTP
    to allow-listed receivers only.
    """

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    allow_http: bool = False

    @classmethod
    def from_entries(cls, entries: Iterable[str], *, allow_http: bool) -> WebhookPolicy:
        """Parse allow-list entries: a host name, ``.domain``, an address or a CIDR range."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if not _looks_like_host(entry):
                    raise ValueError(
                        f"not a host name, address or CIDR range: {entry!r} "
                        "(write international names in their xn-- form)"
                    ) from None
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks), allow_http)

    def host_listed(self, host: str) -> bool:
        return host in self.allowed_hosts or any(
            entry.startswith(".") and host.endswith(entry) for entry in self.allowed_hosts
        )

    def address_listed(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed_networks)


_HOST_ENTRY = re.compile(
    r"\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?"
)


def _looks_like_host(entry: str) -> bool:
    return _HOST_ENTRY.fullmatch(entry) is not None


def target_of(url: str) -> WebhookTarget:
    """Scheme, host and port of ``url``; refused unless it is an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookRefused("The webhook URL cannot be parsed.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("A webhook URL must be https:// with a host name.")
    host = parts.hostname.rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise WebhookRefused("The webhook URL's host name is not a valid domain name.") from exc
    return WebhookTarget(scheme, host, port or (443 if scheme == "https" else 80))


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells out (``127.0.0.1``, ``::1``), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in prefix for prefix in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Reachable on the public internet: not loopback, private, link-local, unique-local,
    shared (CGN), multicast, unspecified, reserved or documentation space."""
    embedded = _embedded_ipv4(address)
    if embedded is not None and not is_public(embedded):
        return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


def check_addresses(
    target: WebhookTarget, addresses: Sequence[IPAddress], policy: WebhookPolicy
) -> None:
    """Admit the target only if every address it resolved to is admitted, then its scheme.

    One bad address refuses the whole host: a client connecting to "any of them" could be
    steered to the bad one. The message names the class of problem, never the address.
    """
    if not addresses:
        raise WebhookRefused("The webhook host did not resolve to any address.")
    host_listed = policy.host_listed(target.host)
    for address in addresses:
        if address in METADATA_ADDRESSES or _embedded_ipv4(address) in METADATA_ADDRESSES:
            raise WebhookRefused("The webhook host resolves to a cloud metadata address.")
        if not (is_public(address) or host_listed or policy.address_listed(address)):
            raise WebhookRefused(
                "The webhook host resolves to an internal or reserved address (loopback, "
                "private, link-local, multicast …); such receivers must be listed in "
                "WEBHOOK_ALLOWED_HOSTS."
            )
    listed = host_listed or all(policy.address_listed(a) for a in addresses)
    if target.scheme != "https" and not (policy.allow_http and listed):
        raise WebhookRefused(
            "A webhook URL must use https://; plain http:// is allowed only for receivers in "
            "WEBHOOK_ALLOWED_HOSTS when WEBHOOK_ALLOW_HTTP is set."
        )

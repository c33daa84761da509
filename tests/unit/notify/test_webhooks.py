"""Webhooks reach public HTTPS receivers, internal ones only when allow-listed (SSRF guard).

The rules (domain) are checked on addresses; the sender resolves right before each send,
connects to a checked address and records failures by class, never by address or port.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest

from services.notify.adapters.channels import DeliveryError, OutgoingMessage
from services.notify.adapters.webhook import WebhookSender
from services.notify.domain.webhooks import (
    WebhookPolicy,
    WebhookRefused,
    check_addresses,
    is_public,
    target_of,
)
from services.notify.settings import NotifySettings
from tests.unit.notify.builders import PUBLIC_V4, PUBLIC_V6, FakeResolver

NOBODY = WebhookPolicy()


def check(url: str, *addresses: str, policy: WebhookPolicy = NOBODY) -> None:
    check_addresses(target_of(url), [ipaddress.ip_address(a) for a in addresses], policy)


class TestAddresses:
    @pytest.mark.parametrize(
        "address",
        [
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "10.0.0.5",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",  # carrier-grade NAT
            "169.254.1.1",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "224.0.0.1",
            "239.255.255.250",
            "ff02::1",
            "0.0.0.0",
            "::",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",  # documentation
            "2001:db8::1",  # documentation
            "::ffff:127.0.0.1",  # IPv4-mapped loopback
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
            "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
            "2002:7f00:1::1",  # 6to4 of 127.0.0.1
            "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        ],
    )
    def test_internal_and_reserved_addresses_are_not_public(self, address: str) -> None:
        assert not is_public(ipaddress.ip_address(address))
        with pytest.raises(WebhookRefused):
            check("https://hook.example.org/h", address)

    @pytest.mark.parametrize("address", [PUBLIC_V4, PUBLIC_V6, "8.8.8.8", "2606:4700::1111"])
    def test_public_addresses_are_admitted(self, address: str) -> None:
        assert is_public(ipaddress.ip_address(address))
        check("https://hook.example.org/h", address)

    @pytest.mark.parametrize(
        "address", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254"]
    )
    def test_metadata_endpoints_are_refused_even_when_allow_listed(self, address: str) -> None:
        everything = WebhookPolicy.from_entries(
            ["hook.example.org", "0.0.0.0/0", "::/0"], allow_http=True
        )
        with pytest.raises(WebhookRefused, match="metadata"):
            check("https://hook.example.org/h", address, policy=everything)

    def test_one_internal_address_among_public_ones_refuses_the_host(self) -> None:
        with pytest.raises(WebhookRefused, match="internal"):
            check("https://hook.example.org/h", PUBLIC_V4, "10.0.0.5")

    def test_a_host_without_addresses_is_refused(self) -> None:
        with pytest.raises(WebhookRefused, match="did not resolve"):
            check("https://hook.example.org/h")


class TestPolicy:
    def test_an_allow_listed_host_may_be_internal(self) -> None:
        policy = WebhookPolicy.from_entries(["hooks.intern.example"], allow_http=False)
        check("https://hooks.intern.example/h", "10.1.2.3", policy=policy)
        with pytest.raises(WebhookRefused):
            check("https://other.intern.example/h", "10.1.2.3", policy=policy)

    def test_a_leading_dot_lists_a_whole_domain(self) -> None:
        policy = WebhookPolicy.from_entries([".intern.example"], allow_http=False)
        check("https://a.b.intern.example/h", "10.1.2.3", policy=policy)
        with pytest.raises(WebhookRefused):
            check("https://intern.example.evil.org/h", "10.1.2.3", policy=policy)

    def test_a_listed_range_admits_its_addresses_only(self) -> None:
        policy = WebhookPolicy.from_entries(["10.0.0.0/24", "fd00:1::/64"], allow_http=False)
        check("https://a.example/h", "10.0.0.7", "fd00:1::5", policy=policy)
        with pytest.raises(WebhookRefused):
            check("https://a.example/h", "10.0.1.7", policy=policy)

    def test_http_only_to_listed_receivers_and_only_when_allowed(self) -> None:
        with pytest.raises(WebhookRefused, match="https"):
            check("http://chat.example.org/h", PUBLIC_V4)
        listed = ["127.0.0.1"]
        with pytest.raises(WebhookRefused, match="https"):
            check(
                "http://127.0.0.1:8080/h",
                "127.0.0.1",
                policy=WebhookPolicy.from_entries(listed, allow_http=False),
            )
        check(
            "http://127.0.0.1:8080/h",
            "127.0.0.1",
            policy=WebhookPolicy.from_entries(listed, allow_http=True),
        )
        with pytest.raises(WebhookRefused, match="https"):
            check(
                "http://chat.example.org/h",
                PUBLIC_V4,
                policy=WebhookPolicy.from_entries(listed, allow_http=True),
            )

    @pytest.mark.parametrize("url", ["ftp://x.example/h", "https:///nohost", "javascript:alert(1)"])
    def test_urls_without_an_http_host_are_refused(self, url: str) -> None:
        with pytest.raises(WebhookRefused):
            target_of(url)

    def test_the_setting_parses_hosts_addresses_and_ranges_and_fails_fast_on_typos(self) -> None:
        settings = NotifySettings(
            webhook_allowed_hosts=" hooks.intern.example, 127.0.0.1 ,10.0.0.0/8,[::1],",
            webhook_allow_http=True,
        )
        policy = settings.webhook_policy()
        assert policy.allowed_hosts == {"hooks.intern.example"}
        assert [str(n) for n in policy.allowed_networks] == [
            "127.0.0.1/32",
            "10.0.0.0/8",
            "::1/128",
        ]
        assert policy.allow_http
        with pytest.raises(ValueError, match="not a host name"):
            NotifySettings(webhook_allowed_hosts="hooks intern")

    def test_by_default_nothing_internal_and_no_http(self) -> None:
        assert NotifySettings().webhook_policy() == WebhookPolicy()


# --- the sender ---------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A local HTTP receiver that answers every request with ``status``."""

    status: int = 200
    silent: bool = False
    requests: list[bytes] = field(default_factory=list)
    port: int = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        await reader.readexactly(length)
        self.requests.append(head)
        if self.silent:
            await asyncio.sleep(3)
        location = (
            b"Location: http://127.0.0.1:1/elsewhere\r\n" if 300 <= self.status < 400 else b""
        )
        writer.write(
            b"HTTP/1.1 %d X\r\n%sContent-Length: 22\r\nConnection: close\r\n\r\n"
            b"internal secret detail" % (self.status, location)
        )
        await writer.drain()
        writer.close()


@asynccontextmanager
async def receiver(**options: object) -> AsyncIterator[Receiver]:
    hook = Receiver(**options)  # type: ignore[arg-type]
    server = await asyncio.start_server(hook._serve, "127.0.0.1", 0)
    hook.port = server.sockets[0].getsockname()[1]
    try:
        yield hook
    finally:
        server.close()


def message(target: str) -> OutgoingMessage:
    at = datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    return OutgoingMessage(
        notification_id="n-1",
        delivery_id=1,
        recipient="agent-anna",
        target=target,
        team_id="team-1",
        kind="team_assigned",
        title="Neues Team",
        body="Terminbuchung 2.0",
        language="de",
        created_at=at,
        sent_at=at,
    )


LOCAL = WebhookPolicy.from_entries(["hooks.test", "127.0.0.1"], allow_http=True)
DNS = {"hooks.test": ["127.0.0.1"], "chat.example.org": [PUBLIC_V4]}


def sender(
    policy: WebhookPolicy = LOCAL,
    timeout_seconds: float = 2.0,
    names: dict[str, list[str]] | None = None,
) -> WebhookSender:
    return WebhookSender(
        timeout_seconds=timeout_seconds, policy=policy, resolver=FakeResolver(DNS | (names or {}))
    )


async def failure(webhooks: WebhookSender, url: str) -> DeliveryError:
    try:
        with pytest.raises(DeliveryError) as raised:
            await webhooks.send(message(url))
        return raised.value
    finally:
        await webhooks.close()


class TestSender:
    async def test_it_connects_to_the_checked_address_with_the_host_name_kept(self) -> None:
        async with receiver() as hook:
            webhooks = sender()
            await webhooks.send(message(f"http://hooks.test:{hook.port}/h?token=secret"))
            await webhooks.close()
        [head] = hook.requests
        assert head.startswith(b"POST /h?token=secret HTTP/1.1\r\n")
        assert f"host: hooks.test:{hook.port}".encode() in head.lower()

    async def test_https_goes_to_the_address_with_sni_and_host_of_the_name(self) -> None:
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(204)

        webhooks = sender(policy=NOBODY)
        webhooks._client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        await webhooks.send(message("https://chat.example.org/hooks/a?token=t"))
        await webhooks.close()
        [request] = seen
        assert (request.url.host, request.url.raw_path) == (PUBLIC_V4, b"/hooks/a?token=t")
        assert request.headers["host"] == "chat.example.org"
        assert request.extensions["sni_hostname"] == "chat.example.org"

    async def test_a_host_that_now_resolves_inside_is_refused_without_connecting(self) -> None:
        async with receiver() as hook:
            # Saved when it was public; DNS now points it at the receiver on loopback.
            webhooks = sender(policy=NOBODY, names={"chat.example.org": ["127.0.0.1"]})
            error = await failure(webhooks, f"https://chat.example.org:{hook.port}/h")
        assert hook.requests == []
        assert (str(error), error.permanent) == (
            f"webhook https://chat.example.org:{hook.port}: address not allowed",
            True,
        )

    async def test_redirects_are_not_followed(self) -> None:
        async with receiver(status=302) as hook:
            error = await failure(sender(), f"http://hooks.test:{hook.port}/h")
        assert len(hook.requests) == 1
        assert (str(error), error.permanent) == (
            f"HTTP 302 from webhook http://hooks.test:{hook.port}",
            True,
        )

    async def test_an_error_answer_is_recorded_by_status_without_the_receivers_words(
        self,
    ) -> None:
        async with receiver(status=500) as hook:
            error = await failure(sender(), f"http://hooks.test:{hook.port}/h")
        assert (str(error), error.permanent) == (
            f"HTTP 500 from webhook http://hooks.test:{hook.port}",
            False,
        )

    async def test_a_closed_port_a_silent_receiver_and_no_dns_read_alike(self) -> None:
        async with receiver() as closed:
            port = closed.port
        async with receiver(silent=True) as silent:
            errors = [
                await failure(sender(), f"http://hooks.test:{port}/h"),
                await failure(sender(timeout_seconds=0.5), f"http://hooks.test:{silent.port}/h"),
                await failure(sender(), "http://gone.test:8080/h"),
            ]
        assert [str(e).rpartition(": ")[2] for e in errors] == ["receiver unreachable"] * 3
        assert not any(e.permanent for e in errors)
        assert not any("refused" in str(e).lower() or "timeout" in str(e).lower() for e in errors)

    async def test_an_internal_address_is_refused_without_telling_open_from_closed(
        self,
    ) -> None:
        async with receiver() as hook:
            errors = [
                await failure(sender(policy=NOBODY), f"https://127.0.0.1:{hook.port}/h"),
                await failure(sender(policy=NOBODY), "https://10.0.0.5:8080/h"),
            ]
        assert hook.requests == []
        assert [str(e).rpartition(": ")[2] for e in errors] == ["address not allowed"] * 2

    async def test_without_a_policy_the_sender_reads_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
        monkeypatch.setenv("WEBHOOK_ALLOW_HTTP", "true")
        async with receiver() as hook:
            webhooks = WebhookSender(timeout_seconds=2)
            await webhooks.send(message(f"http://127.0.0.1:{hook.port}/h"))
            await webhooks.close()
        assert len(hook.requests) == 1

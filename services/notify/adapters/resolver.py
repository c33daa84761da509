"""Resolves a webhook's host name to the addresses a connection would go to."""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol

from services.notify.domain.webhooks import IPAddress, literal_address


class ResolutionFailed(Exception):
    """The host name did not resolve (no such name, or DNS unreachable)."""


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IPAddress]: ...


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``), as a connection would use it."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        literal = literal_address(host)
        if literal is not None:
            return [literal]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise ResolutionFailed(host) from exc
        found: dict[IPAddress, None] = {}
        for _family, _type, _proto, _name, sockaddr in infos:
            address = literal_address(str(sockaddr[0]).partition("%")[0])
            if address is not None:
                found[address] = None
        return list(found)

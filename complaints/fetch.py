"""The one way the server fetches a URL (channel media, Open311 media_url copies).

Fetching attacker-influenced URLs is how helpdesks get turned against their own network
(SSRF: osTicket CVE-2020-24881, Zammad CVE-2021-42091). So hosts must be on a per-call
allowlist, and every resolved address is vetted, then pinned, at connect time.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpcore
import httpx
from django.conf import settings

# httpcore exports its sync backend but not the stream that backend returns.
from httpcore._backends.sync import SyncStream

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})
# Not sent to another host (or over plain HTTP) than the first request's.
CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie")
# Both 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) reach the IPv4 address they embed.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
NOT_PUBLIC = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
    ("is_site_local", "a site-local address"),
)


class FetchRefused(Exception):
    """The URL or its target is not allowed; retrying will not help. str() is the reason."""


class FetchFailed(Exception):
    """A transient failure (network error, timeout, 429, 5xx); the caller may retry."""


@dataclass(frozen=True, slots=True)
class Fetched:
    content: bytes
    content_type: str  # as the server sent it: informational only, never trusted
    url: str  # the final URL, after redirects


def fetch(
    url: str,
    *,
    allowed_hosts: Iterable[str],
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    max_redirects: int = 3,
    timeout: float = 10.0,
) -> Fetched:
    """GETs `url` if its host is allowed and every address the host resolves to is public.

    `allowed_hosts`: "example.com" matches that host only, ".example.com" its subdomains.
    Raises FetchRefused (not allowed, too large, 4xx) or FetchFailed (worth retrying).
    """
    allowlist = _HostAllowlist(allowed_hosts)
    first = _checked_url(url, allowlist)
    target = first
    with httpx.Client(
        transport=_VettingTransport(), timeout=timeout, follow_redirects=False, trust_env=False
    ) as client:
        for _ in range(max_redirects + 1):
            outcome = _get(client, target, _request_headers(target, first, headers), max_bytes)
            if isinstance(outcome, Fetched):
                return outcome
            target = _checked_url(_redirect_target(target, outcome), allowlist)
    raise _refused(f"more than {max_redirects} redirects", target.host)


def _refused(reason: str, host: str) -> FetchRefused:
    # Only the host is logged: paths and queries can carry tokens (Telegram's bot token).
    logger.warning("fetch refused: %s (%s)", reason, host or "-")
    return FetchRefused(reason)


# --- Before the request: scheme, credentials, host allowlist -------------------------------


def _normalised_host(host: str) -> str:
    """Lowercase, IDNA-encoded, no trailing dot; IP literals in their canonical form."""
    host = host.strip().removeprefix("[").removesuffix("]").rstrip(".").lower()
    ip = _ip_literal(host)
    if ip is not None:
        return ip.compressed
    if not host:
        return ""
    try:
        return httpx.URL(scheme="http", host=host).raw_host.decode("ascii")
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a host name: {host!r}") from exc


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class _HostAllowlist:
    """Exact host names, plus ".suffix" entries matching any subdomain of the suffix."""

    def __init__(self, entries: Iterable[str]) -> None:
        if isinstance(entries, str):
            raise TypeError("allowed_hosts must be a collection of host names, not one string")
        self.exact: set[str] = set()
        self.suffixes: list[str] = []
        for entry in entries:
            if entry.startswith("."):
                self.suffixes.append("." + _normalised_host(entry[1:]))
            else:
                self.exact.add(_normalised_host(entry))
        self.exact.discard("")

    def allows(self, host: str) -> bool:
        if host in self.exact:
            return True
        # An IP literal is never matched by a suffix (".0.1" would match 127.0.0.1).
        return _ip_literal(host) is None and any(
            host.endswith(suffix) and len(host) > len(suffix) for suffix in self.suffixes
        )


def _checked_url(url: str | httpx.URL, allowlist: _HostAllowlist) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise _refused("invalid URL", "") from None
    try:
        host = _normalised_host(parsed.raw_host.decode("ascii"))
    except ValueError:
        raise _refused("invalid host", "") from None
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise _refused(f"scheme {parsed.scheme[:20]!r} is not allowed", host)
    if parsed.userinfo:
        raise _refused("credentials in the URL are not allowed", host)
    if not host:
        raise _refused("the URL has no host", host)
    if not allowlist.allows(host):
        raise _refused(f"host {host} is not on the allowlist", host)
    return parsed


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    try:
        return current.join(location)
    except httpx.InvalidURL:
        raise _refused("invalid redirect location", current.host) from None


def _request_headers(
    target: httpx.URL, first: httpx.URL, extra: Mapping[str, str] | None
) -> httpx.Headers:
    # Identity: a compressed body could inflate far beyond max_bytes within one chunk.
    sent = httpx.Headers({"Accept-Encoding": "identity"})
    sent.update(extra or {})
    downgraded = first.scheme == "https" and target.scheme != "https"
    if target.host != first.host or downgraded:
        for name in CREDENTIAL_HEADERS:
            sent.pop(name, None)
    return sent


# --- The request and its response ----------------------------------------------------------


def _get(
    client: httpx.Client, url: httpx.URL, headers: httpx.Headers, max_bytes: int
) -> Fetched | str:
    """The body, or the Location to follow next."""
    try:
        with client.stream("GET", url, headers=headers) as response:
            return _handle_response(response, url, max_bytes)
    except httpx.TimeoutException as exc:
        raise FetchFailed(f"timed out fetching from {url.host}") from exc
    except httpx.TransportError as exc:
        raise FetchFailed(f"{type(exc).__name__} fetching from {url.host}: {exc}") from exc
    except httpx.DecodingError:
        raise _refused("the response body could not be decoded", url.host) from None


def _handle_response(response: httpx.Response, url: httpx.URL, max_bytes: int) -> Fetched | str:
    status = response.status_code
    if response.is_redirect:
        return response.headers["Location"]
    if response.is_success:
        content = _read_capped(response, url.host, max_bytes)
        return Fetched(content, response.headers.get("Content-Type", ""), str(url))
    if status == httpx.codes.TOO_MANY_REQUESTS or response.is_server_error:
        raise FetchFailed(f"HTTP {status} from {url.host}")
    raise _refused(f"HTTP {status}", url.host)


def _read_capped(response: httpx.Response, host: str, max_bytes: int) -> bytes:
    too_large = f"the response is larger than {max_bytes} bytes"
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _refused(too_large, host)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise _refused(too_large, host)  # leaving the stream closes the connection
    return bytes(body)


# --- At connect time: resolve once, vet every address, connect to a vetted one -------------


class _VettingTransport(httpx.HTTPTransport):
    """httpx's own transport, with a connection pool built on _VettingBackend.

    respx patches the pool's handle_request, so mocked tests never reach the backend;
    the allowlist checks above still apply to them.
    """

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_VettingBackend(),
        )


class _VettingBackend(httpcore.SyncBackend):
    """Refuses hosts resolving to non-public addresses; connects to the vetted address itself.

    Connecting by address (not by name) means a second DNS answer can never be used: a
    rebinding resolver gets one chance, and that answer is vetted. TLS SNI and the Host
    header still carry the host name; httpcore sets them above this layer.
    """

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,  # never set: the pool is built without one
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        sock = _connect_pinned(_resolve_vetted(host, port), timeout)
        for option in socket_options or ():
            sock.setsockopt(*option)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return SyncStream(sock)


SocketAddress = tuple[socket.AddressFamily, tuple[str, int] | tuple[str, int, int, int]]


def _resolve_vetted(host: str, port: int) -> list[SocketAddress]:
    """Every address `host` resolves to, or FetchRefused if any of them is not allowed.

    One bad answer refuses the lot: a mix of public and internal addresses is a sign of
    DNS rebinding, so the public one is not picked either.
    """
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    allowed_networks = _extra_allowed_networks()
    addresses: list[SocketAddress] = []
    for family, _, _, _, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(sockaddr[0], str):
            raise _refused(f"{host} resolves to a non-IP address", host)
        ip = ipaddress.ip_address(sockaddr[0])
        reason = _refusal_reason(ip, allowed_networks)
        if reason:
            raise _refused(f"{host} resolves to {ip}, {reason}", host)
        addresses.append((family, sockaddr))
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no addresses")
    return addresses


def _extra_allowed_networks() -> list[IPNetwork]:
    """Non-public networks a deployment allows anyway (e.g. its own media proxy)."""
    cidrs: list[str] = getattr(settings, "ADUAN_FETCH_ALLOWED_NETWORKS", [])
    return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]


def _refusal_reason(ip: IPAddress, allowed_networks: list[IPNetwork]) -> str | None:
    ip = _embedded_ipv4(ip) or ip
    if any(ip in network for network in allowed_networks):
        return None
    # is_global alone is not enough on Python 3.11: it counts multicast as global.
    for attribute, label in NOT_PUBLIC:
        if getattr(ip, attribute, False):
            return label
    return None if ip.is_global else "not a public address"


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (::ffff:a.b.c.d, 6to4, NAT64), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _connect_pinned(addresses: list[SocketAddress], timeout: float | None) -> socket.socket:
    """A socket connected to the first vetted address that answers; no name lookup here."""
    error: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
        else:
            return sock
    if isinstance(error, TimeoutError):
        raise httpcore.ConnectTimeout(str(error)) from error
    raise httpcore.ConnectError(str(error)) from error

"""T-m: the fetch helper never reaches internal addresses (SSRF) and says why it refused.

Every test runs with a fake resolver and a guard on socket connect(): loopback is really
connected to (the canary and the media server live there), anything else that is not public
fails the test loudly, and public addresses are refused locally, so no packet leaves.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import respx

from complaints.fetch import Fetched, FetchFailed, FetchRefused, fetch
from tests.servers import free_port

SECRET = "bot123456:SECRET-TOKEN"  # sits in URL paths; must never reach a log line
PUBLIC_IP = "93.184.215.14"
REAL_GETADDRINFO = socket.getaddrinfo
REAL_CONNECT = socket.socket.connect
REAL_CONNECT_EX = socket.socket.connect_ex
STREAM_TOTAL = 32 * 2**20


# --- Fake DNS and the connect() guard ------------------------------------------------------


class FakeDNS:
    """Host -> answers; each lookup takes the next answer, the last one repeats.

    Unknown names fail; IP literals and their odd spellings (127.1, 0x7f.1, 2130706433) go
    to the system's own numeric parser, which never sends a query.
    """

    def __init__(self) -> None:
        self.records: dict[str, list[list[str]]] = {"localhost": [["127.0.0.1", "::1"]]}
        self.lookups: list[str] = []

    def add(self, host: str, *answers: list[str]) -> None:
        self.records[host] = list(answers)

    def getaddrinfo(
        self, host: str, port: int, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[Any]:
        self.lookups.append(host)
        answers = self.records.get(host)
        if answers is None:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        ips = answers.pop(0) if len(answers) > 1 else answers[0]
        return [answer(ip, port) for ip in ips]


def answer(ip: str, port: int) -> tuple[Any, ...]:
    if ipaddress.ip_address(ip).version == 6:
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))


@dataclass
class ConnectGuard:
    attempts: list[tuple[str, int]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def check(self, address: Any) -> None:
        """Loopback may be connected to; anything else never is."""
        if not isinstance(address, tuple):
            return  # a Unix socket path
        host, port = str(address[0]), int(address[1])
        self.attempts.append((host, port))
        ip = ipaddress.ip_address(host)
        ip = getattr(ip, "ipv4_mapped", None) or ip
        if ip.is_loopback:
            return
        if not ip.is_global or ip.is_multicast:
            self.violations.append(f"{host}:{port}")
            raise AssertionError(f"connect() attempted to a disallowed address {host}:{port}")
        raise ConnectionRefusedError(errno.ECONNREFUSED, "no internet in these tests")


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    resolver = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", resolver.getaddrinfo)
    return resolver


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectGuard]:
    """Guards every Python-level connect (socket.create_connection goes through it too)."""
    connect_guard = ConnectGuard()

    def connect(sock: socket.socket, address: Any) -> None:
        connect_guard.check(address)
        REAL_CONNECT(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        connect_guard.check(address)
        return REAL_CONNECT_EX(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield connect_guard
    assert connect_guard.violations == []


# --- Local HTTP servers: the canary (must never be hit) and a media server -----------------


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class StreamState:
    sent: int = 0
    aborted: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class Server:
    def __init__(self, respond: Callable[[Server, BaseHTTPRequestHandler], None]) -> None:
        self.seen: list[Seen] = []
        self.stream = StreamState()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.seen.append(Seen(self.path, dict(self.headers)))
                respond(owner, self)

            def log_message(self, *args: Any) -> None:
                """Quiet: keeps the test output readable."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def hits(self) -> int:
        return len(self.seen)

    def reset(self) -> None:
        self.seen.clear()
        self.stream = StreamState()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
    handler.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def canary_respond(server: Server, handler: BaseHTTPRequestHandler) -> None:
    reply(handler, 200, b"canary: you should never see this")


def media_respond(server: Server, handler: BaseHTTPRequestHandler) -> None:
    url = urlsplit(handler.path)
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    if url.path == "/ok":
        reply(handler, 200, b"media-bytes", Content_Type="image/jpeg")
    elif url.path == "/echo-authorization":
        reply(handler, 200, handler.headers.get("Authorization", "none").encode())
    elif url.path == "/redirect":
        reply(handler, 302, Location=query["to"])
    elif url.path == "/loop":
        reply(handler, 302, Location="/loop")
    elif url.path.startswith("/status/"):
        reply(handler, int(url.path.removeprefix("/status/")), b"status")
    elif url.path == "/bytes":
        reply(handler, 200, b"x" * int(query["n"]))
    elif url.path == "/stream":
        stream(server.stream, handler, declared="declared" in query)
    else:
        reply(handler, 404)


def stream(state: StreamState, handler: BaseHTTPRequestHandler, *, declared: bool) -> None:
    """32 MiB, close-delimited; records how far it got before the client hung up.

    Declared: only the headers, then it waits. A client that reads on instead of refusing
    on Content-Length alone would time out (FetchFailed) rather than be refused.
    """
    handler.send_response(200)
    if declared:
        handler.send_header("Content-Length", str(STREAM_TOTAL))
    handler.end_headers()
    chunk = b"x" * 65536
    try:
        if declared:
            handler.connection.settimeout(5)
            state.aborted = handler.rfile.read(1) == b""
            return
        while state.sent < STREAM_TOTAL:
            handler.wfile.write(chunk)
            state.sent += len(chunk)
    except OSError:  # the client hung up: what this server is here to see
        state.aborted = True
    finally:
        state.done.set()


@pytest.fixture(scope="module")
def canary_server() -> Iterator[Server]:
    server = Server(canary_respond)
    yield server
    server.close()


@pytest.fixture(scope="module")
def media_server() -> Iterator[Server]:
    server = Server(media_respond)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def canary(canary_server: Server, dns: FakeDNS, guard: ConnectGuard) -> Iterator[Server]:
    """In every test: the resolver and guard are on, and the canary gets 0 hits."""
    canary_server.reset()
    yield canary_server
    assert canary_server.hits == 0, canary_server.seen


@pytest.fixture
def media(media_server: Server) -> Server:
    media_server.reset()
    return media_server


@pytest.fixture
def loopback_allowed(settings: Any, dns: FakeDNS) -> None:
    """A deployment that allows loopback, and test host names that resolve there."""
    settings.ADUAN_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    for host in ("media.allowed.test", "other.allowed.test"):
        dns.add(host, ["127.0.0.1"])


@pytest.fixture
def refusals(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    caplog.set_level(logging.WARNING, logger="complaints.fetch")

    def messages() -> list[str]:
        return [
            record.getMessage()
            for record in caplog.records
            if record.name == "complaints.fetch" and record.getMessage().startswith("fetch refused")
        ]

    return messages


def get(url: str, hosts: list[str], **options: Any) -> Fetched:
    return fetch(url, allowed_hosts=hosts, **{"max_bytes": 1000, "timeout": 2.0, **options})


# --- Refused before any connection is made --------------------------------------------------

REFUSED = [
    # Loopback in its many spellings: unlisted, then listed (so the vetting is what refuses).
    ("http://127.0.0.1:{port}/{secret}", [], "host 127.0.0.1 is not on the allowlist"),
    ("http://127.0.0.1:{port}/{secret}", ["127.0.0.1"], "loopback"),
    ("http://localhost:{port}/{secret}", [], "host localhost is not on the allowlist"),
    ("http://localhost:{port}/{secret}", ["localhost"], "loopback"),
    ("http://[::1]:{port}/{secret}", [], "host ::1 is not on the allowlist"),
    ("http://[::1]:{port}/{secret}", ["::1"], "loopback"),
    ("http://0.0.0.0:{port}/{secret}", ["0.0.0.0"], "unspecified"),  # noqa: S104
    ("http://2130706433:{port}/{secret}", [], "not on the allowlist"),
    ("http://2130706433:{port}/{secret}", ["2130706433"], "resolves to 127.0.0.1, a loopback"),
    ("http://0x7f.1:{port}/{secret}", ["0x7f.1"], "resolves to 127.0.0.1, a loopback"),
    ("http://127.1:{port}/{secret}", ["127.1"], "resolves to 127.0.0.1, a loopback"),
    ("http://[::ffff:127.0.0.1]:{port}/{secret}", ["::ffff:127.0.0.1"], "loopback"),
    ("http://[::ffff:7f00:1]:{port}/{secret}", [], "not on the allowlist"),
    # Cloud metadata, private ranges and friends: the guard fails the test on any connect().
    ("http://169.254.169.254/latest/meta-data/", ["169.254.169.254"], "link-local"),
    ("http://metadata.allowed.test/computeMetadata/v1/", ["metadata.allowed.test"], "link-local"),
    ("http://[::ffff:169.254.169.254]/", ["::ffff:169.254.169.254"], "link-local"),
    ("http://10.0.0.5/{secret}", ["10.0.0.5"], "private"),
    ("http://172.16.0.1/{secret}", ["172.16.0.1"], "private"),
    ("http://192.168.1.1/{secret}", ["192.168.1.1"], "private"),
    ("http://internal.allowed.test/{secret}", ["internal.allowed.test"], "10.1.2.3, a private"),
    ("http://100.64.0.1/", ["100.64.0.1"], "not a public address"),
    ("http://224.0.0.1/", ["224.0.0.1"], "multicast"),
    ("http://[fd00::1]/", ["fd00::1"], "private"),
    ("http://[fe80::1]/", ["fe80::1"], "link-local"),
    ("http://[64:ff9b::a00:1]/", ["64:ff9b::a00:1"], "private"),  # NAT64 of 10.0.0.1
    ("http://[2002:a9fe:a9fe::]/", ["2002:a9fe:a9fe::"], "link-local"),  # 6to4 of metadata
    # One bad answer among good ones: a rebinding sign, the good one is not picked.
    ("http://mixed.allowed.test:{port}/{secret}", ["mixed.allowed.test"], "loopback"),
    # Schemes other than http(s), and credentials in the URL.
    ("file:///etc/passwd", ["media.allowed.test"], "scheme 'file'"),
    ("gopher://media.allowed.test:{port}/_{secret}", ["media.allowed.test"], "scheme 'gopher'"),
    ("ftp://media.allowed.test/{secret}", ["media.allowed.test"], "scheme 'ftp'"),
    ("data:text/plain,{secret}", ["media.allowed.test"], "scheme 'data'"),
    ("http://user:pw@media.allowed.test:{port}/", ["media.allowed.test"], "credentials"),
    # Suffix entries match subdomains only, and only at a label boundary.
    ("https://fbcdn.net/{secret}", [".fbcdn.net"], "not on the allowlist"),
    ("https://evilfbcdn.net/{secret}", [".fbcdn.net"], "not on the allowlist"),
    ("https://fbcdn.net.evil.test/{secret}", [".fbcdn.net"], "not on the allowlist"),
    ("http://127.0.0.1:{port}/{secret}", [".0.0.1"], "not on the allowlist"),
    ("not a url at all", ["media.allowed.test"], "scheme"),
]


@pytest.mark.parametrize(("template", "hosts", "reason"), REFUSED)
def test_refused_targets_are_never_connected_to_and_the_reason_is_logged(
    template: str,
    hosts: list[str],
    reason: str,
    canary: Server,
    dns: FakeDNS,
    guard: ConnectGuard,
    refusals: Callable[[], list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    dns.add("metadata.allowed.test", ["169.254.169.254"])
    dns.add("internal.allowed.test", ["10.1.2.3"])
    dns.add("mixed.allowed.test", [PUBLIC_IP, "127.0.0.1"])
    dns.add("media.allowed.test", ["127.0.0.1"])
    url = template.format(port=canary.port, secret=SECRET)

    with pytest.raises(FetchRefused, match=reason) as refused:
        get(url, hosts)

    [message] = refusals()
    assert message.startswith(f"fetch refused: {refused.value} (")
    assert "SECRET" not in caplog.text and "SECRET" not in str(refused.value)
    assert guard.attempts == []
    assert canary.hits == 0


def test_refusal_log_names_the_host_only(refusals: Callable[[], list[str]]) -> None:
    with pytest.raises(FetchRefused):
        get(f"https://api.telegram.org/file/{SECRET}/photo.jpg?x=1", ["cdn.telegram.org"])
    assert refusals() == [
        "fetch refused: host api.telegram.org is not on the allowlist (api.telegram.org)"
    ]


# --- Resolve once, vet, connect to what was vetted ------------------------------------------


@pytest.mark.usefixtures("loopback_allowed")
def test_an_allowed_host_is_fetched_from_the_address_that_was_vetted(
    media: Server, dns: FakeDNS, guard: ConnectGuard
) -> None:
    # A second lookup would get an internal address: it must never happen.
    dns.add("media.allowed.test", ["127.0.0.1"], ["10.9.9.9"])
    url = f"http://media.allowed.test:{media.port}/ok"

    fetched = get(url, ["media.allowed.test"])

    assert fetched == Fetched(b"media-bytes", "image/jpeg", url)
    assert dns.lookups == ["media.allowed.test"]
    assert guard.attempts == [("127.0.0.1", media.port)]
    assert media.seen[0].headers["Host"] == f"media.allowed.test:{media.port}"


def test_dns_rebinding_gets_one_lookup_and_the_vetted_address_is_the_one_dialled(
    canary: Server, dns: FakeDNS, guard: ConnectGuard
) -> None:
    dns.add("rebind.allowed.test", [PUBLIC_IP], ["127.0.0.1"])

    with pytest.raises(FetchFailed):  # the guard refuses the public address: no internet here
        get(f"http://rebind.allowed.test:{canary.port}/", ["rebind.allowed.test"])

    assert dns.lookups == ["rebind.allowed.test"]
    assert guard.attempts == [(PUBLIC_IP, canary.port)]
    assert canary.hits == 0


def test_allowed_networks_come_from_settings_at_call_time(
    settings: Any, media: Server, dns: FakeDNS, refusals: Callable[[], list[str]]
) -> None:
    dns.add("media.allowed.test", ["127.0.0.1"])
    url = f"http://media.allowed.test:{media.port}/ok"
    settings.ADUAN_FETCH_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    with pytest.raises(FetchRefused, match="loopback"):
        get(url, ["media.allowed.test"])

    settings.ADUAN_FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    assert get(url, ["media.allowed.test"]).content == b"media-bytes"
    assert len(refusals()) == 1


# --- Redirects --------------------------------------------------------------------------------


def redirect(media: Server, to: str) -> str:
    return f"http://media.allowed.test:{media.port}/redirect?to={quote(to, safe='')}"


@pytest.mark.usefixtures("loopback_allowed")
@pytest.mark.parametrize(
    ("to", "reason"),
    [
        ("http://127.0.0.1:{canary}/", "host 127.0.0.1 is not on the allowlist"),
        ("http://localhost:{canary}/", "host localhost is not on the allowlist"),
        ("http://[::1]:{canary}/", "host ::1 is not on the allowlist"),
        ("http://evil.test/", "host evil.test is not on the allowlist"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://media.allowed.test:{canary}/_x", "scheme 'gopher'"),
        ("http://internal.allowed.test/", "10.1.2.3, a private address"),
    ],
)
def test_redirects_off_the_allowlist_are_refused(
    to: str,
    reason: str,
    canary: Server,
    media: Server,
    dns: FakeDNS,
    guard: ConnectGuard,
    refusals: Callable[[], list[str]],
) -> None:
    dns.add("internal.allowed.test", ["10.1.2.3"])
    hosts = ["media.allowed.test", "internal.allowed.test"]

    with pytest.raises(FetchRefused, match=reason):
        get(redirect(media, to.format(canary=canary.port)), hosts)

    assert media.hits == 1
    assert canary.hits == 0
    assert guard.attempts == [("127.0.0.1", media.port)]
    assert len(refusals()) == 1


@pytest.mark.usefixtures("loopback_allowed")
def test_redirects_between_allowed_hosts_are_followed(media: Server) -> None:
    final = f"http://other.allowed.test:{media.port}/ok"

    fetched = get(redirect(media, final), ["media.allowed.test", "other.allowed.test"])

    assert (fetched.content, fetched.url) == (b"media-bytes", final)
    assert [seen.path for seen in media.seen][1:] == ["/ok"]


@pytest.mark.usefixtures("loopback_allowed")
def test_a_relative_redirect_is_resolved_against_the_current_url(media: Server) -> None:
    fetched = get(redirect(media, "/ok"), ["media.allowed.test"])
    assert fetched.url == f"http://media.allowed.test:{media.port}/ok"


@pytest.mark.usefixtures("loopback_allowed")
def test_redirects_are_capped(media: Server) -> None:
    with pytest.raises(FetchRefused, match="more than 2 redirects"):
        get(f"http://media.allowed.test:{media.port}/loop", ["media.allowed.test"], max_redirects=2)
    assert media.hits == 3


@pytest.mark.usefixtures("loopback_allowed")
@pytest.mark.parametrize(
    ("host", "forwarded"), [("media.allowed.test", "Bearer t0k"), ("other.allowed.test", "none")]
)
def test_authorization_is_not_forwarded_to_another_host(
    host: str, forwarded: str, media: Server
) -> None:
    to = f"http://{host}:{media.port}/echo-authorization"

    fetched = get(
        redirect(media, to),
        ["media.allowed.test", "other.allowed.test"],
        headers={"Authorization": "Bearer t0k"},
    )

    assert fetched.content == forwarded.encode()
    assert media.seen[0].headers["Authorization"] == "Bearer t0k"


# --- Size cap ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("loopback_allowed")
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "close-delimited"])
def test_a_body_over_max_bytes_is_refused_and_the_read_stops(
    declared: bool, media: Server, refusals: Callable[[], list[str]]
) -> None:
    url = f"http://media.allowed.test:{media.port}/stream" + ("?declared=1" if declared else "")

    with pytest.raises(FetchRefused, match="larger than 1000 bytes"):
        get(url, ["media.allowed.test"])

    assert media.stream.done.wait(5)
    assert media.stream.aborted
    assert media.stream.sent < STREAM_TOTAL
    assert len(refusals()) == 1


@pytest.mark.usefixtures("loopback_allowed")
def test_a_body_of_exactly_max_bytes_is_fetched(media: Server) -> None:
    fetched = get(f"http://media.allowed.test:{media.port}/bytes?n=1000", ["media.allowed.test"])
    assert len(fetched.content) == 1000


# --- Status and transport failures ------------------------------------------------------------


@pytest.mark.usefixtures("loopback_allowed")
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, FetchRefused),
        (401, FetchRefused),
        (410, FetchRefused),
        (429, FetchFailed),
        (500, FetchFailed),
        (503, FetchFailed),
    ],
)
def test_status_codes_map_to_refused_or_failed(
    status: int, error: type[Exception], media: Server
) -> None:
    with pytest.raises(error, match=f"HTTP {status}"):
        get(f"http://media.allowed.test:{media.port}/status/{status}", ["media.allowed.test"])


@pytest.mark.usefixtures("loopback_allowed")
def test_a_refused_connection_is_a_transient_failure() -> None:
    with pytest.raises(FetchFailed, match="ConnectError"):
        get(f"http://media.allowed.test:{free_port()}/ok", ["media.allowed.test"])


@pytest.mark.usefixtures("loopback_allowed")
def test_a_server_that_never_answers_is_a_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(FetchFailed, match="timed out"):
            get(f"http://media.allowed.test:{port}/ok", ["media.allowed.test"], timeout=0.3)


def test_an_unknown_host_is_a_transient_failure(dns: FakeDNS) -> None:
    with pytest.raises(FetchFailed, match="ConnectError"):
        get("http://nowhere.allowed.test/", ["nowhere.allowed.test"])
    assert dns.lookups == ["nowhere.allowed.test"]


# --- respx still intercepts; the allowlist still applies --------------------------------------


def test_respx_mocks_still_answer_and_unlisted_hosts_never_reach_them(
    dns: FakeDNS, guard: ConnectGuard
) -> None:
    with respx.mock(assert_all_called=False) as provider:
        photo = provider.get("https://lookaside.fbsbx.com/x").respond(
            200, content=b"jpeg-bytes", headers={"Content-Type": "image/jpeg"}
        )
        other = provider.get("https://evil.example/x").respond(200, content=b"nope")

        fetched = get("https://lookaside.fbsbx.com/x", ["lookaside.fbsbx.com"])
        with pytest.raises(FetchRefused, match="not on the allowlist"):
            get("https://evil.example/x", ["lookaside.fbsbx.com"])

    assert fetched == Fetched(b"jpeg-bytes", "image/jpeg", "https://lookaside.fbsbx.com/x")
    assert (photo.call_count, other.call_count) == (1, 0)
    assert (dns.lookups, guard.attempts) == ([], [])


def test_under_respx_a_redirect_off_the_allowlist_is_refused() -> None:
    with respx.mock(assert_all_called=False) as provider:
        provider.get("https://lookaside.fbsbx.com/x").respond(
            302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
        )
        metadata = provider.get("http://169.254.169.254/latest/meta-data/")

        with pytest.raises(FetchRefused, match="not on the allowlist"):
            get("https://lookaside.fbsbx.com/x", ["lookaside.fbsbx.com"])

    assert not metadata.called


@pytest.mark.parametrize(
    ("url", "hosts"),
    [
        ("https://scontent.xx.fbcdn.net/v/t1.jpg", [".fbcdn.net"]),
        ("https://SCONTENT.XX.FBCDN.NET./v/t1.jpg", [".fbcdn.net"]),
        ("https://scontent.cdninstagram.com/x", [".FBCDN.net", ".cdninstagram.com."]),
        ("https://fbcdn.net/x", ["fbcdn.net", ".fbcdn.net"]),
        ("https://xn--bcher-kva.example/x", ["bücher.example"]),
        ("https://bücher.example/x", ["xn--bcher-kva.example"]),
        ("https://[2606:4700::1]/x", ["2606:4700:0::0001"]),
    ],
)
def test_allowlist_matching_is_normalised(url: str, hosts: list[str]) -> None:
    with respx.mock() as provider:
        provider.route().respond(200, content=b"ok")
        assert get(url, hosts).content == b"ok"


def test_a_single_string_is_not_taken_as_an_allowlist() -> None:
    with pytest.raises(TypeError):
        fetch("https://lookaside.fbsbx.com/x", allowed_hosts="lookaside.fbsbx.com", max_bytes=10)

"""Mail over SMTP to `manage.py runsmtpd`, processed by a Celery worker.

Creates a database `aduan_bench_email` on the PostgreSQL of DATABASE_URL, a mailbox
account, the SMTP receiver and a Celery worker on REDIS_URL, and a local mail server that
takes the acknowledgements. `--clients` connections (as a mail server relaying to us
would keep them) send `--messages` generated messages: new complaints from citizens of
their own and, for a quarter of them, the same citizens' replies to their earlier mail.
The bench prints messages accepted (250) per second with p50/p99 of a whole SMTP
transaction, and processed per second end to end (ticket numbered, message stored,
acknowledgement handed to the mail server).

With `--interrupt`, the receiver and the worker are killed (SIGKILL) a third of the way
through sending and started again a second later; senders retry what got no 250, as a
mail server does. Every message that got its 250 must then be stored and processed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aduan REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/email.py
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder would come first on sys.path, and bench/email.py would
# stand for the standard library's `email`: the project root takes the folder's place.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import argparse
import contextlib
import os
import random
import signal
import smtplib
import socket
import statistics
import subprocess
import threading
import time
from email.message import EmailMessage
from typing import Any

from bench.common import bench_database_url, django_on, report, settle

BENCH_DB = "aduan_bench_email"
MAILBOX = "pengaduan@aduan.example"


def messages(count: int, seed: int = 7) -> list[tuple[str, str, bytes]]:
    """(sender, Message-ID, raw) in sending order: new complaints first, then replies,
    each to an earlier complaint of the same sender (so its parent is stored before)."""
    rng = random.Random(seed)
    new = count - count // 4
    out: list[tuple[str, str, bytes]] = []
    for n in range(count):
        message = EmailMessage()
        if n < new:
            sender, parent = f"warga{n}@surel.example", ""
            message["Subject"] = f"Keluhan {n}: lampu jalan mati di RT {n % 40:02d}"
            body = (
                f"Lampu jalan di depan rumah nomor {n} mati sejak tiga hari.\n\nSalam,\nWarga {n}"
            )
        else:
            earlier = rng.randrange(new)
            sender, parent = f"warga{earlier}@surel.example", f"<bench.{earlier}@surel.example>"
            message["Subject"] = f"Re: Keluhan {earlier}"
            message["In-Reply-To"] = message["References"] = parent
            body = (
                f"Tambahan keterangan {n}: masih mati malam ini.\n\n"
                "Pada Senin, Aduan <pengaduan@aduan.example> menulis:\n> lama"
            )
        message_id = f"bench.{n}@surel.example"
        message["From"] = f"Warga {n} <{sender}>"
        message["To"] = MAILBOX
        message["Message-ID"] = f"<{message_id}>"
        message.set_content(body)
        out.append((sender, message_id, message.as_bytes()))
    return out


def prepare(url: str) -> None:
    django_on(url)
    from channels_ingest.models import ChannelAccount

    ChannelAccount.objects.create(kind="email", slug="bench", name="Aduan", address=MAILBOX)


class Sink:
    """The mail server our acknowledgements go to: counts what it is handed."""

    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"


class Senders:
    """`clients` SMTP connections sending their share of the messages; what gets no 250
    is sent again (on a new connection) until `deadline`, as a relaying server would."""

    def __init__(self, port: int, clients: int, mail: list[tuple[str, str, bytes]]) -> None:
        self.port, self.clients, self.mail = port, clients, mail
        self.accepted: dict[str, float] = {}
        self.latencies: list[float] = []
        self.retries = 0
        self.lock = threading.Lock()

    def run(self, deadline: float) -> float:
        began = time.perf_counter()
        threads = [
            threading.Thread(target=self._send, args=(i, deadline)) for i in range(self.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - began

    def _send(self, first: int, deadline: float) -> None:
        client: smtplib.SMTP | None = None
        for sender, message_id, raw in self.mail[first :: self.clients]:
            while time.perf_counter() < deadline:
                try:
                    if client is None:
                        client = smtplib.SMTP("127.0.0.1", self.port, timeout=30)
                    began = time.perf_counter()
                    client.sendmail(sender, [MAILBOX], raw)
                except (OSError, smtplib.SMTPException):
                    client = None
                    with self.lock:
                        self.retries += 1
                    time.sleep(0.2)
                    continue
                with self.lock:
                    self.latencies.append(time.perf_counter() - began)
                    self.accepted[message_id] = time.perf_counter()
                break
        if client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()


def start(command: list[str], env: dict[str, str], nice: int = 0) -> subprocess.Popen[bytes]:
    prefix = ["nice", "-n", str(nice)] if nice else []
    return subprocess.Popen([*prefix, *command], cwd=ROOT, env=env)  # noqa: S603


def wait_for_smtp(port: int) -> None:
    for _ in range(150):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
                client.noop()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("runsmtpd did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=16, help="SMTP connections")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--worker-nice", type=int, default=10, help="as in the Procfile")
    parser.add_argument("--port", type=int, default=8125)
    parser.add_argument("--wait", type=float, default=300, help="max seconds for processing")
    parser.add_argument(
        "--interrupt", action="store_true", help="kill -9 the receiver and the worker mid-run"
    )
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL: the bench measures the receiver with its Celery worker.")
    from aiosmtpd.controller import Controller

    url = bench_database_url(BENCH_DB)
    prepare(url)
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        sink_port = probe.getsockname()[1]
    outbox = Controller(sink, hostname="127.0.0.1", port=sink_port)
    outbox.start()
    env = os.environ | {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink_port),
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "-m", "celery", "--app", "config", "purge", "-f"],
        cwd=ROOT, env=env, check=False, capture_output=True,
    )  # fmt: skip
    worker_command = [
        *(sys.executable, "-m", "celery", "--app", "config", "worker"),
        *("--concurrency", str(args.concurrency), "--loglevel", "WARNING"),
    ]
    smtpd_command = [sys.executable, "manage.py", "runsmtpd", "--port", str(args.port)]
    processes = {
        "worker": start(worker_command, env, args.worker_nice),
        "smtpd": start(smtpd_command, env),
    }
    wait_for_smtp(args.port)
    mail = messages(args.messages)
    senders = Senders(args.port, args.clients, mail)
    print(
        f"{args.messages} messages ({args.messages // 4} replies), {args.clients} SMTP "
        f"connections, {args.concurrency} Celery processes"
        + (", receiver and worker killed mid-run" if args.interrupt else ""),
        flush=True,
    )
    if args.interrupt:
        threading.Thread(
            target=_interrupt, args=(senders, processes, worker_command, smtpd_command, env, args)
        ).start()
    try:
        began = time.perf_counter()
        seconds = senders.run(deadline=began + args.wait)
        sent_ended = time.perf_counter() - began
        from channels_ingest.models import Delivery

        during = Delivery.objects.exclude(state=Delivery.State.PENDING).count()
        processed, pending, queued, elapsed = settle(began, args.wait)
        _report(senders, seconds, processed, pending, queued, elapsed, sent_ended, during, sink)
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(timeout=60)
        outbox.stop()


def _interrupt(
    senders: Senders,
    processes: dict[str, subprocess.Popen[bytes]],
    worker_command: list[str],
    smtpd_command: list[str],
    env: dict[str, str],
    args: Any,
) -> None:
    while len(senders.accepted) < len(senders.mail) // 3:
        time.sleep(0.05)
    for name in ("smtpd", "worker"):
        processes[name].kill()
        processes[name].wait()
    print(f"killed the receiver and the worker after {len(senders.accepted)} accepted", flush=True)
    time.sleep(1)
    processes["worker"] = start(worker_command, env, args.worker_nice)
    processes["smtpd"] = start(smtpd_command, env)


def _report(
    senders: Senders,
    seconds: float,
    processed: int,
    pending: int,
    queued: int,
    elapsed: float,
    sent_ended: float,
    during: int,
    sink: Sink,
) -> None:
    from channels_ingest.models import Delivery
    from complaints.choices import Direction
    from complaints.models import Message, Ticket

    accepted = senders.accepted
    latencies = senders.latencies
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    report("accepted", len(accepted), seconds, q[49], q[98], 0)
    stored = set(Delivery.objects.values_list("external_id", flat=True))
    lost = [m for m in accepted if m not in stored]
    messages = Message.objects.filter(direction=Direction.INBOUND).count()
    print(
        f"stored {len(stored)} distinct; accepted but not stored (lost): {len(lost)}; "
        f"SMTP transactions retried: {senders.retries}"
    )
    print(
        f"processed {processed} in {elapsed:.1f} s from the first message "
        f"({processed / elapsed:.0f}/s end to end); still pending {pending}; "
        f"acknowledgements handed to the mail server {len(sink.received)}, still queued {queued}"
    )
    after = elapsed - sent_ended
    if after > 0:
        print(
            f"  while the senders sent: {during / sent_ended:.0f}/s; after they stopped: "
            f"{(processed - during) / after:.0f}/s over {after:.1f} s"
        )
    print(f"tickets {Ticket.objects.count()}, citizens' messages {messages}")


if __name__ == "__main__":
    main()

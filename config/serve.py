"""The HTTP server: uvicorn serving `config.asgi`, in several processes that share the
connections evenly.

With uvicorn's own `--workers`, every process accepts from one listening socket, and the one
that wakes first takes every connection waiting. Clients that keep their connections (a
reverse proxy's keep-alive pool, mobile apps, a load test) then stay where they landed: one
process may hold three times the other's share and answer three times slower. Here each
process publishes how many connections it holds, and a process that holds more than another
leaves a new connection to it for up to `DEFER_SECONDS`: least-connections balancing, with
no process in the data path and no connection refused.

    python -m config.serve --host 127.0.0.1 --port 8000 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait
from multiprocessing.context import SpawnProcess
from typing import Any, Protocol, cast

import uvicorn
from uvicorn.config import STARTUP_FAILURE

logger = logging.getLogger("uvicorn.error")

APP = "config.asgi:application"
DEFER_SECONDS = 0.01  # how long a connection waits for a less busy process at most
START_SECONDS = 30.0  # how long the first processes wait for the others to start serving
PUBLISH_SECONDS = 0.05  # how often a process says how many connections it holds
IDLE = -1  # a slot whose process is not serving
STOP_SECONDS = 30.0  # how long a server process may take to stop gracefully


class Load(Protocol):
    """Open connections of each server process (shared memory, one int a process)."""

    def __getitem__(self, index: int) -> int: ...
    def __setitem__(self, index: int, value: int) -> None: ...
    def __len__(self) -> int: ...


class BalancedListener:
    """Accepts from a listening socket that several processes share, leaving a connection
    to a process that holds fewer; what uvicorn's shutdown needs of an asyncio Server."""

    def __init__(
        self,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        held: Callable[[], int],
        load: Load,
        index: int,
    ) -> None:
        self.sock, self.protocol_factory, self.held = sock, protocol_factory, held
        self.load, self.index = load, index
        self.sock.setblocking(False)
        self.load[index] = 0
        loop = asyncio.get_running_loop()
        self.tasks = [loop.create_task(self._accept()), loop.create_task(self._publish())]

    def close(self) -> None:
        self.load[self.index] = IDLE
        for task in self.tasks:
            task.cancel()

    async def wait_closed(self) -> None:
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _others_hold_fewer(self) -> bool:
        mine = self.held()
        return any(0 <= self.load[i] < mine for i in range(len(self.load)) if i != self.index)

    async def _all_started(self) -> None:
        """Waits (a while at most) for every process to serve: the connections that arrive
        first would otherwise all stay with the process that started first."""
        for _ in range(int(START_SECONDS / 0.01)):
            if all(self.load[i] != IDLE for i in range(len(self.load))):
                return
            await asyncio.sleep(0.01)

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        await self._all_started()
        deferred = 0.0
        while True:
            await _readable(loop, self.sock)
            if deferred < DEFER_SECONDS and self._others_hold_fewer():
                await asyncio.sleep(0.001)  # the other process may take it meanwhile
                deferred += 0.001
                continue
            deferred = 0.0
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue  # another process took it, or the client gave up
            except OSError as exc:  # out of file descriptors: let some close first
                logger.error("accept failed: %s", exc)
                await asyncio.sleep(0.1)
                continue
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                await loop.connect_accepted_socket(self.protocol_factory, conn)
            except OSError:
                conn.close()  # reset before it could be served
            self.load[self.index] = self.held()

    async def _publish(self) -> None:
        while True:
            self.load[self.index] = self.held()
            await asyncio.sleep(PUBLISH_SECONDS)


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


class BalancedServer(uvicorn.Server):
    """uvicorn's server, accepting through a `BalancedListener` when given a shared socket."""

    def __init__(self, config: uvicorn.Config, load: Load, index: int) -> None:
        super().__init__(config)
        self.load, self.index = load, index
        self.supervisor = os.getppid()

    async def on_tick(self, counter: int) -> bool:
        if os.getppid() != self.supervisor:  # it died (SIGKILL): nobody would stop us
            logger.warning("Supervisor [%d] is gone; stopping", self.supervisor)
            self.should_exit = True
        return await super().on_tick(counter)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if not sockets:
            await super().startup(sockets)
            return
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)

        def create_protocol() -> asyncio.Protocol:
            return self.config.http_protocol_class(  # type: ignore[call-arg]
                config=self.config, server_state=self.server_state, app_state=self.lifespan.state
            )

        held = self.server_state.connections.__len__
        listeners = [
            BalancedListener(sock, create_protocol, held, self.load, self.index) for sock in sockets
        ]
        # close() and wait_closed() are all that uvicorn's shutdown asks of its servers.
        self.servers = cast("list[asyncio.base_events.Server]", listeners)
        self.started = True


def _serve_one(config: uvicorn.Config, sock: socket.socket, load: Load, index: int) -> None:
    """A server process's life (runs in the spawned process)."""
    config.configure_logging()
    BalancedServer(config, load, index).run(sockets=[sock])


class Supervisor:
    """Starts `workers` server processes on one socket, replaces any that dies, and stops
    them all on SIGINT or SIGTERM."""

    def __init__(self, config: uvicorn.Config, workers: int) -> None:
        self.config, self.workers = config, workers
        self.context = multiprocessing.get_context("spawn")
        self.load: Any = self.context.Array("i", [IDLE] * workers, lock=False)
        self.processes: list[SpawnProcess] = []
        self.stopping = False

    def _start(self, index: int, sock: socket.socket) -> SpawnProcess:
        self.load[index] = IDLE
        process = self.context.Process(
            target=_serve_one, args=(self.config, sock, self.load, index), daemon=False
        )
        process.start()
        return process

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> None:
        sock = self.config.bind_socket()
        sock.listen(self.config.backlog)  # queued here until a server process takes them
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        logger.info("Started supervisor [%d] with %d server processes", os.getpid(), self.workers)
        self.processes = [self._start(i, sock) for i in range(self.workers)]
        while not self.stopping:
            wait([p.sentinel for p in self.processes], timeout=0.5)
            for index, process in enumerate(self.processes):
                if self.stopping or process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    logger.error("Server process [%d] failed to start; stopping", process.pid)
                    self.stopping = True
                    break
                logger.warning("Server process [%d] died; starting another", process.pid)
                self.processes[index] = self._start(index, sock)
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in self.processes:
            process.join(STOP_SECONDS)
            if process.is_alive():  # its graceful shutdown hangs
                logger.error("Server process [%d] did not stop; killing it", process.pid)
                process.kill()
                process.join()
        sock.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    parser.add_argument("--proxy-headers", action="store_true")
    parser.add_argument("--forwarded-allow-ips", default=None)
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        APP,
        host=args.host,
        port=args.port,
        workers=args.workers,
        lifespan="off",
        log_level=args.log_level,
        access_log=args.access_log,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    if args.workers > 1:
        Supervisor(config, args.workers).run()
    else:
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main()

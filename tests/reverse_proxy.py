"""A reverse proxy on loopback that forwards to the app as a Space's proxy does, for tests.

It listens on 127.0.0.1, appends the address each connection comes from to the request's
``X-Forwarded-For`` (or adds the header), and connects to the app from another loopback
address (:data:`SOURCE`, bound as the source), so the app sees every visitor's connection
come from the proxy, never from the visitor, as on a Space. HTTP/1.1 with keep-alive: each
request head on a client's connection is rewritten; bodies are sized by Content-Length (the
app's clients send no chunked bodies); responses, event streams included, are relayed as
they come.
"""

from __future__ import annotations

import asyncio
import threading

SOURCE = "127.0.0.2"  # the proxy's address as the app sees it


def _forwarded(head: bytes, peer: str) -> tuple[bytes, int]:
    """``head`` with ``peer`` appended to its last X-Forwarded-For (or one added); and its body's length."""
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    names = [line.split(b":", 1)[0].strip().lower() for line in lines]
    if b"transfer-encoding" in names:
        raise ValueError("the test proxy relays no chunked request bodies")
    xff = [i for i, name in enumerate(names) if name == b"x-forwarded-for"]
    if xff:
        lines[xff[-1]] = lines[xff[-1]].rstrip() + b", " + peer.encode()
    else:
        lines.append(b"X-Forwarded-For: " + peer.encode())
    lengths = [int(lines[i].split(b":", 1)[1]) for i, name in enumerate(names) if name == b"content-length"]
    return b"\r\n".join(lines) + b"\r\n\r\n", (lengths[0] if lengths else 0)


class ReverseProxy:
    """The proxy, on its own event loop thread: ``url`` to connect to, ``close()`` to stop it."""

    def __init__(self, upstream_port: int, source: str = SOURCE) -> None:
        self.upstream_port = upstream_port
        self.source = source
        self.peers: set[str] = set()  # the addresses visitors connected from
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-reverse-proxy", daemon=True)
        self.thread.start()
        start = asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.server = asyncio.run_coroutine_threadsafe(start, self.loop).result()
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")[0]
        self.peers.add(peer)
        up_reader, up_writer = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port, local_addr=(self.source, 0)
        )
        back = asyncio.create_task(self._relay(up_reader, writer))
        try:
            while True:
                head, length = _forwarded(await reader.readuntil(b"\r\n\r\n"), peer)
                up_writer.write(head + (await reader.readexactly(length) if length else b""))
                await up_writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the visitor closed its connection
        finally:
            up_writer.close()
            await back

    @staticmethod
    async def _relay(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()

    def close(self) -> None:
        """Stop listening and stop the loop."""

        async def stop() -> None:
            self.server.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()

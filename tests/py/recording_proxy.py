"""A small recording proxy for the tests: an HTTP proxy (CONNECT tunnels and absolute-form
forwarding) or a SOCKS5 proxy (no authentication, CONNECT), on 127.0.0.1.

    python recording_proxy.py http|socks5 RECORD_FILE

Prints `listening PORT` on stdout once it accepts connections. Each request it receives is
appended to RECORD_FILE as one JSON line, flushed before the proxy connects anywhere, so a
client whose request finished will find it there:

    {"kind": "connect", "target": "chatgpt.com:443"}           HTTP CONNECT
    {"kind": "forward", "target": "127.0.0.1:PORT", "method": "POST", "path": "/oauth/token"}
    {"kind": "socks5", "target": "localhost:PORT", "address_type": "domain"}
    {"kind": "tunnelled", "target": "localhost:PORT", "method": "POST", "path": "/oauth/token"}

The last kind is a plain-HTTP request line seen inside a tunnel (CONNECT or SOCKS5), one per
request, since a client reuses one tunnel for several requests to the same host.

Tests never reach the internet: targets other than loopback are refused (HTTP 403, SOCKS5
reply 2 "not allowed"), after being recorded. Standard library only.
"""

import asyncio
import json
import re
import socket
import struct
import sys

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


class Recorder:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")

    def record(self, **fields):
        self.file.write(json.dumps(fields) + "\n")
        self.file.flush()


def tunnelled(recorder, target):
    return lambda method, path: recorder.record(
        kind="tunnelled", target=target, method=method, path=path
    )


def allowed(host):
    return host.lower() in LOOPBACK_NAMES or host.startswith("127.")


async def pipe(reader, writer, seen=None):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if seen is not None:
                for method, path in REQUEST_LINE.findall(data):
                    seen(method.decode(), path.decode())
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


REQUEST_LINE = re.compile(rb"(?:^|\r\n)(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/\S*) HTTP/1\.1\r\n")


async def relay(client_reader, client_writer, upstream_reader, upstream_writer, seen=None):
    await asyncio.gather(
        pipe(client_reader, upstream_writer, seen), pipe(upstream_reader, client_writer)
    )


def split_host_port(text, default_port):
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    return host, int(port) if port else default_port


async def http_proxy(recorder, reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = [line for line in lines[1:] if line]
    if method == "CONNECT":
        host, port = split_host_port(target, 443)
        recorder.record(kind="connect", target=f"{host}:{port}")
        if not allowed(host):
            writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(host, port)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await relay(reader, writer, up_reader, up_writer, tunnelled(recorder, f"{host}:{port}"))
        return
    # Absolute form: `GET http://host:port/path HTTP/1.1`. One request per connection: the
    # upstream is asked to close after answering, and so is the client.
    rest = target.split("://", 1)[1]
    authority, _, path = rest.partition("/")
    host, port = split_host_port(authority, 80)
    recorder.record(kind="forward", target=f"{host}:{port}", method=method, path="/" + path)
    if not allowed(host):
        writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    kept = [
        h
        for h in headers
        if h.split(":", 1)[0].strip().lower() not in ("connection", "proxy-connection", "keep-alive")
    ]
    request = f"{method} /{path} {version}\r\n" + "".join(h + "\r\n" for h in kept)
    request += "connection: close\r\n\r\n"
    up_reader, up_writer = await asyncio.open_connection(host, port)
    up_writer.write(request.encode("latin-1"))
    await up_writer.drain()
    await relay(reader, writer, up_reader, up_writer)


async def socks5_proxy(recorder, reader, writer):
    version, count = await reader.readexactly(2)
    methods = await reader.readexactly(count)
    if version != 5 or 0 not in methods:
        writer.write(b"\x05\xff")
        await writer.drain()
        writer.close()
        return
    writer.write(b"\x05\x00")
    await writer.drain()
    _, command, _, address_type = await reader.readexactly(4)
    if address_type == 1:
        host = socket.inet_ntop(socket.AF_INET, await reader.readexactly(4))
        kind = "ipv4"
    elif address_type == 3:
        (length,) = await reader.readexactly(1)
        host = (await reader.readexactly(length)).decode("idna")
        kind = "domain"
    elif address_type == 4:
        host = socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
        kind = "ipv6"
    else:
        writer.close()
        return
    (port,) = struct.unpack("!H", await reader.readexactly(2))
    shown = f"[{host}]" if ":" in host else host
    recorder.record(kind="socks5", target=f"{shown}:{port}", address_type=kind)
    reply = lambda code: b"\x05" + bytes([code]) + b"\x00\x01" + b"\x00" * 6
    if command != 1:
        writer.write(reply(7))
        await writer.drain()
        writer.close()
        return
    if not allowed(host):
        writer.write(reply(2))
        await writer.drain()
        writer.close()
        return
    try:
        up_reader, up_writer = await asyncio.open_connection(host, port)
    except OSError:
        writer.write(reply(5))
        await writer.drain()
        writer.close()
        return
    writer.write(reply(0))
    await writer.drain()
    await relay(reader, writer, up_reader, up_writer, tunnelled(recorder, f"{shown}:{port}"))


async def main():
    mode, record_path = sys.argv[1], sys.argv[2]
    recorder = Recorder(record_path)
    handler = {"http": http_proxy, "socks5": socks5_proxy}[mode]

    async def serve(reader, writer):
        try:
            await handler(recorder, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())

"""The local SMTP server both sending paths deliver to: aiosmtpd on 127.0.0.1, accepting every
recipient and discarding every message after counting it. It runs as its own process, pinned by
bench/notifications to the load core, so neither path pays for the server's side of the conversation.

A second port answers every connection with one JSON line of what was received so far (messages,
bytes, recipients), which the benchmark reads before and after each measurement.

    python -m notifications_bench.sink --smtp-port P --count-port Q
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import Any

import uvloop
from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"


class Discard:
    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.recipients = 0
        self.multipart = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.messages += 1
        self.bytes += len(content)
        self.recipients += len(envelope.rcpt_tos)
        # The confirmation is multipart (text, HTML, calendar file); a cheap look, no parsing.
        self.multipart += b"multipart/" in content[:4096]
        return "250 Message accepted for delivery"

    def counts(self) -> dict[str, Any]:
        return {"messages": self.messages, "bytes": self.bytes, "recipients": self.recipients,
                "multipart": self.multipart}  # fmt: skip


async def read_counts(port: int) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        counts: dict[str, Any] = json.loads(await reader.readline())
        return counts
    finally:
        writer.close()
        await writer.wait_closed()


async def serve(smtp_port: int, count_port: int) -> None:
    loop = asyncio.get_running_loop()
    handler = Discard()
    smtp = await loop.create_server(
        # A fixed hostname: aiosmtpd otherwise asks for the FQDN (a resolver call) on every connection.
        lambda: SMTP(handler, hostname="bench-sink", loop=loop),
        HOST,
        smtp_port,
    )

    async def answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(json.dumps(handler.counts()).encode() + b"\n")
        await writer.drain()
        writer.close()

    counter = await asyncio.start_server(answer, HOST, count_port)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"sink: SMTP on {HOST}:{smtp_port}, counts on {HOST}:{count_port}", flush=True)
    await stop.wait()
    smtp.close()
    counter.close()
    print(f"sink: stopped after {handler.counts()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="the benchmark's discarding SMTP server (started by bench/notifications)"
    )
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--count-port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.smtp_port, args.count_port))


if __name__ == "__main__":
    main()

"""`hookyard listen`: a local receiver for development that shows every webhook it gets.

It answers challenges, verifies signatures when given the secret key (401 and the reason when
they fail), pretty-prints each event, can forward each raw request to your app and relay its
status, and can be told to answer events with a fixed status to watch retries and Stopped.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.json import JSON
from rich.text import Text

from hookyard import signing
from hookyard.cli import options
from hookyard.receiver import verification

if TYPE_CHECKING:
    from hookyard.receiver.listener import Listener, Options, Seen

MAX_SHOWN_BODY = 4096

Port = Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free).")]
Host = Annotated[str, typer.Option(help="Address to listen on.")]
Secret = Annotated[
    str | None,
    typer.Option(
        envvar="HOOKYARD_LISTEN_SECRET",
        show_default=False,
        help="The subscription's secretKey: verify signatures, answer 401 when they fail.",
    ),
]
ForwardTo = Annotated[
    str | None,
    typer.Option(
        show_default=False, help="Forward each raw request to this URL; relay its status."
    ),
]
Respond = Annotated[
    int | None,
    typer.Option(min=100, max=599, show_default=False, help="Answer every event with this status."),
]
Tolerance = Annotated[
    int, typer.Option(min=1, help="Seconds webhook-timestamp may differ from this clock.")
]


def listen(
    port: Port = 8080,
    host: Host = "127.0.0.1",
    secret: Secret = None,
    forward_to: ForwardTo = None,
    respond: Respond = None,
    tolerance: Tolerance = verification.DEFAULT_TOLERANCE,
) -> None:
    """Receive webhooks locally: answer challenges, verify, print, optionally forward."""
    from hookyard.receiver.listener import Listener, Options

    settings = Options(_secret(secret), _forward_url(forward_to), respond, tolerance)
    console = Console(soft_wrap=True, highlight=False)
    listener = Listener(settings, lambda seen: render(console, seen))
    try:
        asyncio.run(_run(listener, host, port, console, settings))
    except OSError as exc:
        options.fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port")


def _secret(secret: str | None) -> str | None:
    if secret is None:
        return None
    try:
        return signing.normalise_secret(secret.strip())
    except signing.InvalidSecret as exc:
        options.fail(f"--secret: {exc}; give the subscription's secretKey as Hookyard returned it")


def _forward_url(url: str | None) -> str | None:
    if url is None:
        return None
    import yarl

    try:
        parsed = yarl.URL(url)
    except ValueError:
        parsed = yarl.URL()
    if parsed.scheme not in ("http", "https") or not parsed.host:
        options.fail(f"--forward-to {url!r} is not an http(s) URL; e.g. http://127.0.0.1:5000/hook")
    return url


async def _run(listener: Listener, host: str, port: int, console: Console, opts: Options) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        url = await listener.start(host, port)
        console.print(banner(url, opts))
        await stop.wait()
    finally:
        await listener.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    console.print("stopped")


def banner(url: str, opts: Options) -> Text:
    """What the listener does, said once at start."""
    lines = [f"hookyard listen on {url} (Ctrl-C to stop)"]
    if opts.secret:
        lines.append("  signatures: verified; failures answered 401")
    else:
        lines.append("  signatures: not checked (give --secret to verify)")
    if opts.forward_to:
        lines.append(f"  forwarding: every request to {opts.forward_to}, its status relayed")
    if opts.respond is not None:
        lines.append(f"  events answered with status {opts.respond} (challenges still 200)")
    return Text("\n".join(lines))


def render(console: Console, seen: Seen) -> None:
    """Print one request the listener answered."""
    clock = datetime.now().strftime("%H:%M:%S")
    head = Text(f"{clock} {seen.method} {seen.path_qs} -> ")
    head.append(str(seen.status), style="green" if seen.status < 300 else "red")
    if seen.challenge is not None:
        head.append("  challenge answered")
    elif seen.event is not None:
        head.append(f"  {seen.event.event_type or '(no eventType)'}", style="bold")
        head.append(f"  [{seen.event.product}]")
    console.print(head)
    if seen.method == "POST":
        console.print(_details(seen))
        console.print(_body(seen))
    elif seen.forward_error:
        console.print(Text(f"  {seen.forward_error}", style="red"))


def _details(seen: Seen) -> Text:
    headers = {name.lower(): value for name, value in seen.headers.items()}
    rows = [("webhook-id", headers.get(signing.ID_HEADER, "(none)"))]
    rows.append(("timestamp", _age(headers.get(signing.TIMESTAMP_HEADER))))
    rows.append(("signature", _verdict(seen)))
    if seen.forwarded_to:
        rows.append(("forwarded", seen.forward_error or f"to {seen.forwarded_to}"))
    if seen.problem and seen.verified is not False:
        rows.append(("problem", seen.problem))
    return Text("\n".join(f"  {name:<11} {value}" for name, value in rows))


def _verdict(seen: Seen) -> str:
    if seen.verified is None:
        return "not checked (no --secret)"
    if seen.verified:
        return "verified"
    return f"NOT VERIFIED: {seen.problem}"


def _age(timestamp: str | None) -> str:
    if timestamp is None or not timestamp.isdigit():
        return f"{timestamp!r} (not unix seconds)"
    return f"{timestamp} ({int(time.time()) - int(timestamp)} s ago)"


def _body(seen: Seen) -> JSON | Text:
    if seen.event is not None:
        return JSON(json.dumps(dict(seen.event.payload)), indent=2)
    shown = seen.body[:MAX_SHOWN_BODY].decode("utf-8", "replace")
    more = len(seen.body) - MAX_SHOWN_BODY
    return Text(shown + (f"\n... {more} more bytes" if more > 0 else ""))

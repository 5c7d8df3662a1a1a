"""The copy-paste walk-through `hookyard demo` prints: token, business units, a local receiver,
subscribe, publish, list, unsubscribe; every command runs as printed in a POSIX shell."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RECEIVER_PORT = 8080
PROJECT_ID = "3f0f4a5e-1d2c-4b6a-9e8f-7a6b5c4d3e2f"

RECEIVER = (
    "python3 -c 'import http.server as h,urllib.parse as u;"
    "g=lambda s:(s.send_response(200),s.end_headers(),"
    's.wfile.write(u.parse_qs(u.urlsplit(s.path).query).get("challenge",[""])[0].encode()));'
    'p=lambda s:(print(s.rfile.read(int(s.headers["Content-Length"])).decode(),flush=True),'
    "s.send_response(200),s.end_headers());"
    'h.HTTPServer(("127.0.0.1",{port}),'
    'type("R",(h.BaseHTTPRequestHandler,),{{"do_GET":g,"do_POST":p}})).serve_forever()\''
)


def receiver_command(port: int = RECEIVER_PORT) -> str:
    """A one-line receiver on 127.0.0.1:`port` that echoes challenges and prints each event."""
    return RECEIVER.format(port=port)


def listen_command(port: int = RECEIVER_PORT) -> str:
    """`hookyard listen` as this installation can run it from any directory."""
    beside = Path(sys.executable).with_name("hookyard")
    program = "hookyard" if shutil.which("hookyard") == str(beside) else str(beside)
    return f"{program} listen --port {port}"


@dataclass(frozen=True)
class Demo:
    """What the walk-through names."""

    base_url: str
    company_id: str
    units: Sequence[tuple[str, str]]
    client_id: str
    client_secret: str
    scopes: Sequence[str]
    reused_company: bool
    reused_client: bool
    private_callbacks: bool
    saved_to: str


def token_command(demo: Demo) -> str:
    """Sets TOKEN to a fresh access token holding every scope of the demo client."""
    return (
        f"TOKEN=$(curl -s {demo.base_url}/identity/connect/token "
        f"-d grant_type=client_credentials -d client_id={demo.client_id} "
        f"-d client_secret={demo.client_secret} "
        "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )


def _header(demo: Demo) -> list[str]:
    if demo.reused_company:
        first = f"Reusing the demo tenant {demo.company_id} (found in the database)."
    else:
        first = f"Seeded a new demo tenant {demo.company_id}."
    client = (
        f"Reusing the demo client saved in {demo.saved_to}."
        if demo.reused_client
        else f"Created the demo client; its id and secret are saved in {demo.saved_to} (mode 0600)."
    )
    units = ", ".join(f"{code} {unit_id}" for unit_id, code in demo.units)
    return [
        "Hookyard demo",
        "",
        first,
        client,
        "",
        f"  company:        {demo.company_id}",
        f"  business units: {units}",
        f"  client_id:      {demo.client_id}",
        f"  client_secret:  {demo.client_secret}",
        f"  scopes:         {' '.join(demo.scopes)}",
        "",
    ]


def _callbacks(demo: Demo) -> list[str]:
    if demo.private_callbacks:
        return [
            "Private callbacks are allowed for this demo (HOOKYARD_ALLOW_PRIVATE_CALLBACKS=true),",
            "so a receiver on 127.0.0.1 can subscribe. Never set this in production.",
            "",
        ]
    return [
        "Private callbacks are NOT allowed: a receiver on 127.0.0.1 will be refused.",
        "Start with HOOKYARD_ALLOW_PRIVATE_CALLBACKS=true (`make run` does) to follow step 4.",
        "",
    ]


def _steps(demo: Demo) -> list[tuple[str, str]]:
    base = demo.base_url
    unit_id, code = demo.units[0]
    hook = f"http://127.0.0.1:{RECEIVER_PORT}/hook"
    auth = '-H "Authorization: Bearer $TOKEN"'
    json_type = '-H "Content-Type: application/json"'
    subscriptions = f"{base}/webhooks/api/v1/precon/{unit_id}"
    event = (
        f'{{"eventType": "ProjectCreated", "companyId": "{demo.company_id}", '
        f'"businessUnitId": "{unit_id}", "projectId": "{PROJECT_ID}"}}'
    )
    return [
        ("Get an access token (valid for an hour):", token_command(demo)),
        (
            "List the business units the token may see:",
            f"curl -s {base}/precon/api/v1/businessUnits {auth}",
        ),
        (
            f"In another terminal, start a receiver on port {RECEIVER_PORT} that answers the "
            "challenge and prints every event:",
            f"{listen_command()}\n\n   or, with nothing but Python:\n\n   {receiver_command()}",
        ),
        (
            f"Subscribe it to project events of business unit {code} (Hookyard sends the "
            "challenge first):",
            f"curl -s -X POST {subscriptions} {auth} {json_type} "
            f'-d \'{{"url": "{hook}", "eventTypes": ["ProjectCreated", "ProjectChanged"]}}\'',
        ),
        ("List your subscriptions:", f"curl -s {subscriptions} {auth}"),
        (
            "Publish an event as the Pre-Construction back end would; the receiver prints it:",
            f"curl -s -X POST {base}/events/api/v1/precon {auth} {json_type} -d '{event}'",
        ),
        (
            "Unsubscribe:",
            f"curl -s -X DELETE -G {subscriptions} --data-urlencode url={hook} {auth}",
        ),
    ]


def render(demo: Demo) -> str:
    """The whole text: the tenant, the callback allowance, then numbered commands."""
    lines = [*_header(demo), *_callbacks(demo), "Walk-through (paste each command into a shell):"]
    for number, (title, command) in enumerate(_steps(demo), start=1):
        lines += ["", f"{number}. {title}", "", f"   {command}"]
    lines += ["", f"API documentation: {demo.base_url}/docs", ""]
    return "\n".join(lines)

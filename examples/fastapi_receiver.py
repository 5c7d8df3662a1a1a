"""A FastAPI receiver for Hookyard webhooks: challenge, verify, dedupe, answer fast.

WEBHOOK_SECRET=<secretKey> .venv/bin/uvicorn --app-dir examples fastapi_receiver:app --port 8001
"""

from __future__ import annotations

import os

from fastapi import BackgroundTasks, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from hookyard import receiver
from hookyard.receiver.starlette import read_event

app = FastAPI()
webhook = receiver.Webhook(os.environ["WEBHOOK_SECRET"])
processed: set[str | None] = set()  # in production: a unique column in your database


def process(event: receiver.Event) -> None:
    if isinstance(event, receiver.PreConEvent):
        print(f"{event.event_type} project={event.project_id} bu={event.business_unit_id}")
    print(f"processed {event.event_type} {event.webhook_id} {dict(event.payload)}", flush=True)


@app.get("/webhooks", response_class=PlainTextResponse)
def challenge(challenge: str) -> str:
    return challenge  # exactly the value, 200, text/plain


@app.post("/webhooks")
async def receive(request: Request, background: BackgroundTasks) -> Response:
    event = await read_event(request, webhook)  # 401 with the reason when it does not verify
    if event.webhook_id not in processed:  # a retry carries the same webhook-id
        processed.add(event.webhook_id)
        background.add_task(process, event)  # answer now, work after
    return Response(status_code=200)

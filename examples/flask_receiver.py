"""A Flask receiver for Hookyard webhooks: challenge, verify, dedupe.

WEBHOOK_SECRET=<secretKey> PORT=8002 .venv/bin/python examples/flask_receiver.py
"""

from __future__ import annotations

import os

from flask import Flask

from hookyard import receiver
from hookyard.receiver.flask import view

app = Flask(__name__)
processed: set[str | None] = set()  # in production: a unique column in your database


def handle(event: receiver.Event) -> None:
    """Called once the signature verified; raise to answer 500 and have Hookyard retry."""
    if event.webhook_id in processed:  # a retry carries the same webhook-id
        return
    processed.add(event.webhook_id)
    if isinstance(event, receiver.HeavyJobEvent):
        print(f"{event.event_type} job={event.job_id} costCode={event.cost_code_id}")
    print(f"processed {event.event_type} {event.webhook_id} {dict(event.payload)}", flush=True)


secret = os.environ["WEBHOOK_SECRET"]
app.add_url_rule("/webhooks", view_func=view(secret, handle), methods=["GET", "POST"])

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8002")))

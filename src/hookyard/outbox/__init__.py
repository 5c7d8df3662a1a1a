"""A producer outbox: write events in your own database transaction, relay them to Hookyard.

```python
from hookyard import outbox

with engine.begin() as connection:                  # your transaction
    connection.execute(projects.insert().values(...))
    outbox.write(connection, "precon", {"eventType": "ProjectCreated", ...}, aggregate=project_id)
```

`hookyard outbox relay --database URL` then publishes each committed row to Hookyard's ingest
(at least once, in order per aggregate, with the row's Idempotency-Key). An event whose
transaction rolls back is never published. See docs/outbox.md.
"""

from __future__ import annotations

from hookyard.outbox.table import DEFAULT_TABLE, ddl
from hookyard.outbox.writer import create_table, create_table_async, write, write_async

__all__ = ["DEFAULT_TABLE", "create_table", "create_table_async", "ddl", "write", "write_async"]

"""The access table (`tests/security/access_table.py`) against the real Hookyard.

Completeness: the routes come from the app the composition root builds (the API and the
console, walked as FastAPI routes them) and the commands from the real Typer app; a route or a
command the table does not list fails, and so does an entry for one that is gone. A GET route's
implicit HEAD is its GET.

Cells: every cell that is not `NA` runs against one `hookyard serve` per database (SQLite and
PostgreSQL), made once for the whole table (`tests/security/access_world.py`); a cell that
changes something gets a fresh object to change (`access_probes.py`, `access_commands.py`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer.main
from fastapi import routing
from starlette.routing import Mount

from hookyard.cli import runtime as runtimes
from hookyard.cli.main import app as cli_app
from hookyard.config import Settings
from hookyard.store import migrate
from tests import pgcheck
from tests.security import access_world
from tests.security.access_commands import INVOCATIONS
from tests.security.access_probes import PROBES, Knocked, Probe
from tests.security.access_table import (
    ACTORS,
    NA,
    SIGN_IN,
    TABLE,
    Allowed,
    Answered,
    Covered,
    Entry,
    OwnOnly,
    Refused,
)
from tests.security.access_world import World
from tests.support import databases

ROOT = Path(__file__).parents[2]
OPENAPI = ROOT / "docs" / "reference" / "openapi.json"
DIALECTS = [
    pytest.param("sqlite", marks=pytest.mark.xdist_group("access-table-sqlite")),
    pytest.param(
        "postgres", marks=[pytest.mark.postgres, pytest.mark.xdist_group("access-table-postgres")]
    ),
]


# completeness


def served_routes(tmp_path: Path) -> dict[tuple[str, str], str | None]:
    """(door, route) of every route the app serves, with its operationId."""
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    wired = runtimes.build(settings)
    try:
        app = wired.app()
    finally:
        asyncio.run(wired.close())
    served: dict[tuple[str, str], str | None] = {}
    for route in routing.iter_route_contexts(app.routes):
        path = str(route.path)
        door = "console" if path.startswith("/console") else "api"
        if isinstance(route.original_route, Mount):
            served[door, f"MOUNT {path}"] = None
            continue
        methods = set(route.methods or ())
        for method in methods - {"HEAD"} if "GET" in methods else methods:
            served[door, f"{method} {path}"] = getattr(route, "operation_id", None)
    return served


def cli_commands() -> set[str]:
    """Every command and subcommand of `hookyard`, as "hookyard group command"."""
    found: set[str] = set()

    def walk(command: object, words: list[str]) -> None:
        children = getattr(command, "commands", None)
        if children is None:
            found.add(" ".join(words))
            return
        for name, child in children.items():
            walk(child, [*words, name])

    walk(typer.main.get_command(cli_app), ["hookyard"])
    return found


def listed(door: str) -> set[str]:
    return {entry.route for entry in TABLE if entry.door == door}


def test_the_table_lists_every_route_the_app_serves_and_no_other(tmp_path: Path) -> None:
    served = served_routes(tmp_path)
    for door in ("api", "console"):
        routes = {route for (where, route) in served if where == door}
        assert routes - listed(door) == set(), f"{door} routes missing from the access table"
        assert listed(door) - routes == set(), f"{door} routes in the table that are not served"


def test_api_entries_are_named_by_their_operation_id(tmp_path: Path) -> None:
    served = served_routes(tmp_path)
    named = {entry.route: entry.action for entry in TABLE if entry.door == "api"}
    operations = {route: op for (door, route), op in served.items() if door == "api" and op}
    assert {route: named[route] for route in operations} == operations
    committed = json.loads(OPENAPI.read_text())
    documented = {
        operation["operationId"]
        for methods in committed["paths"].values()
        for operation in methods.values()
    }
    assert documented == set(operations.values())


def test_the_table_lists_every_cli_command_and_no_other() -> None:
    commands = cli_commands()
    assert commands - listed("cli") == set(), "commands missing from the access table"
    assert listed("cli") - commands == set(), "commands in the table that the CLI lacks"


def test_every_entry_has_every_actor_and_a_way_to_run_it() -> None:
    doors = [(entry.door, entry.route) for entry in TABLE]
    assert len(doors) == len(set(doors)), "an action is listed twice"
    for entry in TABLE:
        assert tuple(entry.cells) == ACTORS or set(entry.cells) == set(ACTORS), entry.route
        for actor, expected in entry.cells.items():
            if isinstance(expected, NA):
                assert expected.reason.strip(), (entry.route, actor)
            if isinstance(expected, Covered):
                assert (ROOT / expected.path).is_file(), expected.path
        if entry.door == "cli":
            runs = isinstance(entry.cells["operator"], Allowed)
            assert not runs or entry.route in INVOCATIONS, f"no invocation for {entry.route}"
        else:
            assert entry.route in PROBES, f"no probe for {entry.route}"


def test_probes_and_invocations_are_for_listed_actions_only() -> None:
    assert set(PROBES) - listed("api") - listed("console") == set()
    assert set(INVOCATIONS) - listed("cli") == set()


# the cells


@pytest.fixture(scope="module", params=DIALECTS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One world per database: its server runs for every cell of the table."""
    workdir = tmp_path_factory.mktemp(f"access-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'hookyard.db'}"
        migrate.upgrade_sync(url)
        with access_world.running("sqlite", url, workdir) as built:
            yield built
        return
    problem = pgcheck.postgres_problem()
    if problem is not None:
        if databases.in_ci():
            pytest.fail(f"PostgreSQL is required in CI: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    url = databases.create_postgres_database()
    try:
        with access_world.running("postgres", url, workdir) as built:
            yield built
    finally:
        databases.drop_postgres_database(url)


CELLS = [
    pytest.param(entry, actor, id=f"{entry.door} {entry.route} {actor}")
    for entry in TABLE
    for actor in ACTORS
    if not isinstance(entry.cells[actor], NA)
]


@pytest.mark.parametrize(("entry", "actor"), CELLS)
def test_cell(world: World, entry: Entry, actor: str) -> None:
    expected = entry.cells[actor]
    if isinstance(expected, Covered):
        assert (ROOT / expected.path).is_file(), expected.path
        problems = []
    elif entry.door == "cli":
        problems = _command(world, entry)
    elif isinstance(expected, Refused) and expected.at == SIGN_IN:
        problems = _refused_at_sign_in(world)
    else:
        assert isinstance(expected, Allowed | OwnOnly | Refused)
        problems = _knock(world, entry, actor, expected)
    assert not problems, f"{actor} at {entry.door} {entry.route}: " + "; ".join(problems)


def _command(world: World, entry: Entry) -> list[str]:
    args = INVOCATIONS[entry.route](world)
    result = world.cli(*args)
    world.store.sealer.reload()
    if result.exit_code == 0:
        return []
    return [f"`hookyard {' '.join(args)}` exited {result.exit_code}: {result.output[-300:]}"]


def _refused_at_sign_in(world: World) -> list[str]:
    answer = world.backend_sign_in
    problems = []
    if answer.status != 403:
        problems.append(f"its sign-in answered {answer.status}, want 403")
    if answer.session:
        problems.append("its sign-in started a console session")
    return problems


def _knock(world: World, entry: Entry, actor: str, expected: Answered) -> list[str]:
    probe = PROBES[entry.route]
    knocked = probe.knock(world, actor)
    problems = []
    if knocked.response.status_code != expected.status:
        said = _said(knocked.response)
        problems.append(f"answered {knocked.response.status_code}, want {expected.status} ({said})")
    if isinstance(expected, Allowed):
        problems += _done(world, probe, knocked)
    else:
        problems += _untouched(probe, knocked)
    if isinstance(expected, Refused):
        problems += _refusal(entry, expected, knocked.response)
    return problems


def _done(world: World, probe: Probe, knocked: Knocked) -> list[str]:
    if probe.listing and not knocked.shows(knocked.target.marker):
        return ["the answer does not show the target"]
    return [] if probe.effect(world, knocked) else ["the action had no effect"]


def _untouched(probe: Probe, knocked: Knocked) -> list[str]:
    problems = []
    if probe.state is not None and knocked.before != knocked.after:
        problems.append(f"the target changed: {knocked.before} -> {knocked.after}")
    if probe.listing and knocked.shows(knocked.target.marker):
        problems.append("the answer shows the target")
    if knocked.shows(knocked.target.secret):
        problems.append("the answer holds the target's secret key")
    return problems


def _refusal(entry: Entry, expected: Refused, response: httpx.Response) -> list[str]:
    if expected.error:
        error = _json(response).get("error")
        return [] if error == expected.error else [f"error {error!r}, want {expected.error!r}"]
    if (
        entry.door == "console"
        and expected.status == 401
        and 'name="client_secret"' not in response.text
    ):
        return ["the answer is not the sign-in page"]
    return []


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _said(response: httpx.Response) -> str:
    """What an answer says, shortly: a problem's detail, an OAuth error, a page's title."""
    body = _json(response)
    if body:
        return str(body.get("detail") or body.get("error") or "")[:160]
    found = TITLE.search(response.text)
    if found:
        return found.group(1).strip()
    return response.text[:80].strip()

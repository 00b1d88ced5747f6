"""Embedded PostgreSQL for development and tests, used when DATABASE_URL is unset.

The server comes from the `pgserver` package (PostgreSQL binaries in a wheel) and keeps its
data in `.pgdata/` beside manage.py. A server already running on that data directory is
reused, by this process or any other, so `make run` and `make test` share one. It is never
stopped on exit (`cleanup_mode=None`): pgserver's default stops it when the last registered
process exits, which breaks a second process that still uses it. `make db-stop` stops it.
"""

import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

DATA_DIR = Path(__file__).resolve().parent.parent / ".pgdata"


def database_url(data_dir: Path = DATA_DIR, name: str = "") -> str:
    """Start (or reuse) the embedded server on `data_dir` and return its connection URL: of
    its `postgres` database, or of database `name`, created if missing."""
    # pgserver keeps its lock under the user's runtime dir; on servers and in CI without a login
    # session, platformdirs warns that XDG_RUNTIME_DIR is unset and falls back to /tmp.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    try:
        import pgserver
    except ImportError as error:
        raise ImproperlyConfigured(
            "DATABASE_URL is not set and the embedded PostgreSQL (the 'pgserver' package) is "
            "not installed; it has wheels for Python 3.9-3.12 only. Set DATABASE_URL to a "
            "PostgreSQL server, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/pipeline_crm"
        ) from error
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    if name:
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{name}";')
    # The URI names the socket directory as `?host=...`, a form django-environ passes through.
    return server.get_uri(name or None)


def stop(data_dir: Path = DATA_DIR) -> None:
    """Stop the embedded server on `data_dir` if one is running there."""
    import os

    import pgserver

    if (data_dir / "postmaster.pid").exists():
        # As root, pgserver runs PostgreSQL as its own system user, so pg_ctl must run as it too.
        as_user = {"user": "pgserver"} if os.geteuid() == 0 else {}
        pgserver.pg_ctl(["-w", "stop"], pgdata=data_dir, **as_user)


if __name__ == "__main__":
    import sys

    match sys.argv[1:]:
        case ["stop"]:
            stop()
        case ["url", name]:
            print(database_url(name=name))
        case _:
            print(database_url())

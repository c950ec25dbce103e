"""Fixtures of the notification tests: the services' databases (SQLite, and PostgreSQL when
configured), dev and prod configured, a fake clock, and real loopback receivers."""

from tests.services.conftest import engine, settings  # noqa: F401  (fixtures)
from tests.support.receivers import (  # noqa: F401  (fixtures)
    http_receiver,
    second_http_receiver,
    smtp_receiver,
)

from signalbox.testing import (  # noqa: F401  (fixtures)
    clock,
    database,
    postgres_database_url,
    postgres_engine,
    sqlite_template,
)

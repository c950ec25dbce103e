from signalbox.testing import (  # noqa: F401  (fixtures)
    clock,
    database,
    database_url,
    postgres_database_url,
    postgres_engine,
    sqlite_template,
)

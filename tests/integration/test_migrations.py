"""The migrations are the schema: upgrade → downgrade → upgrade works, and the models match them."""


import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from core.models import Base
from portals.migrate import downgrade, upgrade
from tests import resources
from tests.conftest import create_fresh_database, drop_database


@pytest.fixture
def scratch_url(server_url):
    name = resources.db_name() + "_migrations"
    url = create_fresh_database(server_url, name)
    yield url
    drop_database(server_url, name)


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(scratch_url):
    upgrade(scratch_url)
    assert table_names(scratch_url) == set(Base.metadata.tables)
    downgrade(scratch_url, "base")
    assert table_names(scratch_url) == set()
    upgrade(scratch_url)
    assert table_names(scratch_url) == set(Base.metadata.tables)
    engine = create_engine(scratch_url)
    with engine.connect() as conn:
        policies = conn.execute(text("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'")).scalar()
        guard = conn.execute(text(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'appointments_no_overlap'")).scalar()
    engine.dispose()
    assert policies > 40 and guard == 1


def test_models_and_migrations_agree(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []

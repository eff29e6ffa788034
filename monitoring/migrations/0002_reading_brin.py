"""BRIN indexes on the telemetry time columns, on PostgreSQL only (SQLite has no BRIN; it keeps the
b-tree indexes of 0001). Readings arrive roughly in time order, which is what BRIN needs."""

from django.db import migrations

INDEXES = (
    ("monitoring_reading", "mon_reading_ts_brin", "ts"),
    ("monitoring_statusevent", "mon_status_ts_brin", "ts"),
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, column in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING brin ({column}) WITH (pages_per_range = 32)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _, name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]

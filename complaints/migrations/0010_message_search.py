"""A full-text index on message bodies for the agents' search (PostgreSQL only: the
embedded SQLite mode searches subjects and citizens without it)."""

from django.db import migrations

INDEX = (
    "CREATE INDEX IF NOT EXISTS message_body_search ON complaints_message "
    "USING gin (to_tsvector('simple'::regconfig, COALESCE(body, '')))"
)


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS message_body_search")


class Migration(migrations.Migration):
    dependencies = [("complaints", "0009_consults")]

    operations = [migrations.RunPython(create, drop)]

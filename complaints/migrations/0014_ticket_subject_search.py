"""A full-text index on ticket subjects, for the merge form's likely duplicates
(PostgreSQL only: the embedded SQLite mode matches words without it)."""

from django.db import migrations

INDEX = (
    "CREATE INDEX IF NOT EXISTS ticket_subject_search ON complaints_ticket "
    "USING gin (to_tsvector('simple'::regconfig, COALESCE(subject, '')))"
)


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ticket_subject_search")


class Migration(migrations.Migration):
    dependencies = [("complaints", "0013_data_erasure")]

    operations = [migrations.RunPython(create, drop)]

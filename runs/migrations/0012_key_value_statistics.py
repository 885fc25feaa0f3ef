"""PostgreSQL: statistics of tag and property values together with their keys.

The planner takes a key's and a value's frequencies as independent, so it guessed
`tags.quality = 'great'` (a value only that key has) five times too rare on the
bench's million runs, and chose nested loops over a fifth of the runs. With the
combinations' frequencies (ANALYZE fills them) the run list filtered by such a
tag went 84-89 -> 12 ms, and sorted by a column 1.2-1.3 -> 0.74-0.78 s
(bench/README.md). SQLite has no such statistics: nothing to do there.
"""

from django.db import migrations

STATISTICS = {
    "tag_key_value_stats": "runs_tag",
    "property_key_value_stats": "runs_property",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table in STATISTICS.items():
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {name} (mcv, dependencies) ON key, value FROM {table}"
        )
        schema_editor.execute(f"ANALYZE {table}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in STATISTICS:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0011_creation_indexes_oldest_first"),
    ]

    operations = [migrations.RunPython(create, drop)]

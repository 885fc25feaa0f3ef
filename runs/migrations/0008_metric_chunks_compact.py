"""Metric chunks re-encoded compactly (runs.metrics_codec): deltas of deltas for steps
and times, XOR of neighbours for values, each column shuffled and deflated.

The old format was three raw little-endian arrays (int64 steps, float64 values and
times). Reversible: going back writes the raw arrays again.
"""

import numpy as np
from django.db import migrations

BATCH = 500


def _recode(apps, convert) -> None:
    MetricChunk = apps.get_model("runs", "MetricChunk")
    last = 0
    while True:
        batch = list(
            MetricChunk.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "steps", "values", "times")[:BATCH]
        )
        if not batch:
            return
        updates = []
        for pk, steps, values, times in batch:
            updates.append(MetricChunk(pk=pk, **convert(bytes(steps), bytes(values), bytes(times))))
        MetricChunk.objects.bulk_update(updates, ["steps", "values", "times"])
        last = batch[-1][0]


def forwards(apps, schema_editor) -> None:
    from runs import metrics_codec as codec

    _recode(
        apps,
        lambda s, v, t: {
            "steps": codec.encode_ints(np.frombuffer(s, dtype="<i8")),
            "values": codec.encode_floats(np.frombuffer(v, dtype="<f8")),
            "times": codec.encode_times(np.frombuffer(t, dtype="<f8")),
        },
    )


def backwards(apps, schema_editor) -> None:
    from runs import metrics_codec as codec

    _recode(
        apps,
        lambda s, v, t: {
            "steps": codec.decode_ints(s).astype("<i8").tobytes(),
            "values": codec.decode_floats(v).astype("<f8").tobytes(),
            "times": codec.decode_times(t).astype("<f8").tobytes(),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("runs", "0007_submitted_runs")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]

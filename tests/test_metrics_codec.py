"""The compact chunk columns: every value back bit for bit, few bytes a point."""

import math
import struct
import zlib

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from runs import metrics_codec as codec

FLOATS = {
    "empty": [],
    "one": [0.5],
    "specials": [math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1.7976931348623157e308],
    "a NaN payload": [struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_DEAD_BEEF))[0]],
    "noise": np.random.default_rng(3).normal(size=1000).tolist(),
    "a decay": [1 / (i + 1) for i in range(1000)],
}
INTS = {
    "empty": [],
    "regular": list(range(1000)),
    "every 10th": list(range(0, 10_000, 10)),
    "negative and repeated": [-5, -5, -5, 3, 3, 2**40, 0],
    "extremes (wrapping deltas)": [2**63 - 1, -(2**63), 0, 2**63 - 1, -1],
}


@pytest.mark.parametrize("values", FLOATS.values(), ids=FLOATS.keys())
def test_floats_come_back_bit_for_bit(values):
    back = codec.decode_floats(codec.encode_floats(values))
    assert np.asarray(values, dtype="<f8").view("<u8").tolist() == back.view("<u8").tolist()


@pytest.mark.parametrize("items", INTS.values(), ids=INTS.keys())
def test_ints_come_back_exactly(items):
    assert codec.decode_ints(codec.encode_ints(items)).tolist() == items


def test_times_are_kept_to_the_microsecond():
    times = 1_764_000_000 + np.cumsum(np.random.default_rng(5).uniform(0.009, 0.011, 1000))
    back = codec.decode_times(codec.encode_times(times))
    assert np.abs(back - times).max() < 1e-6
    exact = [1_700_000_000.0, 1_700_000_000.5, 1_700_000_001.25]
    assert codec.decode_times(codec.encode_times(exact)).tolist() == exact


def test_regular_steps_and_times_take_a_few_bytes():
    steps = codec.encode_ints(range(1000))
    times = codec.encode_times([1_764_000_000 + i * 0.5 for i in range(1000)])
    assert len(steps) < 30
    assert len(times) < 100
    # Values a training loop logs from float32 tensors: about half their raw 8 bytes.
    values = np.float32(np.exp(-np.arange(1000) / 300)).astype(np.float64)
    assert len(codec.encode_floats(values)) < 5 * 1000


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x00raw",
        b"\x01not deflate",
        codec.FORMAT + zlib.compress(b"abc", 6, -15),
    ],
    ids=["empty", "unknown format", "damaged", "not whole words"],
)
def test_foreign_columns_are_refused(blob):
    with pytest.raises(codec.CodecError):
        codec.decode_floats(blob)


@pytest.mark.django_db(transaction=True)
def test_migration_recodes_raw_chunks_and_back():
    executor = MigrationExecutor(connection)
    executor.migrate([("runs", "0007_submitted_runs")])
    apps = executor.loader.project_state([("runs", "0007_submitted_runs")]).apps
    Workspace = apps.get_model("runs", "Workspace")
    Experiment = apps.get_model("runs", "Experiment")
    Run = apps.get_model("runs", "Run")
    MetricChunk = apps.get_model("runs", "MetricChunk")
    ws = Workspace.objects.create(slug="old")
    exp = Experiment.objects.create(workspace=ws, name="e")
    run = Run.objects.create(id="e_1_a", workspace=ws, experiment=exp, root_id="e_1_a")
    steps, values = list(range(0, 50, 5)), [math.nan, *[i / 7 for i in range(9)]]
    times = [1_700_000_000 + i / 4 for i in range(10)]
    MetricChunk.objects.create(
        run=run,
        name="loss",
        seq=0,
        count=10,
        first_step=0,
        last_step=45,
        steps=np.asarray(steps, "<i8").tobytes(),
        values=np.asarray(values, "<f8").tobytes(),
        times=np.asarray(times, "<f8").tobytes(),
    )

    executor = MigrationExecutor(connection)
    executor.migrate([("runs", "0008_metric_chunks_compact")])
    from runs.models import MetricChunk as Current
    from runs.services import metric_series

    chunk = Current.objects.get()
    assert bytes(chunk.values)[:1] == codec.FORMAT
    series = metric_series(run=chunk.run, name="loss")
    assert series["steps"] == steps
    assert series["times"] == times
    assert math.isnan(series["values"][0])
    assert series["values"][1:] == values[1:]

    executor = MigrationExecutor(connection)
    executor.migrate([("runs", "0007_submitted_runs")])
    raw = MetricChunk.objects.get()
    assert np.frombuffer(bytes(raw.steps), "<i8").tolist() == steps
    assert np.frombuffer(bytes(raw.times), "<f8").tolist() == times
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.parametrize(
    ("values", "narrow"),
    [
        (np.float32(np.linspace(0, 1, 500)).astype(np.float64).tolist(), True),
        ([math.nan, -0.0, math.inf, 0.5, -2.0], True),
        ([0.1, 0.5], False),  # 0.1 is no float32 number: 8-byte words
        ([3.4e38, 1e-45, 1e39], False),  # the last overflows float32
    ],
    ids=["float32 values", "float32 specials", "one double", "beyond float32"],
)
def test_float32_values_take_4_byte_words_and_come_back_bit_for_bit(values, narrow):
    blob = codec.encode_floats(values)
    assert codec.holds_float32(blob) is narrow
    back = codec.decode_floats(blob)
    assert back.view("<u8").tolist() == np.asarray(values, "<f8").view("<u8").tolist()


SMOOTH = {
    "decaying learning rate": [0.1 * 0.98**s for s in range(100)],
    "loss curve": [2.0 / (s + 1) + 3e-3 for s in range(100)],
    "accuracy curve": [1 - 1.0 / (s + 2) for s in range(100)],
}


@pytest.mark.parametrize("values", SMOOTH.values(), ids=SMOOTH.keys())
def test_smooth_curves_pack_smaller_than_xor_alone(values):
    blob = codec.encode_floats(values)
    u = np.asarray(values, "<f8").view("<u8")
    xor_only = codec._pack(codec._transform(u, "xor"))
    # The differences of a smooth curve's bit patterns cancel its high bytes.
    assert len(blob) < 0.95 * len(xor_only)
    assert codec.decode_floats(blob).tolist() == values


@pytest.mark.parametrize("how", ["xor", "delta", "delta2"])
@pytest.mark.parametrize("dtype", ["<u8", "<u4"])
def test_every_transform_round_trips_any_bit_pattern(how, dtype):
    rng = np.random.default_rng(7)
    words = rng.integers(0, np.iinfo(dtype).max, size=3000, dtype=dtype, endpoint=True)
    # The extremes, where wrapping arithmetic overflows.
    words[:4] = [0, np.iinfo(dtype).max, 0, np.iinfo(dtype).max]
    back = codec._untransform(codec._transform(words, how), how)
    assert back.tolist() == words.tolist()


def test_a_long_column_is_packed_in_the_transform_its_first_words_chose():
    values = [0.1 * 0.999**s for s in range(5000)] + [math.nan, -0.0, math.inf]
    back = codec.decode_floats(codec.encode_floats(values))
    assert back.view("<u8").tolist() == np.asarray(values, "<f8").view("<u8").tolist()

"""Run files on the detail page: downloads, the live log tail, and chart series."""

from __future__ import annotations

import math
import re

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from runs import services
from runs.selectors.run_detail import LOG_TAIL_BYTES
from runs.status import Status
from tests.factories import ExperimentFactory, RunFactory, WorkspaceFactory

HX = {"HX-Request": "true"}


@pytest.fixture
def run(workspace):
    return RunFactory(
        experiment=ExperimentFactory(workspace=workspace, name="mnist"), status=Status.RUNNING
    )


def file_url(run, path: str) -> str:
    return reverse("runs:run-file", args=[run.workspace.slug, run.pk, path])


def log_url(run, log, offset) -> str:
    return reverse("runs:run-log", args=[run.workspace.slug, run.pk, log.pk]) + f"?offset={offset}"


# -- downloads ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reader", "contributor", "owner"])
def test_members_download_files_as_attachments(request, run, role):
    services.run_file_upload(run=run, path="outputs/model.pt", content=ContentFile(b"\x00weights"))
    client = request.getfixturevalue(f"{role}_client")
    response = client.get(file_url(run, "outputs/model.pt"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x00weights"
    assert response["Content-Disposition"] == 'attachment; filename="model.pt"'


def test_the_page_lists_files_with_sizes_and_download_links(reader_client, run):
    services.run_file_upload(run=run, path="outputs/model.pt", content=ContentFile(b"x" * 4096))
    html = reader_client.get(reverse("runs:run-detail", args=["team", run.pk])).content.decode()
    assert file_url(run, "outputs/model.pt") in html
    assert "4.0\xa0KB" in html


def test_outsiders_cannot_download(outsider_client, run):
    services.run_file_upload(run=run, path="secret.txt", content=ContentFile(b"s"))
    assert outsider_client.get(file_url(run, "secret.txt")).status_code == 404


@pytest.mark.parametrize("path", ["nope.txt", "../secret.txt", "outputs/../../x", "%2e%2e/x"])
def test_unknown_or_escaping_paths_are_404(reader_client, run, path):
    services.run_file_upload(run=run, path="a.txt", content=ContentFile(b"a"))
    assert reader_client.get(file_url(run, "a.txt")[: -len("a.txt")] + path).status_code == 404


def test_files_of_another_workspace_are_404_through_this_one(reader_client):
    other = RunFactory(experiment=ExperimentFactory(workspace=WorkspaceFactory(slug="other")))
    services.run_file_upload(run=other, path="a.txt", content=ContentFile(b"a"))
    response = reader_client.get(reverse("runs:run-file", args=["team", other.pk, "a.txt"]))
    assert response.status_code == 404


def test_a_file_missing_from_storage_is_404_not_500(reader_client, run):
    rf = services.run_file_upload(run=run, path="gone.txt", content=ContentFile(b"a"))
    rf.file.storage.delete(rf.file.name)
    assert reader_client.get(file_url(run, "gone.txt")).status_code == 404


# -- logs ---------------------------------------------------------------------------------


def _log(run, data: bytes):
    return services.run_file_upload(
        run=run, path="logs/train.log", content=ContentFile(data), kind="log"
    )


def _next_offset(html: str) -> int:
    return int(re.search(r"\?offset=(\d+)", html).group(1))


def test_the_page_shows_the_log_tail_and_polls_from_its_end(reader_client, run):
    _log(run, b"epoch 1 <b>loss</b>\nepoch 2\n")
    html = reader_client.get(reverse("runs:run-detail", args=["team", run.pk])).content.decode()
    assert "epoch 1 &lt;b&gt;loss&lt;/b&gt;\nepoch 2\n" in html
    assert 'hx-trigger="every 2s"' in html
    assert _next_offset(html) == len(b"epoch 1 <b>loss</b>\nepoch 2\n")


def test_a_long_log_shows_only_its_tail_from_a_line_start(reader_client, run):
    lines = [f"line {i:06d}\n".encode() for i in range(20_000)]
    _log(run, b"".join(lines))
    html = reader_client.get(reverse("runs:run-detail", args=["team", run.pk])).content.decode()
    assert "line 019999" in html
    assert "line 000000" not in html
    assert "earlier output is in the full log" in html
    tail = html.split('class="log-text"')[1]
    assert re.search(r"full log …\n</span>line \d{6}\n", tail)
    assert len(tail) < LOG_TAIL_BYTES + 2000


def test_polling_appends_only_new_bytes_and_moves_the_offset(reader_client, run):
    log = _log(run, b"one\n")
    services.run_file_append(run=run, path="logs/train.log", data=b"two\nthree\n")
    response = reader_client.get(log_url(run, log, 4), headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith("two\nthree\n")
    assert "<html" not in html
    assert 'hx-swap-oob="true"' in html
    assert _next_offset(html) == 14
    # Nothing new yet: an empty chunk and the same offset.
    response = reader_client.get(log_url(run, log, 14), headers=HX)
    assert response.status_code == 200
    assert _next_offset(response.content.decode()) == 14


def test_polling_stops_once_the_run_is_terminal_and_the_log_read(reader_client, run):
    log = _log(run, b"one\ntwo\n")
    services.run_complete(run=run)
    response = reader_client.get(log_url(run, log, 4), headers=HX)
    assert response.status_code == 286
    html = response.content.decode()
    assert html == "two\n"


def test_a_terminal_run_keeps_polling_until_its_log_is_read(reader_client, run):
    log = _log(run, b"x" * 300_000)
    services.run_complete(run=run)
    first = reader_client.get(log_url(run, log, 0), headers=HX)
    assert first.status_code == 200
    offset = _next_offset(first.content.decode())
    assert 0 < offset < 300_000
    assert reader_client.get(log_url(run, log, offset), headers=HX).status_code == 286


def test_a_multibyte_character_is_never_split_between_polls(reader_client, run):
    log = _log(run, "naïve ".encode() + "é".encode()[:1])
    response = reader_client.get(log_url(run, log, 0), headers=HX)
    assert response.content.decode().startswith("naïve ")
    assert _next_offset(response.content.decode()) == len("naïve ".encode())
    services.run_file_append(run=run, path="logs/train.log", data="é".encode()[1:] + b"!\n")
    response = reader_client.get(log_url(run, log, len("naïve ".encode())), headers=HX)
    assert response.content.decode().startswith("é!\n")


def test_an_offset_past_the_end_starts_again(reader_client, run):
    log = _log(run, b"fresh\n")
    response = reader_client.get(log_url(run, log, 10_000), headers=HX)
    assert response.content.decode().startswith("fresh\n")


@pytest.mark.parametrize("offset", ["", "-1", "x", "1.5", "9" * 40])
def test_bad_offsets_get_400_with_a_message(reader_client, run, offset):
    log = _log(run, b"a\n")
    response = reader_client.get(log_url(run, log, offset), headers=HX)
    assert response.status_code == 400
    assert b"offset" in response.content


def test_logs_of_another_run_or_workspace_are_404(reader_client, outsider_client, run):
    log = _log(run, b"a\n")
    sibling = RunFactory(experiment=run.experiment)
    url = reverse("runs:run-log", args=["team", sibling.pk, log.pk]) + "?offset=0"
    assert reader_client.get(url).status_code == 404
    assert outsider_client.get(log_url(run, log, 0)).status_code == 404


# -- chart series -------------------------------------------------------------------------


def test_metrics_json_has_steps_and_values_per_metric(reader_client, run):
    services.metric_log_batch(
        run=run,
        series=[
            services.SeriesIn(name="loss", values=[1.0, float("nan"), 0.5], steps=[0, 10, 20]),
            services.SeriesIn(name="acc", values=[0.1, float("inf")]),
        ],
    )
    response = reader_client.get(reverse("runs:run-metrics", args=["team", run.pk]))
    assert response.status_code == 200
    assert response.json() == {
        "acc": {"steps": [0, 1], "values": [0.1, None]},
        "loss": {"steps": [0, 10, 20], "values": [1.0, None, 0.5]},
    }


def test_long_series_are_downsampled_keeping_ends_and_extremes(reader_client, run):
    n = 12_345
    values = [math.sin(i / 100) for i in range(n)]
    values[7777] = 50.0
    services.metric_log_batch(run=run, series=[services.SeriesIn(name="wave", values=values)])
    data = reader_client.get(reverse("runs:run-metrics", args=["team", run.pk])).json()["wave"]
    assert len(data["steps"]) == len(data["values"]) <= 2000
    assert (data["steps"][0], data["steps"][-1]) == (0, n - 1)
    assert max(data["values"]) == 50.0
    assert data["steps"] == sorted(data["steps"])


def test_metrics_json_can_pick_series(reader_client, run):
    services.metric_log_batch(
        run=run,
        series=[services.SeriesIn(name=n, values=[1.0]) for n in ("a", "b", "c")],
    )
    url = reverse("runs:run-metrics", args=["team", run.pk]) + "?name=a&name=c&name=zzz"
    assert set(reader_client.get(url).json()) == {"a", "c"}


def test_metrics_json_is_for_members_only(outsider_client, run):
    response = outsider_client.get(reverse("runs:run-metrics", args=["team", run.pk]))
    assert response.status_code == 404

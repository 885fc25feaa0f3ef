"""The run page of submitted runs and text metrics: a table of values, charts of numbers only,
logs that appear once the script writes, the script and its snapshot."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.urls import reverse

from runs import services
from runs.models import RunFile
from tests.factories import ExperimentFactory, RunFactory

HX = {"HX-Request": "true"}


def test_text_metrics_are_a_table_of_values_and_not_charts(reader_client, workspace):
    run = RunFactory(experiment=ExperimentFactory(workspace=workspace))
    services.metric_log_batch(
        run=run,
        series=[
            services.SeriesIn(name="Status", values=["Launching Apple", "Launching <b>Pear</b>"]),
            services.SeriesIn(name="converged", values=[True]),
            services.SeriesIn(name="loss", values=[0.5, 0.25]),
        ],
    )
    url = reverse("runs:run-detail", args=[workspace.slug, run.id])

    response = reader_client.get(url)

    html = response.content.decode()
    assert [m.name for m in response.context["chart_metrics"]] == ["loss"]
    assert [m.name for m, _ in response.context["text_metrics"]] == ["Status", "converged"]
    assert 'aria-label="Values of Status"' in html
    assert "Launching Apple" in html
    assert "Launching &lt;b&gt;Pear&lt;/b&gt;" in html  # escaped
    assert "<code>true</code>" in html
    series = reader_client.get(reverse("runs:run-metrics", args=[workspace.slug, run.id])).json()
    assert list(series) == ["loss"]


def test_the_page_of_a_queued_submitted_run_waits_for_its_output(reader_client, workspace):
    run = RunFactory(
        experiment=ExperimentFactory(workspace=workspace),
        status="Queued",
        script="train.py",
        arguments=["--lr", "0.1"],
        worker="runworker@box:1",
    )
    services.run_file_upload(
        run=run,
        path="snapshot.tar.gz",
        content=ContentFile(b"\x1f\x8b", name="s"),
        kind=RunFile.Kind.SNAPSHOT,
    )
    html = reader_client.get(reverse("runs:run-detail", args=[workspace.slug, run.id])).content
    html = html.decode()
    assert "train.py --lr 0.1" in html
    assert "source snapshot" in html
    assert "on runworker@box:1" in html
    assert "The script's output appears here once it starts." in html
    assert 'every 2s"' in html  # the logs part polls until a log exists
    part = reverse("runs:run-part", args=[workspace.slug, run.id, "run-logs"])

    services.run_log_append(run=run, name="user_logs/std_log.txt", offset=0, data=b"epoch 1\n")
    logs = reader_client.get(part, headers=HX).content.decode()

    assert "epoch 1" in logs
    assert "user_logs/std_log.txt" in logs
    assert 'every 2s"' not in logs.split("log-poller")[0]  # no more polling of the part
    overview = reverse("runs:run-part", args=[workspace.slug, run.id, "run-overview"])
    assert "source snapshot" in reader_client.get(overview, headers=HX).content.decode()


def test_the_live_tail_appends_exactly_the_logs_bytes(reader_client, workspace):
    run = RunFactory(experiment=ExperimentFactory(workspace=workspace), status="Running")
    services.run_log_append(run=run, name="user_logs/std_log.txt", offset=0, data=b"a\nb\n")
    log = RunFile.objects.get(run=run)
    url = reverse("runs:run-log", args=[workspace.slug, run.id, log.pk])
    body = reader_client.get(url + "?offset=2", headers=HX).content.decode()
    # The text, then the next poller (swapped out of band): no stray newline after it.
    assert body.startswith("b\n<div")
    assert body.endswith("</div>")

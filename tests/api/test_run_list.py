"""The run list and the children list: filters, paging, order, and a constant query count."""

from datetime import timedelta

import pytest
from django.utils import timezone

from runs import services
from runs.status import Status
from tests.api.helpers import assert_error, run_url
from tests.factories import ExperimentFactory, PropertyFactory, RunFactory, TagFactory

LIST = "/api/w/team/runs"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["runId"] for r in response.json()["runs"]]


@pytest.fixture
def dated(experiment):
    """Three top-level runs an hour apart, newest last in the list of creation."""
    now = timezone.now()
    return [
        RunFactory(experiment=experiment, created=now - timedelta(hours=3 - i)) for i in range(3)
    ]


def test_newest_first_with_a_stable_tiebreak(api_client, experiment):
    same = timezone.now()
    runs = [RunFactory(experiment=experiment, created=same) for _ in range(3)]
    assert ids(api_client.get(LIST)) == sorted((r.id for r in runs), reverse=True)


def test_list_shape_and_paging(api_client, dated):
    body = api_client.get(f"{LIST}?perPage=2").json()
    assert set(body) == {"runs", "page", "perPage", "total", "hasMore"}
    assert (body["page"], body["perPage"], body["total"], body["hasMore"]) == (1, 2, 3, True)
    assert [r["runId"] for r in body["runs"]] == [dated[2].id, dated[1].id]
    body = api_client.get(f"{LIST}?perPage=2&page=2").json()
    assert [r["runId"] for r in body["runs"]] == [dated[0].id]
    assert body["hasMore"] is False


def test_page_past_the_end_is_empty(api_client, dated):
    body = api_client.get(f"{LIST}?page=5&perPage=2").json()
    assert (body["runs"], body["total"], body["hasMore"]) == ([], 3, False)


def test_default_page_size_is_100(api_client, experiment):
    RunFactory.create_batch(101, experiment=experiment)
    body = api_client.get(LIST).json()
    assert (len(body["runs"]), body["perPage"], body["hasMore"]) == (100, 100, True)


def test_filter_by_experiment(api_client, run, workspace):
    other = RunFactory(experiment=ExperimentFactory(workspace=workspace, name="cifar"))
    assert ids(api_client.get(f"{LIST}?experiment=cifar")) == [other.id]
    assert ids(api_client.get(f"{LIST}?experiment=unknown")) == []


def test_filter_by_repeated_status(api_client, experiment):
    running = RunFactory(experiment=experiment, status=Status.RUNNING)
    failed = RunFactory(experiment=experiment, status=Status.FAILED)
    RunFactory(experiment=experiment, status=Status.COMPLETED)
    got = ids(api_client.get(f"{LIST}?status=Running&status=Failed"))
    assert sorted(got) == sorted([running.id, failed.id])


def test_filter_by_tags_value_and_existence(api_client, experiment):
    great = RunFactory(experiment=experiment)
    TagFactory(run=great, key="quality", value="great")
    TagFactory(run=great, key="worth another look", value=None)
    ok = RunFactory(experiment=experiment)
    TagFactory(run=ok, key="quality", value="ok")
    RunFactory(experiment=experiment)
    assert ids(api_client.get(f"{LIST}?tag=quality=great")) == [great.id]
    assert sorted(ids(api_client.get(f"{LIST}?tag=quality"))) == sorted([great.id, ok.id])
    both = f"{LIST}?tag=quality&tag=worth%20another%20look"
    assert ids(api_client.get(both)) == [great.id]
    # Only the first '=' separates key and value.
    TagFactory(run=ok, key="eq", value="a=b")
    assert ids(api_client.get(f"{LIST}?tag=eq=a=b")) == [ok.id]


def test_filter_by_properties(api_client, experiment):
    alice = RunFactory(experiment=experiment)
    PropertyFactory(run=alice, key="author", value="alice")
    RunFactory(experiment=experiment)
    assert ids(api_client.get(f"{LIST}?property=author=alice")) == [alice.id]
    assert ids(api_client.get(f"{LIST}?property=author")) == [alice.id]
    assert ids(api_client.get(f"{LIST}?property=author=bob")) == []


def test_children_are_hidden_unless_asked_for(api_client, run):
    child = RunFactory(experiment=run.experiment, parent=run)
    assert ids(api_client.get(LIST)) == [run.id]
    assert sorted(ids(api_client.get(f"{LIST}?includeChildren=true"))) == sorted([run.id, child.id])


def test_parent_and_recursive(api_client, run):
    child = RunFactory(experiment=run.experiment, parent=run)
    grandchild = RunFactory(experiment=run.experiment, parent=child)
    assert ids(api_client.get(f"{LIST}?parent={run.id}")) == [child.id]
    got = ids(api_client.get(f"{LIST}?parent={run.id}&recursive=true"))
    assert sorted(got) == sorted([child.id, grandchild.id])


def test_list_shows_only_this_workspace(api_client, run, other_workspace):
    assert ids(api_client.get(f"{LIST}?includeChildren=1")) == [run.id]


@pytest.mark.parametrize(
    ("qs", "fragment"),
    [
        ("perPage=0", "query.perPage: Input should be greater than or equal to 1"),
        ("perPage=501", "query.perPage: Input should be less than or equal to 500"),
        ("perPage=x", "query.perPage: Input should be a valid integer"),
        ("perPage=", "query.perPage"),
        ("page=0", "query.page: Input should be greater than or equal to 1"),
        ("page=-3", "query.page"),
        ("page=1.5", "query.page"),
        ("page=99999999999999999999", "query.page"),
        ("status=Bogus", "query.status.0: Input should be"),
        ("status=Running&status=running", "query.status.1"),
        ("recursive=maybe", "query.recursive: Input should be a valid boolean"),
        ("includeChildren=2", "query.includeChildren"),
        ("tag=", "tag filter ''"),
        ("tag==great", "tag filter '=great'"),
        ("tag=" + "k" * 256, "limit is 255"),
        ("tag=a=1&tag=a=2", "given twice"),
        ("property==x", "property filter"),
    ],
)
def test_bad_list_params_get_a_message_not_a_500(api_client, run, qs, fragment):
    assert_error(api_client.get(f"{LIST}?{qs}"), 400, "BadRequest", fragment)


@pytest.mark.parametrize("parent", ["nope_1_00000000", "secret_1_00000000"])
def test_unknown_or_foreign_parent_is_404(api_client, run, other_workspace, parent):
    assert_error(api_client.get(f"{LIST}?parent={parent}"), 404, "NotFound", parent)


def _decorate(runs) -> None:
    for r in runs:
        TagFactory(run=r, key="quality", value="great")
        PropertyFactory(run=r, key="lr", value="0.1")
        services.metric_log_batch(run=r, series=[services.SeriesIn(name="loss", values=[1.0])])


def test_run_list_queries_do_not_grow(api_client, experiment, django_assert_num_queries):
    _decorate(RunFactory.create_batch(120, experiment=experiment))
    api_client.get(LIST)  # the token's last_used is written at most once a minute
    # token, membership + workspace, count, page (+ experiment, submitter, workspace),
    # tags, properties, latest metrics
    with django_assert_num_queries(7):
        body = api_client.get(f"{LIST}?perPage=2").json()
    assert len(body["runs"]) == 2
    with django_assert_num_queries(7):
        body = api_client.get(f"{LIST}?perPage=100").json()
    assert len(body["runs"]) == 100
    assert all(r["tags"] and r["properties"] and r["metrics"] for r in body["runs"])


def test_filtered_run_list_queries_do_not_grow(api_client, experiment, django_assert_num_queries):
    _decorate(RunFactory.create_batch(60, experiment=experiment))
    api_client.get(LIST)
    url = f"{LIST}?tag=quality=great&property=lr&status=Running&experiment=mnist"
    with django_assert_num_queries(7):
        assert len(api_client.get(f"{url}&perPage=2").json()["runs"]) == 2
    with django_assert_num_queries(7):
        assert len(api_client.get(f"{url}&perPage=100").json()["runs"]) == 60


# ---- children -----------------------------------------------------------------------


def test_children_list(api_client, run):
    first = RunFactory(experiment=run.experiment, parent=run, status=Status.COMPLETED)
    second = RunFactory(experiment=run.experiment, parent=run)
    TagFactory(run=second, key="lr", value="0.1")
    grandchild = RunFactory(experiment=run.experiment, parent=second)
    url = run_url(run, "/children")
    assert sorted(ids(api_client.get(url))) == sorted([first.id, second.id])
    assert sorted(ids(api_client.get(f"{url}?recursive=true"))) == sorted(
        [first.id, second.id, grandchild.id]
    )
    assert ids(api_client.get(f"{url}?status=Completed")) == [first.id]
    assert ids(api_client.get(f"{url}?tag=lr=0.1")) == [second.id]
    body = api_client.get(f"{url}?perPage=1&page=2").json()
    assert (body["total"], body["hasMore"], len(body["runs"])) == (2, False, 1)


@pytest.mark.parametrize(
    "qs", ["perPage=0", "page=x", "status=Nope", "recursive=perhaps", "tag=", "property=="]
)
def test_children_bad_params(api_client, run, qs):
    assert_error(api_client.get(run_url(run, f"/children?{qs}")), 400, "BadRequest")


def test_children_list_queries_do_not_grow(api_client, run, django_assert_num_queries):
    _decorate(RunFactory.create_batch(120, experiment=run.experiment, parent=run))
    url = run_url(run, "/children")
    api_client.get(url)
    # token, membership + workspace, the parent run, count, page, tags, properties, metrics
    with django_assert_num_queries(8):
        assert len(api_client.get(f"{url}?perPage=2").json()["runs"]) == 2
    with django_assert_num_queries(8):
        assert len(api_client.get(f"{url}?perPage=100&recursive=true").json()["runs"]) == 100


# ---- the filter language ------------------------------------------------------------


@pytest.fixture
def zoo(experiment, workspace):
    """Runs differing in status, tags, metrics, name and experiment."""
    good = RunFactory(experiment=experiment, display_name="resnet-50", status=Status.COMPLETED)
    TagFactory(run=good, key="quality", value="great")
    TagFactory(run=good, key="worth another look", value=None)
    services.metric_log_batch(run=good, series=[services.SeriesIn(name="acc", values=[0.95])])
    meh = RunFactory(experiment=experiment, display_name="resnet-18", status=Status.FAILED)
    TagFactory(run=meh, key="quality", value="great")
    services.metric_log_batch(run=meh, series=[services.SeriesIn(name="acc", values=[0.5])])
    other = RunFactory(
        experiment=ExperimentFactory(workspace=workspace, name="cifar"), display_name="vit"
    )
    return {"good": good, "meh": meh, "other": other}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status = 'Failed'", ["meh"]),
        ("tags.quality = 'great' and metrics.acc >= 0.9", ["good"]),
        ("tags.`worth another look` exists", ["good"]),
        ("displayName like '%resnet%'", ["good", "meh"]),
        ("status in ('Failed', 'Canceled') or experiment = 'cifar'", ["meh", "other"]),
        ("not (experiment = 'mnist')", ["other"]),
        ("", ["good", "meh", "other"]),
    ],
)
def test_filter_language(api_client, zoo, text, expected):
    got = ids(api_client.get(LIST, {"filter": text}))
    assert sorted(got) == sorted(zoo[name].id for name in expected)


def test_filter_combines_with_structured_params(api_client, zoo):
    got = ids(api_client.get(LIST, {"filter": "displayName like 'resnet%'", "status": "Failed"}))
    assert got == [zoo["meh"].id]
    assert (
        api_client.get(LIST, {"filter": "experiment = 'cifar'", "experiment": "mnist"}).json()[
            "total"
        ]
        == 0
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("status =", "position 8"),
        ("status = 'Running' and", "position"),
        ("nope = 1", "position 0"),
        ("(status = 'Running'", "position"),
        ("tags. = 'x'", "position"),
        ("metrics.acc >= 'high'", "position"),
        ("created > 'yesterday-ish'", "position"),
        ("status = 'Running' " + "and status = 'Running' " * 60, "position"),
        ("x" * 3000, "too long"),
    ],
)
def test_bad_filter_is_400_with_a_position(api_client, zoo, text, fragment):
    assert_error(api_client.get(LIST, {"filter": text}), 400, "BadFilter", fragment)


def test_a_nul_in_a_filter_is_400_before_it_is_read(api_client, zoo):
    response = api_client.get(LIST, {"filter": "status = 'Running' \x00"})
    assert_error(response, 400, "BadRequest", "query parameter 'filter'", "NUL character")


def test_filtered_list_queries_do_not_grow(api_client, experiment, django_assert_num_queries):
    _decorate(RunFactory.create_batch(60, experiment=experiment))
    api_client.get(LIST)
    text = "tags.quality = 'great' and metrics.loss <= 1 and properties.lr exists"
    with django_assert_num_queries(7):
        assert len(api_client.get(LIST, {"filter": text, "perPage": 2}).json()["runs"]) == 2
    with django_assert_num_queries(7):
        assert len(api_client.get(LIST, {"filter": text, "perPage": 100}).json()["runs"]) == 60


# ---- sort ---------------------------------------------------------------------------


def test_sort_by_the_page_keys(api_client, dated):
    for run, loss in zip(dated, [0.3, None, 0.1], strict=True):
        if loss is not None:
            services.metric_log_batch(run=run, series=[services.SeriesIn("loss", [loss])])
    services.run_set_tags(run=dated[1], tags={"quality": "b"})
    services.run_set_tags(run=dated[2], tags={"quality": "a"})
    oldest, middle, newest = (r.id for r in dated)
    cases = {
        "created": [oldest, middle, newest],
        "-created": [newest, middle, oldest],
        "metrics.loss": [newest, oldest, middle],  # runs without the metric last
        "-metrics.loss": [oldest, newest, middle],
        "tags.quality": [newest, middle, oldest],
        "-id": sorted((oldest, middle, newest), reverse=True),
        "runId": sorted((oldest, middle, newest)),
    }
    for sort, expected in cases.items():
        assert ids(api_client.get(f"{LIST}?sort={sort}")) == expected, sort


def test_sort_pages_stay_in_order(api_client, dated):
    first = ids(api_client.get(f"{LIST}?sort=created&perPage=2"))
    second = ids(api_client.get(f"{LIST}?sort=created&perPage=2&page=2"))
    assert first + second == [r.id for r in dated]


@pytest.mark.parametrize("sort", ["nope", "metrics.", "-", "--created", "tags", "x" * 301])
def test_bad_sort_gets_a_message(api_client, dated, sort):
    response = api_client.get(f"{LIST}?sort={sort}")
    assert response.status_code == 400
    assert "sort" in response.json()["error"]["message"]

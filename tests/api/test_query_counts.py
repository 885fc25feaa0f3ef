"""The per-run calls in as few statements as their work needs (each one is a round trip
to PostgreSQL): a workspace's token brings its membership with it, a tag change reads
the run and its tags in one query."""

import pytest
from django.db import transaction

from runs import services
from tests.api.helpers import run_url
from tests.conftest import ApiClient


@pytest.fixture
def workspace_api(api_user, workspace):
    """A token of the workspace, as the tokens page and create_api_token make them."""
    _, secret = services.token_create(user=api_user, name="laptop", workspace=workspace)
    return ApiClient(secret, api_user)


@pytest.fixture
def tagged(run):
    services.run_set_tags(run=run, tags={"quality": "good", "seed": "1"})
    services.metric_log_batch(run=run, series=[services.SeriesIn(name="acc", values=[0.5, 0.7])])
    return run


def test_get_run(workspace_api, tagged, django_assert_max_num_queries):
    workspace_api.get(run_url(tagged))  # the token's last use is written once a minute
    # token + its membership + workspace, the run (+ experiment, submitter),
    # its tags, properties and latest metrics in one
    with django_assert_max_num_queries(3):
        assert workspace_api.get(run_url(tagged)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"set": {"note": "checked"}}, {"set": {"quality": "great"}}, {"remove": ["seed"]}],
    ids=["new tag", "changed value", "removed"],
)
def test_tag_change(workspace_api, tagged, body, django_assert_max_num_queries):
    workspace_api.get(run_url(tagged))
    # token + membership, BEGIN, the run and its tags, the tag written, its activity
    # row, the search text's tags, COMMIT
    with django_assert_max_num_queries(7):
        response = workspace_api.patch_json(run_url(tagged, "/tags"), body)
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == services.run_set_tags(run=tagged)


def test_several_tags_in_one_change(workspace_api, tagged, django_assert_max_num_queries):
    workspace_api.get(run_url(tagged))
    body = {"set": {"a": "1", "b": "2", "c": None}, "remove": ["quality", "seed"]}
    # as one tag: the new tags and the activity rows written in one statement each
    with django_assert_max_num_queries(8):
        response = workspace_api.patch_json(run_url(tagged, "/tags"), body)
    assert response.json()["tags"] == {"a": "1", "b": "2", "c": None}


def test_one_series(workspace_api, tagged, django_assert_max_num_queries):
    workspace_api.get(run_url(tagged))
    # token + membership, the run, its chunks
    with django_assert_max_num_queries(3):
        response = workspace_api.get(run_url(tagged, "/metrics/series?name=acc"))
    assert response.json()["values"] == [0.5, 0.7]


def test_a_token_of_every_workspace_looks_its_membership_up(
    api_client, tagged, django_assert_max_num_queries
):
    api_client.get(run_url(tagged))
    # made before tokens had a workspace: the membership is a query of its own
    with django_assert_max_num_queries(4):
        assert api_client.get(run_url(tagged)).status_code == 200


def test_a_tag_change_inside_a_transaction_takes_no_savepoint(tagged, django_assert_num_queries):
    # the tags read, the new tag, its activity row, the search text
    with transaction.atomic(), django_assert_num_queries(4):
        services.run_set_tags(run=tagged, tags={"note": "x"})


def test_a_small_run_is_created_and_ended_in_as_few_statements(
    workspace_api, workspace, django_assert_max_num_queries
):
    runs = f"/api/w/{workspace.slug}/runs"
    workspace_api.post_json(runs, {"experiment": "sweep"})  # the experiment's first use
    body = {"experiment": "sweep", "displayName": "trial 1", "properties": {"lr": "0.1"}}
    # token + membership, BEGIN, the experiment, the run, its properties, COMMIT (no
    # savepoint: everything is checked before anything is written)
    with django_assert_max_num_queries(6):
        created = workspace_api.post_json(runs, body)
    assert created.status_code == 201, created.content
    run_id = created.json()["runId"]

    steps = list(range(100))
    series = [{"name": n, "steps": steps, "values": [s / 100 for s in steps]} for n in "abc"]
    end = {"metrics": {"key": "k1", "series": series}}
    # token + membership, the run; BEGIN, the run locked (PostgreSQL), the latest values,
    # the batch's key (ON CONFLICT DO NOTHING: no savepoint), the chunks, the new latest
    # values (a statement each, whatever the series), the status read, changed, its
    # activity row, the alert rules asked, COMMIT; the document's tags and values
    with django_assert_max_num_queries(14):
        ended = workspace_api.post_json(f"{runs}/{run_id}/complete", end)
    assert ended.status_code == 200, ended.content
    assert ended.json()["status"] == "Completed"
    assert ended.json()["metrics"] == {"a": 0.99, "b": 0.99, "c": 0.99}

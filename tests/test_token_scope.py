"""A run-scoped token reaches its run and that run's descendants, decided by the tree
(same root, below the scoped run), not by how ids are spelt."""

import pytest

from runs import services
from runs.models import ApiToken
from tests.factories import ExperimentFactory, RunFactory, WorkspaceFactory


@pytest.fixture
def tree(db):
    ws = WorkspaceFactory(slug="team")
    exp = ExperimentFactory(workspace=ws, name="mnist")
    root = RunFactory(experiment=exp)
    children = services.run_create_children(parent=root, count=10)
    grandchild = services.run_create_children(parent=children[0])[0]
    lookalike = RunFactory(
        experiment=ExperimentFactory(workspace=ws, name=f"{children[0].id}_x"),
        id=f"{children[0].id}_x_1700000000_00000000",
    )
    other_root = RunFactory(experiment=exp)
    return {
        "root": root,
        "child 1": children[0],
        "child 2": children[1],
        "child 10": children[9],
        "grandchild": grandchild,
        "lookalike": lookalike,
        "other root": other_root,
    }


@pytest.mark.parametrize(
    ("scope", "reached"),
    [
        ("root", {"root", "child 1", "child 2", "child 10", "grandchild"}),
        ("child 1", {"child 1", "grandchild"}),
        ("child 2", {"child 2"}),
        ("grandchild", {"grandchild"}),
        ("other root", {"other root"}),
    ],
)
def test_a_scoped_token_reaches_its_subtree_only(tree, scope, reached):
    token = ApiToken(run=tree[scope])
    assert {name for name, run in tree.items() if token.allows_run(run)} == reached


def test_an_unscoped_token_reaches_every_run(tree):
    token = ApiToken()
    assert all(token.allows_run(run) for run in tree.values())

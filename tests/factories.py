"""factory_boy factories with deterministic sequences."""

import factory
from django.contrib.auth import get_user_model

from runs.models import Experiment, Membership, Property, Role, Run, Tag, Workspace
from runs.status import Status


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("password")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"ws{n}")
    name = factory.LazyAttribute(lambda w: w.slug.title())


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.READER


class ExperimentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Experiment
        django_get_or_create = ("workspace", "name")

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"exp{n}")


class RunFactory(factory.django.DjangoModelFactory):
    """A top-level run; pass parent= for a child (ids follow the parent's)."""

    class Meta:
        model = Run

    experiment = factory.SubFactory(ExperimentFactory)
    workspace = factory.LazyAttribute(lambda r: r.experiment.workspace)
    id = factory.LazyAttributeSequence(
        lambda r, n: f"{r.parent.id}_{n}" if r.parent else f"{r.experiment.name}_1700000000_{n:08x}"
    )
    parent = None
    root_id = factory.LazyAttribute(lambda r: r.parent.root_id if r.parent else r.id)
    status = Status.RUNNING
    display_name = factory.Sequence(lambda n: f"run {n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    run = factory.SubFactory(RunFactory)
    key = factory.Sequence(lambda n: f"tag{n}")
    value = "v"


class PropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Property

    run = factory.SubFactory(RunFactory)
    key = factory.Sequence(lambda n: f"prop{n}")
    value = "v"

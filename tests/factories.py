"""factory_boy factories with deterministic sequences."""

import factory
from django.contrib.auth import get_user_model

from runs.models import Experiment, Membership, Property, Role, Run, Tag, Workspace, run_search_text
from runs.services.search import runs_refresh_search_text
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
    # As the services write it (tags join it through TagFactory).
    search_text = factory.LazyAttribute(
        lambda r: run_search_text(
            run_id=r.id,
            display_name=r.display_name,
            description=getattr(r, "description", ""),
            experiment=r.experiment.name,
            submitter=getattr(getattr(r, "submitted_by", None), "username", None),
            tags={},
        )
    )


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        skip_postgeneration_save = True

    run = factory.SubFactory(RunFactory)
    key = factory.Sequence(lambda n: f"tag{n}")
    value = "v"

    @factory.post_generation
    def search_text(tag, create, extracted, **kwargs):
        """The run's free text sees its tags, as after run_set_tags."""
        if create:
            runs_refresh_search_text(run_ids=[tag.run_id])


class PropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Property

    run = factory.SubFactory(RunFactory)
    key = factory.Sequence(lambda n: f"prop{n}")
    value = "v"

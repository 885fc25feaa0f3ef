"""Django admin for every model.

Edits here go through the services where the studio keeps derived data: a run's
display name and description (rendered HTML, activity), and the free-text column
(`Run.search_text`) of the runs whose experiment, submitter or tags change.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from runs import models, services


def _refresh(runs) -> None:
    """Rewrite the search text of `runs` (a queryset of runs)."""
    services.runs_refresh_search_text(run_ids=list(runs.values_list("pk", flat=True)))


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(models.Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["workspace", "user", "role"]
    list_filter = ["role", "workspace"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(models.Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "created"]
    list_filter = ["workspace"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "name" in form.changed_data:
            _refresh(models.Run.objects.filter(experiment=obj))


class TagInline(admin.TabularInline):
    model = models.Tag
    extra = 0


class PropertyInline(admin.TabularInline):
    model = models.Property
    extra = 0


@admin.register(models.Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["id", "display_name", "experiment", "status", "submitted_by", "created"]
    list_filter = ["status", "compute_target", "workspace"]
    search_fields = ["id", "display_name"]
    raw_id_fields = ["parent", "root", "experiment", "workspace", "submitted_by"]
    readonly_fields = ["status", "description_html"]
    list_select_related = ["experiment", "submitted_by"]
    show_full_result_count = False
    inlines = [TagInline, PropertyInline]
    # Through run_update: the description's HTML is rendered and the change recorded.
    SERVICE_FIELDS = ("display_name", "description")

    def save_model(self, request, obj, form, change):
        edits = {}
        if change:
            stored = models.Run.objects.get(pk=obj.pk)
            for name in self.SERVICE_FIELDS:
                if name in form.changed_data:
                    edits[name] = getattr(obj, name)
                    setattr(obj, name, getattr(stored, name))
        super().save_model(request, obj, form, change)
        if edits:
            services.run_update(run=obj, actor=request.user, **edits)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Its experiment, submitter or tags may have changed here.
        _refresh(models.Run.objects.filter(pk=form.instance.pk))


@admin.register(models.Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["run", "key", "value"]
    search_fields = ["key", "value", "run__id"]
    raw_id_fields = ["run"]

    def save_model(self, request, obj, form, change):
        previous = models.Tag.objects.filter(pk=obj.pk).values_list("run_id", flat=True).first()
        super().save_model(request, obj, form, change)
        _refresh(models.Run.objects.filter(pk__in=[obj.run_id, previous]))

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        _refresh(models.Run.objects.filter(pk=obj.run_id))

    def delete_queryset(self, request, queryset):
        runs = list(queryset.values_list("run_id", flat=True))
        super().delete_queryset(request, queryset)
        _refresh(models.Run.objects.filter(pk__in=runs))


@admin.register(models.Property)
class PropertyAdmin(admin.ModelAdmin):
    list_display = ["run", "key", "value"]
    search_fields = ["key", "value", "run__id"]
    raw_id_fields = ["run"]


@admin.register(models.MetricChunk)
class MetricChunkAdmin(admin.ModelAdmin):
    list_display = ["run", "name", "seq", "count", "first_step", "last_step"]
    search_fields = ["name", "run__id"]
    raw_id_fields = ["run"]
    exclude = ["steps", "values", "times"]


@admin.register(models.LatestMetric)
class LatestMetricAdmin(admin.ModelAdmin):
    list_display = ["run", "name", "value", "step", "time", "count"]
    search_fields = ["name", "run__id"]
    raw_id_fields = ["run"]


@admin.register(models.MetricBatch)
class MetricBatchAdmin(admin.ModelAdmin):
    list_display = ["run", "key", "points", "created"]
    raw_id_fields = ["run"]


@admin.register(models.RunFile)
class RunFileAdmin(admin.ModelAdmin):
    list_display = ["run", "path", "kind", "size", "updated"]
    list_filter = ["kind"]
    raw_id_fields = ["run"]


@admin.register(models.RunEvent)
class RunEventAdmin(admin.ModelAdmin):
    list_display = ["run", "kind", "field", "old", "new", "actor", "created"]
    list_filter = ["kind"]
    raw_id_fields = ["run"]


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user",
        "prefix",
        "workspace",
        "run",
        "created",
        "last_used",
        "expires",
        "revoked_at",
    ]
    list_filter = ["workspace"]
    readonly_fields = ["prefix", "token_hash", "revoked_at", "revoked_by"]
    raw_id_fields = ["run"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        for token in queryset.filter(revoked_at__isnull=True):
            services.token_revoke(token=token)


@admin.register(models.Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["invitee", "workspace", "role", "invited_by", "created"]
    list_filter = ["workspace", "role"]
    search_fields = ["invitee"]


@admin.register(models.AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "scope", "owner", "experiment", "created"]
    list_filter = ["workspace", "scope"]
    search_fields = ["name"]
    raw_id_fields = ["run", "experiment"]
    filter_horizontal = ["members"]


@admin.register(models.Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox: what was sent, what waits, what failed and why."""

    list_display = ["rule", "run", "status", "address", "state", "attempts", "created", "sent_at"]
    list_filter = ["state", "channel", "event", "workspace"]
    search_fields = ["address", "run__id"]
    raw_id_fields = ["run", "rule", "user"]
    readonly_fields = ["claim", "claimed_until"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StudioUserAdmin(UserAdmin):
    """Django's user admin; a new username reaches the search text of the user's runs."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and User.USERNAME_FIELD in form.changed_data:
            _refresh(models.Run.objects.filter(submitted_by=obj))

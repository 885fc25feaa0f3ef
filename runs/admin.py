"""Django admin for every model."""

from django.contrib import admin

from runs import models


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


@admin.register(models.Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["run", "key", "value"]
    search_fields = ["key", "value", "run__id"]
    raw_id_fields = ["run"]


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
    list_display = ["name", "user", "prefix", "run", "created", "last_used"]
    readonly_fields = ["prefix", "token_hash"]
    raw_id_fields = ["run"]

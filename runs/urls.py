"""Studio pages. These URLs are shared as links: they are a contract (see DESIGN.md)."""

from django.urls import path

from runs.views import (
    alerts,
    chart_data,
    compare,
    compute_targets,
    home,
    invitations,
    members,
    run_bulk,
    run_cancel,
    run_description,
    run_detail,
    run_display_name,
    run_export,
    run_files,
    run_list,
    run_metrics,
    run_tags,
    saved_views,
    tokens,
    workspace_settings,
)

app_name = "runs"

urlpatterns = [
    path("", home.home, name="home"),
    path("w/<str:workspace>/", home.workspace_home, name="workspace-home"),
    path("w/<str:workspace>/runs/", run_list.run_list, name="run-list"),
    path(
        "w/<str:workspace>/experiments/<str:experiment>/",
        run_list.run_list,
        name="experiment-runs",
    ),
    # Before run-detail: `bulk`, `live` and `count` are not run ids (those are <exp>_<secs>_<hex>).
    path("w/<str:workspace>/runs/bulk/", run_bulk.run_bulk, name="run-bulk"),
    path("w/<str:workspace>/runs/export.csv", run_export.run_list_csv, name="run-list-csv"),
    path(
        "w/<str:workspace>/experiments/<str:experiment>/export.csv",
        run_export.run_list_csv,
        name="experiment-runs-csv",
    ),
    path("w/<str:workspace>/runs/live/", run_list.run_list_live, name="run-list-live"),
    path("w/<str:workspace>/runs/names.json", run_list.filter_names, name="run-list-names"),
    path("w/<str:workspace>/runs/count/", run_list.run_list_count, name="run-list-count"),
    path(
        "w/<str:workspace>/experiments/<str:experiment>/count/",
        run_list.run_list_count,
        name="experiment-runs-count",
    ),
    path(
        "w/<str:workspace>/runs/<str:run_id>/children/",
        run_list.run_children,
        name="run-children",
    ),
    path(
        "invitations/<int:invitation_id>/accept/",
        invitations.invitation_accept,
        name="invitation-accept",
    ),
    path(
        "invitations/<int:invitation_id>/decline/",
        invitations.invitation_decline,
        name="invitation-decline",
    ),
    # The workspace's settings: members, API tokens, alerts.
    path("w/<str:workspace>/settings/", workspace_settings.settings_index, name="settings"),
    path("w/<str:workspace>/settings/members/", members.members, name="members"),
    path("w/<str:workspace>/members/", workspace_settings.members_moved, name="members-moved"),
    path("w/<str:workspace>/settings/tokens/", tokens.tokens, name="tokens"),
    path("w/<str:workspace>/settings/tokens/revoke/", tokens.token_revoke, name="token-revoke"),
    path("w/<str:workspace>/settings/alerts/", alerts.alerts, name="alerts"),
    path("w/<str:workspace>/settings/alerts/new/", alerts.alert_create, name="alert-create"),
    path("w/<str:workspace>/settings/alerts/events/", alerts.status_events, name="status-events"),
    path("w/<str:workspace>/settings/alerts/outbox/", alerts.alert_outbox, name="alert-outbox"),
    path(
        "w/<str:workspace>/settings/alerts/from-view/<int:view_id>/",
        alerts.alert_from_view,
        name="alert-from-view",
    ),
    path(
        "w/<str:workspace>/settings/alerts/<int:rule_id>/",
        alerts.alert_detail,
        name="alert-detail",
    ),
    path(
        "w/<str:workspace>/settings/alerts/<int:rule_id>/edit/",
        alerts.alert_edit,
        name="alert-edit",
    ),
    path(
        "w/<str:workspace>/settings/alerts/<int:rule_id>/delete/",
        alerts.alert_delete,
        name="alert-delete",
    ),
    path(
        "w/<str:workspace>/settings/alerts/<int:rule_id>/mute/",
        alerts.alert_mute,
        name="alert-mute",
    ),
    path(
        "w/<str:workspace>/settings/compute/",
        compute_targets.compute_targets,
        name="compute-targets",
    ),
    path("w/<str:workspace>/views/", saved_views.saved_view_index, name="saved-views"),
    path("w/<str:workspace>/views/new/", saved_views.saved_view_create, name="saved-view-create"),
    path("w/<str:workspace>/views/menu/", saved_views.saved_view_menu, name="saved-view-menu"),
    path("w/<str:workspace>/views/<int:view_id>/", saved_views.saved_view, name="saved-view"),
    path(
        "w/<str:workspace>/views/<int:view_id>/list/",
        saved_views.saved_view_list,
        name="saved-view-list",
    ),
    path(
        "w/<str:workspace>/views/<int:view_id>/save/",
        saved_views.saved_view_save,
        name="saved-view-save",
    ),
    path(
        "w/<str:workspace>/views/<int:view_id>/settings/",
        saved_views.saved_view_settings,
        name="saved-view-settings",
    ),
    path(
        "w/<str:workspace>/views/<int:view_id>/charts/",
        saved_views.saved_view_charts,
        name="saved-view-charts",
    ),
    path(
        "w/<str:workspace>/views/<int:view_id>/delete/",
        saved_views.saved_view_delete,
        name="saved-view-delete",
    ),
    path(
        "w/<str:workspace>/views/<int:view_id>/history/",
        saved_views.saved_view_history,
        name="saved-view-history",
    ),
    path(
        "w/<str:workspace>/views/<int:view_id>/restore/",
        saved_views.saved_view_restore,
        name="saved-view-restore",
    ),
    path(
        "w/<str:workspace>/views/<int:view_id>/default/",
        saved_views.saved_view_default,
        name="saved-view-default",
    ),
    path("w/<str:workspace>/compare/", compare.compare, name="compare"),
    path("w/<str:workspace>/charts/series.json", chart_data.chart_series, name="chart-series"),
    path("w/<str:workspace>/charts/values.json", chart_data.chart_values, name="chart-values"),
    # Metric names may contain '/': the path converter takes them whole.
    path(
        "w/<str:workspace>/runs/<str:run_id>/metrics/<path:name>.csv",
        chart_data.metric_csv,
        name="metric-csv",
    ),
    path("w/<str:workspace>/runs/<str:run_id>/", run_detail.run_detail, name="run-detail"),
    path(
        "w/<str:workspace>/runs/<str:run_id>/parts/<slug:part>/",
        run_detail.run_part,
        name="run-part",
    ),
    path("w/<str:workspace>/runs/<str:run_id>/status/", run_detail.run_status, name="run-status"),
    path("w/<str:workspace>/runs/<str:run_id>/tags/", run_tags.run_tags, name="run-tags"),
    path(
        "w/<str:workspace>/runs/<str:run_id>/description/",
        run_description.run_description,
        name="run-description",
    ),
    path(
        "w/<str:workspace>/runs/<str:run_id>/description/preview/",
        run_description.run_description_preview,
        name="run-description-preview",
    ),
    path(
        "w/<str:workspace>/runs/<str:run_id>/display-name/",
        run_display_name.run_display_name,
        name="run-display-name",
    ),
    path("w/<str:workspace>/runs/<str:run_id>/cancel/", run_cancel.run_cancel, name="run-cancel"),
    path(
        "w/<str:workspace>/runs/<str:run_id>/metrics.json",
        run_metrics.run_metrics,
        name="run-metrics",
    ),
    path(
        "w/<str:workspace>/runs/<str:run_id>/files/<path:path>",
        run_files.run_file,
        name="run-file",
    ),
    path(
        "w/<str:workspace>/runs/<str:run_id>/logs/<int:file_id>/",
        run_files.run_log,
        name="run-log",
    ),
]

"""Studio pages. These URLs are shared as links: they are a contract (see DESIGN.md)."""

from django.urls import path

from runs.views import home, run_list

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
]

"""`manage.py runserver`: Django's (with static files), its sockets sending at once.

Django's development server leaves Nagle's algorithm on: a response written in
two pieces (headers, then body) waits for the client's delayed ACK, about 40 ms
a request on Linux. `make run` serves the studio and the API with it, so every
page, htmx swap and SDK call paid that; with TCP_NODELAY a metric batch takes
30 ms instead of 71, a heartbeat 15 ms instead of 56 (bench/README.md).
"""

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand
from django.core.servers.basehttp import WSGIRequestHandler


class Command(RunserverCommand):
    def inner_run(self, *args, **options):
        # A documented switch of socketserver.StreamRequestHandler: TCP_NODELAY on each
        # connection's socket.
        WSGIRequestHandler.disable_nagle_algorithm = True
        super().inner_run(*args, **options)

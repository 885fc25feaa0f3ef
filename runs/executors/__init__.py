"""Where submitted scripts run.

`process` executes one claimed run (snapshot unpacked safely by `snapshot`, the
script in its own process group, output streamed, cancel honoured) through a
`Studio` port: `database` (the local worker, `manage.py runworker`, see `local`)
or `api` (Celery workers on other machines, `tasks`, which need only the JSON
API). `dispatch` sends runs of Celery targets to their queue. The modules the
remote side imports (process, snapshot, api, tasks) import no Django.
"""

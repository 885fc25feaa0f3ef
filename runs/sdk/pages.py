"""Paging through the API's run lists."""

from __future__ import annotations

from collections.abc import Iterator

from runs.sdk.http import Client


def iter_documents(client: Client, path: str, params: list, per_page: int) -> Iterator[dict]:
    """Run documents of a list endpoint, a page at a time (each run once, even if pages
    shift while new runs arrive)."""
    seen: set[str] = set()
    page = 1
    while True:
        answer = client.json(
            "GET", path, params=[*params, ("page", str(page)), ("perPage", str(per_page))]
        )
        for document in answer["runs"]:
            if document["runId"] in seen:
                continue
            seen.add(document["runId"])
            yield document
        if not answer["hasMore"] or not answer["runs"]:
            return
        page += 1

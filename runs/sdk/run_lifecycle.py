"""The end of a run: complete, fail, cancel (own or requested), `with run:`, and waiting
for a submitted run with its output streamed."""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from runs.sdk.errors import ConflictError, StudioConnectionError, StudioError
from runs.sdk.heartbeat import TERMINAL, heartbeater
from runs.sdk.interrupt import interrupt_main
from runs.sdk.logs import STD_LOG, LogTail
from runs.sdk.run_base import RunBase
from runs.sdk.sender import columns

logger = logging.getLogger("runs.sdk")

MAX_ERROR_CODE = 100
MAX_ERROR_MESSAGE = 10_000
# How often wait_for_completion asks for the status (and the log's new lines).
WAIT_POLL = 0.5
# Roots whose tree already got a KeyboardInterrupt: a cancel cascades to every child,
# and the main thread must be interrupted once, not once per child.
_interrupted_roots: set[str] = set()
_interrupt_lock = threading.Lock()


class RunFailedError(StudioError):
    """wait_for_completion(raise_on_error=True) on a run that ended Failed."""

    default_code = "RunFailed"


class LifecyclePart(RunBase):
    """complete, fail, cancel, on_cancel, wait_for_completion, `with run:`."""

    def _move(self, action: str, target: str, body: dict | None = None) -> dict:
        """POST complete/fail/cancel; a 409 because it already happened (a lost answer) is fine."""
        try:
            return self._remember(
                self._client.json("POST", self._path(f"/{action}"), json_body=body or {})
            )
        except ConflictError:
            document = self.get_details(log_files=False)
            if document["status"] == target:
                return document
            raise

    def _end(self, action: str, target: str, body: dict | None = None) -> dict:
        """Flush the metrics, stop heartbeats, then move the run (once)."""
        with self._end_lock:
            if self._ended and self._doc is not None and self._doc["status"] == target:
                return self._doc
            self._ending = True
            heartbeater.remove(self)
            if action == "complete" and self._creation is not None:
                document = self._create_completed()
                if document is not None:
                    self._ended = True
                    return document
            if self._creation is not None:
                self._create()
            if action != "cancel":
                document = self._end_with_last_points(action, target, body or {})
                if document is not None:
                    self._ended = True
                    return document
            refused: StudioError | None = None
            try:
                self._sender.close(self.flush_timeout)
            except StudioConnectionError:
                raise
            except StudioError as exc:
                refused = exc
            document = self._move(action, target, body)
            self._ended = True
            if refused is not None:
                raise refused
            return document

    def _end_with_last_points(self, action: str, target: str, body: dict) -> dict | None:
        """Send the points still buffered with the end itself (one request, stored in one
        transaction); None when that cannot be (points in flight or spilled, nothing
        buffered, or the studio refused the request): the end then flushes first.

        The points keep their idempotency key whatever happens: given back to the sender
        under it, they are stored once even if the end's answer was lost.
        """
        items = self._sender.hand_over()
        if not items:
            return None
        key = uuid.uuid4().hex
        batch = {"key": key, "series": columns(items)}
        try:
            document = self._move(action, target, {**body, "metrics": batch})
        except StudioConnectionError:
            self._sender.give_back(items, key)
            raise
        except StudioError:
            self._sender.give_back(items, key)
            return None
        self._sender.close(self.flush_timeout)
        return document

    def _create_completed(self) -> dict | None:
        """Create the run, store its buffered points and complete it: one request, for a
        run that ended before the studio was told of it. None when that cannot be (see
        _end_with_last_points; or created meanwhile, or refused: the points then go as
        usual, after a create of its own that says what was wrong with the run)."""
        items = self._sender.hand_over()
        if items is None:
            return None
        key = uuid.uuid4().hex
        end: dict[str, Any] = {"complete": True}
        if items:
            end["metrics"] = {"key": key, "series": columns(items)}
        try:
            created = self._create(end)
        except StudioConnectionError:
            if items:
                self._sender.give_back(items, key)
            raise
        except StudioError:
            created = False
        if not created:
            if items:
                self._sender.give_back(items, key)
            return None
        self._sender.close(self.flush_timeout)
        return self._doc

    def complete(self) -> None:
        """Flush the metrics and mark the run Completed."""
        self._end("complete", "Completed")

    def fail(self, error_details: Any = None, error_code: str | None = None) -> None:
        """Flush the metrics and mark the run Failed.

        `error_details`: an exception (message: its text; details: its type and
        traceback), a string (the message), or any JSON value (the details).
        `error_code` defaults to the exception's class name, else "UserError".
        """
        body: dict[str, Any] = {}
        if isinstance(error_details, BaseException):
            body["message"] = str(error_details) or type(error_details).__name__
            body["details"] = {
                "type": f"{type(error_details).__module__}.{type(error_details).__qualname__}",
                "traceback": "".join(traceback.format_exception(error_details))[-20_000:],
            }
            error_code = error_code or type(error_details).__name__
        elif isinstance(error_details, str):
            body["message"] = error_details
        elif error_details is not None:
            body["details"] = error_details
        if "message" in body:
            body["message"] = body["message"][:MAX_ERROR_MESSAGE]
        if error_code:
            body["errorCode"] = str(error_code)[:MAX_ERROR_CODE]
        self._end("fail", "Failed", body)

    def cancel(self) -> None:
        """Cancel the run and its unfinished descendants.

        A run this process owns is Canceled at once (metrics flushed, heartbeats
        stopped, no KeyboardInterrupt). Any other run is asked to stop: it is
        CancelRequested until its process notices (or Canceled at once when
        nothing executes it yet).
        """
        if self._owned:
            family = self._owned_descendants()
            # Quiet first: the studio cancels them with this run, and their heartbeats must
            # not take that for someone else's cancel.
            for run in family:
                heartbeater.remove(run)
                run._cancel_seen = True
            for run in family:
                run._close_sender()
            self._end("cancel", "Canceled", {"immediate": True})
            for run in family:
                run._ended = True
                if run._doc is not None and run._doc.get("status") not in TERMINAL:
                    run._doc["status"] = "Canceled"
        else:
            self._remember(self._client.json("POST", self._path("/cancel"), json_body={}))

    def _owned_descendants(self) -> list[RunBase]:
        """The children this process created from this run, theirs, and so on."""
        out: list[RunBase] = []
        todo = list(self._children)
        while todo:
            run = todo.pop()
            out.append(run)
            todo.extend(run._children)
        return out

    def _close_sender(self) -> None:
        """Send what this run logged; a refusal or an absent studio is logged, not raised."""
        try:
            self._sender.close(self.flush_timeout)
        except StudioError as exc:
            logger.error("run %s: %s", self.id, exc)

    def on_cancel(self, callback: Callable[[Any], None] | None) -> None:
        """Call `callback(run)` (in a background thread) instead of interrupting the main thread
        when someone cancels this run; the run is then marked Canceled. None restores the
        KeyboardInterrupt. Children created from this run afterwards, or before, use the
        callback of their nearest ancestor that has one."""
        self._on_cancel = callback

    def _cancel_callback(self) -> Callable[[Any], None] | None:
        run: RunBase | None = self
        while run is not None:
            if run._on_cancel is not None:
                return run._on_cancel
            run = run._creator
        return None

    def _cancel_requested(self) -> None:
        """The heartbeat learnt of a cancel: callback or KeyboardInterrupt, then Canceled,
        in a thread of their own."""
        if self._cancel_seen:
            return
        self._cancel_seen = True
        logger.warning("run %s: cancel requested; stopping", self.id)
        # Not a daemon, and started before the main thread is interrupted: the interpreter
        # waits for it, so a KeyboardInterrupt that ends the script at once still lets the
        # run be marked Canceled (started after, it could miss an interpreter shutting down).
        threading.Thread(
            target=self._stop_then_cancel, name=f"studio-cancel-{self.id}", daemon=False
        ).start()

    def _stop_then_cancel(self) -> None:
        callback = self._cancel_callback()
        if callback is not None:
            try:
                callback(self)
            except Exception:
                logger.exception("run %s: the on_cancel callback failed", self.id)
        else:
            root = (self._doc or {}).get("rootRunId") or self.id
            with _interrupt_lock:
                first = root not in _interrupted_roots
                _interrupted_roots.add(root)
            if first:
                interrupt_main()
        self._finish_cancel()

    def _finish_cancel(self) -> None:
        try:
            if self._owned:
                # As an own cancel: the children this process created stop heartbeating now,
                # rather than each noticing the same cancel at its next heartbeat.
                self.cancel()
            else:
                self._end("cancel", "Canceled", {"immediate": True})
        except StudioError as exc:
            logger.error("run %s: could not mark the run Canceled: %s", self.id, exc)

    def __enter__(self) -> LifecyclePart:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        clean = exc_type is None or (issubclass(exc_type, SystemExit) and exc.code in (0, None))
        if clean and not self._cancel_seen:
            self.complete()
            return False
        try:
            if self._cancel_seen or issubclass(exc_type, KeyboardInterrupt):
                self._end("cancel", "Canceled", {"immediate": True})
            else:
                self.fail(error_details=exc, error_code=exc_type.__name__)
        except StudioError as error:
            # The block's own exception matters more; say why the run was not ended.
            logger.error("run %s: could not record the end of the run: %s", self.id, error)
        return False

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
        *,
        poll_interval: float = WAIT_POLL,
        timeout: float | None = None,
        stream: Any = None,
    ) -> dict:
        """Wait until the run is Completed, Failed or Canceled; returns its details.

        `show_output` writes the run's output (its `user_logs/std_log.txt`) to stdout
        as it grows. `raise_on_error`: a Failed run raises RunFailedError with its
        error. `timeout` (seconds) raises TimeoutError if the run is still going.
        `wait_post_processing` is accepted for compatibility: nothing runs after a run.
        """
        out = stream or sys.stdout
        tail = LogTail(self._client, self._path(), STD_LOG) if show_output else None
        deadline = None if timeout is None else time.monotonic() + timeout
        if tail is not None:
            document = self._document()
            out.write(f"RunId: {self.id}\nWeb View: {document.get('url', '')}\n\n")
            out.write(f"Streaming {STD_LOG}\n{'=' * 40}\n\n")
            out.flush()
        while True:
            status = self.get_details(log_files=False)["status"]
            if tail is not None:
                text = tail.read()
                if text:
                    out.write(text)
                    out.flush()
            if status in TERMINAL:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {self.id} is still {status} after {timeout:g} s")
            threading.Event().wait(poll_interval)
        details = self.get_details()
        if tail is not None:
            out.write(f"\nExecution Summary\n{'=' * 40}\nRunId: {self.id}\n")
            out.write(f"Status: {details['status']}\n\n")
            out.flush()
        if raise_on_error and details["status"] == "Failed":
            error = details.get("error") or {}
            raise RunFailedError(
                f"run {self.id} failed: {error.get('code', 'UserError')}: "
                f"{error.get('message', '')}".rstrip(": "),
                code=error.get("code") or None,
            )
        return details

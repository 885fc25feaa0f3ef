# The article's child: reads its parent and logs to the root run.
import sys

from runs.sdk import Run


def root_run(self: Run) -> Run:
    if self.parent is None:
        return self
    return root_run(self.parent)


current_child_run = Run.get_context()
print("fruit", sys.argv[2], "parent", current_child_run.parent.id)  # noqa: T201
root_run(current_child_run).log("MyMetric", f"Data from child run {current_child_run.id}")

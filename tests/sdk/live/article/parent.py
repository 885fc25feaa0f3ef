# The article's parent.py, verbatim but for the import line (Run.get_context() gives the
# run, run.experiment.workspace the workspace).
from runs.sdk import Run, ScriptRunConfig

run = Run.get_context()
ws = run.experiment.workspace
compute_target = ws.compute_targets["gpu-cluster"]

child_args = ["Apple", "Banana", "Orange"]
for arg in child_args:
    run.log("Status", f"Launching {arg}")
    child_config = ScriptRunConfig(
        source_directory=".",
        script="child.py",
        arguments=["--fruit", arg],
        compute_target=compute_target,
    )
    run.submit_child(child_config)  # starts the run asynchronously

for child in run.get_children():
    child.wait_for_completion()
print("all children done")  # noqa: T201

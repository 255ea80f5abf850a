"""Running what "Reproduce in Python" writes as a student would: the script with ``python``, the notebook with nbclient.

Both run in a fresh process, offline (the test session's ``HF_HOME`` and ``HF_HUB_OFFLINE``), from
a scratch folder, and give back what they printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

RUN_S = 900  # an upper bound for loading a model and writing a few tokens on a loaded machine, never a measure


def run_script(code: str, folder: Path, name: str = "reproduce.py") -> str:
    """Run ``code`` with ``python`` in ``folder``; its standard output (the test fails with its error output)."""
    path = folder / name
    path.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(path)], cwd=folder, env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        capture_output=True, text=True, timeout=RUN_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{name} failed:\n{done.stderr[-4000:]}"
    return done.stdout


def run_notebook(notebook: dict[str, Any], folder: Path) -> str:
    """Run ``notebook`` top to bottom in a fresh kernel (nbclient), from ``folder``; every cell's printed text."""
    import nbclient
    import nbformat

    nb = nbformat.from_dict(notebook)
    nbformat.validate(nb)  # the notebook is valid nbformat 4 before it runs
    where = {"metadata": {"path": str(folder)}}
    nbclient.NotebookClient(nb, timeout=RUN_S, kernel_name="python3", resources=where).execute()
    return "".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )

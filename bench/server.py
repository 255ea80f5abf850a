"""The real app for benchmarks: ``python app.py`` on a free loopback port, offline, on a given registry.

Used by ``bench/classroom.py`` and ``bench/soak.py``; the process is the app's own, so its
memory and threads can be read from ``/proc/<pid>/status``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent


class Server:
    """``python app.py`` on a free loopback port with a given registry file."""

    def __init__(
        self, name: str, registry: Path, folder: Path, threads: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = folder / f"{name}.log"
        env = {
            **os.environ,
            "PLAYGROUND_REGISTRY": str(registry),
            "GRADIO_SERVER_PORT": str(self.port),
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1",
            "PLAYGROUND_PROXY_HOPS": "1",  # the bench's clients play a proxy: their X-Forwarded-For names the visitor
            **(env or {}),
        }
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out, stderr=out)
        self.url = f"http://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        """The app's process id."""
        return self.proc.pid

    def wait_ready(self, timeout: float = 600) -> None:
        """Wait until the default model is loaded and the port answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()}")
            if "ready, from" in self.log.read_text():
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                except OSError:
                    pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        """Terminate the server."""
        self.proc.terminate()
        self.proc.wait(timeout=30)


def registry_copy(folder: Path, name: str, source: Path, **limits: Any) -> Path:
    """A copy of the registry ``source`` with other ``limits``, its relative adapter paths made absolute."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data.setdefault("limits", {}).update(limits)
    for adapter in data.get("adapters") or []:
        if "path" in adapter:
            adapter["path"] = str((ROOT / adapter["path"]).resolve())  # relative paths: to the project
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def queue_data(url: str, api_name: str, args: list[Any]) -> tuple[int, list[Any]]:
    """The fn index of ``api_name`` and the data a raw ``/queue/join`` sends for its API ``args``.

    The page's queue protocol carries every input of an event, a ``gr.State`` too (the API,
    ``gradio_client`` and ``/call/`` leave it out): its slot is sent empty, as the page does.
    """
    config = httpx.get(url + "config", timeout=60).json()  # a loaded machine can take seconds
    event = next(d for d in config["dependencies"] if d.get("api_name") == api_name)
    kinds = {c["id"]: c.get("type") for c in config["components"]}
    values = iter(args)
    return event["id"], [None if kinds.get(i) == "state" else next(values) for i in event["inputs"]]

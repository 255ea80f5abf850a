"""The shared config checks: what each accepts, and errors that name the full key path."""

from __future__ import annotations

import math

import pytest

from playground import config_checks as checks
from playground.errors import ConfigError, SettingsError
from playground.messages import localize


def test_key_path_joins_keys_and_leaves_top_level_keys_bare():
    assert checks.key_path("models[0]", "name") == "models[0].name"
    assert checks.key_path("", "name") == "name"


@pytest.mark.parametrize(
    ("args", "kwargs", "written"),
    [
        ((0, 2), {}, "[0, 2]"),
        ((0.0, 1.0), {"low_open": True}, "(0, 1]"),
        ((0, 1), {"high_open": True}, "[0, 1)"),
        ((1, None), {}, "[1, inf]"),
        ((None, 5), {}, "[-inf, 5]"),
        ((16, 10_000_000), {}, "[16, 10000000]"),  # integers in full, never 1e+07
        ((0.5, 2.5), {}, "[0.5, 2.5]"),
    ],
)
def test_interval_writes_ranges_one_way(args, kwargs, written):
    assert checks.interval(*args, **kwargs) == written


def test_mapping_returns_a_good_mapping_as_it_is():
    data = {"a": 1, "b": 2}
    assert checks.mapping("x", data, {"a", "b", "c"}, {"a"}) is data


@pytest.mark.parametrize(
    ("where", "data", "message"),
    [
        ("limits", [1], r"^limits: expected a mapping, got list$"),
        ("", "text", r"^top level: expected a mapping, got str$"),
        ("models[0]", {"a": 1, "zz": 2, "b": 3}, r"^models\[0\]\.b: unknown key \(allowed: a, c\)$"),
        ("", {"a": 1, "extra": 2}, r"^extra: unknown key \(allowed: a, c\)$"),
        ("models[0]", {"c": 1}, r"^models\[0\]\.a: required key is missing$"),
    ],
)
def test_mapping_names_the_first_unknown_then_missing_key(where, data, message):
    with pytest.raises(ConfigError, match=message):
        checks.mapping(where, data, {"a", "c"}, {"a"})


def test_string_checks_type_blankness_and_pattern():
    assert checks.string("x", "gpt2", checks.NAME_RE, checks.NAME_HINT) == "gpt2"
    assert checks.string("x", "", empty_ok=True) == ""
    for value in (None, 3, "", "   "):
        with pytest.raises(ConfigError, match=r"^x: must be a non-empty string, got "):
            checks.string("x", value)
    with pytest.raises(ConfigError, match=r"^x: must be a string, got 3$"):
        checks.string("x", 3, empty_ok=True)
    with pytest.raises(ConfigError, match=r"^a\.name: 'GPT 2' must be lower-case letters"):
        checks.string("a.name", "GPT 2", checks.NAME_RE, checks.NAME_HINT)
    with pytest.raises(ConfigError, match=r"^x: 'a b' is not valid$"):
        checks.string("x", "a b", checks.NAME_RE)


@pytest.mark.parametrize("name", ["gpt2", "smollm2-135m-instruct", "a.b_c-d", "0" * 64])
def test_name_re_accepts_registry_names(name):
    assert checks.NAME_RE.match(name)


@pytest.mark.parametrize("name", ["", "-gpt2", "GPT2", "a b", "a/b", "0" * 65, ".hidden"])
def test_name_re_refuses_other_names(name):
    assert not checks.NAME_RE.match(name)


def test_lang_re_takes_two_or_three_lower_case_letters():
    assert [bool(checks.LANG_RE.match(x)) for x in ("en", "fra", "EN", "f", "fren", "e1")] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_integer_has_bounds_and_refuses_bools_and_floats():
    assert checks.integer("n", 16, 16, 32) == 16
    assert checks.integer("n", 32, 16, 32) == 32
    assert checks.integer("n", 10**12, 1) == 10**12  # no upper bound
    for value in (True, 8.0, "8", None):
        with pytest.raises(ConfigError, match=r"^n: must be an integer, got "):
            checks.integer("n", value, 1)
    with pytest.raises(ConfigError, match=r"^n: 4 is out of range \[16, 32\]$"):
        checks.integer("n", 4, 16, 32)
    with pytest.raises(ConfigError, match=r"^n: 0 is out of range \[1, inf\]$"):
        checks.integer("n", 0, 1)


@pytest.mark.parametrize(
    ("value", "low", "high", "kwargs"),
    [
        (0.5, 0, 1, {"low_open": True, "high_open": True}),
        (0, 0, 1, {"high_open": True}),
        (3600, 0, 3600, {"low_open": True, "unit": "seconds"}),
        (1e-9, 0, None, {"low_open": True}),
        (0, 0, None, {"whole": True}),
        (512, 1, 512, {"whole": True}),
    ],
)
def test_number_accepts_values_inside_the_range(value, low, high, kwargs):
    assert checks.number("x", value, low, high, **kwargs) == value


@pytest.mark.parametrize(
    ("value", "low", "high", "kwargs", "message"),
    [
        (0, 0, None, {"low_open": True, "whole": True}, "must be a positive integer, got 0"),
        (2.0, 0, None, {"low_open": True, "whole": True}, "must be a positive integer, got 2.0"),
        (-1, 0, None, {"whole": True}, "must be a non-negative integer, got -1"),
        (-1e-3, 0, None, {"low_open": True}, "must be a positive number, got -0.001"),
        (-1, 0, None, {}, "must be a non-negative number, got -1"),
        (math.inf, 0, None, {"low_open": True, "unit": "seconds"}, "must be a positive number of seconds, got inf"),
        (math.nan, 0, 1, {}, r"must be in \[0, 1\], got nan"),
        (1, 0, 1, {"high_open": True}, r"must be in \[0, 1\), got 1"),
        (0, 0, 1, {"low_open": True, "high_open": True}, r"must be in \(0, 1\), got 0"),
        (True, 0, 1, {}, r"must be in \[0, 1\], got True"),
        ("0.5", 0, 1, {}, r"must be in \[0, 1\], got '0.5'"),
        (4000, 0, 3600, {"low_open": True, "unit": "seconds"}, r"must be a number of seconds in \(0, 3600\], got 4000"),
        (0, 1, 512, {"whole": True}, r"must be an integer in \[1, 512\], got 0"),
        (3, 5, None, {"whole": True}, r"must be an integer in \[5, inf\], got 3"),
    ],
)
def test_number_says_what_it_wants_and_what_came(value, low, high, kwargs, message):
    with pytest.raises(ConfigError, match=rf"^lora\.x: {message}$"):
        checks.number("lora.x", value, low, high, **kwargs)


def test_choice_lists_the_choices_and_writes_none_as_null():
    assert checks.choice("k", "chat", ("plain", "chat")) == "chat"
    assert checks.choice("k", None, ("bf16", None)) is None
    with pytest.raises(ConfigError, match=r"^k: 'fancy' is not one of plain, chat$"):
        checks.choice("k", "fancy", ("plain", "chat"))
    with pytest.raises(ConfigError, match=r"^k: 'fp8' is not one of bf16, null$"):
        checks.choice("k", "fp8", ("bf16", None))


def test_boolean_takes_only_true_and_false():
    assert checks.boolean("b", False) is False
    for value in (0, 1, "true", None):
        with pytest.raises(ConfigError, match=rf"^b: must be true or false, got {value!r}$"):
            checks.boolean("b", value)


def test_items_checks_type_length_and_elements():
    assert checks.items("l", []) == []
    assert checks.items("l", ["a", "b"], "names", non_empty=True, max_len=2, item=checks.non_empty_str) == ["a", "b"]
    with pytest.raises(ConfigError, match=r"^l: must be a list$"):
        checks.items("l", "a")
    with pytest.raises(ConfigError, match=r"^l: must be a non-empty list of language codes$"):
        checks.items("l", [], "language codes", non_empty=True)
    with pytest.raises(ConfigError, match=r"^l: must be a list of names$"):
        checks.items("l", ["a", ""], "names", item=checks.non_empty_str)
    for bad in (["a", "b", "c"], ["a", ""], ("a",)):  # too long, a bad element, not a list: the rule states the bound
        with pytest.raises(ConfigError, match=r"^l: at most 2 non-empty strings$"):
            checks.items("l", bad, "non-empty strings", max_len=2, item=checks.non_empty_str)


def test_non_empty_str():
    assert [checks.non_empty_str(x) for x in ("a", " ", "", None, 1)] == [True, True, False, False, False]


def test_check_text_refuses_non_strings_and_lone_surrogates_in_both_languages():
    assert checks.check_text("prompt", "héllo") == "héllo"
    with pytest.raises(SettingsError, match=r"^prompt: must be a string, got NoneType$"):
        checks.check_text("prompt", None)
    with pytest.raises(SettingsError, match=r"^prompt: invalid Unicode \(a lone surrogate\) at character 2$") as info:
        checks.check_text("prompt", "ab\ud800")
    assert localize(info.value, "fr") != str(info.value) and localize(info.value, "fr").startswith("prompt")


def test_check_integer_reads_whole_floats_and_names_the_field():
    assert checks.check_integer("top_k", 50.0, 0, 100) == 50 and isinstance(checks.check_integer("k", 50.0, 0, 99), int)
    with pytest.raises(SettingsError, match=r"^top_k: must be an integer, got float 2\.5$"):
        checks.check_integer("top_k", 2.5, 0, 100)
    with pytest.raises(SettingsError, match=r"^top_k: must be an integer, got bool True$"):
        checks.check_integer("top_k", True, 0, 100)
    with pytest.raises(SettingsError, match=r"^top_k: 101 is out of range \[0, 100\]$") as info:
        checks.check_integer("top_k", 101, 0, 100)
    assert localize(info.value, "fr").startswith("top_k : 101")


def test_check_float_checks_type_finiteness_and_an_open_low_bound():
    assert checks.check_float("top_p", 1, 0.0, 1.0, low_open=True) == 1.0
    assert isinstance(checks.check_float("t", 1, 0.0, 2.0), float)
    with pytest.raises(SettingsError, match=r"^top_p: 0 is out of range \(0, 1\]$"):
        checks.check_float("top_p", 0, 0.0, 1.0, low_open=True)
    with pytest.raises(SettingsError, match=r"^t: 2\.01 is out of range \[0, 2\]$"):
        checks.check_float("t", 2.01, 0.0, 2.0)
    with pytest.raises(SettingsError, match=r"^t: must be a finite number, got nan$"):
        checks.check_float("t", math.nan, 0.0, 2.0)
    with pytest.raises(SettingsError, match=r"^t: must be a number, got str 'hot'$"):
        checks.check_float("t", "hot", 0.0, 2.0)


def test_settings_re_exports_the_request_checks():
    from playground import settings

    assert settings.check_text is checks.check_text
    assert settings.check_integer is checks.check_integer


def test_there_is_one_name_pattern():
    """The registry, recipes and presets read names with config_checks' patterns, not copies of them."""
    from pathlib import Path

    package = Path(checks.__file__).parent
    copies = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if p.name != "config_checks.py"
        and any(f"{name} = re.compile" in p.read_text(encoding="utf-8") for name in ("_NAME_RE", "_LANG_RE"))
    ]
    assert copies == []

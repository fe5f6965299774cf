"""yamlload: octoDNS's loaders on libyaml give the same data, the same checks, the same errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from octodns import yaml as octodns_yaml
from octodns.context import ContextDict

from octodns_rancher import yamlload
from tests.conftest import GOLDEN

MODES = [(True, "natural"), (True, "simple"), (False, "natural")]


def both(text: str, enforce_order: bool = True, order_mode: str = "natural", name: str = "z.yaml"):
    """(octoDNS's result or error, ours) for the same text read as the file ``name``."""
    out = []
    for load in (octodns_yaml.safe_load, yamlload.safe_load):
        stream = io.StringIO(text)
        stream.name = name
        try:
            out.append(load(stream, enforce_order=enforce_order, order_mode=order_mode))
        except Exception as e:
            out.append((type(e), str(e)))
    return out


def test_libyaml_is_there() -> None:
    # The speed-up is the point: a PyYAML without libyaml here would quietly fall back.
    assert yamlload.LIBYAML and yaml.__with_libyaml__


@pytest.mark.parametrize(("enforce_order", "order_mode"), MODES)
def test_the_golden_zone_file_loads_to_the_same_data(enforce_order: bool, order_mode: str) -> None:
    ours, theirs = both(GOLDEN.read_text(), enforce_order, order_mode, str(GOLDEN))[::-1]
    assert ours == theirs and len(ours) > 3


def test_every_mapping_keeps_octodns_context() -> None:
    text = "a:\n  ttl: 300\n  type: A\n  value: 192.0.2.1\nb:\n  type: A\n  value: 192.0.2.2\n"
    theirs, ours = both(text, name="/zones/example.com.yaml")
    assert isinstance(ours["b"], ContextDict)
    assert ours["b"].context == theirs["b"].context == "/zones/example.com.yaml, line 6, column 3"
    assert ours["a"].context == theirs["a"].context


@pytest.mark.parametrize(
    "text",
    [
        "web: {type: A, value: 192.0.2.1}\napi: {type: A, value: 192.0.2.2}\n",  # names
        "web:\n  value: 192.0.2.1\n  type: A\n",  # a record's keys
        "web:\n- type: AAAA\n  value: '2001:db8::1'\n- value: 192.0.2.1\n  type: A\n",
    ],
)
@pytest.mark.parametrize("order_mode", ["natural", "simple"])
def test_keys_out_of_order_are_refused_with_octodns_error(text: str, order_mode: str) -> None:
    theirs, ours = both(text, order_mode=order_mode)
    assert ours == theirs
    assert ours[0] is yaml.constructor.ConstructorError
    assert "keys out of order: expected" in ours[1] and "z.yaml, line" in ours[1]


def test_natural_order_is_natural() -> None:
    text = "a10: {type: A, value: 192.0.2.1}\na9: {type: A, value: 192.0.2.2}\n"
    theirs, ours = both(text)
    assert ours == theirs and ours[0] is yaml.constructor.ConstructorError  # a9 before a10
    theirs, ours = both(text, order_mode="simple")
    assert ours == theirs and list(ours) == ["a10", "a9"]


def test_unordered_loading_accepts_any_order() -> None:
    text = "web: {type: A, value: 192.0.2.1}\napi: {type: A, value: 192.0.2.2}\n"
    theirs, ours = both(text, enforce_order=False)
    assert ours == theirs and list(ours) == ["web", "api"]


@pytest.mark.parametrize(("enforce_order", "order_mode"), MODES)
def test_duplicate_keys_behave_exactly_as_in_octodns(enforce_order: bool, order_mode: str) -> None:
    # octoDNS's loaders keep the last of two equal keys (PyYAML's SafeConstructor does); a
    # record name given twice, or a key given twice inside a record, reads the same here.
    for text in (
        "web: {type: A, value: 192.0.2.1}\nweb: {type: A, value: 192.0.2.9}\n",
        "web:\n  type: A\n  type: AAAA\n  value: '2001:db8::1'\n",
    ):
        theirs, ours = both(text, enforce_order, order_mode)
        assert ours == theirs


@pytest.mark.parametrize(
    "text", ["a: [1\n", "a: b: c\n", "a:\n\t- 1\n", "a: 'x\n", "- 1\nb: 2\n", "a: *nope\n"]
)
def test_syntax_errors_are_the_same_kind_at_the_same_place(text: str) -> None:
    theirs, ours = both(text)
    assert isinstance(ours, tuple) and ours[0] is theirs[0]
    # libyaml words some problems differently; the file, line and column are the same.
    where = [line.strip() for line in theirs[1].splitlines() if line.strip().startswith("in ")]
    assert where == [
        line.strip() for line in ours[1].splitlines() if line.strip().startswith("in ")
    ]


def test_unknown_order_mode_is_octodns_error() -> None:
    with pytest.raises(octodns_yaml.InvalidOrder):
        yamlload.safe_load("a: 1\n", order_mode="alphabetical")


def test_include_reads_the_file_next_to_the_including_one(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("- 192.0.2.1\n- 192.0.2.2\n")
    (tmp_path / "more.yaml").write_text("ttl: 60\n")
    main = tmp_path / "zone.yaml"
    main.write_text("web:\n  <<: !include more.yaml\n  type: A\n  values: !include values.yaml\n")
    with main.open() as fh:
        ours = yamlload.safe_load(fh)
    with main.open() as fh:
        theirs = octodns_yaml.safe_load(fh)
    assert ours == theirs == {"web": {"ttl": 60, "type": "A", "values": ["192.0.2.1", "192.0.2.2"]}}


def test_register_order_mode_makes_octodns_safe_load_use_libyaml() -> None:
    enforce, mode = yamlload.register_order_mode(True, "natural")
    assert enforce is True and mode != "natural"
    assert octodns_yaml._loaders[mode] is yamlload.loader(True, "natural")
    assert octodns_yaml._dumpers[mode] is octodns_yaml._dumpers["natural"]
    enforce, unordered = yamlload.register_order_mode(False, "simple")
    assert octodns_yaml._loaders[unordered] is yamlload.loader(False, "simple")
    assert octodns_yaml._dumpers[unordered] is octodns_yaml._dumpers["simple"]
    # A mode octoDNS does not know is left for octoDNS to refuse.
    assert yamlload.register_order_mode(True, "alphabetical") == (True, "alphabetical")

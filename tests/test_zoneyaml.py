"""zoneyaml: reading back entries of zone files, as a YAML parse reads them."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from octodns_rancher import publish
from octodns_rancher.zoneyaml import dump_zone, read_blocks

_scalar = st.one_of(
    st.from_regex(r"[a-z0-9][a-z0-9.-]{0,12}", fullmatch=True),
    st.sampled_from(["yes", "no", "null", "on", "1e3", "0x1f", "007", "-1", "1_000", "A", "ttl"]),
    st.integers(-5, 100_000),
)
_annotation = st.fixed_dictionaries(
    {"rancher": st.fixed_dictionaries({"service": _scalar, "stack": _scalar, "uuid": _scalar})}
)
_record = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["A", "AAAA"]),
        "ttl": st.integers(1, 86400),
        "values": st.lists(_scalar, min_size=1, max_size=4),
    },
    optional={"octodns": _annotation},
)
_zone = st.dictionaries(
    st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True),
    st.one_of(_record, st.lists(_record, min_size=2, max_size=2)),
    min_size=1,
    max_size=5,
)


def blocks_of(data: dict) -> list[str]:
    blocks = publish._split(dump_zone(data))
    assert blocks is not None
    return blocks


def yaml_entry(block: str) -> tuple[str, object]:
    ((key, value),) = yaml.safe_load(block).items()
    return key, value


@settings(max_examples=150, deadline=None)
@given(_zone)
def test_what_is_read_is_what_yaml_reads(data):
    blocks = blocks_of(data)
    for block, read in zip(blocks, read_blocks(blocks), strict=True):
        if read is not None:
            assert read == yaml_entry(block)
            assert type(read[1]) is type(yaml_entry(block)[1])


def test_the_writers_plain_layout_is_read():
    data = {
        "web.shop.env": {
            "octodns": {"rancher": {"service": "web", "stack": "shop", "uuid": "u-1"}},
            "ttl": 300,
            "type": "A",
            "values": ["10.0.0.1", "10.0.0.2"],
        },
        "db.shop.env": [
            {"ttl": 60, "type": "A", "value": "10.0.0.3"},
            {"ttl": 60, "type": "AAAA", "value": "2001:db8::1"},
        ],
    }
    blocks = blocks_of(data)
    read = dict(zip(blocks, read_blocks(blocks), strict=True))
    web, db = (next(b for b in blocks if b.startswith(name)) for name in ("web.", "db."))
    assert read[web] == yaml_entry(web)
    # The block writer writes no colon in a scalar: libyaml wrote this one, YAML reads it.
    assert read[db] is None


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["a.env:\n  ttl: 300\n  type: A\n  values:\n  - 10.0.0.1\n  - 10.0.0.2\n"]),
    st.integers(0, 60),
    st.sampled_from(["", " ", "  ", "- ", ":", ": ", "#", "'", "0", "\n", "\t", "{", "&x ", "~"]),
    st.integers(0, 3),
)
def test_edited_blocks_are_read_as_yaml_reads_them_or_left_to_yaml(block, at, insert, cut):
    """Anything the reader returns is what YAML reads; anything else is left to the parser."""
    at = min(at, len(block) - 1)
    edited = block[:at] + insert + block[at + cut :]
    try:
        expected = yaml.safe_load(edited)
    except yaml.YAMLError:
        expected = None
    (read,) = read_blocks([edited])
    if read is not None:
        assert isinstance(expected, dict) and len(expected) == 1
        assert read == next(iter(expected.items()))


@pytest.mark.parametrize(
    "block",
    [
        "a.env:\n  ttl: 0300\n",  # octal for YAML 1.1
        "a.env:\n  ttl: yes\n",
        "a.env:\n  ttl: 300\n  ttl: 301\n",
        "a.env:\n    ttl: 300\n  type: A\n",
        "a.env:\n  ttl: 300 # comment\n",
        "a.env:\n  ttl:\n",
        "a.env:\n  type: A\n  value: 10.0.0.1",
        "a.env:\n  value: 'x'\n",
        "a.env: {type: A}\n",
        "300:\n  type: A\n",
    ],
)
def test_layouts_the_writer_does_not_give_are_not_read(block):
    assert read_blocks([block]) == [None]

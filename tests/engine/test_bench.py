"""The benchmark's size count is exact, and the delta target holds for the arena."""

from __future__ import annotations

import subprocess
import sys

import msgpack
from hypothesis import given
from hypothesis import strategies as st

from engine.bench import packed_size, run, table

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=300),
    st.binary(max_size=300),
)
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=20), st.dictionaries(st.text(max_size=40), inner, max_size=20)),
    max_leaves=60,
)


@given(trees)
def test_packed_size_is_the_msgpack_length(obj):
    assert packed_size(obj) == len(msgpack.packb(obj, use_bin_type=True))


def test_large_containers_are_sized_exactly():
    for n in (15, 16, 255, 256, 65535, 65536):
        assert packed_size(list(range(n))) == len(msgpack.packb(list(range(n))))
        assert packed_size({str(i): i for i in range(n)}) == len(msgpack.packb({str(i): i for i in range(n)}))


def test_a_typical_arena_delta_is_under_forty_percent_of_the_full_snapshot():
    for players in (2, 8):
        result = run(players, ticks=300, warmup=50)
        assert result.delta_ratio <= 0.40, table([result])
        assert result.delta_bytes_median > 0 and result.full_bytes > 200


def test_the_bench_command_prints_a_table_and_the_engine_imports_no_codec():
    code = (
        "import sys; from engine.__main__ import main; main(['bench', '--ticks', '50', '--players', '2']);"
        "assert 'msgpack' not in sys.modules, 'engine imported msgpack'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.startswith("| players |")
    assert "\n| 2 | 50 |" in done.stdout

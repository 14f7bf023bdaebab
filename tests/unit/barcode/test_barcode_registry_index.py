"""The prefix registry's index answers exactly as a scan of its rules (prefix AND length)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zhifu.barcode.registry import PREFIXES, PrefixRule

_PREFIXES = sorted({rule.prefix for rule in PREFIXES.rules})


def _scan(code: str) -> PrefixRule | None:
    if not (code.isascii() and code.isdigit()):
        return None
    return next((r for r in PREFIXES.rules if r.matches(code)), None)


@given(
    st.sampled_from([*_PREFIXES, "", "9", "1", "6"]),
    st.text(alphabet="0123456789", min_size=0, max_size=26),
)
def test_index_equals_scan(prefix: str, rest: str) -> None:
    code = (prefix + rest)[:26]
    assert PREFIXES.lookup(code) == _scan(code)


def test_every_rule_is_found_at_each_of_its_lengths() -> None:
    for rule in PREFIXES.rules:
        for length in range(rule.min_length, rule.max_length + 1):
            code = rule.prefix + "0" * (length - len(rule.prefix))
            assert PREFIXES.lookup(code) is rule
        assert PREFIXES.lookup(rule.prefix + "0" * (rule.max_length + 1 - len(rule.prefix))) in (
            None,
            _scan(rule.prefix + "0" * (rule.max_length + 1 - len(rule.prefix))),
        )

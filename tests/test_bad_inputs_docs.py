"""docs/bad_inputs.md has one row per bad-input case, with its outcome."""

import re

from bad_inputs import DOCS, SECTIONS, UsageError, all_cases


def test_table_is_documented():
    """One row per case, with its input and outcome kind.

    Regenerate it with ``python tests/bad_inputs.py``.
    """
    cases = all_cases()
    rows = {}
    for line in DOCS.read_text().splitlines():
        m = re.match(r"\| `([^`]+)` \| (.*) \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2), m.group(3)
    assert sorted(rows) == sorted(c.id for c in cases)
    assert len({c.id for c in cases}) == len(cases)
    assert {c.id.split("/")[0] for c in cases} <= set(SECTIONS)
    for c in cases:
        what, got = rows[c.id]
        assert what == c.what, c.id
        if c.raises is None:
            assert got == c.works, c.id
        else:
            kind = "exit 2" if c.raises is UsageError else c.raises.__name__
            assert got.startswith(kind + ": "), (c.id, got)

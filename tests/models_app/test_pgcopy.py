"""COPY's text format: one escaping rule for every column (no database needed)."""

from datetime import UTC, datetime

from models_app import pgcopy


def test_escape_leaves_plain_text_alone_and_escapes_backslash_tab_and_newlines():
    assert pgcopy.escape("plain text é") == "plain text é"
    assert pgcopy.escape("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"


def test_json_values_are_escaped_like_text_and_none_is_null():
    assert pgcopy.json_value({"path": "C:\\tmp", "s": "tab\there"}) == (
        '{"path":"C:\\\\\\\\tmp","s":"tab\\\\there"}'
    )
    assert pgcopy.json_value(None) == pgcopy.NULL == "\\N"


def test_bytes_booleans_moments_and_numbers_have_one_text_form_each():
    moment = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert pgcopy.bytes_value(b"\x01\xff") == "\\\\x01ff"
    assert [pgcopy.bool_value(True), pgcopy.bool_value(False)] == ["t", "f"]
    assert pgcopy.moment_value(moment) == "2026-03-01T12:30:00+00:00"
    assert pgcopy.plain_value(0.1) == "0.1" and pgcopy.plain_value(7) == "7"


def test_any_value_picks_the_form_by_python_type():
    row = (1, 0.5, "a\tb", None, True, [1, "x"], datetime(2026, 1, 1, tzinfo=UTC), b"\x00")
    assert "\t".join(map(pgcopy.any_value, row)) == (
        '1\t0.5\ta\\tb\t\\N\tt\t[1,"x"]\t2026-01-01T00:00:00+00:00\t\\\\x00'
    )

"""The sandbox's readers of numbers and dates in query strings and bodies."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from airflow_provider_altegio.sandbox.dates import DateParseError, ascii_digits, parse_datetime


@pytest.mark.parametrize(
    ("text", "signed", "expected"),
    [
        ("123", False, True),
        ("-123", True, True),
        ("-123", False, False),
        ("--1", True, False),
        ("\u00b3", False, False),  # a Unicode digit that int() refuses
        ("\u0663", False, False),  # Arabic-Indic 3: int() reads it, PHP does not
        ("", False, False),
        ("-", True, False),
    ],
)
def test_ascii_digits_are_what_php_reads_as_a_whole_number(text: str, signed: bool, expected: bool) -> None:
    assert ascii_digits(text, signed=signed) is expected


@pytest.mark.parametrize(
    ("text", "location_hours"),
    [
        ("0001-01-01T00:00:00+05:00", 0),  # before year 1 in UTC
        ("9999-12-31T23:00:00-05:00", 0),  # after year 9999 in UTC
        ("9999-12-31T23:30:00Z", 5),  # after year 9999 in the location's zone
    ],
)
def test_dates_no_zone_can_hold_are_refused(text: str, location_hours: int) -> None:
    with pytest.raises(DateParseError):
        parse_datetime(text, timezone(timedelta(hours=location_hours)))

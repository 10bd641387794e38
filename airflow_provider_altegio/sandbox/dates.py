"""Date parsing and formatting in the forms the Altegio and Altacolor documents use, and the
number check that dates and ids share.

The sandbox keeps every instant as integer epoch seconds (the APIs show seconds, so filters and
displayed values agree) and wall-clock document dates as naive local datetimes of the location.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?)?"
    # An unencoded "+" in a query string arrives as a space: "...12:00:00 0400" means +04:00.
    r"(?:\s*(?P<tz>Z|[+-]\d{2}:?\d{2})|\s(?P<plus>\d{2}:?\d{2}))?$"
)


def ascii_digits(text: str, *, signed: bool = False) -> bool:
    """Whether ``text`` is a whole number as PHP reads one: ASCII digits, with a leading ``-``
    when ``signed`` ("³" is a Unicode digit that neither PHP nor ``int()`` reads)."""
    digits = text[1:] if signed and text.startswith("-") else text
    return digits.isascii() and digits.isdigit()


class DateParseError(ValueError):
    """A query or body value is not a date in any documented form."""


def parse_datetime(value: str, tz: timezone, *, end_of_day: bool = False) -> datetime:
    """Parse a documented date form into an aware datetime.

    Accepted: ``2026-01-01T12:00:00-0500``, ``...-05:00``, ``....000-05:00``, ``...Z``, no offset
    (read as the location's wall clock ``tz``), ``2017-04-25 21:50:01``, a bare date
    (midnight, or the last second of the day when ``end_of_day``), and unix seconds.

    :raises DateParseError: for anything else.
    """
    text = value.strip().strip("'\"").strip()
    try:
        if ascii_digits(text) and len(text) >= 9:
            moment = datetime.fromtimestamp(int(text), tz=timezone.utc)
        else:
            moment = _parse_iso(text, tz, end_of_day)
        # Years near 1 or 9999 with an offset cannot be stored, nor shown in the location's zone.
        for zone in (timezone.utc, tz):
            moment.astimezone(zone)
    except (ValueError, OverflowError, OSError) as exc:
        raise DateParseError(f"{value!r} is not a valid date") from exc
    return moment


def _parse_iso(text: str, tz: timezone, end_of_day: bool) -> datetime:
    match = _ISO.match(text)
    if not match:
        raise ValueError(text)
    day = date.fromisoformat(match["date"])
    clock = match["time"] or ("23:59:59" if end_of_day else "00:00:00")
    if len(clock) == 5:
        clock += ":00"
    hour, minute, second = (int(part) for part in clock.split(":"))
    naive = datetime(day.year, day.month, day.day, hour, minute, second)
    offset = match["tz"] or (f"+{match['plus']}" if match["plus"] else None)
    return naive.replace(tzinfo=_parse_offset(offset) if offset else tz)


def _parse_offset(text: str) -> timezone:
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def to_epoch(moment: datetime) -> int:
    """Whole epoch seconds of an aware datetime (floored: the APIs show seconds)."""
    return int(moment.timestamp() // 1)


def format_offset_datetime(epoch: int, tz: timezone) -> str:
    """``2026-01-01T12:00:00-0500``: the form of ``last_change_date`` in Altegio responses."""
    return datetime.fromtimestamp(epoch, tz=tz).strftime("%Y-%m-%dT%H:%M:%S%z")


def format_document_date(moment: datetime, tz: timezone) -> str:
    """``2026-09-21T23:00:00.000-05:00``: a document's ``create_date`` in the official example,
    from the location's wall-clock time ``moment``."""
    return moment.replace(tzinfo=tz).isoformat(timespec="milliseconds")


def format_wall_clock_offset(moment: datetime, tz: timezone) -> str:
    """``2012-12-21T19:08:00+0400``: a transaction's ``create_date`` in the reference, from the
    location's wall-clock time ``moment``."""
    return moment.replace(tzinfo=tz).strftime("%Y-%m-%dT%H:%M:%S%z")


def format_utc_naive(epoch: int) -> str:
    """``2018-02-01T00:00:00``: Altacolor's UTC form without an offset."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")

"""The one set of rules for loosely typed values: templates, connection extras, API fields."""

from __future__ import annotations

from enum import IntEnum

import pytest

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.values import (
    FALSE_WORDS,
    TRUE_WORDS,
    enum_member,
    is_blank,
    number,
    to_bool,
    to_float,
    to_int,
    truth,
    whole_number,
)


class Colour(IntEnum):
    RED = 1
    DARK_BLUE = 2


@pytest.mark.parametrize("value", [None, "", "  ", "None"])
def test_blank_values(value: object) -> None:
    assert is_blank(value)


@pytest.mark.parametrize("value", [0, "0", False, [], "x"])
def test_values_that_are_not_blank(value: object) -> None:
    assert not is_blank(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        ("5", 5),
        (" 42 ", 42),
        (7.0, 7),
        ("1 050", 1050),
        ("1e3", 1000),
        ("12345678901234567890", 12345678901234567890),
    ],
)
def test_whole_numbers_in_every_documented_spelling(value: object, expected: int) -> None:
    assert to_int(value) == expected


@pytest.mark.parametrize("value", [True, 1.5, "1.5", "abc", float("nan"), float("inf"), None, [1]])
def test_what_is_not_a_whole_number(value: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        to_int(value)


@pytest.mark.parametrize(("value", "expected"), [("1,5", 1.5), (" 1 050.5 ", 1050.5), (2, 2.0)])
def test_numbers_from_text(value: object, expected: float) -> None:
    assert to_float(value) == expected


@pytest.mark.parametrize("word", sorted(TRUE_WORDS | {"TRUE", " Yes "}))
def test_true_words(word: str) -> None:
    assert to_bool(word) is True


@pytest.mark.parametrize("word", sorted(FALSE_WORDS | {"False", " NO "}))
def test_false_words(word: str) -> None:
    assert to_bool(word) is False


def test_named_readers_name_the_field_and_the_bounds() -> None:
    with pytest.raises(InvalidRequestError, match=r"^page_size: must be at most 100, got 101$"):
        whole_number("101", "page_size", maximum=100)
    with pytest.raises(InvalidRequestError, match=r"^extra.timeout: must be at least 0, got -1$"):
        number("-1", "extra.timeout", minimum=0)
    with pytest.raises(InvalidRequestError, match=r"^extra.verify_ssl: must be true or false"):
        truth("perhaps", "extra.verify_ssl")
    with pytest.raises(InvalidRequestError, match=r"^storage_id: is required$"):
        whole_number(" ", "storage_id")


@pytest.mark.parametrize("value", [Colour.RED, 1, "1", "red", " Red ", "RED"])
def test_enum_members_by_value_or_name(value: object) -> None:
    assert enum_member(Colour, value, "colour") is Colour.RED


def test_enum_names_read_dashes_and_spaces_as_underscores_and_aliases() -> None:
    assert enum_member(Colour, "dark-blue", "colour") is Colour.DARK_BLUE
    assert enum_member(Colour, "dark blue", "colour") is Colour.DARK_BLUE
    assert enum_member(Colour, "navy", "colour", {"navy": Colour.DARK_BLUE}) is Colour.DARK_BLUE


@pytest.mark.parametrize("value", [True, 1.0, 3, "green", None, "\u00b9"])  # "¹": a digit, not a number
def test_enum_refusals_list_the_choices(value: object) -> None:
    with pytest.raises(
        InvalidRequestError, match=r"^colour: must be a colour: red \(1\), dark_blue \(2\), got"
    ):
        enum_member(Colour, value, "colour", what="a colour")

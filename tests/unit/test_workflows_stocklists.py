"""Lists people hand in: reading lines, matching codes to products, units, stocktake differences."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_altegio.exceptions import InvalidRequestError
from airflow_provider_altegio.models.altegio import Product, Storage
from airflow_provider_altegio.workflows.stocklists import (
    ProductLine,
    assign_products,
    count_differences,
    differences_markdown,
    explain_amount,
    location_choices,
    parse_lines,
    read_csv_rows,
)

SHAMPOO = Product.model_validate(
    {
        "good_id": 1,
        "title": "Shampoo 500 ml",
        "article": "SH-500",
        "barcode": "2000000000011",
        "unit_short_title": "bottle",
        "service_unit_short_title": "ml",
        "unit_equals": 500,
        "actual_cost": 10,
        "unit_actual_cost": 0.02,
        "actual_amounts": [{"storage_id": 31, "amount": 4}, {"storage_id": 32, "amount": 2.5}],
    }
)
TWIN_A = Product.model_validate({"good_id": 2, "article": "DUP", "unit_short_title": "pcs"})
TWIN_B = Product.model_validate({"good_id": 3, "article": "DUP", "unit_short_title": "pcs"})
STORAGES = [
    Storage.model_validate({"id": 31, "title": "Retail shelf", "for_sale": 1}),
    Storage.model_validate({"id": 32, "title": "Back room", "for_services": 1}),
]


def found_for(lines: list[ProductLine]) -> dict[tuple[str, str], list[Product]]:
    """What ``AltegioHook.find_products`` answers for the lines' codes: the products each
    names exactly (a term search would also find ``SH`` in ``SH-500``; that is no match)."""
    return {
        (line.code_kind, line.code): [
            p for p in (SHAMPOO, TWIN_A, TWIN_B) if (line.code_kind, line.code) in p.identifiers()
        ]
        for line in lines
        if not line.problem
    }


def test_explain_amount_says_both_units() -> None:
    assert explain_amount(-500, "service", SHAMPOO) == "-500 ml = -1 bottle of 500 ml"
    assert explain_amount(-250, "service", SHAMPOO) == "-250 ml = -0.5 bottle of 500 ml"
    assert explain_amount(2, "sale", SHAMPOO) == "+2 bottle of 500 ml"


def test_lines_are_read_and_every_problem_is_kept() -> None:
    lines = parse_lines(
        [
            ("line 1", {"barcode": " 2000000000011 ", "counted": "3,5"}),
            ("line 2", {"code": "X", "counted": "many"}),
            ("line 3", {"article": "SH-500", "counted": 0, "unit": "litre"}),
            ("line 4", {"counted": 1}),
            ("line 5", {"code": "X", "counted": -1}),
            ("line 6", {"code": "X", "counted": 1, "storage_id": "back"}),
        ],
        amount_field="counted",
        allow_zero=True,
    )
    assert (lines[0].code_kind, lines[0].code, lines[0].amount, lines[0].problem) == (
        "barcode",
        "2000000000011",
        3.5,
        None,
    )
    assert [line.problem for line in lines[1:]] == [
        "counted 'many' is not a number",
        "unit 'litre' is neither 'sale' nor 'service'",
        "no barcode, article or code",
        "counted must be 0 or more, got -1",
        "storage_id 'back' is not a number",
    ]
    (zero,) = parse_lines([("l", {"code": "X", "amount": 0})])
    assert zero.problem == "amount must be greater than 0, got 0"


def test_matching_keeps_exact_codes_only_and_names_each_problem() -> None:
    lines = parse_lines(
        [
            ("a", {"barcode": "2000000000011", "amount": 1}),
            ("b", {"code": "SH-500", "amount": 100, "unit": "service", "storage_id": 32}),
            ("c", {"code": "SH", "amount": 1}),  # the search finds it; the code is not exact
            ("d", {"article": "DUP", "amount": 1}),
            ("e", {"barcode": "2000000000011", "amount": 1, "storage_id": 99}),
            ("f", {"article": "DUP", "amount": 1, "unit": "service"}),
        ]
    )
    assign_products(lines, STORAGES, found_for(lines))
    assert (lines[0].product, lines[0].storage_id, lines[0].storage_title) == (SHAMPOO, 31, "Retail shelf")
    assert (lines[1].product, lines[1].storage_id, lines[1].in_sale_units) == (SHAMPOO, 32, 0.2)
    assert [line.problem for line in lines[2:]] == [
        "no product with code 'SH'",
        "article 'DUP' matches several products (2, 3)",
        "storage 99 is not a storage of this location",
        "article 'DUP' matches several products (2, 3)",
    ]


def test_differences_are_summed_per_storage_in_the_counted_unit() -> None:
    lines = parse_lines(
        [
            ("a", {"code": "SH-500", "counted": 2}),
            ("b", {"code": "SH-500", "counted": 1}),  # a second shelf: added up
            ("c", {"code": "SH-500", "counted": 1000, "unit": "service", "storage_id": 32}),
        ],
        amount_field="counted",
        allow_zero=True,
    )
    retail, back = count_differences(assign_products(lines, STORAGES, found_for(lines)))
    assert (retail.storage_id, retail.unit, retail.on_hand, retail.counted, retail.difference) == (
        31,
        "sale",
        4,
        3,
        -1,
    )
    assert retail.explain() == "-1 bottle of 500 ml"
    assert (back.unit, back.on_hand, back.counted, back.difference) == ("service", 1250, 1000, -250)
    assert back.explain() == "-250 ml = -0.5 bottle of 500 ml"
    report = back.report()
    assert report["cost_per_unit"] == 0.02
    assert report["unit_name"] == "ml"
    assert report["sources"] == ["c"]
    table = differences_markdown([retail.report(), back.report()])
    assert "| Back room | Shampoo 500 ml | 1250 ml | 1000 ml | -250 ml = -0.5 bottle of 500 ml |" in table


def test_mixed_units_for_one_product_are_compared_in_the_sale_unit() -> None:
    lines = parse_lines(
        [
            ("a", {"code": "SH-500", "counted": 3}),
            ("b", {"code": "SH-500", "counted": 250, "unit": "service"}),
        ],
        amount_field="counted",
    )
    (difference,) = count_differences(assign_products(lines, STORAGES, found_for(lines)))
    assert (difference.unit, difference.counted, difference.difference) == ("sale", 3.5, -0.5)


def test_csv_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    sheet = tmp_path / "counts.csv"
    sheet.write_text("Code,Counted\nSH-500,3\n")
    assert read_csv_rows(str(sheet)) == [("counts.csv row 2", {"code": "SH-500", "counted": "3"})]
    with pytest.raises(FileNotFoundError):
        read_csv_rows(str(tmp_path / "missing.csv"))


def test_location_choices_read_ids_and_names_and_refuse_what_is_not_an_id() -> None:
    assert location_choices("1001=Central; 1002") == {1001: "Central", 1002: "1002"}
    assert location_choices("") == {}
    for text in ("abc=Central", "\u00b3=Central"):  # "³" is a digit int() refuses
        with pytest.raises(InvalidRequestError, match=r"^ALTEGIO_LOCATIONS: .* is not a location id"):
            location_choices(text)

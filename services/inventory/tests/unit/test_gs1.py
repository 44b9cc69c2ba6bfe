"""Reading GS1 barcodes: the printed form with parentheses and the raw form scanners send."""

from __future__ import annotations

import re
from datetime import date

import pytest

from inventory.domain.gs1 import Gs1Fields, InvalidBarcode, parse

pytestmark = pytest.mark.unit

TODAY = date(2026, 3, 15)
GS = "\x1d"
# GS1's own example GTIN.
GTIN = "09506000134352"
EXPECTED = Gs1Fields(gtin=GTIN, lot_number="ABC123", expires_on=date(2028, 12, 31), serial="S1")


def test_the_printed_form_gives_every_field() -> None:
    assert parse(f"(01){GTIN}(17)281231(10)ABC123(21)S1", today=TODAY) == EXPECTED


@pytest.mark.parametrize("identifier", ["", "]C1", "]d2", "]Q3"])
def test_the_raw_form_ends_variable_values_at_a_group_separator_or_the_end(identifier: str) -> None:
    assert parse(f"{identifier}01{GTIN}1728123110ABC123{GS}21S1", today=TODAY) == EXPECTED


def test_in_the_raw_form_a_fixed_length_value_runs_straight_into_the_next_ai() -> None:
    assert parse(f"01{GTIN}21S1{GS}10ABC123{GS}17281231", today=TODAY) == EXPECTED


def test_a_separator_after_a_fixed_length_value_or_at_the_end_is_tolerated() -> None:
    assert parse(f"]d201{GTIN}{GS}17281231{GS}10ABC123{GS}21S1{GS}", today=TODAY) == EXPECTED


def test_fields_the_barcode_does_not_carry_are_none() -> None:
    assert parse("10LOT-7", today=TODAY) == Gs1Fields(gtin=None, lot_number="LOT-7", expires_on=None, serial=None)
    assert parse(f"(01){GTIN}", today=TODAY).lot_number is None


def test_a_lot_may_use_every_kind_of_character_in_set_82() -> None:
    lot = "aZ09!\"%&'*+,-./:;<=>"
    assert parse(f"10{lot}", today=TODAY).lot_number == lot
    assert parse("21?_()", today=TODAY).serial == "?_()"


def test_lot_and_serial_take_twenty_characters() -> None:
    fields = parse(f"10{'L' * 20}{GS}21{'S' * 20}", today=TODAY)
    assert (fields.lot_number, fields.serial) == ("L" * 20, "S" * 20)


@pytest.mark.parametrize(
    ("yymmdd", "expires_on"),
    [("280200", date(2028, 2, 29)), ("270200", date(2027, 2, 28)), ("260400", date(2026, 4, 30))],
)
def test_day_00_means_the_last_day_of_the_month(yymmdd: str, expires_on: date) -> None:
    assert parse(f"(17){yymmdd}", today=TODAY).expires_on == expires_on


@pytest.mark.parametrize(
    ("today", "yy", "year"),
    [
        (date(2026, 3, 15), "26", 2026),
        (date(2026, 3, 15), "76", 2076),  # 50 years ahead: still this century
        (date(2026, 3, 15), "77", 1977),  # 51 ahead: the previous century
        (date(2026, 3, 15), "00", 2000),
        (date(2080, 1, 1), "30", 2130),  # 50 behind: the next century
        (date(2080, 1, 1), "31", 2031),  # 49 behind: this century
        (date(2099, 12, 31), "05", 2105),
        (date(2101, 1, 1), "99", 2099),
    ],
)
def test_the_century_is_the_one_gs1_says(today: date, yy: str, year: int) -> None:
    assert parse(f"17{yy}0615", today=today).expires_on == date(year, 6, 15)


@pytest.mark.parametrize(
    ("barcode", "message"),
    [
        ("", "empty"),
        ("]d2", "nothing else"),
        ("]e0" + "10ABC", "symbology identifier"),
        (f"01{GTIN}30100", "AI '30'"),
        ("(01)09506000134352(30)100", "AI '30'"),
        ("(240)X", "AI '240'"),
        ("ABC", "AI 'AB'"),
        ("1", "AI '1'"),
        ("(X)(01)09506000134352", "parentheses"),
        ("01" + "09506000134353", "check digit"),
        ("(01)09506000134350", "check digit"),
        ("01095060001343", "14 digits"),
        ("(01)0950600013435", "14 digits"),
        ("(01)095060001343521", "14 digits"),
        ("01O9506000134352", "14 digits"),
        ("(01)\uff109506000134352", "14 digits"),  # fullwidth zero
        ("(01)\u0669" + "9506000134352", "14 digits"),  # Arabic-Indic nine: isdigit(), not ASCII
        ("17281331", "month 13"),
        ("17280032", "month 00"),
        ("17280132", "day 32"),
        ("17270229", "day 29"),
        ("172812AB", "6 digits"),
        ("1728123", "6 digits"),
        ("10ABC" + GS + "10DEF", "twice"),
        ("(21)A(21)B", "twice"),
        (f"01{GTIN}(01){GTIN}", "AI '(0'"),
        ("10", "no value"),
        ("(10)(21)S1", "no value"),
        ("10" + GS + "21S1", "no value"),
        ("10" + "L" * 21, "at most 20"),
        ("(21)" + "S" * 21, "at most 20"),
        ("10AB C", "set 82"),
        ("21AB#1", "set 82"),
        ("10Lot-é", "set 82"),
        ("(10)ABC" + GS + "(21)S1", "set 82"),
        ("10" + "A" * 199, "200 characters"),
    ],
)
def test_what_is_not_a_barcode_we_read_is_refused_with_the_reason(barcode: str, message: str) -> None:
    with pytest.raises(InvalidBarcode, match=re.escape(message)) as error:
        parse(barcode, today=TODAY)
    assert error.value.field == "barcode"
    assert error.value.code == "invalid_barcode"

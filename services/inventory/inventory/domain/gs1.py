"""GS1 barcodes on sterile cartridges and supplies: the product (GTIN), lot, expiry date and serial,
read from either the printed form `(01)…(17)…` or the raw string a scanner sends."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from clinic_shared.errors import InvalidInput

MAX_LENGTH = 200
GROUP_SEPARATOR = "\x1d"  # FNC1 as scanners transmit it; ends a variable-length value
SYMBOLOGY_IDENTIFIERS = ("]C1", "]d2", "]Q3")  # GS1-128, GS1 DataMatrix, GS1 QR Code

# AI -> length: fixed for 01 and 17, at most for 10 and 21.
FIXED_LENGTH = {"01": 14, "17": 6}
MAX_VARIABLE_LENGTH = {"10": 20, "21": 20}
NAMES = {"01": "GTIN", "10": "lot number", "17": "expiry date", "21": "serial number"}

# GS1 AI encodable character set 82: what a lot or serial number may contain.
SET_82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+")
PRINTED_AI = re.compile(r"\((\d+)\)")


class InvalidBarcode(InvalidInput):
    code = "invalid_barcode"


@dataclass(frozen=True)
class Gs1Fields:
    gtin: str | None
    lot_number: str | None
    expires_on: date | None
    serial: str | None


def parse(barcode: str, *, today: date) -> Gs1Fields:
    """`today` decides the century of a two-digit expiry year (GS1 General Specifications 7.12)."""
    if not barcode:
        raise _invalid("the barcode is empty")
    if len(barcode) > MAX_LENGTH:
        raise _invalid(f"a barcode has at most {MAX_LENGTH} characters")
    text = _without_symbology_identifier(barcode)
    elements = _printed_elements(text) if text.startswith("(") else _raw_elements(text)
    values: dict[str, str] = {}
    for ai, value in elements:
        if ai in values:
            raise _invalid(f"AI {ai} ({NAMES[ai]}) appears twice")
        values[ai] = _checked_value(ai, value)
    gtin = values.get("01")
    expiry = values.get("17")
    if gtin is not None and not check_digit_matches(gtin):
        raise _invalid(f"GTIN {gtin} has a wrong check digit")
    return Gs1Fields(
        gtin=gtin,
        lot_number=values.get("10"),
        expires_on=_expiry_date(expiry, today=today) if expiry is not None else None,
        serial=values.get("21"),
    )


def _invalid(message: str) -> InvalidBarcode:
    return InvalidBarcode(message, field="barcode")


def _without_symbology_identifier(barcode: str) -> str:
    for identifier in SYMBOLOGY_IDENTIFIERS:
        if barcode.startswith(identifier):
            stripped = barcode.removeprefix(identifier)
            if not stripped:
                raise _invalid("the barcode holds a symbology identifier and nothing else")
            return stripped
    if barcode.startswith("]"):
        raise _invalid(f"symbology identifier {barcode[:3]!r} is not a GS1 one (]C1, ]d2, ]Q3)")
    return barcode


def _printed_elements(text: str) -> list[tuple[str, str]]:
    """`(01)09506000134352(10)ABC`: each value runs to the next `(digits)` or the end."""
    parts = PRINTED_AI.split(text)
    if parts[0]:
        raise _invalid(f"expected an AI in parentheses at the start, found {text[:10]!r}")
    elements = list(zip(parts[1::2], parts[2::2], strict=True))
    for ai, _ in elements:
        _check_supported(ai)
    return elements


def _raw_elements(text: str) -> list[tuple[str, str]]:
    """`010950600013435210ABC<GS>21S1`: a fixed-length value ends by its length, a variable one at a
    group separator or the end. A separator after a fixed-length value, or at the very end, is
    tolerated: some printers put one there."""
    elements: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        ai = text[position : position + 2]
        _check_supported(ai)
        position += 2
        if ai in FIXED_LENGTH:
            end = position + FIXED_LENGTH[ai]
            if end > len(text):
                raise _invalid(f"AI {ai} ({NAMES[ai]}) needs {FIXED_LENGTH[ai]} digits")
        else:
            separator = text.find(GROUP_SEPARATOR, position)
            end = len(text) if separator == -1 else separator
        elements.append((ai, text[position:end]))
        position = end
        if text.startswith(GROUP_SEPARATOR, position):
            position += 1
    return elements


def _check_supported(ai: str) -> None:
    if ai not in NAMES:
        raise _invalid(f"AI {ai!r} is not one we read (01 GTIN, 10 lot, 17 expiry, 21 serial)")


def _checked_value(ai: str, value: str) -> str:
    name = NAMES[ai]
    if not value:
        raise _invalid(f"AI {ai} ({name}) has no value")
    if ai in FIXED_LENGTH:
        if len(value) != FIXED_LENGTH[ai] or not (value.isascii() and value.isdigit()):
            raise _invalid(f"AI {ai} ({name}) must be {FIXED_LENGTH[ai]} digits, got {value!r}")
        return value
    if len(value) > MAX_VARIABLE_LENGTH[ai]:
        raise _invalid(f"AI {ai} ({name}) has at most {MAX_VARIABLE_LENGTH[ai]} characters, got {len(value)}")
    if not SET_82.fullmatch(value):
        raise _invalid(f"AI {ai} ({name}) {value!r} has characters outside GS1 character set 82")
    return value


def check_digit_matches(digits: str) -> bool:
    """`digits` (ASCII digits, the last the check digit) pass GS1 mod-10: weights 3 and 1 alternate
    leftwards from the digit next to the check digit."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _expiry_date(yymmdd: str, *, today: date) -> date:
    year = _full_year(int(yymmdd[:2]), today=today)
    month, day = int(yymmdd[2:4]), int(yymmdd[4:])
    if not 1 <= month <= 12:
        raise _invalid(f"expiry date {yymmdd} has no month {month:02d}")
    last_day = calendar.monthrange(year, month)[1]
    if day > last_day:
        raise _invalid(f"expiry date {yymmdd}: {year}-{month:02d} has no day {day:02d}")
    # DD = 00 is how GS1 writes "the end of the month".
    return date(year, month, day or last_day)


def _full_year(yy: int, *, today: date) -> int:
    """The year closest to `today`, looking at most 49 years back and 50 ahead (GS1 7.12)."""
    this_century, this_yy = divmod(today.year, 100)
    difference = yy - this_yy
    if difference >= 51:
        return (this_century - 1) * 100 + yy
    if difference <= -50:
        return (this_century + 1) * 100 + yy
    return this_century * 100 + yy

"""Treatment areas a microneedling visit can cover."""

from __future__ import annotations

from typing import Literal, get_args

Area = Literal["face", "neck", "decolletage", "hands"]
AREAS: tuple[Area, ...] = get_args(Area)

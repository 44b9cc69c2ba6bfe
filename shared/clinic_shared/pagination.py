"""Every list is paginated the same way: `limit` and `offset` in, `items` and `next_offset` out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, Self, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_LIMIT = 200


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int

    @property
    def fetch(self) -> int:
        """Rows to ask the database for: one more than a page tells whether another page follows."""
        return self.limit + 1


def _page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="items to skip")] = 0,
) -> PageRequest:
    return PageRequest(limit=limit, offset=offset)


PageParams = Annotated[PageRequest, Depends(_page_request)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last page")

    @classmethod
    def of(cls, rows: Sequence[T], request: PageRequest) -> Self:
        more = len(rows) > request.limit
        return cls(
            items=list(rows[: request.limit]),
            limit=request.limit,
            offset=request.offset,
            next_offset=request.offset + request.limit if more else None,
        )

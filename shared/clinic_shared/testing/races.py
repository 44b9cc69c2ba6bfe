"""Reading the answers of a race: many callers at once, counted by outcome."""

from __future__ import annotations

from collections import Counter

import httpx


def race_outcomes(answers: list[httpx.Response | BaseException]) -> Counter[str]:
    """Status codes; for every 409 its error code and whether it offers other times ("without
    alternatives" when it does not); for a call that raised, the exception."""
    seen: Counter[str] = Counter()
    for answer in answers:
        if isinstance(answer, BaseException):
            seen[f"raised {type(answer).__name__}: {answer}"] += 1
        elif answer.status_code == 409:
            body = answer.json()
            alternatives = body.get("details", {}).get("alternatives")
            seen[f"409 {body['code']}{'' if alternatives else ' without alternatives'}"] += 1
        else:
            seen[str(answer.status_code)] += 1
    return seen

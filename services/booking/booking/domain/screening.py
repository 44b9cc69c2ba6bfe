"""Screening before a visit: the clinic's yes/no questions, and which answers flag a booking for a
practitioner's review or stop online booking. The software stores answers; it gives no advice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from clinic_shared.errors import InvalidInput

Effect = Literal["review", "block"]
Outcome = Literal["clear", "review"]


class InvalidScreening(InvalidInput):
    code = "invalid_screening"


class ScreeningIncomplete(InvalidInput):
    code = "screening_incomplete"


class BookByPhone(InvalidInput):
    """An answer the clinic set to stop online booking: the patient talks to the clinic first."""

    code = "screening_requires_clinic_contact"


@dataclass(frozen=True)
class ScreeningQuestion:
    key: str
    text: str
    flags_when: bool
    effect: Effect

    def flags(self, answer: bool) -> bool:
        """This answer asks for a practitioner's review (or, with `block`, a call to the clinic)."""
        return answer == self.flags_when


def valid_questions(questions: Sequence[ScreeningQuestion]) -> tuple[ScreeningQuestion, ...]:
    keys = [q.key for q in questions]
    if len(set(keys)) != len(keys):
        raise InvalidScreening("each question needs its own key", field="questions")
    return tuple(questions)


def screen(questions: Sequence[ScreeningQuestion], answers: Mapping[str, bool]) -> Outcome:
    """`review` when an answer flags the booking; raises when one stops online booking."""
    missing = [q.key for q in questions if q.key not in answers]
    if missing:
        raise ScreeningIncomplete(f"answer every screening question ({', '.join(missing)})", field="screening_answers")
    unknown = set(answers) - {q.key for q in questions}
    if unknown:
        raise InvalidScreening(f"no such question: {', '.join(sorted(unknown))}", field="screening_answers")
    flagged = [q for q in questions if q.flags(answers[q.key])]
    if any(q.effect == "block" for q in flagged):
        raise BookByPhone(
            "based on your answers the clinic would like to speak with you first; please call the clinic",
            field="screening_answers",
        )
    return "review" if flagged else "clear"

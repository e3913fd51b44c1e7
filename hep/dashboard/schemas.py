"""What the therapist's dashboard accepts: caseload filters, alert acknowledgements, notes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

# Caseload filters, each a question the therapist asks of the list (see service.NEED_FILTERS).
Show = Literal["all", "attention", "alerts", "low", "inactive", "worsening", "progress"]
MAX_PAGE = 10_000


def _checkbox(value: object) -> object:
    """An HTML checkbox sends "on" (or "1"/"true") when ticked and nothing when not."""
    if isinstance(value, str):
        return value.lower() in ("on", "1", "true", "yes")
    return value


class CaseloadFilters(BaseModel):
    q: Annotated[str, Field(default="", max_length=100, title="Name")] = ""
    mine: Annotated[bool, BeforeValidator(_checkbox), Field(title="Only my patients")] = False
    show: Annotated[Show, Field(title="Show")] = "all"
    page: Annotated[int, Field(ge=1, le=MAX_PAGE, title="Page")] = 1


class PageArg(BaseModel):
    page: Annotated[int, Field(ge=1, le=MAX_PAGE, title="Page")] = 1


class Acknowledge(BaseModel):
    note: Annotated[str, Field(min_length=1, max_length=1000, title="What you did")]


class NewNote(BaseModel):
    body: Annotated[str, Field(min_length=1, max_length=4000, title="Note")]

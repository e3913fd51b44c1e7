"""The progression engine in the database: turn an item's recent logs into suggestions that
wait for the therapist (or apply themselves when the program allows), and apply them.

The decision itself is hep.rules.progression.decide; this module only gathers its inputs and
acts on its answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from hep.models import (
    Exercise,
    ExerciseLog,
    MorningCheckin,
    PatientProfile,
    Program,
    ProgramItem,
    ProgramItemVersion,
    ProgressionSuggestion,
    SessionLog,
    User,
)
from hep.notifications.service import notify
from hep.programs.service import change_item_dosage, default_dosage, item_dosage
from hep.rules.progression import ItemDosage, SessionResult, Suggestion, decide

ACTIONABLE = ("advance", "regress")


class SuggestionNotPending(Exception):
    """The suggestion was already decided (by someone else, or automatically)."""


@dataclass(frozen=True)
class ItemState:
    item: ProgramItem
    exercise: Exercise


def rule_input(item: ProgramItem, exercise: Exercise) -> ItemDosage:
    """The item's dosage and ladder place in the rule's terms."""
    kind = item.dosage_kind
    seconds = item.hold_seconds if kind == "hold" else item.duration_seconds
    return ItemDosage(
        kind=kind,
        sets=item.sets,
        reps=item.reps if kind == "reps" else None,
        seconds=seconds if kind != "reps" else None,
        load=item.load_value,
        ceiling=item.ceiling_reps,
        default_reps=(exercise.reps or item.reps) if kind == "reps" else None,
        prev=exercise.regression_slug,
        next=exercise.progression_slug,
    )


def dosage_changed_at(db: Session, item_ids: list[int]) -> dict[int, datetime]:
    """When each item's dosage last changed (items never changed are left out), in one query."""
    if not item_ids:
        return {}
    rows = db.exec(
        select(ProgramItemVersion.item_id, func.max(ProgramItemVersion.changed_at))
        .where(col(ProgramItemVersion.item_id).in_(item_ids))
        .group_by(ProgramItemVersion.item_id)
    ).all()
    return {item_id: changed_at for item_id, changed_at in rows}


def recent_results(db: Session, item: ProgramItem, limit: int = 2) -> list[SessionResult]:
    """The item's last sessions since its dosage last changed, oldest first.

    A session counts for the item when the item was done in it, or when the session stopped in
    the warm-up because soreness went on (then nothing was done, and that is row 1's signal).
    Logs from before a dosage change were done at another dosage, so they say nothing about
    this one (and would re-fire a regress that was already applied).
    """
    return results_since(db, item, dosage_changed_at(db, [item.id]).get(item.id), limit)


def results_since(
    db: Session, item: ProgramItem, changed_at: datetime | None, limit: int = 2
) -> list[SessionResult]:
    """recent_results, for a caller that knows when the dosage last changed (None: never)."""
    done_here = (ExerciseLog.id.is_not(None)) & col(ExerciseLog.skipped_reason).is_(None)
    statement = (
        select(SessionLog, ExerciseLog, MorningCheckin)
        .join(
            ExerciseLog,
            (ExerciseLog.session_id == SessionLog.id) & (ExerciseLog.program_item_id == item.id),
            isouter=True,
        )
        .join(MorningCheckin, MorningCheckin.session_id == SessionLog.id, isouter=True)
        .where(
            SessionLog.program_id == item.program_id,
            done_here | (SessionLog.warmup_soreness == "continues"),
        )
        .order_by(col(SessionLog.performed_at).desc())
        .limit(limit)
    )
    if changed_at is not None:
        statement = statement.where(SessionLog.performed_at > changed_at)
    results = []
    for session, log, checkin in db.exec(statement).all():
        performed = log is not None and log.skipped_reason is None
        pain = log.pain_during if performed and log.pain_during is not None else None
        effort = log.effort if performed and log.effort is not None else None
        pain = pain if pain is not None else (session.pain_overall or 0)
        effort = effort if effort is not None else (session.effort_overall or 0)
        results.append(
            SessionResult(
                sets_done=tuple(log.sets_done) if performed else (),
                pain_during=pain,
                effort=effort,
                warmup_soreness=session.warmup_soreness,
                soreness_next_day=bool(checkin and checkin.soreness_lasted),
            )
        )
    return list(reversed(results))


def _to_dosage(item: ProgramItem, proposed: dict[str, Any]) -> dict[str, Any]:
    """The rule's proposal in ProgramItem field names ("seconds" means hold or duration)."""
    changes: dict[str, Any] = {}
    for key, value in proposed.items():
        if key == "seconds":
            changes["hold_seconds" if item.dosage_kind == "hold" else "duration_seconds"] = value
        elif key == "load":
            changes["load_value"] = value
        else:
            changes[key] = value
    return changes


@dataclass(frozen=True)
class ProgramFacts:
    """What deciding for a program's items needs beyond each item's own logs, gathered once
    for all of them (a handful of queries whatever the number of items)."""

    red_flag: bool  # the program's latest session had a red flag
    changed_at: dict[int, datetime]  # item id -> when its dosage last changed
    pending: dict[int, list[ProgressionSuggestion]]  # item id -> its pending suggestions

    @classmethod
    def gather(cls, db: Session, program: Program, item_ids: list[int]) -> ProgramFacts:
        pending: dict[int, list[ProgressionSuggestion]] = {item_id: [] for item_id in item_ids}
        if item_ids:
            for row in db.exec(
                select(ProgressionSuggestion).where(
                    col(ProgressionSuggestion.program_item_id).in_(item_ids),
                    ProgressionSuggestion.status == "pending",
                )
            ).all():
                pending[row.program_item_id].append(row)
        return cls(
            red_flag=_latest_session_had_red_flag(db, program),
            changed_at=dosage_changed_at(db, item_ids),
            pending=pending,
        )


def evaluate_item(
    db: Session,
    now: datetime,
    program: Program,
    item: ProgramItem,
    exercise: Exercise,
    facts: ProgramFacts | None = None,
) -> ProgressionSuggestion | None:
    """Decide for one item; store a new suggestion when it advances or regresses.

    A pending suggestion that no longer matches the latest logs is superseded; one that still
    matches is kept (no duplicate). With auto-apply on, the suggestion is applied at once.
    `facts` are gathered for this item alone unless the caller has them for the program.
    """
    if facts is None:
        facts = ProgramFacts.gather(db, program, [item.id])
    if facts.red_flag:
        # A red flag stops the session and goes to the therapist (SPEC §2): no automatic
        # suggestion until a newer session comes in without one.
        suggestion = Suggestion("hold", "red-flag", "", None)
    else:
        results = results_since(db, item, facts.changed_at.get(item.id))
        suggestion = decide(rule_input(item, exercise), results)
    pending = facts.pending.get(item.id, [])
    proposed = _proposal(item, suggestion)
    for old in pending:
        if old.decision == suggestion.decision and old.to_dosage == proposed:
            return old
        old.status = "superseded"
        db.add(old)
    if suggestion.decision not in ACTIONABLE or _dismissed_since_last_session(db, program, item):
        return None
    row = ProgressionSuggestion(
        clinic_id=program.clinic_id,
        patient_id=program.patient_id,
        program_item_id=item.id,
        decision=suggestion.decision,
        rule=suggestion.rule,
        reason=suggestion.reason,
        from_dosage=item_dosage(item),
        to_dosage=proposed,
        rest_days=suggestion.rest_days,
        created_at=now,
    )
    db.add(row)
    db.flush()
    if program.auto_apply_progressions:
        apply(db, now, row, decided_by=None, status="applied")
    else:
        _tell_therapist(db, now, program, row)
    return row


def _dismissed_since_last_session(db: Session, program: Program, item: ProgramItem) -> bool:
    """A therapist said no to a suggestion for this item and no session came in since."""
    dismissed_at = db.exec(
        select(ProgressionSuggestion.decided_at)
        .where(
            ProgressionSuggestion.program_item_id == item.id,
            ProgressionSuggestion.status == "dismissed",
        )
        .order_by(col(ProgressionSuggestion.decided_at).desc())
        .limit(1)
    ).first()
    if dismissed_at is None:
        return False
    last_received = db.exec(
        select(SessionLog.received_at)
        .where(SessionLog.program_id == program.id)
        .order_by(col(SessionLog.received_at).desc())
        .limit(1)
    ).first()
    return last_received is None or last_received <= dismissed_at


def _latest_session_had_red_flag(db: Session, program: Program) -> bool:
    flags = db.exec(
        select(SessionLog.red_flags)
        .where(SessionLog.program_id == program.id)
        .order_by(col(SessionLog.performed_at).desc())
        .limit(1)
    ).first()
    return bool(flags)


def _proposal(item: ProgramItem, suggestion: Suggestion) -> dict[str, Any] | None:
    if suggestion.proposed is None:
        return None
    if "exercise" in suggestion.proposed:
        return dict(suggestion.proposed)
    return _to_dosage(item, suggestion.proposed)


def _tell_therapist(db: Session, now: datetime, program: Program, row: ProgressionSuggestion):
    therapist_id = program.created_by_id
    profile = db.get(PatientProfile, program.patient_id)
    if profile is not None and profile.therapist_id is not None:
        therapist_id = profile.therapist_id
    notify(
        db,
        now,
        therapist_id,
        "progression_ready",
        dedupe_key=f"progression:{row.id}",
        title="A progression suggestion is ready",
        url=f"/patients/{program.patient_id}",
    )


def evaluate_patient(db: Session, now: datetime, patient_id: int) -> list[ProgressionSuggestion]:
    """Evaluate every live item of the patient's active programs (after a log arrives)."""
    rows = db.exec(
        select(Program, ProgramItem, Exercise)
        .join(ProgramItem, ProgramItem.program_id == Program.id)
        .join(Exercise, Exercise.id == ProgramItem.exercise_id)
        .where(
            Program.patient_id == patient_id,
            Program.status == "active",
            col(ProgramItem.removed_at).is_(None),
        )
    ).all()
    facts: dict[int, ProgramFacts] = {}
    for program in {program.id: program for program, _, _ in rows}.values():
        item_ids = [item.id for owner, item, _ in rows if owner.id == program.id]
        facts[program.id] = ProgramFacts.gather(db, program, item_ids)
    found = []
    for program, item, exercise in rows:
        suggestion = evaluate_item(db, now, program, item, exercise, facts[program.id])
        if suggestion is not None:
            found.append(suggestion)
    return found


def evaluate_all(db: Session, now: datetime) -> int:
    """The daily pass over every active program (check-ins can change a decision overnight)."""
    patient_ids = db.exec(select(Program.patient_id).where(Program.status == "active")).all()
    return sum(len(evaluate_patient(db, now, pid)) for pid in sorted(set(patient_ids)))


def apply(
    db: Session,
    now: datetime,
    suggestion: ProgressionSuggestion,
    decided_by: User | None,
    status: str = "accepted",
    edited: dict[str, Any] | None = None,
) -> ProgramItem:
    """Apply a suggestion (optionally as edited by the therapist); version the dosage and tell
    the patient. A ladder step replaces the item with the next exercise at its defaults."""
    if suggestion.status != "pending":
        raise SuggestionNotPending(suggestion.id)
    item = db.get(ProgramItem, suggestion.program_item_id)
    program = db.get(Program, item.program_id)
    target = edited if edited is not None else (suggestion.to_dosage or {})
    reason = f"{suggestion.decision}: {suggestion.rule}"
    if "exercise" in target:
        successor = db.exec(select(Exercise).where(Exercise.slug == target["exercise"])).one()
        item.removed_at = now
        db.add(item)
        result = ProgramItem(
            program_id=item.program_id,
            exercise_id=successor.id,
            position=item.position,
            side=item.side,
            ceiling_reps=successor.ceiling_reps,
            **{k: v for k, v in default_dosage(successor).items() if k != "side"},
        )
        db.add(result)
        db.flush()
        change_item_dosage(db, now, result, {}, decided_by, reason, before=None)
    else:
        result = item
        change_item_dosage(db, now, item, target, decided_by, reason)
    suggestion.status = status
    suggestion.decided_by_id = decided_by.id if decided_by else None
    suggestion.decided_at = now
    if edited is not None:
        suggestion.to_dosage = edited
    db.add(suggestion)
    notify(
        db,
        now,
        program.patient_id,
        "program_updated",
        dedupe_key=f"program-updated:progression:{suggestion.id}",
        title="Your exercises were updated",
        url="/today",
    )
    return result


def dismiss(db: Session, now: datetime, suggestion: ProgressionSuggestion, by: User) -> None:
    if suggestion.status != "pending":
        raise SuggestionNotPending(suggestion.id)
    suggestion.status = "dismissed"
    suggestion.decided_by_id = by.id
    suggestion.decided_at = now
    db.add(suggestion)


@dataclass(frozen=True)
class SuggestionView:
    """What a therapist needs to decide on a suggestion, in words."""

    suggestion: ProgressionSuggestion
    exercise: Exercise
    successor: Exercise | None  # the next or previous ladder exercise, for a ladder step

    @property
    def proposed(self) -> dict[str, Any]:
        """The whole proposed dosage: the current one with the suggested changes."""
        return {**self.suggestion.from_dosage, **(self.suggestion.to_dosage or {})}

    @property
    def editable(self) -> list[str]:
        """Dosage fields the therapist may change before accepting (not for a ladder step)."""
        if self.successor is not None or not self.suggestion.to_dosage:
            return []
        return [name for name in EDITABLE if name in self.suggestion.to_dosage]


EDITABLE = ("sets", "reps", "hold_seconds", "duration_seconds", "load_value")


def views_of(db: Session, suggestions: list[ProgressionSuggestion]) -> list[SuggestionView]:
    """Suggestions with their exercises, in two queries whatever their number."""
    if not suggestions:
        return []
    items = {
        item.id: (item, exercise)
        for item, exercise in db.exec(
            select(ProgramItem, Exercise)
            .join(Exercise, Exercise.id == ProgramItem.exercise_id)
            .where(col(ProgramItem.id).in_({s.program_item_id for s in suggestions}))
        ).all()
    }
    slugs = {(s.to_dosage or {}).get("exercise") for s in suggestions} - {None}
    successors = (
        {e.slug: e for e in db.exec(select(Exercise).where(col(Exercise.slug).in_(slugs))).all()}
        if slugs
        else {}
    )
    return [
        SuggestionView(
            suggestion=s,
            exercise=items[s.program_item_id][1],
            successor=successors.get((s.to_dosage or {}).get("exercise")),
        )
        for s in suggestions
    ]


def pending_for_patient(db: Session, patient_id: int) -> list[SuggestionView]:
    rows = db.exec(
        select(ProgressionSuggestion)
        .where(
            ProgressionSuggestion.patient_id == patient_id,
            ProgressionSuggestion.status == "pending",
        )
        .order_by(col(ProgressionSuggestion.created_at).desc())
    ).all()
    return views_of(db, list(rows))

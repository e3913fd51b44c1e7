"""The shipped exercise library: complete, clinically dosed, sound ladders, usable templates."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from hep.content import Catalogue, ContentError, load_catalogue
from hep.content.loader import LIBRARY_DIR
from hep.content.schema import (
    BODY_REGIONS,
    CATEGORIES,
    CONTRAINDICATIONS,
    GENTLE_CATEGORIES,
    MEASURE_FIELD,
    SUPPORTED_POSITIONS,
    USUAL_CPT,
)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


# --- The shipped library --------------------------------------------------------------------


def test_library_holds_at_least_60_exercises(catalogue):
    assert len(catalogue.exercises) >= 60


def test_every_category_has_at_least_six_exercises(catalogue):
    counts = Counter(exercise.category for exercise in catalogue.exercises)
    assert set(counts) == set(CATEGORIES)
    assert all(counts[category] >= 6 for category in CATEGORIES), counts


def test_every_body_region_is_covered(catalogue):
    counts = Counter(exercise.body_region for exercise in catalogue.exercises)
    assert set(counts) == set(BODY_REGIONS)


def test_each_category_lives_in_its_own_file(catalogue):
    for category in CATEGORIES:
        path = LIBRARY_DIR / f"exercises-{category.replace('_', '-')}.toml"
        assert path.is_file(), path


def test_every_exercise_is_complete(catalogue):
    for exercise in catalogue.exercises:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", exercise.slug)
        assert exercise.name and exercise.summary.endswith(".")
        assert 3 <= len(exercise.steps) <= 8, exercise.slug
        assert 1 <= len(exercise.cues) <= 4, exercise.slug
        assert 1 <= len(exercise.mistakes) <= 4, exercise.slug
        assert 1 <= len(exercise.precautions) <= 4, exercise.slug
        assert exercise.equipment == ["none"] or "none" not in exercise.equipment
        assert set(exercise.contraindications) <= set(CONTRAINDICATIONS)


def test_steps_are_plain_sentences_numbered_by_position(catalogue):
    for exercise in catalogue.exercises:
        for step in exercise.steps:
            assert not re.match(r"\s*(step\s*)?\d", step, re.IGNORECASE), step
            assert step[0].isupper() and step.endswith("."), step
            assert len(step.split()) <= 25, f"{exercise.slug}: step too long for a phone: {step}"


def test_patient_text_avoids_clinical_jargon(catalogue):
    jargon = re.compile(
        r"\b(abduct\w*|adduct\w*|dorsiflex\w*|plantarflex\w*|isometric\w*|eccentric\w*|"
        r"proprioce\w*|scapula\w*|quadriceps|gastrocnemius|soleus|piriformis|supinat\w*|"
        r"pronat\w*|contralateral|ipsilateral|lumbar|cervical|thoracic|ROM)\b",
        re.IGNORECASE,
    )
    for exercise in catalogue.exercises:
        text = " ".join(
            [exercise.summary, *exercise.steps, *exercise.cues, *exercise.mistakes]
            + exercise.precautions
        )
        assert not jargon.search(text), (exercise.slug, jargon.search(text).group())


def test_dosage_has_exactly_the_field_for_its_kind(catalogue):
    for exercise in catalogue.exercises:
        dosage = exercise.dosage
        for kind, field in MEASURE_FIELD.items():
            value = getattr(dosage, field)
            if kind == dosage.kind:
                assert value is not None and value > 0, exercise.slug
            else:
                assert value is None, exercise.slug
        if dosage.kind == "reps":
            assert dosage.reps <= dosage.ceiling_reps, exercise.slug


def test_stretches_hold_30_to_60_seconds_2_to_4_times_daily(catalogue):
    stretches = [e for e in catalogue.exercises if e.category == "flexibility"]
    assert stretches
    for stretch in stretches:
        dosage = stretch.dosage
        assert dosage.kind == "hold", stretch.slug
        assert 30 <= dosage.hold_seconds <= 60, stretch.slug
        assert 2 <= dosage.sets <= 4, stretch.slug
        assert dosage.days_per_week == 7, stretch.slug


def test_strengthening_is_2_to_3_sets_of_8_to_12_on_2_to_3_days(catalogue):
    for exercise in catalogue.exercises:
        if exercise.category != "strength":
            continue
        dosage = exercise.dosage
        assert 2 <= dosage.days_per_week <= 3, exercise.slug
        if dosage.kind == "reps":
            assert 2 <= dosage.sets <= 3, exercise.slug
            assert 8 <= dosage.reps <= 12, exercise.slug


def test_therapeutic_activities_are_dosed_in_time(catalogue):
    for exercise in catalogue.exercises:
        if exercise.cpt_code == "97530":
            assert exercise.dosage.kind in ("timed", "hold"), exercise.slug
        if exercise.category == "endurance":
            assert exercise.dosage.kind == "timed", exercise.slug


def test_cpt_code_is_the_usual_one_for_the_category(catalogue):
    for exercise in catalogue.exercises:
        assert exercise.cpt_code == USUAL_CPT[exercise.category], exercise.slug


def test_only_gentle_exercises_list_no_contraindication(catalogue):
    for exercise in catalogue.exercises:
        if not exercise.contraindications:
            assert exercise.category in GENTLE_CATEGORIES, exercise.slug
            assert exercise.position in SUPPORTED_POSITIONS, exercise.slug
    tagged = sum(1 for exercise in catalogue.exercises if exercise.contraindications)
    assert tagged >= 0.85 * len(catalogue.exercises)


def test_loading_and_endurance_work_warns_about_heart_conditions(catalogue):
    for exercise in catalogue.exercises:
        if exercise.category == "endurance":
            assert "uncontrolled_cardiovascular" in exercise.contraindications, exercise.slug


# --- Ladders --------------------------------------------------------------------------------


def test_every_ladder_link_points_to_an_existing_exercise(catalogue):
    slugs = {exercise.slug for exercise in catalogue.exercises}
    assert len(slugs) == len(catalogue.exercises)
    for exercise in catalogue.exercises:
        for link in (exercise.progression, exercise.regression):
            assert link is None or link in slugs, (exercise.slug, link)


def test_ladder_links_are_mutual(catalogue):
    by_slug = {exercise.slug: exercise for exercise in catalogue.exercises}
    for exercise in catalogue.exercises:
        if exercise.progression:
            assert by_slug[exercise.progression].regression == exercise.slug
        if exercise.regression:
            assert by_slug[exercise.regression].progression == exercise.slug


def test_ladders_have_no_cycles(catalogue):
    by_slug = {exercise.slug: exercise for exercise in catalogue.exercises}
    for exercise in catalogue.exercises:
        seen = {exercise.slug}
        current = exercise
        while current.progression:
            current = by_slug[current.progression]
            assert current.slug not in seen, f"cycle through {current.slug}"
            seen.add(current.slug)


@pytest.mark.parametrize(
    "ladder",
    [
        ["wall-push-up", "counter-push-up", "knee-push-up"],
        ["sit-to-stand-high-chair", "sit-to-stand", "goblet-squat"],
        ["seated-heel-raise", "heel-raise", "single-leg-heel-raise"],
        ["tandem-stance", "single-leg-stance", "single-leg-stance-foam"],
        ["bridge", "single-leg-bridge"],
        ["clamshell", "side-lying-hip-abduction", "band-side-step"],
        ["step-up", "lateral-step-up", "forward-step-down"],
        ["shoulder-pendulum", "table-slide", "stick-assisted-arm-raise", "wall-slide"],
        ["seated-marching", "marching-in-place", "walking-program", "brisk-walking"],
    ],
)
def test_real_ladders_run_from_easier_to_harder(catalogue, ladder):
    full = [exercise.slug for exercise in catalogue.ladder(ladder[0])]
    start = full.index(ladder[0])
    assert full[start : start + len(ladder)] == ladder


def test_many_exercises_sit_on_a_ladder(catalogue):
    on_ladder = [e for e in catalogue.exercises if e.progression or e.regression]
    assert len(on_ladder) >= len(catalogue.exercises) // 2


# --- Templates ------------------------------------------------------------------------------


def test_at_least_eight_templates_of_two_to_six_existing_exercises(catalogue):
    slugs = {exercise.slug for exercise in catalogue.exercises}
    assert len(catalogue.templates) >= 8
    for template in catalogue.templates:
        assert 2 <= len(template.items) <= 6, template.slug
        for item in template.items:
            assert item.exercise in slugs, (template.slug, item.exercise)
        assert template.days and template.times_per_day >= 1 and template.weeks >= 1
        assert template.precautions, template.slug


def test_templates_cover_the_common_conditions(catalogue):
    slugs = {template.slug for template in catalogue.templates}
    assert {
        "knee-osteoarthritis-phase-1",
        "total-knee-replacement-early",
        "low-back-pain",
        "shoulder-impingement",
        "ankle-sprain",
        "falls-prevention",
        "neck-pain",
        "hip-strengthening",
    } <= slugs


def test_template_overrides_merge_into_a_valid_dosage(catalogue):
    template = catalogue.template("total-knee-replacement-early")
    quad_set = next(item for item in template.items if item.exercise == "quad-set")
    dosage = catalogue.item_dosage(quad_set)
    assert dosage.days_per_week == 7 and dosage.per_day == 2
    assert dosage.reps == catalogue.exercise("quad-set").dosage.reps
    for template in catalogue.templates:
        for item in template.items:
            assert catalogue.item_dosage(item).kind == catalogue.exercise(item.exercise).dosage.kind


# --- Broken files are rejected with a message naming the problem ----------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(directory: Path) -> str:
    with pytest.raises(ContentError) as caught:
        load_catalogue(directory)
    return str(caught.value)


def test_copy_of_the_shipped_library_loads(library):
    assert len(load_catalogue(library).exercises) == len(load_catalogue().exercises)


def test_dangling_progression_is_rejected(library):
    _edit(
        library / "exercises-strength.toml",
        'progression = "single-leg-bridge"',
        'progression = "one-arm-handstand"',
    )
    message = _problems(library)
    assert "exercises-strength.toml" in message
    assert "exercise 'bridge', field 'progression': no exercise 'one-arm-handstand'" in message
    # and the old next step now points back at an exercise that no longer points at it
    assert "exercise 'single-leg-bridge', field 'regression'" in message


def test_missing_field_is_rejected_naming_file_exercise_and_field(library):
    path = library / "exercises-balance.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index('slug = "tandem-stance"')
    steps_at = text.index("steps = [", start)
    steps_end = text.index("]\n", steps_at) + 2
    path.write_text(text[:steps_at] + text[steps_end:], encoding="utf-8")
    message = _problems(library)
    assert "exercises-balance.toml: exercise #3 'tandem-stance', field 'steps': Field required" in (
        message
    )


def test_one_sided_ladder_link_is_rejected(library):
    _edit(library / "exercises-strength.toml", 'regression = "bridge"\n', "")
    message = _problems(library)
    assert "exercise 'bridge', field 'progression'" in message
    assert "'single-leg-bridge' must name 'bridge' as its regression" in message


def test_dosage_field_for_the_wrong_kind_is_rejected(library):
    _edit(
        library / "exercises-flexibility.toml",
        "hold_seconds = 30, rest_seconds = 15",
        "hold_seconds = 30, reps = 10, rest_seconds = 15",
    )
    message = _problems(library)
    assert "exercises-flexibility.toml: exercise #1 'upper-trapezius-stretch'" in message
    assert "reps must be left out when kind is 'hold'" in message
    # the template using it points at the real problem instead of claiming it does not exist
    assert "'upper-trapezius-stretch' could not be loaded (see its problems)" in message
    assert "no exercise 'upper-trapezius-stretch'" not in message


def test_stretch_held_too_briefly_is_rejected(library):
    _edit(library / "exercises-flexibility.toml", "hold_seconds = 30", "hold_seconds = 10")
    assert "stretches hold 30-60 seconds" in _problems(library)


def test_strengthening_done_every_day_by_default_is_rejected(library):
    _edit(
        library / "exercises-strength.toml",
        "rest_seconds = 30, per_day = 1, days_per_week = 3 }",
        "rest_seconds = 30, per_day = 1, days_per_week = 7 }",
    )
    assert "strengthening runs 2-3 days a week" in _problems(library)


def test_unknown_field_and_unknown_tag_are_rejected(library):
    _edit(
        library / "exercises-endurance.toml",
        'contraindications = ["uncontrolled_cardiovascular"]',
        'contraindications = ["bad_knees"]\ncolour = "red"',
    )
    message = _problems(library)
    assert "'seated-marching', field 'colour': Extra inputs are not permitted" in message
    assert "'seated-marching', field 'contraindications[0]'" in message


def test_template_naming_a_missing_exercise_is_rejected(library):
    _edit(library / "templates.toml", '{ exercise = "quad-set" },', '{ exercise = "quad-sets" },')
    message = _problems(library)
    assert (
        "templates.toml: template 'knee-osteoarthritis-phase-1', field 'items[0]': "
        "no exercise 'quad-sets'" in message
    )


def test_template_override_that_does_not_fit_the_exercise_is_rejected(library):
    _edit(
        library / "templates.toml",
        '{ exercise = "heel-slide" },',
        '{ exercise = "heel-slide", hold_seconds = 30 },',
    )
    message = _problems(library)
    assert "template 'total-knee-replacement-early', field 'items[2]'" in message
    assert "hold_seconds must be left out when kind is 'reps'" in message


def test_template_with_too_many_exercises_is_rejected(library):
    _edit(
        library / "templates.toml",
        '{ exercise = "walking-program" },\n]\ndays = ["mon", "wed", "fri"]',
        '{ exercise = "walking-program" },\n  { exercise = "bridge" },\n]\n'
        'days = ["mon", "wed", "fri"]',
    )
    message = _problems(library)
    assert "template #1 'knee-osteoarthritis-phase-1', field 'items'" in message


def test_slug_used_twice_is_rejected_naming_both_files(library):
    (library / "exercises-extra.toml").write_text(
        (library / "exercises-endurance.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    message = _problems(library)
    assert (
        "exercises-extra.toml: exercise #1 'seated-marching', field 'slug': "
        "already used in exercises-endurance.toml" in message
    )


def test_exercise_in_the_wrong_category_file_is_rejected(library):
    _edit(library / "exercises-balance.toml", 'category = "balance"', 'category = "coordination"')
    assert "'coordination' does not belong in exercises-balance.toml" in _problems(library)


def test_invalid_toml_is_rejected_naming_the_file(library):
    _edit(library / "templates.toml", "weeks = 6", "weeks = = 6")
    assert "templates.toml: not valid TOML" in _problems(library)


def test_missing_templates_file_is_rejected(library):
    (library / "templates.toml").unlink()
    assert "templates.toml: missing" in _problems(library)


# --- A tiny library built from scratch, for cases the shipped one cannot reach by one edit -----


def _toml(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return str(value)


def _exercise(slug: str, **fields: object) -> str:
    table = {
        "slug": slug,
        "name": slug.replace("-", " ").capitalize(),
        "summary": "Lift and lower your leg slowly to make it stronger.",
        "category": "strength",
        "cpt_code": "97110",
        "body_region": "knee",
        "position": "sitting",
        "equipment": ["chair"],
        "steps": ["Sit tall.", "Lift your leg slowly.", "Lower it slowly."],
        "cues": ["Breathe out as you lift."],
        "mistakes": ["Rushing the movement."],
        "precautions": ["Stop if you feel a sharp pain."],
        "contraindications": ["acute_fracture"],
        "dosage": {
            "kind": "reps",
            "sets": 2,
            "reps": 10,
            "rest_seconds": 30,
            "per_day": 1,
            "days_per_week": 3,
        },
    }
    table.update(fields)
    body = "\n".join(f"{key} = {_toml(value)}" for key, value in table.items() if value is not None)
    return f"[[exercise]]\n{body}\n"


def _write_tiny_library(directory: Path, exercises: list[str], items: list[str]) -> Path:
    directory.mkdir()
    (directory / "exercises-strength.toml").write_text("\n".join(exercises), encoding="utf-8")
    template = {
        "slug": "tiny",
        "name": "Tiny program",
        "condition": "Testing",
        "description": "A small template used only by the tests.",
        "items": [{"exercise": slug} for slug in items],
        "days": ["mon", "thu"],
        "times_per_day": 1,
        "weeks": 2,
    }
    body = "\n".join(f"{key} = {_toml(value)}" for key, value in template.items())
    (directory / "templates.toml").write_text(f"[[template]]\n{body}\n", encoding="utf-8")
    return directory


def test_tiny_library_loads(tmp_path):
    directory = _write_tiny_library(
        tmp_path / "tiny",
        [_exercise("easy", progression="hard"), _exercise("hard", regression="easy")],
        ["easy", "hard"],
    )
    catalogue = load_catalogue(directory)
    assert [e.slug for e in catalogue.ladder("hard")] == ["easy", "hard"]


def test_ladder_cycle_is_rejected(tmp_path):
    directory = _write_tiny_library(
        tmp_path / "tiny",
        [
            _exercise("first", progression="second", regression="third"),
            _exercise("second", progression="third", regression="first"),
            _exercise("third", progression="first", regression="second"),
        ],
        ["first", "second"],
    )
    message = _problems(directory)
    assert "the ladder loops back on itself: first -> second -> third -> first" in message


def test_summary_of_two_sentences_and_numbered_steps_are_rejected(tmp_path):
    directory = _write_tiny_library(
        tmp_path / "tiny",
        [
            _exercise(
                "wordy",
                summary="Lift your leg. Then put it down.",
                steps=["1. Sit tall.", "Lift your leg.", "Lower it."],
            ),
            _exercise("other"),
        ],
        ["wordy", "other"],
    )
    message = _problems(directory)
    assert "'wordy', field 'summary': the summary must be one sentence" in message
    assert "'wordy', field 'steps[0]': steps are numbered by their position" in message


def test_hard_exercise_without_contraindications_is_rejected(tmp_path):
    directory = _write_tiny_library(
        tmp_path / "tiny",
        [_exercise("heavy", contraindications=[], position="standing"), _exercise("other")],
        ["heavy", "other"],
    )
    message = _problems(directory)
    assert "'heavy': contraindications: only a gentle" in message

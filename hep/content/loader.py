"""Read the shipped library's TOML files into a validated Catalogue (no database, no Flask).

A library folder holds `exercises-<category>.toml` files, each a list of `[[exercise]]` tables,
and `templates.toml`, a list of `[[template]]` tables. Every problem found is reported at once,
each naming its file, the exercise or template, and the field.

A folder per language code (only `es/` now) may hold the patient-facing words of the exercises
in that language: `<code>/exercises-<category>.toml`, one `[[exercise]]` table per exercise of
the English file of the same name (slug, name, summary, steps, cues, mistakes, precautions).
A language may be incomplete (an exercise without a translation is shown in English), but a
file that exists must be valid.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from hep.content.schema import (
    CATEGORIES,
    Catalogue,
    Exercise,
    ExerciseText,
    ProgramTemplate,
    catalogue_problems,
)

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
EXERCISE_GLOB = "exercises-*.toml"
TEMPLATES_FILE = "templates.toml"
# The languages the exercise text may be translated into, each a folder of the library.
TRANSLATION_LANGUAGES = ("es",)

Model = TypeVar("Model", Exercise, ProgramTemplate, ExerciseText)


class ContentError(ValueError):
    """The library files are missing, unreadable or invalid; `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"- {problem}" for problem in problems)
        super().__init__(f"the exercise library has {len(problems)} problem(s):\n{listing}")


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load and check the library in `path` (default: the shipped `hep/content/library`)."""
    directory = Path(path) if path is not None else LIBRARY_DIR
    if not directory.is_dir():
        raise ContentError([f"{directory}: no such library folder"])
    problems: list[str] = []

    exercises: list[Exercise] = []
    file_of: dict[str, str] = {}
    unloadable: set[str] = set()
    exercise_files = sorted(directory.glob(EXERCISE_GLOB))
    if not exercise_files:
        problems.append(f"{directory}: no {EXERCISE_GLOB} files")
    for file in exercise_files:
        expected_category = _category_named_by(file)
        for index, raw in enumerate(_tables(file, "exercise", problems)):
            label = _label(file, "exercise", index, raw)
            exercise = _validate(Exercise, raw, label, problems)
            if exercise is None:
                if isinstance(raw.get("slug"), str):
                    unloadable.add(raw["slug"])
                continue
            if expected_category and exercise.category != expected_category:
                problems.append(
                    f"{label}, field 'category': '{exercise.category}' does not belong in "
                    f"{file.name}"
                )
            if exercise.slug in file_of:
                problems.append(f"{label}, field 'slug': already used in {file_of[exercise.slug]}")
                continue
            file_of[exercise.slug] = file.name
            exercises.append(exercise)

    templates: list[ProgramTemplate] = []
    templates_file = directory / TEMPLATES_FILE
    if not templates_file.is_file():
        problems.append(f"{TEMPLATES_FILE}: missing from {directory}")
    else:
        for index, raw in enumerate(_tables(templates_file, "template", problems)):
            label = _label(templates_file, "template", index, raw)
            template = _validate(ProgramTemplate, raw, label, problems)
            if template is not None:
                templates.append(template)

    for problem in catalogue_problems(exercises, templates):
        if problem.missing in unloadable:
            problem = replace(
                problem, message=f"'{problem.missing}' could not be loaded (see its problems)"
            )
        where = file_of.get(problem.slug, "?") if problem.kind == "exercise" else TEMPLATES_FILE
        problems.append(f"{where}: {problem}")

    exercises_by_slug = {exercise.slug: exercise for exercise in exercises}
    translations = {
        language: _translations(
            directory, language, exercises_by_slug, file_of, unloadable, problems
        )
        for language in TRANSLATION_LANGUAGES
    }

    if problems:
        raise ContentError(problems)
    return Catalogue(exercises=exercises, templates=templates, translations=translations)


def _translations(
    directory: Path,
    language: str,
    exercises: dict[str, Exercise],
    file_of: dict[str, str],
    unloadable: set[str],
    problems: list[str],
) -> dict[str, ExerciseText]:
    """The `<language>/exercises-*.toml` texts by slug, each checked against its English one."""
    folder = directory / language
    texts: dict[str, ExerciseText] = {}
    if not folder.is_dir():
        return texts
    for file in sorted(folder.glob(EXERCISE_GLOB)):
        shown = f"{language}/{file.name}"
        if not (directory / file.name).is_file():
            problems.append(f"{shown}: there is no English {file.name} to translate")
            continue
        for index, raw in enumerate(_tables(file, "exercise", problems, shown)):
            label = _label(file, "exercise", index, raw, shown)
            text = _validate(ExerciseText, raw, label, problems)
            if text is None:
                continue
            english = exercises.get(text.slug)
            if english is None:
                if text.slug in unloadable:
                    message = f"'{text.slug}' could not be loaded (see its problems)"
                else:
                    message = f"no exercise '{text.slug}' in the library"
                problems.append(f"{label}, field 'slug': {message}")
                continue
            if file_of[text.slug] != file.name:
                problems.append(
                    f"{label}, field 'slug': '{text.slug}' is in {file_of[text.slug]}, "
                    f"not {file.name}"
                )
                continue
            if text.slug in texts:
                problems.append(f"{label}, field 'slug': translated more than once")
                continue
            mismatches = text.mismatches(english)
            for field, message in mismatches.items():
                problems.append(f"{label}, field '{field}': {message}")
            if not mismatches:
                texts[text.slug] = text
    names: set[str] = set()
    for slug, text in texts.items():
        if text.name.casefold() in names:
            where = f"{language}/{file_of[slug]}: exercise '{slug}', field 'name'"
            problems.append(f"{where}: '{text.name}' is used twice")
        names.add(text.name.casefold())
    return texts


def _category_named_by(file: Path) -> str | None:
    suffix = file.stem.removeprefix("exercises-").replace("-", "_")
    return suffix if suffix in CATEGORIES else None


def _tables(
    file: Path, key: str, problems: list[str], shown: str | None = None
) -> list[dict[str, Any]]:
    """The `[[key]]` tables of one file; anything else in it is reported as a problem."""
    name = shown or file.name
    try:
        with file.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        problems.append(f"{name}: not valid TOML: {error}")
        return []
    for unknown in sorted(set(data) - {key}):
        problems.append(f"{name}: unknown top-level key '{unknown}' (expected [[{key}]])")
    tables = data.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append(f"{name}: '{key}' must be a list of [[{key}]] tables")
        return []
    if not tables:
        problems.append(f"{name}: holds no [[{key}]] tables")
    return tables


def _label(file: Path, key: str, index: int, raw: dict[str, Any], shown: str | None = None) -> str:
    slug = raw.get("slug")
    named = f" '{slug}'" if isinstance(slug, str) else ""
    return f"{shown or file.name}: {key} #{index + 1}{named}"


def _validate(
    model: type[Model], raw: dict[str, Any], label: str, problems: list[str]
) -> Model | None:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        for detail in error.errors():
            message = detail["msg"].removeprefix("Value error, ")
            field = _field_path(detail["loc"])
            problems.append(
                f"{label}, field '{field}': {message}" if field else f"{label}: {message}"
            )
        return None


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path

"""The shipped exercise library and program templates, kept as TOML data files in `library/`.

`schema` holds the pydantic models that define and check the data (dosage defaults from SPEC §5,
sound progression ladders, templates built from existing exercises); `loader.load_catalogue()`
reads the files and returns a validated `Catalogue`, naming the file and field of any problem.
"""

from hep.content.loader import ContentError, load_catalogue
from hep.content.schema import Catalogue, Dosage, Exercise, ProgramTemplate, TemplateItem

__all__ = [
    "Catalogue",
    "ContentError",
    "Dosage",
    "Exercise",
    "ProgramTemplate",
    "TemplateItem",
    "load_catalogue",
]

"""The published JSON Schema is generated from the models and agrees with the loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from openbooking.business import document
from openbooking.business.schemas import json_schema
from openbooking.business.service import demo_path
from tests.business.test_loader import minimal

PUBLISHED = Path(__file__).parents[2] / "docs" / "business-file.schema.json"


def published() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(PUBLISHED.read_text("utf-8"))
    return loaded


def test_committed_schema_is_the_generated_one() -> None:
    generated = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    assert PUBLISHED.read_text("utf-8") == generated, (
        "docs/business-file.schema.json is stale: regenerate it with "
        "`.venv/bin/openbooking business-schema > docs/business-file.schema.json`"
    )


def test_demo_and_minimal_files_are_valid_under_the_published_schema() -> None:
    validator = jsonschema.Draft202012Validator(
        published(), format_checker=jsonschema.FormatChecker()
    )
    for data in (document.read(demo_path()), minimal()):
        assert list(validator.iter_errors(data)) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["locations"][0].update(colour="red"),
        lambda d: d["locations"][0]["services"][0].update(duration="45 minutes"),
        lambda d: d["locations"][0]["services"][0].update(duration="1.5h"),
        lambda d: d["locations"][0]["staff"][0].update(position=None),
        lambda d: d["locations"][0]["staff"][0]["schedule"]["weekly"].update(mon=["9:00-12:00"]),
        lambda d: d["locations"][0]["staff"][0]["services"].append("502"),
        lambda d: d["locations"][0].update(language="fr-FR"),
        lambda d: d["locations"][0]["bookforms"][0].update(steps=[{"step": "pay"}]),
        lambda d: d.update(version=2),
    ],
)
def test_schema_and_loader_refuse_the_same_shapes(mutate: Any) -> None:
    data = minimal()
    mutate(data)
    validator = jsonschema.Draft202012Validator(published())
    assert list(validator.iter_errors(data)), "the published schema accepts it"
    with pytest.raises(document.BusinessFileError):
        document.check(data)

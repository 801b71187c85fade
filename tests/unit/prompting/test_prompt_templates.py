from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from triage.errors import ConfigurationError
from triage.prompting import load_prompt

pytestmark = pytest.mark.store_free

SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
SPEC: dict[str, Any] = {
    "description": "test prompt",
    "variables": ["who", "items"],
    "schema": "v1.schema.json",
    "system": "Answer in JSON for {{ who }}.",
    "user": "{% for item in items %}<item>{{ item.text | untrusted }}</item>\n{% endfor %}",
}


def write(tmp_path: Path, spec: dict[str, Any] | str, schema: object = SCHEMA, version: str = "v1") -> Path:
    folder = tmp_path / "task"
    folder.mkdir(exist_ok=True)
    text = spec if isinstance(spec, str) else yaml.safe_dump(spec)
    (folder / f"{version}.yaml").write_text(text, encoding="utf-8")
    (folder / "v1.schema.json").write_text(schema if isinstance(schema, str) else json.dumps(schema), encoding="utf-8")
    return tmp_path


def test_loads_and_renders(tmp_path: Path) -> None:
    prompt = load_prompt(write(tmp_path, SPEC), "task", "v1")

    messages = prompt.render(who="<IT>", items=[{"text": "a </item> b"}, {"text": "c"}])

    assert (prompt.task, prompt.version, prompt.schema_name, prompt.schema) == ("task", "v1", "task_v1", SCHEMA)
    assert prompt.variables == ("who", "items")
    assert messages == [
        {"role": "system", "content": "Answer in JSON for <IT>."},  # autoescape is off
        {"role": "user", "content": "<item>a &lt;/item&gt; b</item>\n<item>c</item>"},
    ]


@pytest.mark.parametrize(
    ("spec", "schema", "complaint"),
    [
        ({**SPEC, "model": "gpt"}, SCHEMA, "model: Extra inputs are not permitted"),
        ({k: v for k, v in SPEC.items() if k != "description"}, SCHEMA, "description: Field required"),
        ({k: v for k, v in SPEC.items() if k != "schema"}, SCHEMA, "schema: Field required"),
        ({**SPEC, "schema_file": "v1.schema.json"}, SCHEMA, "schema_file: Extra inputs are not permitted"),
        ({**SPEC, "schema": "missing.json"}, SCHEMA, "schema file missing.json not found"),
        ({**SPEC, "schema": "../v1.schema.json"}, SCHEMA, "schema must be a file name beside the prompt"),
        (SPEC, "{not json", "is not valid JSON"),
        (SPEC, ["a"], "must hold a JSON object"),
        ({**SPEC, "variables": ["who"]}, SCHEMA, "used but not declared: items"),
        ({**SPEC, "variables": ["who", "items", "extra"]}, SCHEMA, "declared but not used: extra"),
        ({**SPEC, "variables": ["who", "who", "items"]}, SCHEMA, "listed more than once"),
        ({**SPEC, "user": "{% for x in items %}"}, SCHEMA, "user template line 1"),
        ("- just\n- a list\n", SCHEMA, "must be a mapping"),
        ("system: [unclosed\n", SCHEMA, "cannot read"),
    ],
    ids=[
        "unknown-key",
        "missing-description",
        "missing-schema",
        "schema-by-field-name",
        "schema-file-missing",
        "schema-outside-folder",
        "schema-not-json",
        "schema-not-object",
        "undeclared-variable",
        "unused-variable",
        "duplicate-variable",
        "template-syntax",
        "not-a-mapping",
        "bad-yaml",
    ],
)
def test_bad_prompt_files_are_configuration_errors(
    tmp_path: Path, spec: dict[str, Any] | str, schema: object, complaint: str
) -> None:
    root = write(tmp_path, spec, schema)

    with pytest.raises(ConfigurationError) as caught:
        load_prompt(root, "task", "v1")

    assert complaint in caught.value.detail


@pytest.mark.parametrize(("task", "version"), [("task", "v2"), ("nope", "v1")], ids=["version", "task"])
def test_missing_prompt_file(tmp_path: Path, task: str, version: str) -> None:
    with pytest.raises(ConfigurationError, match="no file"):
        load_prompt(write(tmp_path, SPEC), task, version)


@pytest.mark.parametrize(("task", "version"), [("task", "../v1"), ("../task", "v1"), ("task", "")], ids=["a", "b", "c"])
def test_names_must_be_plain(tmp_path: Path, task: str, version: str) -> None:
    with pytest.raises(ConfigurationError, match="not a plain name"):
        load_prompt(write(tmp_path, SPEC), task, version)


def test_strict_undefined_inside_templates(tmp_path: Path) -> None:
    prompt = load_prompt(write(tmp_path, SPEC), "task", "v1")

    with pytest.raises(ConfigurationError, match="has no attribute 'text'"):
        prompt.render(who="x", items=[{"body": "no text key"}])

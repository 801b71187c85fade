"""Prompt templates as strictly validated data files: `prompts/<task>/<version>.yaml` + a JSON schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2 import meta
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triage.errors import ConfigurationError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _untrusted(value: object) -> str:
    """Neutralise markup so untrusted text cannot close the block it is placed in (e.g. `</comment>`)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Prompts are plain text, not HTML: no autoescape; untrusted values go through the `untrusted` filter.
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
_ENV.filters["untrusted"] = _untrusted


class PromptFile(BaseModel):
    """The YAML file as written; unknown or missing keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str = Field(min_length=1)
    user: str = Field(min_length=1)
    schema_file: str = Field(alias="schema", min_length=1)
    variables: list[str]
    description: str


class PromptTemplate:
    """One version of one task's prompt: renders system + user messages; carries the answer's JSON schema."""

    def __init__(self, task: str, version: str, spec: PromptFile, schema: dict[str, Any]) -> None:
        self.task = task
        self.version = version
        self.description = spec.description
        self.variables: tuple[str, ...] = tuple(spec.variables)
        self.schema = schema
        self._system = _compile(spec.system, f"{task}/{version} system")
        self._user = _compile(spec.user, f"{task}/{version} user")

    @property
    def schema_name(self) -> str:
        """A name for the answer format that OpenAI-compatible servers accept (a-z, 0-9, _ and -, <= 64)."""
        return re.sub(r"[^A-Za-z0-9_-]", "_", f"{self.task}_{self.version}")[:64]

    def render(self, **variables: Any) -> list[dict[str, str]]:
        """The chat messages for these variables; every missing or unknown variable is listed in one error."""
        missing = [name for name in self.variables if name not in variables]
        unknown = sorted(set(variables) - set(self.variables))
        problems = []
        if missing:
            problems.append("missing variables: " + ", ".join(missing))
        if unknown:
            problems.append("unknown variables: " + ", ".join(unknown))
        if problems:
            raise ConfigurationError(f"prompt {self.task}/{self.version}: " + "; ".join(problems))
        try:
            system = self._system.render(**variables).strip()
            user = self._user.render(**variables).strip()
        except jinja2.UndefinedError as exc:
            raise ConfigurationError(f"prompt {self.task}/{self.version}: {exc.message}") from exc
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def load_prompt(prompts_dir: Path, task: str, version: str) -> PromptTemplate:
    """Load and check `prompts_dir/<task>/<version>.yaml` and the JSON schema it names."""
    for label, value in (("task", task), ("version", version)):
        if not _SAFE_NAME.match(value):
            raise ConfigurationError(f"prompt {label} {value!r} is not a plain name")
    path = prompts_dir / task / f"{version}.yaml"
    where = f"prompt {task}/{version}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"{where}: no file {path}") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{where}: cannot read {path}: {type(exc).__name__}") from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{where}: the file must be a mapping of keys")
    try:
        spec = PromptFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigurationError(f"{where}: {_describe(exc)}") from exc
    _check_variables(spec, where)
    return PromptTemplate(task, version, spec, _load_schema(path.parent, spec.schema_file, where))


def _load_schema(folder: Path, name: str, where: str) -> dict[str, Any]:
    if Path(name).name != name or not _SAFE_NAME.match(name):
        raise ConfigurationError(f"{where}: schema must be a file name beside the prompt, got {name!r}")
    try:
        schema = json.loads((folder / name).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"{where}: schema file {name} not found") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{where}: schema file {name} is not valid JSON: {type(exc).__name__}") from exc
    if not isinstance(schema, dict):
        raise ConfigurationError(f"{where}: schema file {name} must hold a JSON object")
    return schema


def _check_variables(spec: PromptFile, where: str) -> None:
    """The declared variables and those the templates use must be the same set."""
    declared = set(spec.variables)
    if len(declared) != len(spec.variables):
        raise ConfigurationError(f"{where}: variables are listed more than once")
    used: set[str] = set()
    for label, source in (("system", spec.system), ("user", spec.user)):
        try:
            used |= meta.find_undeclared_variables(_ENV.parse(source))
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigurationError(f"{where}: {label} template line {exc.lineno}: {exc.message}") from exc
    problems = []
    if used - declared:
        problems.append("used but not declared: " + ", ".join(sorted(used - declared)))
    if declared - used:
        problems.append("declared but not used: " + ", ".join(sorted(declared - used)))
    if problems:
        raise ConfigurationError(f"{where}: variables " + "; ".join(problems))


def _compile(source: str, label: str) -> jinja2.Template:
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigurationError(f"prompt {label} template line {exc.lineno}: {exc.message}") from exc


def _describe(exc: ValidationError) -> str:
    """Pydantic errors as `key: message`, without echoing the input values."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in error["loc"]) or "file"
        parts.append(f"{loc}: {error['msg']}")
    return "; ".join(parts)

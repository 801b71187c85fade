"""Curated urgency cues per category, loaded from a TOML data file (`models/urgency/rules.toml`).

Before matching, curly quotes are straightened and figures of speech ("this deadline is killing me",
"our budget got murdered") are blanked out; a match right after a negation ("nobody has ever harassed me")
does not count. The cue lists are data: HR can extend them without a code change.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from triage.errors import ConfigurationError
from triage.types import UrgencyCategory

CATEGORIES: tuple[UrgencyCategory, ...] = get_args(UrgencyCategory)
FORMAT = 1
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_CATEGORY_KEYS = {"patterns", "all", "unless"}


@dataclass(frozen=True)
class CategoryRules:
    patterns: tuple[re.Pattern[str], ...]
    groups: tuple[tuple[re.Pattern[str], ...], ...]
    unless: tuple[re.Pattern[str], ...]
    any_cue: re.Pattern[str] | None = field(init=False, default=None)
    """All the category's cues in one alternation: a text it does not match cannot fire (most texts), so the
    cues are not tried one by one. None when a cue uses back-references (alternation renumbers groups) or
    cannot sit inside an alternation (a global inline flag such as a leading `(?i)`)."""

    def __post_init__(self) -> None:
        cues = [*self.patterns, *(p for group in self.groups for p in group)]
        if not cues or any(re.search(r"\\[1-9]|\(\?P=", p.pattern) for p in cues):
            return
        try:
            combined = re.compile("|".join(f"(?:{p.pattern})" for p in cues), re.IGNORECASE)
        except re.error:
            return
        object.__setattr__(self, "any_cue", combined)

    def may_fire(self, text: str) -> bool:
        return self.any_cue is None or self.any_cue.search(text) is not None


def _compile(where: str, pattern: object, errors: list[str]) -> re.Pattern[str] | None:
    if not isinstance(pattern, str) or not pattern:
        errors.append(f"{where}: expected a non-empty string, got {pattern!r}")
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        errors.append(f"{where}: bad regular expression ({exc})")
        return None


def _compile_list(where: str, value: object, errors: list[str]) -> tuple[re.Pattern[str], ...]:
    if not isinstance(value, list):
        errors.append(f"{where}: expected a list of regular expressions")
        return ()
    compiled = (_compile(f"{where}[{i}]", p, errors) for i, p in enumerate(value))
    return tuple(p for p in compiled if p is not None)


class UrgencyRules:
    """Regex cues per category with hyperbole and negation guards."""

    def __init__(
        self,
        categories: dict[UrgencyCategory, CategoryRules],
        hyperbole: tuple[re.Pattern[str], ...],
        negation: re.Pattern[str],
        version: str,
    ) -> None:
        self.categories = categories
        self.hyperbole = hyperbole
        self.negation = negation
        self.version = version

    @classmethod
    def load(cls, path: Path) -> UrgencyRules:
        """Read and validate a rules file; every problem in it is listed in one ConfigurationError."""
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"cannot read urgency rules {path}: {exc}") from exc
        return cls.from_dict(raw, str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "urgency rules") -> UrgencyRules:
        errors: list[str] = []
        if raw.get("format") != FORMAT:
            errors.append(f"format: expected {FORMAT}, got {raw.get('format')!r}")
        unknown_top = set(raw) - {"format", "version", "guards", "categories"}
        if unknown_top:
            errors.append(f"unknown keys: {', '.join(sorted(unknown_top))}")
        guards = raw.get("guards", {})
        if not isinstance(guards, dict) or set(guards) - {"hyperbole", "negation"}:
            errors.append("guards: expected a table with only 'hyperbole' and 'negation'")
            guards = {}
        hyperbole = _compile_list("guards.hyperbole", guards.get("hyperbole", []), errors)
        negation = _compile("guards.negation", guards.get("negation", r"(?!x)x"), errors)
        tables = raw.get("categories", {})
        if not isinstance(tables, dict):
            errors.append("categories: expected a table")
            tables = {}
        unknown = sorted(set(tables) - set(CATEGORIES))
        if unknown:
            errors.append(f"categories: unknown {', '.join(unknown)}; known: {', '.join(CATEGORIES)}")
        missing = [c for c in CATEGORIES if c not in tables]
        if missing:
            errors.append(f"categories: missing {', '.join(missing)}")
        categories: dict[UrgencyCategory, CategoryRules] = {}
        for name in CATEGORIES:
            table = tables.get(name)
            if not isinstance(table, dict):
                continue
            extra = sorted(set(table) - _CATEGORY_KEYS)
            if extra:
                errors.append(f"categories.{name}: unknown keys {', '.join(extra)}")
            groups_raw = table.get("all", [])
            groups: list[tuple[re.Pattern[str], ...]] = []
            if not isinstance(groups_raw, list):
                errors.append(f"categories.{name}.all: expected a list of lists")
                groups_raw = []
            for i, group in enumerate(groups_raw):
                if not isinstance(group, list) or len(group) < 2:
                    errors.append(f"categories.{name}.all[{i}]: expected a list of at least two regular expressions")
                    continue
                groups.append(_compile_list(f"categories.{name}.all[{i}]", group, errors))
            patterns = _compile_list(f"categories.{name}.patterns", table.get("patterns", []), errors)
            if not patterns and not groups:
                errors.append(f"categories.{name}: no patterns and no 'all' groups")
            categories[name] = CategoryRules(
                patterns, tuple(groups), _compile_list(f"categories.{name}.unless", table.get("unless", []), errors)
            )
        if errors or negation is None:
            raise ConfigurationError(f"{source}: " + "; ".join(errors))
        return cls(categories, hyperbole, negation, str(raw.get("version", "")))

    def clean(self, text: str) -> str:
        """The text as the patterns see it: straight quotes, figures of speech blanked out."""
        text = text.translate(_QUOTES)
        for pattern in self.hyperbole:
            text = pattern.sub(" ~ ", text)
        return text

    def _found(self, pattern: re.Pattern[str], text: str) -> bool:
        for match in pattern.finditer(text):
            if not self.negation.search(text[max(0, match.start() - 60) : match.start()]):
                return True
        return False

    def _fires(self, rules: CategoryRules, text: str) -> bool:
        if not rules.may_fire(text):
            return False
        if any(p.search(text) for p in rules.unless):
            return False
        if any(self._found(p, text) for p in rules.patterns):
            return True
        return any(all(self._found(p, text) for p in group) for group in rules.groups)

    def guarded(self, text: str) -> bool:
        """True when a guard spoke: a figure of speech was blanked out, or a cue matched but was discarded (after a
        negation, or in a context of the category's `unless`). The detector trusts its head less on such text."""
        straight = text.translate(_QUOTES)
        if any(p.search(straight) for p in self.hyperbole):
            return True
        cleaned = self.clean(text)
        return any(
            rules.may_fire(cleaned)
            and any(p.search(cleaned) for p in rules.patterns)
            and not self._fires(rules, cleaned)
            for rules in self.categories.values()
        )

    def match(self, text: str) -> list[UrgencyCategory]:
        """The categories whose cues the text has, in CATEGORIES order."""
        cleaned = self.clean(text)
        return [name for name, rules in self.categories.items() if self._fires(rules, cleaned)]

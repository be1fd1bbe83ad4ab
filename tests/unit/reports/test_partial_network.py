"""The annual report on a partial network: the dispositifs no partner runs are named, with what
is not computed, rather than printed as zeros; a complete network gets no such note."""

from __future__ import annotations

from types import SimpleNamespace

from observatoire.core.dispositifs import DISPOSITIFS, SHELTER
from observatoire.reports.annual.chapters.coverage import absent_dispositifs


def _data(*codes: str) -> SimpleNamespace:
    return SimpleNamespace(
        partners={f"p{i}": SimpleNamespace(dispositif=c) for i, c in enumerate(codes)}
    )


def test_a_complete_network_has_no_absent_dispositif() -> None:
    assert absent_dispositifs(_data(*DISPOSITIFS)) == []


def test_each_missing_dispositif_gets_one_french_sentence() -> None:
    sentences = absent_dispositifs(_data("accueil_jour", "accueil_jour", "travail_rue"))
    assert len(sentences) == len(DISPOSITIFS) - 2
    shelter = next(s for s in sentences if s.startswith(DISPOSITIFS[SHELTER]))
    assert "aucun partenaire de ce dispositif" in shelter
    assert "prévision de la demande pour l'hiver" in shelter
    assert not any(s.startswith(("Accueil de jour", "Travail de rue")) for s in sentences)

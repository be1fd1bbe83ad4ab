"""The annual report on a partial network: the dispositifs no partner runs are named, with what
is not computed, rather than printed as zeros; a complete network gets no such note."""

from __future__ import annotations

from types import SimpleNamespace

from observatoire.core.dispositifs import DISPOSITIFS, SHELTER
from observatoire.reports.annual.chapters.coverage import absent_dispositifs


def _data(*codes: str) -> SimpleNamespace:
    return SimpleNamespace(
        partners={
            f"p{i}": SimpleNamespace(dispositif=c, dispositifs=(c,)) for i, c in enumerate(codes)
        }
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


def test_a_partial_network_is_worded_with_its_absent_and_present_dispositifs() -> None:
    from observatoire.reports.annual.chapters.coverage import partial_network

    assert partial_network(_data(*DISPOSITIFS)) is None
    words = partial_network(_data("accueil_jour"))
    assert words["present"] == "le dispositif présent (Accueil de jour)"
    assert words["absent"].endswith(" et Housing First")
    assert "Accueil de jour" not in words["absent"]
    assert words["plural"] == "nt"
    two = partial_network(_data("accueil_jour", "travail_rue"))
    assert two["present"] == "les dispositifs présents (Travail de rue et Accueil de jour)"


def test_what_the_trends_stage_skipped_goes_to_its_chapter() -> None:
    """The trends chapter prints every reason but the forecast's; the forecast chapter prints
    the forecast's instead of the forecast."""
    from observatoire.reports.annual.chapters import forecast
    from observatoire.reports.annual.chapters.trends import not_computed_rows

    trend = {
        "forecast": None,
        "non_calcule": {"prevision": "Prévision non calculée : X.", "tendance_reseau": "T."},
    }
    rows = not_computed_rows(trend, ("tendance_reseau", "occupation"))
    assert rows == [{"label": "Tendance annuelle du réseau", "reason": "T."}]
    ctx = forecast.context(SimpleNamespace(trend=trend))
    assert ctx["forecast"] is None
    assert [r["reason"] for r in ctx["forecast_not_computed"]] == ["Prévision non calculée : X."]
    assert not_computed_rows({"forecast": None}) == []

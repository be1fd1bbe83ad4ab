"""The trends stage on a counts-only network: one reason, the same for every skipped model."""

from __future__ import annotations

from observatoire.core.person_level import NO_PERSONS_REASON
from observatoire.models import not_computed


def test_every_skipped_model_gets_the_no_persons_reason() -> None:
    skipped = {not_computed.NETWORK_TREND: "0 année(s)", not_computed.FORECAST: "pas d'abri"}
    reasons = not_computed.no_persons_reasons(skipped)
    assert set(reasons) == set(skipped)
    assert all(NO_PERSONS_REASON in r and "0 année" not in r for r in reasons.values())
    assert "observatoire tendance --serie" in reasons[not_computed.FORECAST]

"""Maps and flyer of the seasonal plans (stage ``maps``)."""

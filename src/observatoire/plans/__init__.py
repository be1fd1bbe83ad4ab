"""The seasonal plans (Plan Grand Froid, Plan Canicule): settings, phases, the temperature
model, the bilans and the preparation note."""

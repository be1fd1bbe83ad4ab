"""The seasonal plans (Plan Grand Froid, Plan Canicule): their parameters, the daily phase
calendar drawn from the weather, and what the bilans compute from them."""

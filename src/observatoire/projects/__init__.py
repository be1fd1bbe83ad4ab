"""Projects the network runs and accounts for: objectives, participation, affiliation, budget."""

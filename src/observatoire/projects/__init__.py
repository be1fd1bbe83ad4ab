"""Project follow-up: a project's records, participation, affiliation, objectives and budget."""

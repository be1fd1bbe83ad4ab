"""Project follow-up reports (issue 20): one report and one monthly activity sheet per project."""

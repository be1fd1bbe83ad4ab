"""The seasonal plans' documents: the bilans of each plan and the winter preparation note."""

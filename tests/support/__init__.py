"""Shared test support: hand-made frames, the independent recount, the published tables read
back as a reader would, and the two table attackers (linear programs; exact integers)."""

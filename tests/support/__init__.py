"""Shared test support: hand-made frames, the independent recount and the table attacker."""

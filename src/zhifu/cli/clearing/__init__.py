"""``zhifu clearing``: the BEPS engine and its holiday calendar from the command line."""

"""``zhifu demo``: a day of the whole system in one process, with its checks."""

"""Netting for volume: a day of items as columns (numpy) and positions by group-by (Polars), with
the exact net-debit-cap check, and conversions from and to scenarios.
"""

"""Card payments at the acquirer: the financial groups of the pipeline, the transaction record,
the merchant's side of the books, reversal and batch settlement (``docs/acquirer.md``).
"""

from zhifu.acquirer.payments.routes import PAYMENT_ROUTES, add_payment_groups

__all__ = ["PAYMENT_ROUTES", "add_payment_groups"]

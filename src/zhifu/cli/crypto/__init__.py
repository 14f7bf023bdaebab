"""``zhifu crypto``: the payment-crypto calculator (symmetric, EMV/PBOC, SM2)."""

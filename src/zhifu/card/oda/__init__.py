"""Offline data authentication (SDA, DDA, fDDA and their SM2 forms) for the emulated card and the
terminal: CA keys, issuer and ICC certificates, signed data, and their recovery and checks.

- :mod:`~zhifu.card.oda.methods`: certify, sign and verify (the entry points)
- :mod:`~zhifu.card.oda.rsa` and :mod:`~zhifu.card.oda.sm2`: the two formats
- :mod:`~zhifu.card.oda.ca`: CA keys and the terminal's CAPK table; :mod:`~zhifu.card.oda.keys`
  key pairs; :mod:`~zhifu.card.oda.data` TEST-ONLY CA keys; :mod:`~zhifu.card.oda.base` shared
  fields
"""

"""The security module: keys by handle, secret value types, log redaction.

Payment keys live inside :class:`~zhifu.security.hsm.soft.SoftHsm` (sealed under a local master key
in :class:`~zhifu.security.store.KeyStore`); callers hold only :class:`KeyHandle` values.
Sensitive values travel as :mod:`~zhifu.security.secrets` types whose ``repr``/``str`` are
masked. Other packages' key files are sealed under the same LMK by
:class:`~zhifu.security.sealing.LmkSealer`.

>>> from zhifu.security.secrets import Pan
>>> Pan("6225881234566789")
Pan('622588******6789')
"""

"""The software security module, :class:`SoftHsm`: keys by handle, with a bank HSM's discipline.

``SoftHsm`` is assembled from one part per family of commands: key management
(:mod:`~zhifu.security.hsm.keys`), data encryption and MACs (:mod:`~zhifu.security.hsm.data`),
PIN blocks (:mod:`~zhifu.security.hsm.pin`), card keys, ARQC and ARPC
(:mod:`~zhifu.security.hsm.card`), SM2 and RSA (:mod:`~zhifu.security.hsm.asym`), over the
common core of :mod:`~zhifu.security.hsm.base`.
"""

from zhifu.security.hsm.soft import SoftHsm

__all__ = ["SoftHsm"]

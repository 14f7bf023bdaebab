"""``SoftHsm``: a software security module with the discipline of a bank HSM.

Payment keys live inside (sealed under the LMK in a :class:`~zhifu.security.store.KeyStore`);
callers hold only :class:`~zhifu.security.keys.KeyHandle` values. Every operation checks the
key's usage and algorithm and refuses with :class:`~zhifu.security.errors.KeyUsageError`
(naming the handle and the usage it needs). No method returns a clear key, except
:meth:`~zhifu.security.hsm.keys.KeyManagementMixin.generate_key_components`, which hands out
components for dual-control printing and records an audit line without values. Keys leave
otherwise only wrapped under a key-encryption key.

Operations (one module each):

* key management (:mod:`~zhifu.security.hsm.keys`): ``generate_key``,
  ``generate_key_components``, ``form_key_from_components``, ``import_key_wrapped``,
  ``export_key_wrapped``, ``delete_key``, ``key_info``, ``list_keys``;
* data and MAC (:mod:`~zhifu.security.hsm.data`): ``encrypt_data``, ``decrypt_data``,
  ``generate_mac``, ``verify_mac``;
* PIN (:mod:`~zhifu.security.hsm.pin`): ``encrypt_pin_block``, ``translate_pin_block``,
  ``generate_pin_verification_value``, ``verify_pin``;
* card (:mod:`~zhifu.security.hsm.card`): ``derive_card_key``, ``verify_arqc``,
  ``generate_arpc``, ``verify_arqc_and_generate_arpc``;
* public key (:mod:`~zhifu.security.hsm.asym`): ``sign``, ``verify_signature``,
  ``get_public_key``, ``import_public_key``.

>>> from zhifu.security.keys import KeyAlgorithm, KeyUsage
>>> hsm = SoftHsm(KeyStore.in_memory())
>>> mak = hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.DES)
>>> hsm.encrypt_data(mak, bytes(8))
Traceback (most recent call last):
...
zhifu.security.errors.KeyUsageError: key K-... has usage MAC; this operation needs usage DATA
"""

from __future__ import annotations

from zhifu.core.clock import Clock
from zhifu.core.rng import RandomSource
from zhifu.security.hsm.asym import AsymmetricMixin
from zhifu.security.hsm.card import ArpcResult, CardMixin, SessionKeyMethod
from zhifu.security.hsm.data import DataMixin, DataMode, MacAlgorithm
from zhifu.security.hsm.keys import ComponentSet, KeyComponent, KeyManagementMixin, WrappedKey
from zhifu.security.hsm.pin import PVV_LENGTH, PinBlockFormat, PinMixin
from zhifu.security.store import KeyStore

__all__ = [
    "PVV_LENGTH",
    "ArpcResult",
    "ComponentSet",
    "DataMode",
    "KeyComponent",
    "MacAlgorithm",
    "PinBlockFormat",
    "SessionKeyMethod",
    "SoftHsm",
    "WrappedKey",
]


class SoftHsm(KeyManagementMixin, DataMixin, PinMixin, CardMixin, AsymmetricMixin):
    """The software security module over a :class:`KeyStore`.

    ``rng`` supplies key bytes and PIN-block fill (the OS CSPRNG by default; a seeded source
    only in simulations), ``clock`` the creation times of keys.
    """

    def __init__(
        self,
        store: KeyStore,
        *,
        rng: RandomSource | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(store, rng=rng, clock=clock)

"""Many SM2 signature checks in one call: the work a server sends to a helper process.

SM2 verification (gmalglib) holds the interpreter lock for its whole ~0.6 ms, so a thread
cannot run it beside an event loop; a process can. :func:`verify_many` is the function such a
process runs on a batch: items are plain bytes (the public key's uncompressed point, the
message, the signature) so they cross the process boundary cheaply, and each process keeps the
keys it has built (building one checks the point on the curve).

>>> from zhifu.crypto import sm2
>>> private, public = sm2.generate_keypair()
>>> good = sm2.sign(private, b"message")
>>> verify_many([(public.point, b"message", good), (public.point, b"other", good),
...              (b"\\x04" + bytes(64), b"message", good)])
[True, False, False]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from zhifu.core.errors import ZhifuError
from zhifu.crypto.sm2 import Sm2PublicKey, verify

KEYS_MAX: Final = 4096  # keys kept per process (then the cache starts again)
_keys: dict[bytes, Sm2PublicKey | None] = {}


def verify_many(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
    """For each (public key point, message, signature): whether the signature verifies (a
    malformed key or signature is simply False)."""
    return [_verify_one(point, message, signature) for point, message, signature in items]


def _verify_one(point: bytes, message: bytes, signature: bytes) -> bool:
    key = _key(point)
    if key is None:
        return False
    try:
        return verify(key, message, signature)
    except (ZhifuError, ValueError):
        return False


def _key(point: bytes) -> Sm2PublicKey | None:
    if point not in _keys:
        if len(_keys) >= KEYS_MAX:
            _keys.clear()
        try:
            _keys[point] = Sm2PublicKey(point)
        except ZhifuError:
            _keys[point] = None
    return _keys[point]

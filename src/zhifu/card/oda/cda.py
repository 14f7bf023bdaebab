"""Combined DDA / application cryptogram generation (CDA, EMV 4.3 Book 2 §6.6).

When the terminal sets bit ``10`` of GENERATE AC's P1 and the card's AIP offers CDA (byte 1
bit ``01``), a card answering TC or ARQC signs its cryptogram: the answer is format 2 (template
77) with 9F27, 9F36, 9F10 and the signed dynamic application data 9F4B — the cryptogram itself
travels only inside the signature. The signed ICC dynamic data are::

    length of the ICC dynamic number ‖ ICC dynamic number ‖ CID (9F27) ‖ AC ‖ transaction data hash

and the terminal dynamic data the signature covers is the unpredictable number 9F37. The
transaction data hash code is SHA-1 (RSA; SM3 for an SM2 card, zhifu's choice [?]) over the
PDOL data of GPO, the CDOL1 data (and, for the second GENERATE AC, the CDOL2 data), and the
TLV objects of the answer other than 9F4B, in the order the card returned them.

>>> tlvs = bytes.fromhex("9F270180" "9F36020001" "9F100100")
>>> len(transaction_hash(b"\\x01", b"\\x02", tlvs, sm=False))
20
"""

from __future__ import annotations

from zhifu.card.oda.base import OdaError
from zhifu.card.oda.keys import PublicKey
from zhifu.card.oda.methods import verify_dda
from zhifu.crypto.hashes import Hash, digest

__all__ = ["icc_dynamic_data", "split_dynamic_data", "transaction_hash", "verify_cda"]


def transaction_hash(pdol_data: bytes, cdol_data: bytes, answer_tlvs: bytes, *, sm: bool) -> bytes:
    """The transaction data hash code over what the terminal and the card exchanged."""
    data = bytes(pdol_data) + bytes(cdol_data) + bytes(answer_tlvs)
    return digest(Hash.SM3 if sm else Hash.SHA1, data)


def icc_dynamic_data(dynamic_number: bytes, cid: bytes, ac: bytes, tx_hash: bytes) -> bytes:
    """What the card signs: the ICC dynamic number with its length, CID, AC and the hash."""
    return bytes([len(dynamic_number)]) + dynamic_number + cid + ac + tx_hash


def split_dynamic_data(data: bytes, hash_size: int) -> tuple[bytes, bytes, bytes]:
    """CID, AC and hash from signed ICC dynamic data (OdaError when the lengths do not add)."""
    size = data[0] if data else 0
    if len(data) < 1 + size + 1 + 8 + hash_size:
        raise OdaError("dynamic_data", "CDA signed dynamic application data")
    rest = data[1 + size :]
    return rest[:1], rest[1:9], rest[9 : 9 + hash_size]


def verify_cda(
    icc_pk: PublicKey, sdad_9f4b: bytes, *, unpredictable_number: bytes, cid: bytes,
    tx_hash: bytes,
) -> bytes:  # fmt: skip
    """Check a CDA signature against the answer's CID and the hash; returns the AC."""
    what = "CDA signed dynamic application data"
    signed = verify_dda(icc_pk, sdad_9f4b, unpredictable_number)
    signed_cid, ac, signed_hash = split_dynamic_data(signed, len(tx_hash))
    if signed_cid != cid:
        raise OdaError("cda_cid", what)
    if signed_hash != tx_hash:
        raise OdaError("cda_hash", what)
    return ac

"""Detached SM2 signatures of BEPS messages, by key handle in the security module.

**What is signed.** The *canonical bytes* of a message are the Canonical XML 1.0 form
(C14N, without comments) of its ``Document`` element with the ``Sgntr`` element removed.
The signer builds the document without ``Sgntr``, signs its canonical bytes with SM2/SM3
(GB/T 32918.2, the default signer ID ``1234567812345678``, raw ``r‖s``) and appends
``<Sgntr><Sgnr>code</Sgnr><Alg>SM2-SM3</Alg><Val>base64</Val></Sgntr>`` as the last child.
The verifier removes that element and recomputes the canonical bytes. C14N fixes attribute
order, namespace declarations, quoting and the ``<a></a>`` form; whitespace between elements
is significant, so a signed message must travel byte-for-byte (no re-indenting).

Keys stay in :class:`~zhifu.security.hsm.soft.SoftHsm`: a bank signs with a SIGNING handle; the
centre keeps each participant's public key as a VERIFICATION handle (:class:`KeyDirectory`).

>>> from lxml import etree
>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.keys import KeyAlgorithm, KeyUsage
>>> from zhifu.security.store import KeyStore
>>> hsm = SoftHsm(KeyStore.in_memory())
>>> key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
>>> doc = etree.fromstring(b'<Document xmlns="urn:x"><A>1.00</A></Document>')
>>> sign_document(doc, Signer(hsm, key, "102100099996"))
>>> keys = KeyDirectory(hsm)
>>> _ = keys.register("102100099996", hsm.get_public_key(key))
>>> sent = etree.tostring(doc)
>>> keys.verify(etree.fromstring(sent))
'102100099996'
>>> keys.verify(etree.fromstring(sent.replace(b"1.00", b"2.00")))
Traceback (most recent call last):
...
zhifu.clearing.messages.model.MessageError: bad_signature: the signature does not verify
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from lxml import etree

from zhifu.clearing.codes import Reason
from zhifu.clearing.messages.model import MessageError
from zhifu.clearing.model import check_bank_code
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage

__all__ = ["ALGORITHM", "KeyDirectory", "Signer", "canonical_bytes", "sign_document"]

ALGORITHM = "SM2-SM3"
SIGNATURE = "Sgntr"


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def canonical_bytes(document: etree._Element) -> bytes:
    """C14N 1.0 of ``document`` (which must hold no ``Sgntr`` child)."""
    return etree.tostring(document, method="c14n", with_comments=False)


@dataclass(frozen=True, slots=True)
class Signer:
    """A participant's (or the centre's) signing key: the HSM, the handle, the 12-digit code."""

    hsm: SoftHsm
    key: KeyHandle
    code: str


def sign_document(document: etree._Element, signer: Signer) -> None:
    """Append the ``Sgntr`` element: the signer's SM2 signature over the canonical bytes."""
    value = signer.hsm.sign(signer.key, canonical_bytes(document))
    namespace = etree.QName(document).namespace
    q = (lambda name: f"{{{namespace}}}{name}") if namespace else (lambda name: name)
    element = etree.SubElement(document, q(SIGNATURE))
    etree.SubElement(element, q("Sgnr")).text = signer.code
    etree.SubElement(element, q("Alg")).text = ALGORITHM
    etree.SubElement(element, q("Val")).text = base64.b64encode(value).decode("ascii")


def detach_signature(document: etree._Element) -> tuple[str, bytes]:
    """Remove the last ``Sgntr`` child; return (signer code, signature bytes)."""
    if len(document) == 0 or _local(document[-1]) != SIGNATURE:
        raise MessageError(Reason.BAD_SIGNATURE, "the message is not signed")
    element = document[-1]
    fields = {_local(child): (child.text or "") for child in element}
    document.remove(element)
    try:
        value = base64.b64decode(fields.get("Val", ""), validate=True)
    except (binascii.Error, ValueError):
        raise MessageError(Reason.BAD_SIGNATURE, "the signature is not base64") from None
    if fields.get("Alg") != ALGORITHM or len(value) != 64:
        raise MessageError(Reason.BAD_SIGNATURE, "not an SM2 signature")
    return fields.get("Sgnr", ""), value


class KeyDirectory:
    """The public keys of the signers one side trusts, as VERIFICATION handles by bank code."""

    def __init__(self, hsm: SoftHsm) -> None:
        self.hsm = hsm
        self._handles: dict[str, KeyHandle] = {}

    def register(self, code: str, public_key: bytes) -> KeyHandle:
        """Import a signer's SM2 public key (65-byte point, or compressed) under its code.

        A key store that outlives the process may hold it already (registered at an earlier
        start): that handle is used again rather than importing the key once per start.
        """
        check_bank_code(code)
        label = f"beps {code}"
        for info in self.hsm.list_keys():
            mine = info.label == label and info.usage is KeyUsage.VERIFICATION
            if mine and self.hsm.get_public_key(info.handle) == bytes(public_key):
                handle = info.handle
                break
        else:
            handle = self.hsm.import_public_key(public_key, KeyAlgorithm.SM2, label=label)
        self._handles[code] = handle
        return handle

    def __contains__(self, code: object) -> bool:
        return code in self._handles

    def verify_bytes(self, code: str, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` over ``data`` verifies with the key registered for ``code``."""
        handle = self._handles.get(code)
        return handle is not None and self.hsm.verify_signature(handle, data, signature)

    def verify(self, document: etree._Element) -> str:
        """Detach and check the signature; return the signer's code or raise ``MessageError``."""
        signer, value = detach_signature(document)
        handle = self._handles.get(signer)
        if handle is None:
            raise MessageError(Reason.BAD_SIGNATURE, "no key registered for the signer")
        if not self.hsm.verify_signature(handle, canonical_bytes(document), value):
            raise MessageError(Reason.BAD_SIGNATURE, "the signature does not verify")
        return signer

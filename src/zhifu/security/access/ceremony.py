"""Dual control for key ceremonies: a key is formed from 2 or 3 clear components, each entered
by a different custodian who signs in (password, and the TOTP code of a privileged role) and
holds the ``keys.ceremony`` permission. No one person ever holds the key (split knowledge);
every component entered, every refusal and the key formed are audit records (with check values,
never the components).

>>> from zhifu.security.access.store import AccessStore
>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> from zhifu.security.keys import KeyAlgorithm, KeyUsage
>>> hsm = SoftHsm(KeyStore.in_memory())
>>> access = AccessStore.open(":memory:", sealer=None)
>>> ceremony = KeyCeremony(hsm, access, usage=KeyUsage.KEK, algorithm=KeyAlgorithm.SM4,
...                        label="zmk acquirer-bank")
>>> ceremony.pending
2
"""

from __future__ import annotations

from collections.abc import Callable

from zhifu.core.errors import UsageError
from zhifu.crypto.kcv import kcv as compute_kcv
from zhifu.security.access.errors import AccessError
from zhifu.security.access.permissions import allows
from zhifu.security.access.store import AccessStore
from zhifu.security.hsm.keys import KeyComponent
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage
from zhifu.security.secrets import KeyMaterial

__all__ = ["CEREMONY_PERMISSION", "KeyCeremony"]

CEREMONY_PERMISSION = "keys.ceremony"
Audit = Callable[[str, str, str, str], object]


class KeyCeremony:
    """One key formed under dual control (see the module docstring)."""

    def __init__(
        self, hsm: SoftHsm, access: AccessStore, *, usage: KeyUsage, algorithm: KeyAlgorithm,
        label: str, parts: int = 2, audit: Audit | None = None,
    ) -> None:  # fmt: skip
        if parts not in (2, 3):
            raise UsageError("2 or 3 components", argument="parts")
        self.hsm, self.access, self.usage, self.algorithm = hsm, access, usage, algorithm
        self.label, self.parts = label, parts
        self.audit: Audit = audit or access.audit
        self.custodians: list[str] = []
        self._components: list[KeyComponent] = []

    @property
    def pending(self) -> int:
        """How many components are still to be entered."""
        return self.parts - len(self._components)

    def enter(self, *, user: str, password: str, totp: str, component: str, kcv: str) -> int:
        """A custodian signs in and enters one component (hex) with its check value; the
        component's position. Refused: a wrong sign-in, no permission, the same custodian
        twice, a malformed component or one that does not match its check value."""
        session = self.access.sign_in(user, password, totp, origin=f"key ceremony {self.label}")
        self.access.sign_out(session.token)
        principal = self.access.principal(user)
        if not allows(principal, CEREMONY_PERMISSION):
            self.audit(user, "key.component", self.label, "refused: no keys.ceremony permission")
            raise AccessError("permission_denied")
        if user in self.custodians:
            self.audit(user, "key.component", self.label, "refused: the same custodian twice")
            raise UsageError("each component is entered by a different custodian", argument="user")
        material = self._parse(component)
        if compute_kcv(self.algorithm.cipher, material).hex().upper()[: len(kcv)] != kcv.upper():
            self.audit(user, "key.component", self.label, f"refused: check value {kcv}")
            raise UsageError("the component does not match its check value", argument="kcv")
        self._components.append(KeyComponent(KeyMaterial(material), kcv))
        self.custodians.append(user)
        position = len(self._components)
        self.audit(user, "key.component", self.label, f"ok component {position} kcv {kcv}")
        return position

    def _parse(self, component: str) -> bytes:
        try:
            raw = bytes.fromhex(component)
        except ValueError:
            raise UsageError("a component is hex digits", argument="component") from None
        if len(raw) not in self.algorithm.key_lengths:
            sizes = " or ".join(str(2 * n) for n in self.algorithm.key_lengths)
            raise UsageError(f"a component is {sizes} hex digits", argument="component")
        return raw

    def form(self) -> KeyHandle:
        """Form the key once every component is in (audited with the key's check value)."""
        if self.pending:
            raise UsageError(f"{self.pending} more component(s) to enter", argument="components")
        handle = self.hsm.form_key_from_components(self._components, self.usage, self.algorithm,
                                                   label=self.label)  # fmt: skip
        kcv = self.hsm.key_info(handle).kcv
        self.audit(" + ".join(self.custodians), "key.formed", self.label, f"ok kcv {kcv}")
        self._components.clear()
        return handle

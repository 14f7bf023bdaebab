"""The terminal's secure module: the PIN pad shows only stars and returns only the block, the
key slots have a capacity with a clear error, management mode needs the password and times out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from zhifu.core.clock import FixedClock
from zhifu.security.hsm.pin import PinBlockFormat
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.secrets import Pin
from zhifu.security.store import KeyStore
from zhifu.terminal.secure import (
    MANAGEMENT_TIMEOUT,
    ManagementClosedError,
    SecureModule,
    SecureModuleError,
    StoreFullError,
)

PAN = "6228000100001117"
PASSWORD = "a long admin password"


@pytest.fixture
def module(tmp_path: Path) -> SecureModule:
    clock = FixedClock(datetime(2026, 12, 5, tzinfo=UTC))
    found = SecureModule(SoftHsm(KeyStore.in_memory()), tmp_path, clock=clock)
    found.set_admin_password(PASSWORD)
    return found


def test_the_pin_pad_shows_stars_and_gives_the_block(module: SecureModule) -> None:
    pik = module.hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.TDES)
    pad = module.pin_pad(pik, PAN)
    screens = [pad.press(d) for d in "12399"]
    assert screens == ["*", "**", "***", "****", "*****"]
    assert pad.press("correct") == "****" and "4 digits" in repr(pad) and "1234" not in repr(pad)
    block = pad.confirm()
    expected = module.hsm.encrypt_pin_block(Pin("1239"), pik, PAN, format=PinBlockFormat.ISO_0)
    assert block == expected.reveal().hex().upper() and pad.screen == ""
    assert pad.press("5") == "*" and pad.press("cancel") == ""
    with pytest.raises(Exception, match="4 to 12 digits"):
        pad.confirm()


def test_management_mode_needs_the_password_and_times_out(
    module: SecureModule, tmp_path: Path
) -> None:
    kek = module.hsm.generate_key(KeyUsage.KEK, KeyAlgorithm.TDES)
    with pytest.raises(ManagementClosedError):
        module.delete_key(kek)
    with pytest.raises(SecureModuleError, match="wrong administrator password"):
        module.open_management("not the password at all")
    module.open_management(PASSWORD)
    clock = module.clock
    assert isinstance(clock, FixedClock)
    clock.advance(MANAGEMENT_TIMEOUT - 1)
    assert module.management_open
    clock.advance(2)
    with pytest.raises(ManagementClosedError, match="timed out"):
        module.delete_key(kek)
    stored = (tmp_path / "admin.json").read_text()
    assert PASSWORD not in stored and "hash" in stored
    reopened = SecureModule(module.hsm, tmp_path, clock=clock)  # the hash outlives the process
    reopened.open_management(PASSWORD)
    reopened.delete_key(kek)
    assert kek not in [i.handle for i in reopened.hsm.list_keys()]


def test_a_full_store_is_refused_with_what_to_do(tmp_path: Path) -> None:
    terminal = SoftHsm(KeyStore.in_memory())
    clock = FixedClock(datetime(2026, 12, 5, tzinfo=UTC))
    module = SecureModule(terminal, tmp_path, clock=clock, capacity=48)
    module.set_admin_password(PASSWORD)
    module.open_management(PASSWORD)
    kek = terminal.generate_key(KeyUsage.KEK, KeyAlgorithm.TDES, exportable=True)
    mac = terminal.generate_key(KeyUsage.MAC, KeyAlgorithm.TDES, exportable=True)
    wrapped = terminal.export_key_wrapped(mac, kek)
    assert module.used_bytes() == 32
    loaded = module.load_key(wrapped.key_block, kek, KeyUsage.MAC, KeyAlgorithm.TDES,
                             kcv=wrapped.kcv.hex())  # fmt: skip
    assert module.used_bytes() == 48 and loaded in [i.handle for i in terminal.list_keys()]
    with pytest.raises(StoreFullError, match=r"48 of 48 bytes used.*delete keys"):
        module.load_key(wrapped.key_block, kek, KeyUsage.MAC, KeyAlgorithm.TDES,
                        kcv=wrapped.kcv.hex())  # fmt: skip
    assert module.used_bytes() == 48  # nothing stored

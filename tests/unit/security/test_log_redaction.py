"""The redacting log setup: every secret type, PAN-like runs, hex and bytes material, at every
level, through child loggers, extra fields, exceptions, caplog and a file handler
(docs/standards/security.md R21)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.security.redact import (
    RedactingFormatter,
    install_redaction,
    redact_text,
    uninstall_redaction,
)
from zhifu.security.secrets import Cvn, ExpiryDate, KeyMaterial, Pan, Pin, PinBlock, Track2

PAN = "6225881234566789"
KEY_HEX = "CAFEBABEDEADBEEF0123456789ABCDEF"
PIN = "987123"
FORBIDDEN = [PAN, KEY_HEX, KEY_HEX.lower(), PIN, "0412AC89ABCDEF67", "25122011234567890"]
LEVELS = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]


@pytest.fixture
def scoped() -> Iterator[logging.Logger]:
    log = logging.getLogger("zhifu.test.redact")
    install_redaction(log)
    yield log
    uninstall_redaction(log)


def _assert_clean(text: str) -> None:
    for secret in FORBIDDEN:
        assert secret not in text, f"leak of {len(secret)}-character sentinel"


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_and_secret_type(
    scoped: logging.Logger, caplog: pytest.LogCaptureFixture, level: int
) -> None:
    child = scoped.getChild("hsm.child")
    with caplog.at_level(logging.DEBUG):
        child.log(level, "pan %s", PAN)
        child.log(level, "pan %d", int(PAN))
        child.log(level, "secrets %s %s %s", Pan(PAN), Pin(PIN), Cvn("123"))
        child.log(level, "more %r %r", ExpiryDate("2512"), Track2(f"{PAN}=25122011234567890"))
        child.log(level, "key %s block %s", KEY_HEX, "0412AC89ABCDEF67")
        child.log(level, "raw %r", bytes.fromhex(KEY_HEX))
        child.log(level, "objects %s %s", KeyMaterial(bytes.fromhex(KEY_HEX)), PinBlock(bytes(8)))
        child.log(level, f"f-string pan {PAN} key {KEY_HEX.lower()}")
        child.log(level, "mapping %(pan)s", {"pan": PAN})
    assert len(caplog.records) == 9
    _assert_clean(caplog.text)
    for record in caplog.records:
        _assert_clean(record.getMessage())
    assert "622588******6789" in caplog.text


def test_extra_fields_and_exceptions(
    scoped: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        scoped.info("structured", extra={"pan": PAN, "pin": Pin(PIN), "key": KEY_HEX})
        try:
            raise ValueError(f"third-party error mentioning {PAN} and {KEY_HEX}")
        except ValueError:
            scoped.exception("failed")
        scoped.warning("stack", stack_info=True)
    record = caplog.records[0]
    assert record.__dict__["pan"] == "622588******6789"
    assert record.__dict__["pin"] == "<redacted>"
    assert record.__dict__["key"] == "<hex redacted>"
    _assert_clean(caplog.text)
    assert "third-party error mentioning 622588******6789" in caplog.text


def test_file_handler_sees_only_redacted_text(scoped: logging.Logger, tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s %(message)s"))
    scoped.addHandler(handler)
    scoped.setLevel(logging.DEBUG)
    try:
        scoped.debug("pan %s pin %s key %s", PAN, Pin(PIN), KEY_HEX)
        scoped.debug("bad format %d", "not a number", PAN)
    finally:
        scoped.removeHandler(handler)
        handler.close()
        scoped.setLevel(logging.NOTSET)
    text = path.read_text(encoding="utf-8")
    _assert_clean(text)
    assert text.count("DEBUG") == 2


def test_root_installation_covers_loggers_outside_zhifu(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_redaction()
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("thirdparty.lib").info("card %s", PAN)
    finally:
        uninstall_redaction()
    _assert_clean(caplog.text)


def test_records_outside_the_scope_are_untouched(
    scoped: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("elsewhere").info("order %s", "1234567890123")
    assert "1234567890123" in caplog.text


def test_uninstall_restores_the_factory() -> None:
    before = logging.getLogRecordFactory()
    log = logging.getLogger("zhifu.test.redact.once")
    install_redaction(log)
    install_redaction(log)
    assert logging.getLogRecordFactory() is not before
    uninstall_redaction(log)
    assert logging.getLogRecordFactory() is before
    assert not log.filters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("K-3f2a9c01d4e5b6a7 usage=PIN kcv=08D7B4", "K-3f2a9c01d4e5b6a7 usage=PIN kcv=08D7B4"),
        ("block=0412AC89ABCDEF67", "block=<hex redacted>"),
        ("key_0123456789ABCDEF0123", "key_<hex redacted>"),
        ("X-0123456789ABCDEF0123", "X-<hex redacted>"),
        ("sha 9f86d081884c7d659a2feaa0c55ad015", "sha <hex redacted>"),
        ("b'\\xca\\xfe\\xba\\xbe\\xde\\xad\\xbe\\xef'", "b'<redacted>'"),
        ("b'ok'", "b'ok'"),
        ("stan 000123 rrn 123456789012", "stan 000123 rrn 123456789012"),
    ],
)
def test_redact_text_table(text: str, expected: str) -> None:
    assert redact_text(text) == expected

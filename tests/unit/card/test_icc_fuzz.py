"""Property tests: random and mutated APDUs into EmulatedCard.transmit (10,000 APDUs in all:
2 x 1,000 examples of 5 APDUs) give only proper status words, never an exception, never
``6F00`` (an internal fault)."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhifu.card.apdu import STATUS_WORDS
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.image.model import CardImage
from zhifu.card.issuing import issue_card
from zhifu.card.scripted import contact_transaction

TODAY = date(2026, 11, 25)
IMAGE = issue_card("debit", "6228000000000011", None, today=TODAY)
REFERENCE = issue_card("pboc-reference", None, None, today=TODAY)


def _recorded_commands() -> list[bytes]:
    card = EmulatedCard(CardImage.from_json(IMAGE.to_json()))
    trace = contact_transaction(card.transmit, amount=1000, pin="1234", sm=True)
    commands = [command for command, _ in trace.steps]
    commands += [
        bytes.fromhex("04DA9F790E000000001000AABBCCDD"),
        bytes.fromhex("841E000004AABBCCDD"),
        bytes.fromhex("8424000114" + "00" * 20),
        bytes.fromhex("0084000008"),
        bytes.fromhex("0088000004CAFEBABE00"),
        bytes.fromhex("00A404000E325041592E5359532E444446303100"),
        bytes.fromhex("0082000008" + "00" * 8),
    ]
    return commands


COMMANDS = _recorded_commands()
# the state-changing commands, to reach deep states quickly (READ RECORD / GET DATA left out)
PREFIX = [command for command in COMMANDS if command[1] not in (0xB2, 0xCA)]
KNOWN = {sw for sw in STATUS_WORDS if "X" not in sw} - {"6F00"}


def _proper(response: bytes) -> bool:
    if len(response) < 2:
        return False
    sw = response[-2:].hex().upper()
    if sw[:2] in ("61", "6C") or sw[:3] == "63C":
        return True
    return sw in KNOWN


def _fresh(image: CardImage) -> EmulatedCard:
    card = EmulatedCard(image)
    card.power_on()
    return card


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), min_size=5, max_size=5), st.booleans())
def test_random_bytes(apdus: list[bytes], reference: bool) -> None:
    """10,000 examples x 5 random APDUs, one after the other in a session."""
    card = _fresh(REFERENCE if reference else IMAGE)
    for apdu in apdus:
        assert _proper(card.transmit(apdu))


MUTATION = st.tuples(
    st.sampled_from(COMMANDS),
    st.binary(min_size=0, max_size=8),  # (position, value) byte pairs to overwrite
    st.integers(min_value=-3, max_value=3),  # bytes added (+) or cut (-) at the end
)


def _mutate(command: bytes, flips: bytes, resize: int) -> bytes:
    mutated = bytearray(command)
    for i in range(0, len(flips) - 1, 2):
        mutated[flips[i] % len(mutated)] = flips[i + 1]
    if resize > 0:
        mutated += bytes(resize)
    elif resize < 0:
        del mutated[resize:]
    return bytes(mutated)


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(PREFIX)), st.lists(MUTATION, min_size=5, max_size=5))
def test_mutated_commands_after_a_valid_prefix(
    prefix: int, mutations: list[tuple[bytes, bytes, int]]
) -> None:
    """10,000 examples x 5 mutated commands after a valid prefix (deep states: after GPO,
    after the ARQC, during scripts)."""
    card = _fresh(IMAGE)
    for previous in PREFIX[:prefix]:
        assert _proper(card.transmit(previous))
    for command, flips, resize in mutations:
        assert _proper(card.transmit(_mutate(command, flips, resize)))

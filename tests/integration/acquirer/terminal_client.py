"""A test POS terminal that talks to the acquirer over real TCP, the way a terminal would.

It holds its TMK in clear (formed from the two printed components by XOR, each checked
against its check value) and does its own cryptography with :mod:`zhifu.crypto`: unwrapping
the working keys of a sign-on, checking their 4-byte check values, computing the POS "ECB"
MAC. Loaded by ``conftest.py`` (pytest runs with ``--import-mode=importlib``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools

from zhifu.acquirer import AcquirerConfig, AcquirerHost, AcquirerServer, register_terminal
from zhifu.codec.tlv import Tlv, find, tlv
from zhifu.crypto.cipher import Cipher, decrypt_ecb, xor
from zhifu.crypto.kcv import kcv
from zhifu.crypto.mac import mac_cup_ecb
from zhifu.iso8583 import Frame, Header, Message, Tpdu, decode, encode, frame, read_frame
from zhifu.iso8583.fields_62 import (
    build_download_request,
    build_query_request,
    parse_download_response,
    parse_query_response,
    parse_sign_on_keys,
)
from zhifu.iso8583.mac import sign, verify

TMK_CIPHERS = {"3des": Cipher.TDES, "sm4": Cipher.SM4, "des": Cipher.DES}
TPDU = Tpdu("6000030000")
HEADER = Header("613100311108")


class TerminalError(AssertionError):
    """The host answered something a real terminal would reject."""


@dataclasses.dataclass
class WorkingKeys:
    """Clear working keys recovered from a sign-on, with their ciphers."""

    code: str
    pik: bytes
    pik_cipher: Cipher
    mak: bytes
    mak_cipher: Cipher
    tdk: bytes | None
    tdk_cipher: Cipher | None


def form_tmk(components: list[tuple[str, str]], algorithm: str, tmk_kcv: str) -> bytes:
    """XOR the printed components (hex, KCV), checking each KCV and the TMK's."""
    cipher = TMK_CIPHERS[algorithm]
    key = b""
    for number, (component_hex, component_kcv) in enumerate(components, start=1):
        part = bytes.fromhex(component_hex)
        if kcv(cipher, part).hex().upper() != component_kcv:
            raise TerminalError(f"component {number} does not match its check value")
        key = part if not key else xor(key, part)
    if kcv(cipher, key).hex().upper() != tmk_kcv:
        raise TerminalError("the formed TMK does not match the printed TMK check value")
    return key


class TestTerminal:
    """One terminal: a connection, a STAN counter, a batch, keys."""

    __test__ = False  # not a pytest class

    def __init__(self, terminal_id: str, merchant_id: str, tmk: bytes, algorithm: str) -> None:
        self.terminal_id = terminal_id
        self.merchant_id = merchant_id
        self.tmk = tmk
        self.tmk_cipher = TMK_CIPHERS[algorithm]
        self.batch = "000000"
        self.keys: WorkingKeys | None = None
        self.last_header: Header | None = None
        self._stan = itertools.count(1)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    # --- connection ---------------------------------------------------------------------------

    async def connect(
        self, port: int, host: str = "127.0.0.1", source: str | None = None
    ) -> TestTerminal:
        """Connect, from the local address ``source`` when given (127.0.0.2 is loopback too)."""
        local = None if source is None else (source, 0)
        self._reader, self._writer = await asyncio.open_connection(host, port, local_addr=local)
        return self

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()

    def frame_of(self, message: Message, *, with_mac: bool = False) -> bytes:
        body = sign(message, self.mac) if with_mac else encode(message)
        return frame(TPDU, HEADER, body)

    async def send_raw(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def receive(self, timeout: float = 10.0) -> tuple[Frame, Message]:
        assert self._reader is not None
        received = await asyncio.wait_for(read_frame(self._reader), timeout)
        if received is None:
            raise ConnectionError("the host closed the connection")
        if received.tpdu.hex != TPDU.reply().hex:
            raise TerminalError("the response TPDU is not the request's, swapped")
        self.last_header = received.header
        return received, decode(received.message)

    async def exchange(self, message: Message, *, with_mac: bool = False) -> Message:
        await self.send_raw(self.frame_of(message, with_mac=with_mac))
        _, response = await self.receive()
        expected_mti = message.mti[:2] + str(int(message.mti[2]) + 1) + message.mti[3]
        if response.mti != expected_mti:
            raise TerminalError(f"asked {message.mti}, got {response.mti}")
        if "11" in message and response.get("11") != message["11"]:
            raise TerminalError("the response STAN is not the request's")
        return response

    # --- messages -----------------------------------------------------------------------------

    def stan(self) -> str:
        return f"{next(self._stan):06d}"

    def management(self, mti: str, code: str, extra: dict[str, str] | None = None) -> Message:
        fields = {
            "11": self.stan(),
            "41": self.terminal_id,
            "42": self.merchant_id,
            "60": f"00{self.batch}{code}",
        }
        return Message(mti, {**fields, **(extra or {})})

    async def sign_on(self, code: str) -> Message:
        """Sign on, recover and check the working keys, take the new batch."""
        response = await self.exchange(self.management("0800", code, {"63": "001"}))
        if response["39"] != "00":
            return response
        self.keys = self.recover_keys(bytes.fromhex(response["62"]), code)
        self.batch = response["60"][2:8]
        return response

    def _unwrap(self, block: bytes) -> bytes:
        return decrypt_ecb(self.tmk_cipher, self.tmk, block)

    def _checked(self, cipher: Cipher, key: bytes, cv: bytes, name: str) -> bytes:
        if kcv(cipher, key, 4) != cv:
            raise TerminalError(f"the {name} does not match its check value")
        return key

    def recover_keys(self, field_62: bytes, code: str) -> WorkingKeys:
        """Decrypt each key with the TMK and check its 4-byte check value."""
        wrapped = parse_sign_on_keys(field_62, code)
        if code == "001":
            pik_cipher = mak_cipher = Cipher.DES
        elif code in ("005", "006"):
            pik_cipher = mak_cipher = Cipher.SM4
        else:
            pik_cipher = Cipher.TDES
            mak_cipher = Cipher.DES if wrapped.mak_single_length else Cipher.TDES
        mak_block = wrapped.mak[:8] if mak_cipher is Cipher.DES else wrapped.mak
        pik = self._checked(pik_cipher, self._unwrap(wrapped.pik), wrapped.pik_cv, "PIK")
        mak = self._checked(mak_cipher, self._unwrap(mak_block), wrapped.mak_cv, "MAK")
        tdk = tdk_cipher = None
        if wrapped.tdk is not None and wrapped.tdk_cv is not None:
            tdk_cipher = pik_cipher
            tdk = self._checked(tdk_cipher, self._unwrap(wrapped.tdk), wrapped.tdk_cv, "TDK")
        return WorkingKeys(code, pik, pik_cipher, mak, mak_cipher, tdk, tdk_cipher)

    def mac(self, mab: bytes) -> bytes:
        assert self.keys is not None, "sign on first"
        return mac_cup_ecb(self.keys.mak_cipher, self.keys.mak, mab)

    def verify_response_mac(self, response: Message) -> bool:
        return verify(encode(response), self.mac)

    async def echo(self) -> Message:
        return await self.exchange(self.management("0820", "301"))

    async def sign_off(self) -> Message:
        return await self.exchange(self.management("0820", "002"))

    def sale(self, amount_fen: int, pan: str = "6217857600008050804") -> Message:
        return Message("0200", {
            "2": pan, "3": "000000", "4": f"{amount_fen:012d}", "11": self.stan(),
            "22": "051", "25": "00", "41": self.terminal_id, "42": self.merchant_id,
            "49": "156", "60": f"22{self.batch}000",
        })  # fmt: skip

    # --- downloads ----------------------------------------------------------------------------

    async def query(self, code: str) -> list[list[Tlv]]:
        """Every record of a CAPK/AID query, page after page."""
        records: list[list[Tlv]] = []
        pages = 0
        while True:
            request = self.management("0820", code, {"62": build_query_request(len(records)).hex()})
            response = await self.exchange(request)
            if response["39"] != "00":
                raise TerminalError(f"query {code} answered {response['39']}")
            status, page = parse_query_response(bytes.fromhex(response["62"]))
            records += page
            pages += 1
            if status != "2" or pages > 50:
                return records

    async def download(self, code: str, key: list[Tlv]) -> list[Tlv] | None:
        request = self.management("0800", code, {"62": build_download_request(key).hex()})
        response = await self.exchange(request)
        if response["39"] != "00":
            raise TerminalError(f"download {code} answered {response['39']}")
        status, record = parse_download_response(bytes.fromhex(response["62"]))
        return record if status == "1" else None

    async def end_download(self, code: str) -> Message:
        return await self.exchange(self.management("0800", code))

    async def download_capks(self) -> list[list[Tlv]]:
        """Query RSA (372) and SM2 (373) keys, download each (370), end (371)."""
        whole = []
        for query_code in ("372", "373"):
            for short in await self.query(query_code):
                key = [item for item in short if item.tag_hex in ("9F06", "9F22")]
                record = await self.download("370", key)
                if record is None:
                    raise TerminalError("a listed CA public key could not be downloaded")
                whole.append(record)
        await self.end_download("371")
        return whole

    async def download_aids(self) -> list[list[Tlv]]:
        """Query AIDs (382), download each (380), end (381)."""
        whole = []
        for short in await self.query("382"):
            aid = find(short, "9F06")
            assert aid is not None
            record = await self.download("380", [tlv("9F06", aid.value)])
            if record is None:
                raise TerminalError("a listed AID could not be downloaded")
            whole.append(record)
        await self.end_download("381")
        return whole


# --- the host side of a test --------------------------------------------------------------------


async def start_acquirer(**settings: object) -> AcquirerServer:
    """An in-memory acquirer listening on a free port."""
    config = AcquirerConfig(**{"port": 0, **settings})  # type: ignore[arg-type]
    server = AcquirerServer(config, AcquirerHost.in_memory(config), owns_host=True)
    await server.start()
    return server


def enrol(
    host: AcquirerHost,
    terminal_id: str,
    algorithm: str = "3des",
    merchant_id: str = "898100012345678",
) -> TestTerminal:
    """Register a terminal at the host and build the test terminal from the printed parts."""
    services = host.services
    reg = register_terminal(services.registry, services.hsm, merchant_id, terminal_id,
                            algorithm=algorithm)  # fmt: skip
    printed = [(c.material.reveal().hex().upper(), c.kcv) for c in reg.components]
    tmk = form_tmk(printed, algorithm, reg.tmk_kcv)
    return TestTerminal(terminal_id, merchant_id, tmk, algorithm)

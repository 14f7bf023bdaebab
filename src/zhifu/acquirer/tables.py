"""The acquirer's parameter tables: CA public keys and IC parameters (AIDs), served in pages.

Both live in the acquirer database and are seeded on first use: the CA public keys a terminal
needs for cards issued by zhifu (:func:`zhifu.card.personalise.capk_table`: test CA RSA index
80, SM2 index 81) and the four UnionPay AIDs (debit, credit, quasi-credit, e-cash) with the
parameters POS applications commonly load for them (TACs D84000A800 / D84004F800 /
0010000000, floor limit 0, DDOL 9F3704, limits of 1,000.00 yuan; public POS applications,
code-index ids 38594421243 and 10050934146). Every change bumps the table's version, so the
host can tell a terminal to download again (header processing requirement 4 or 5).

Records are TLV, as field 62 carries them (:mod:`zhifu.iso8583.fields_62`):

* query (0820, 60.3 372 RSA keys / 373 SM2 keys / 382 AIDs): from a start index, at most
  ``page_size`` short records (CAPK: 9F06 RID, 9F22 index, DF05 expiry = 23 bytes; AID: 9F06),
  with status ``1`` when the list ends in this page, ``2`` when more follow, ``0`` when
  nothing is left;
* download (0800, 370 / 380): the whole record for a key (9F06 + 9F22, or 9F06).

>>> from zhifu.acquirer.database import Database
>>> tables = ParameterTables(Database())
>>> [c.index for c in tables.capks()], [a.aid for a in tables.aids()][:2]
([128, 129], ['A000000333010101', 'A000000333010102'])
>>> status, records = tables.query("aid", start=0, page_size=3)
>>> status, [r[0].value.hex().upper() for r in records]
('2', ['A000000333010101', 'A000000333010102', 'A000000333010103'])
>>> tables.query("aid", start=3, page_size=3)[0], tables.query("aid", start=4, page_size=3)[0]
('1', '0')
>>> [item.tag_hex for item in tables.capk_query_record(tables.capks()[0])]
['9F06', '9F22', 'DF05']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Final

from zhifu.acquirer.database import Database
from zhifu.card.personalise import capk_table
from zhifu.codec.tlv import Tlv, find, tlv
from zhifu.core.errors import UsageError

__all__ = [
    "AID_DEFAULTS",
    "TABLES",
    "AidParameters",
    "CaPublicKey",
    "ParameterTables",
]

TABLES: Final = ("capk", "aid")
PK_RSA, PK_SM2 = 1, 4
DEFAULT_EXPIRY = "20491231"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS capk (
    rid TEXT NOT NULL, idx INTEGER NOT NULL, expiry TEXT NOT NULL, hash_algorithm INTEGER
    NOT NULL, pk_algorithm INTEGER NOT NULL, modulus TEXT NOT NULL, exponent TEXT NOT NULL,
    checksum TEXT NOT NULL, PRIMARY KEY (rid, idx));
CREATE TABLE IF NOT EXISTS aid (
    aid TEXT PRIMARY KEY, label TEXT NOT NULL, asi INTEGER NOT NULL, app_version TEXT NOT NULL,
    tac_default TEXT NOT NULL, tac_online TEXT NOT NULL, tac_denial TEXT NOT NULL,
    floor_limit INTEGER NOT NULL, threshold INTEGER NOT NULL, max_target_percent INTEGER
    NOT NULL, target_percent INTEGER NOT NULL, ddol TEXT NOT NULL, online_pin INTEGER NOT NULL,
    ec_limit INTEGER NOT NULL, cl_floor_limit INTEGER NOT NULL, cl_limit INTEGER NOT NULL,
    cvm_limit INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS table_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
"""


@dataclasses.dataclass(frozen=True)
class CaPublicKey:
    """One CA public key of the CAPK table (RID + index), hex text for the byte values."""

    rid: str
    index: int
    expiry: str
    hash_algorithm: int
    pk_algorithm: int
    modulus: str
    exponent: str
    checksum: str

    @classmethod
    def from_capk_record(cls, record: dict[str, Any], expiry: str = DEFAULT_EXPIRY) -> CaPublicKey:
        """From :meth:`zhifu.card.oda.methods.CaKey.capk_record` output."""
        return cls(
            record["rid"], int(record["index"]), expiry, int(record["hash_algorithm"]),
            int(record["pk_algorithm"]), record["modulus"], record["exponent"], record["checksum"],
        )  # fmt: skip

    def to_tlv(self) -> list[Tlv]:
        """The download record: 9F06 9F22 DF05 DF06 DF07 DF02 [DF04] DF03 (no DF04 for SM2)."""
        items = [
            tlv("9F06", bytes.fromhex(self.rid)),
            tlv("9F22", bytes([self.index])),
            tlv("DF05", self.expiry.encode("ascii")),
            tlv("DF06", bytes([self.hash_algorithm])),
            tlv("DF07", bytes([self.pk_algorithm])),
            tlv("DF02", bytes.fromhex(self.modulus)),
        ]
        if self.exponent:
            items.append(tlv("DF04", bytes.fromhex(self.exponent)))
        items.append(tlv("DF03", bytes.fromhex(self.checksum)))
        return items


def _bcd(value: int, digits: int) -> bytes:
    return bytes.fromhex(f"{value:0{digits}d}")


@dataclasses.dataclass(frozen=True)
class AidParameters:
    """IC parameters of one AID; amounts in fen (minor units), byte values as hex text."""

    aid: str
    label: str
    asi: int = 0
    app_version: str = "0020"
    tac_default: str = "D84000A800"
    tac_online: str = "D84004F800"
    tac_denial: str = "0010000000"
    floor_limit: int = 0
    threshold: int = 0
    max_target_percent: int = 99
    target_percent: int = 99
    ddol: str = "9F3704"
    online_pin: int = 1
    ec_limit: int = 100_000
    cl_floor_limit: int = 100_000
    cl_limit: int = 100_000
    cvm_limit: int = 100_000

    def to_tlv(self) -> list[Tlv]:
        """The download record, tags as POS applications load them (DOWNLOAD_TAG_NAMES)."""
        return [
            tlv("9F06", bytes.fromhex(self.aid)),
            tlv("DF01", bytes([self.asi])),
            tlv("9F08", bytes.fromhex(self.app_version)),
            tlv("DF11", bytes.fromhex(self.tac_default)),
            tlv("DF12", bytes.fromhex(self.tac_online)),
            tlv("DF13", bytes.fromhex(self.tac_denial)),
            tlv("9F1B", self.floor_limit.to_bytes(4, "big")),
            tlv("DF15", self.threshold.to_bytes(4, "big")),
            tlv("DF16", _bcd(self.max_target_percent, 2)),
            tlv("DF17", _bcd(self.target_percent, 2)),
            tlv("DF14", bytes.fromhex(self.ddol)),
            tlv("DF18", bytes([self.online_pin])),
            tlv("9F7B", _bcd(self.ec_limit, 12)),
            tlv("DF19", _bcd(self.cl_floor_limit, 12)),
            tlv("DF20", _bcd(self.cl_limit, 12)),
            tlv("DF21", _bcd(self.cvm_limit, 12)),
        ]


AID_DEFAULTS: Final = (
    AidParameters("A000000333010101", "UnionPay debit"),
    AidParameters("A000000333010102", "UnionPay credit"),
    AidParameters("A000000333010103", "UnionPay quasi-credit"),
    AidParameters("A000000333010106", "UnionPay e-cash"),
)
"""The UnionPay AIDs with the common POS parameter set."""

_CAPK_FIELDS = [f.name for f in dataclasses.fields(CaPublicKey)]
_AID_FIELDS = [f.name for f in dataclasses.fields(AidParameters)]
_CAPK_COLUMNS = ", ".join(["rid", "idx", *_CAPK_FIELDS[2:]])
_AID_COLUMNS = ", ".join(_AID_FIELDS)


class ParameterTables:
    """CAPK and AID tables in the acquirer database, with versions and paged queries."""

    def __init__(self, db: Database, *, seed: bool = True) -> None:
        self._db = db
        db.ensure_schema(_SCHEMA)
        if seed and self.version("capk") == 0 and self.version("aid") == 0:
            self.seed()

    def seed(self) -> None:
        """Load the default CA public keys and AIDs (one version step for each table)."""
        capks = [CaPublicKey.from_capk_record(record) for record in capk_table()]
        self.put_capks(capks)
        self.put_aids(AID_DEFAULTS)

    # --- versions -----------------------------------------------------------------------------

    def version(self, table: str) -> int:
        """The current version of ``capk`` or ``aid`` (0: never filled)."""
        _check_table(table)
        row = self._db.query_one("SELECT version FROM table_versions WHERE name = ?", (table,))
        return 0 if row is None else int(row[0])

    def _bump(self, cur: Any, table: str) -> None:
        cur.execute(
            "INSERT INTO table_versions VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET version = version + 1",
            (table,),
        )

    # --- CAPK ---------------------------------------------------------------------------------

    def put_capk(self, key: CaPublicKey) -> None:
        """Add or replace a CA public key (RID + index)."""
        self.put_capks([key])

    def put_capks(self, keys: Iterable[CaPublicKey]) -> None:
        """Add or replace CA public keys (one version step)."""
        with self._db.transaction() as cur:
            for key in keys:
                row = dataclasses.astuple(dataclasses.replace(key, rid=key.rid.upper()))
                cur.execute(f"INSERT OR REPLACE INTO capk ({_CAPK_COLUMNS}) VALUES "  # noqa: S608
                            f"({', '.join('?' * len(row))})", row)  # fmt: skip
            self._bump(cur, "capk")

    def delete_capk(self, rid: str, index: int) -> bool:
        """Remove a CA public key; False when there was none."""
        with self._db.transaction() as cur:
            cur.execute("DELETE FROM capk WHERE rid = ? AND idx = ?", (rid.upper(), index))
            gone = cur.rowcount > 0
            if gone:
                self._bump(cur, "capk")
        return gone

    def capks(self, pk_algorithm: int | None = None) -> list[CaPublicKey]:
        """The CA public keys by RID and index (only one public-key algorithm if given)."""
        rows = self._db.query(f"SELECT {_CAPK_COLUMNS} FROM capk ORDER BY rid, idx")  # noqa: S608
        keys = [CaPublicKey(*row) for row in rows]
        return [k for k in keys if pk_algorithm is None or k.pk_algorithm == pk_algorithm]

    def capk(self, rid: str, index: int) -> CaPublicKey | None:
        """One CA public key, or None."""
        row = self._db.query_one(
            f"SELECT {_CAPK_COLUMNS} FROM capk WHERE rid = ? AND idx = ?",  # noqa: S608
            (rid.upper(), index),
        )
        return None if row is None else CaPublicKey(*row)

    @staticmethod
    def capk_query_record(key: CaPublicKey) -> list[Tlv]:
        """The 23-byte query record of a CA public key: 9F06 RID, 9F22 index, DF05 expiry."""
        return key.to_tlv()[:3]

    # --- AID ----------------------------------------------------------------------------------

    def put_aid(self, aid: AidParameters) -> None:
        """Add or replace the parameters of an AID."""
        self.put_aids([aid])

    def put_aids(self, aids: Iterable[AidParameters]) -> None:
        """Add or replace the parameters of AIDs (one version step)."""
        with self._db.transaction() as cur:
            for aid in aids:
                row = dataclasses.astuple(dataclasses.replace(aid, aid=aid.aid.upper()))
                cur.execute(f"INSERT OR REPLACE INTO aid ({_AID_COLUMNS}) VALUES "  # noqa: S608
                            f"({', '.join('?' * len(row))})", row)  # fmt: skip
            self._bump(cur, "aid")

    def delete_aid(self, aid: str) -> bool:
        """Remove an AID; False when there was none."""
        with self._db.transaction() as cur:
            cur.execute("DELETE FROM aid WHERE aid = ?", (aid.upper(),))
            gone = cur.rowcount > 0
            if gone:
                self._bump(cur, "aid")
        return gone

    def aids(self) -> list[AidParameters]:
        """The AIDs, in order."""
        rows = self._db.query(f"SELECT {_AID_COLUMNS} FROM aid ORDER BY aid")  # noqa: S608
        return [AidParameters(*row) for row in rows]

    def aid(self, aid: str) -> AidParameters | None:
        """The parameters of one AID, or None."""
        query = f"SELECT {_AID_COLUMNS} FROM aid WHERE aid = ?"  # noqa: S608
        row = self._db.query_one(query, (aid.upper(),))
        return None if row is None else AidParameters(*row)

    # --- field 62 -----------------------------------------------------------------------------

    def query(
        self, kind: str, *, start: int, page_size: int, pk_algorithm: int | None = None
    ) -> tuple[str, list[list[Tlv]]]:
        """One page of a query: (status ``0``/``1``/``2``, short records from ``start``)."""
        if kind == "capk":
            short = [self.capk_query_record(k) for k in self.capks(pk_algorithm)]
        elif kind == "aid":
            short = [[tlv("9F06", bytes.fromhex(a.aid))] for a in self.aids()]
        else:
            raise UsageError("the table is capk or aid", argument="kind")
        page = short[start : start + page_size]
        if not page:
            return "0", []
        return ("1" if start + len(page) >= len(short) else "2"), page

    def download(self, kind: str, key: list[Tlv]) -> list[Tlv] | None:
        """The whole record named by a download request's key TLV, or None."""
        rid_or_aid = find(key, "9F06")
        if rid_or_aid is None:
            return None
        if kind == "capk":
            index = find(key, "9F22")
            if index is None or len(index.value) != 1:
                return None
            capk = self.capk(rid_or_aid.value.hex(), index.value[0])
            return None if capk is None else capk.to_tlv()
        found = self.aid(rid_or_aid.value.hex())
        return None if found is None else found.to_tlv()


def _check_table(table: str) -> None:
    if table not in TABLES:
        raise UsageError("the table is capk or aid", argument="table")

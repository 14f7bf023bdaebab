"""What the demo world holds, as data: cities, banks, merchants, terminals, cards, wallets.

:mod:`zhifu.cli.demo.world` seeds it into a data directory; :mod:`zhifu.cli.demo.stack` plays
a day on it against a running stack. Names here are the demo's; the files they live in are
under ``$ZHIFU_HOME/demo/`` (``docs/demo.md``).

>>> [c.beps for c in CITIES]
['1000', '2900', '5840']
>>> len(BANKS), len(TERMINALS), len(CARDS)
(5, 6, 18)
>>> TERMINALS[0].tid, TERMINALS[0].merchant.city.name
('10000001', 'beijing')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "ACQUIRING_BANK",
    "BANKS",
    "BARCODE_MERCHANTS",
    "CARDS",
    "CITIES",
    "INSTITUTIONS",
    "ISSUING_BANK",
    "MERCHANTS",
    "PIN",
    "TERMINALS",
    "WALLETS",
    "Bank",
    "BarcodeMerchant",
    "Card",
    "City",
    "Institution",
    "Merchant",
    "Terminal",
    "Wallet",
]

PIN: Final = "1234"
"""Every demo card's PIN (a test card's, documented in docs/demo.md; never printed)."""
FORMAT: Final = "zhifu-demo-world/1"


@dataclass(frozen=True)
class City:
    name: str
    chinese: str
    beps: str  # the BEPS city code (the CCPC's)


BEIJING, SHANGHAI, SHENZHEN = (
    City("beijing", "北京", "1000"),
    City("shanghai", "上海", "2900"),
    City("shenzhen", "深圳", "5840"),
)
CITIES: Final = (BEIJING, SHANGHAI, SHENZHEN)


@dataclass(frozen=True)
class Bank:
    code: str  # 12-digit CNAPS code
    name: str
    city: City


BANKS: Final = (
    Bank("102100099996", "ICBC Beijing 工商银行北京分行", BEIJING),
    Bank("103100000026", "ABC Beijing 农业银行北京分行", BEIJING),
    Bank("104290003791", "BOC Shanghai 中国银行上海分行", SHANGHAI),
    Bank("105584000005", "CCB Shenzhen 建设银行深圳分行", SHENZHEN),
    Bank("308584000013", "CMB Shenzhen 招商银行", SHENZHEN),
)
ISSUING_BANK: Final = BANKS[0].code  # the emulated issuer's cards
ACQUIRING_BANK: Final = BANKS[1].code  # the acquirer's settlement bank


@dataclass(frozen=True)
class Merchant:
    mid: str  # 15 digits
    name: str
    city: City


MERCHANTS: Final = (
    Merchant("898110053110001", "Wangfujing Department Store 王府井百货", BEIJING),
    Merchant("898290058120001", "Bund Noodle House 外滩面馆", SHANGHAI),
    Merchant("898584054110001", "Futian Supermarket 福田超市", SHENZHEN),
)


@dataclass(frozen=True)
class Terminal:
    tid: str
    merchant: Merchant

    @property
    def folder(self) -> str:
        """The state folder, relative to the data directory."""
        return f"demo/terminals/{self.tid}"


TERMINALS: Final = tuple(Terminal(f"{m.city.beps}{n:04d}", m) for m in MERCHANTS for n in (1, 2))


@dataclass(frozen=True)
class Card:
    product: str  # an issuer product: debit, credit, magstripe
    terminal: str  # the terminal (hence the city) it is used at

    @property
    def file(self) -> str:
        return f"demo/cards/{self.terminal}-{self.product}.json"


CARDS: Final = tuple(
    Card(product, t.tid) for t in TERMINALS for product in ("debit", "credit", "magstripe")
)
EXPIRED_CARD: Final = "demo/cards/expired.json"
OPENING: Final = {"debit": 2_000_000, "credit": 5_000_000, "magstripe": 1_000_000}  # fen


@dataclass(frozen=True)
class Institution:
    ident: str  # the barcode platform's institution
    bank: str  # where its reserve funds are (its BEPS participant)

    @property
    def key_id(self) -> str:
        return f"demo-{self.ident}-k1"

    @property
    def key_file(self) -> str:
        return f"demo/barcode/{self.key_id}.pem"


INSTITUTIONS: Final = (
    Institution("zhifu", BANKS[1].code),
    Institution("huanyu", BANKS[2].code),
    Institution("qingniao", BANKS[3].code),
)


@dataclass(frozen=True)
class BarcodeMerchant:
    ident: str
    institution: str
    name: str
    city: City

    @property
    def key_id(self) -> str:
        return f"demo-{self.ident}-k1"

    @property
    def key_file(self) -> str:
        return f"demo/barcode/{self.key_id}.pem"


BARCODE_MERCHANTS: Final = (
    BarcodeMerchant("BJTEA01", "zhifu", "Houhai Tea House 后海茶馆", BEIJING),
    BarcodeMerchant("SHBUN01", "huanyu", "Nanxiang Buns 南翔小笼", SHANGHAI),
    BarcodeMerchant("SZFRUIT01", "qingniao", "Shekou Fruit 蛇口水果", SHENZHEN),
)


@dataclass(frozen=True)
class Wallet:
    institution: str
    customer: str
    account: str

    @property
    def device_file(self) -> str:
        return f"demo/barcode/device-{self.account}.json"


WALLETS: Final = (
    Wallet("zhifu", "CZ0001", "AZ0001"),
    Wallet("zhifu", "CZ0002", "AZ0002"),
    Wallet("huanyu", "CH0001", "AH0001"),
    Wallet("huanyu", "CH0002", "AH0002"),
    Wallet("qingniao", "CQ0001", "AQ0001"),
)
WALLET_TOP_UP: Final = 500_000  # 5,000.00 yuan, once

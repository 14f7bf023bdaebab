"""The chart of accounts (会计科目表) of the whole zhifu system, as data.

One ledger per currency: the ledger number is the ISO 4217 numeric code (CNY = 156). An
account's ``code`` is its chart code: the first four digits are the first-level account of the
Chinese chart for financial enterprises (《企业会计准则——应用指南》附录 会计科目, e.g. 1003 存放
中央银行款项, 2011 吸收存款, 3001 清算资金往来, 6021 手续费及佣金收入); the fifth digit is
zhifu's own sub-account. Codes fit TigerBeetle's 16-bit ``code``.

The normal balance side says which side an account's balance normally sits on (assets and
expenses: debit; liabilities, income: credit); clearing and suspense accounts should come back
to zero. ``flags`` are the limits zhifu opens the account with: a customer's deposit can never
be overdrawn (debits must not exceed credits), a bank's reserve at the central bank can never
go below zero (credits must not exceed debits).

>>> entry = BY_KEY["customer_deposits"]
>>> entry.code, entry.name_zh, entry.side
(20111, '吸收存款—个人活期存款', <Side.CREDIT: 'credit'>)
>>> BY_CODE[10031].name_en
'Reserve account at the PBOC (SAPS settlement account)'
>>> LEDGER_CNY
156
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from zhifu.ledger.model import AccountFlags

LEDGER_CNY: Final = 156  # ISO 4217 numeric code of the yuan

_NO_OVERDRAFT: Final = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
_NOT_BELOW_ZERO: Final = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS


class Side(Enum):
    """The side on which an account's balance normally sits."""

    DEBIT = "debit"
    CREDIT = "credit"


class Kind(Enum):
    """The class of the account (the first digit of its code)."""

    ASSET = 1
    LIABILITY = 2
    CLEARING = 3  # 共同类: clearing and settlement accounts, normally back to zero
    INCOME_EXPENSE = 6  # 损益类


@dataclass(frozen=True, slots=True)
class ChartEntry:
    """One account type of the chart."""

    code: int
    key: str
    name_zh: str
    name_en: str
    side: Side
    flags: AccountFlags = AccountFlags.NONE
    settles_to_zero: bool = False

    @property
    def kind(self) -> Kind:
        return Kind(self.code // 10_000)

    @property
    def first_level(self) -> int:
        """The first-level (four-digit) account of the national chart."""
        return self.code // 10


CHART: Final[tuple[ChartEntry, ...]] = (
    ChartEntry(
        10031,
        "pboc_reserve",
        "存放中央银行款项—清算账户（大额支付系统）",
        "Reserve account at the PBOC (SAPS settlement account)",
        Side.DEBIT,
        _NOT_BELOW_ZERO,
    ),
    ChartEntry(
        10032,
        "pboc_required_reserve",
        "存放中央银行款项—法定存款准备金",
        "Required reserve at the PBOC",
        Side.DEBIT,
        _NOT_BELOW_ZERO,
    ),
    ChartEntry(
        10111,
        "reserve_funds_custody",
        "存放同业—客户备付金存管账户",
        "Payment institution: customer reserve funds (备付金) held in custody",
        Side.DEBIT,
        _NOT_BELOW_ZERO,
    ),
    ChartEntry(
        10112,
        "due_from_banks",
        "存放同业—同业活期存款",
        "Due from other banks",
        Side.DEBIT,
        _NOT_BELOW_ZERO,
    ),
    ChartEntry(
        12211,
        "suspense_debit",
        "其他应收款—待处理清算差错（暂付）",
        "Suspense: unresolved clearing differences paid out",
        Side.DEBIT,
        settles_to_zero=True,
    ),
    ChartEntry(
        13031,
        "credit_card_accounts",
        "贷款—信用卡透支",
        "Credit card accounts: what each cardholder owes (the limit is the issuer's rule)",
        Side.DEBIT,
    ),
    ChartEntry(
        20111,
        "customer_deposits",
        "吸收存款—个人活期存款",
        "Customer demand deposits (personal)",
        Side.CREDIT,
        _NO_OVERDRAFT,
    ),
    ChartEntry(
        20112,
        "corporate_deposits",
        "吸收存款—单位活期存款",
        "Customer demand deposits (corporate)",
        Side.CREDIT,
        _NO_OVERDRAFT,
    ),
    ChartEntry(
        20113,
        "card_ecash_pool",
        "吸收存款—IC卡电子现金",
        "Card e-cash (电子现金) pool: balances held on chip cards",
        Side.CREDIT,
        _NO_OVERDRAFT,
    ),
    ChartEntry(
        22411,
        "customer_reserve_funds",
        "其他应付款—客户备付金（支付账户余额）",
        "Payment institution: customer reserve funds owed (payment account balances)",
        Side.CREDIT,
        _NO_OVERDRAFT,
    ),
    ChartEntry(
        22412,
        "merchant_settlement",
        "其他应付款—待结算商户款",
        "Merchant settlement payable",
        Side.CREDIT,
        _NO_OVERDRAFT,
    ),
    ChartEntry(
        22419,
        "suspense_credit",
        "其他应付款—待处理清算差错（暂收）",
        "Suspense: unresolved clearing differences received",
        Side.CREDIT,
        settles_to_zero=True,
    ),
    ChartEntry(
        30011,
        "acquirer_clearing",
        "清算资金往来—收单清算",
        "Acquirer clearing: due from issuers through the card scheme",
        Side.DEBIT,
        settles_to_zero=True,
    ),
    ChartEntry(
        30012,
        "issuer_clearing",
        "清算资金往来—发卡清算",
        "Issuer clearing: due to acquirers through the card scheme",
        Side.CREDIT,
        settles_to_zero=True,
    ),
    ChartEntry(
        30013,
        "interbank_settlement",
        "清算资金往来—跨行清算（网上支付跨行清算/小额）",
        "Interbank net settlement (IBPS/BEPS)",
        Side.CREDIT,
        settles_to_zero=True,
    ),
    ChartEntry(
        60211,
        "fee_income_acquiring",
        "手续费及佣金收入—收单手续费",
        "Fee income: merchant discount (acquiring)",
        Side.CREDIT,
    ),
    ChartEntry(
        60212,
        "fee_income_issuing",
        "手续费及佣金收入—发卡行服务费",
        "Fee income: issuer interchange",
        Side.CREDIT,
    ),
    ChartEntry(
        64211,
        "fee_expense_network",
        "手续费及佣金支出—网络服务费",
        "Fee expense: card scheme network fees",
        Side.DEBIT,
    ),
)

BY_CODE: Final = {entry.code: entry for entry in CHART}
BY_KEY: Final = {entry.key: entry for entry in CHART}

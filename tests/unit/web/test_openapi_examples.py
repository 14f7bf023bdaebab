"""The OpenAPI examples of the barcode API: one real story, checked against the code that makes
such values (a huanyu customer pays 12.34 yuan at merchant M100001 of zhifu, then gets 6.17
back), and the document shows exactly those examples, never random strings."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from zhifu.barcode.api import schemas as s
from zhifu.barcode.api.errors import ERRORS
from zhifu.barcode.api.signing import load_public_key
from zhifu.barcode.codes.classify import classify
from zhifu.barcode.model import Merchant
from zhifu.barcode.platform.postings import fee_for, fee_refund_for
from zhifu.barcode.registry import PREFIXES, CollectionKind
from zhifu.core.clock import SHANGHAI
from zhifu.web.app import create_app
from zhifu.web.errors import ERROR_DOC_BASE
from zhifu.web.openapi import body_types

NEW_ID = re.compile(r"(?P<date>\d{8})[0-9A-HJKMNP-TV-Z]{16}")  # Flows.new_id after the prefix


def examples(kind: type[msgspec.Struct]) -> dict[str, Any]:
    """The example of each field of ``kind`` that has one (from its ``Meta(examples=[...])``)."""
    found = {}
    for name, hint in typing.get_type_hints(kind, include_extras=True).items():
        annotations = [hint, *typing.get_args(hint)]  # X, or the members of X | None
        metas = [m for a in annotations for m in getattr(a, "__metadata__", ())]
        given = [m.examples for m in metas if isinstance(m, msgspec.Meta) and m.examples]
        if given:
            assert len(given) == 1 and len(given[0]) == 1, f"{kind.__name__}.{name}: one example"
            found[name] = given[0][0]
    return found


def _needs_no_example(hint: Any) -> bool:
    """A nested body (its own fields have examples) or a one-value Literal (its only value)."""
    base = hint.__origin__ if typing.get_origin(hint) is typing.Annotated else hint
    inner = typing.get_args(base)[0] if typing.get_origin(base) is list else base
    if isinstance(inner, type) and issubclass(inner, msgspec.Struct):
        return True
    return typing.get_origin(base) is typing.Literal and len(typing.get_args(base)) == 1


@pytest.fixture(scope="module")
def document() -> Iterator[dict[str, Any]]:
    with TestClient(app=create_app()) as client:
        yield client.get("/schema/openapi.json").json()


def test_every_field_has_an_example() -> None:
    kinds = body_types()
    assert s.MicropayRequest in kinds and s.ErrorOut in kinds
    missing = [
        f"{kind.__name__}.{name}"
        for kind in kinds
        for name, hint in typing.get_type_hints(kind, include_extras=True).items()
        if name not in examples(kind) and not _needs_no_example(hint)
    ]
    assert missing == []


@pytest.mark.parametrize("kind", body_types(), ids=lambda kind: kind.__name__)
def test_each_example_is_a_valid_body(kind: type[msgspec.Struct]) -> None:
    example = _composed(kind)
    body = msgspec.json.encode(example)
    if kind.__name__.endswith("Request"):
        decoded = s.decode_strict(body, kind)  # the API would accept it
    else:
        decoded = msgspec.convert(msgspec.json.decode(body), kind, strict=True)
    assert msgspec.to_builtins(decoded) == {**msgspec.to_builtins(decoded), **example}


def test_the_payment_code_is_a_huanyu_code() -> None:
    code = examples(s.MicropayRequest)["auth_code"]
    rule = PREFIXES.lookup(code)
    assert rule is not None and rule.institution == examples(s.OrderOut)["payer_institution"]
    assert len(code) == 18


def test_the_amounts_add_up() -> None:
    pay, order = examples(s.MicropayRequest), examples(s.OrderOut)
    refund_in, refund = examples(s.RefundRequest), examples(s.RefundOut)
    assert pay["amount"] == order["amount"] == examples(s.ObligationOut)["amount"]
    fee_bp = Merchant(pay["merchant_id"], order["acquirer"], "Demo Noodles").fee_bp
    assert order["fee"] == fee_for(order["amount"], fee_bp)
    assert refund_in["amount"] == refund["amount"] <= order["amount"] - order["refunded"]
    assert refund["fee_refund"] == fee_refund_for(
        fee=order["fee"], amount=order["amount"], refunded_before=0, refund=refund["amount"]
    )


def test_the_ids_and_times_belong_together() -> None:
    pay, order, refund = examples(s.MicropayRequest), examples(s.OrderOut), examples(s.RefundOut)
    owed = examples(s.ObligationOut)
    for key in ("merchant_id", "out_trade_no", "terminal_id", "description"):
        assert pay[key] == order[key], key
    day = datetime.fromisoformat(order["created_at"]).astimezone(SHANGHAI).date()
    for prefix, value in (("O", order["order_id"]), ("P", order["payment_id"])):
        found = NEW_ID.fullmatch(value.removeprefix(prefix))
        assert value.startswith(prefix) and found and found["date"] == f"{day:%Y%m%d}", value
    assert NEW_ID.fullmatch(refund["refund_id"].removeprefix("R"))
    assert refund["order_id"] == order["order_id"] == owed["order_id"]
    assert refund["out_refund_no"] == examples(s.RefundRequest)["out_refund_no"]
    assert order["paid_at"] > order["created_at"] and refund["created_at"] > order["paid_at"]
    assert (owed["payer"], owed["payee"]) == (order["payer_institution"], order["acquirer"])
    assert owed["reference"] == order["payment_id"]
    assert owed["obligation_id"] == f"OB-{owed['reference']}"
    assert date.fromisoformat(owed["business_date"]) == day
    assert examples(s.ObligationList)["business_date"] == owed["business_date"]


def test_the_wallet_pays_a_static_code_of_the_same_merchant() -> None:
    wallet, resolved = examples(s.WalletPayRequest), examples(s.ResolveOut)
    assert wallet["code"] == examples(s.ResolveRequest)["code"]
    found = classify(wallet["code"])
    assert found.valid and found.institution == resolved["acquirer"]
    assert found.collection is not None
    assert resolved["kind"] == found.collection.kind == CollectionKind.STATIC_MERCHANT
    assert resolved["merchant_id"] == examples(s.MicropayRequest)["merchant_id"]


def test_the_key_and_the_error_are_real() -> None:
    key = examples(s.KeyOut)
    algorithm, _ = load_public_key(key["public_key_pem"])
    assert algorithm == key["algorithm"]
    assert key["principal"] == f"merchant:{examples(s.MicropayRequest)['merchant_id']}"
    assert key["key_id"].startswith(examples(s.MicropayRequest)["merchant_id"])
    error = examples(s.ErrorDetail)
    assert error["message"] == ERRORS[error["code"]][1]
    assert error["doc_url"] == f"{ERROR_DOC_BASE}#{error['code']}"


def _composed(kind: type[msgspec.Struct]) -> dict[str, Any]:
    """The whole example of a body: its fields' examples, the only value of a one-value
    Literal, nested bodies composed alike (a list of them: a list of one)."""
    value = dict(examples(kind))
    for name, hint in typing.get_type_hints(kind).items():
        if name in value:
            continue
        if typing.get_origin(hint) is typing.Literal:
            value[name] = typing.get_args(hint)[0]
        elif typing.get_origin(hint) is list:
            value[name] = [_composed(typing.get_args(hint)[0])]
        else:
            value[name] = _composed(hint)
    return value


def test_the_document_shows_these_examples_not_random_ones(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    shown = {name: c["examples"] for name, c in components.items() if "examples" in c}
    assert {"OrderOut", "RefundOut", "ErrorOut", "ObligationList"} <= set(shown)
    kinds = {kind.__name__: kind for kind in body_types()}
    for name, value in shown.items():
        assert value == [_composed(kinds[name])], name
    properties = components["MicropayRequest"]["properties"]
    assert properties["auth_code"]["examples"] == [examples(s.MicropayRequest)["auth_code"]]
    assert properties["amount"]["examples"] == [1234]

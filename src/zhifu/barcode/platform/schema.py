"""The tables of the barcode platform database (:mod:`zhifu.barcode.platform.db`).

Instants are integer microseconds since the Unix epoch; amounts integer fen.

>>> "CREATE TABLE IF NOT EXISTS orders" in SCHEMA
True
"""

from __future__ import annotations

from typing import Final

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS api_keys (
  key_id TEXT PRIMARY KEY, principal TEXT NOT NULL, algorithm TEXT NOT NULL,
  public_key TEXT NOT NULL, created_us INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS merchants (
  merchant_id TEXT PRIMARY KEY, institution TEXT NOT NULL, name TEXT NOT NULL,
  kind TEXT NOT NULL, mcc TEXT NOT NULL, fee_bp INTEGER NOT NULL, notify_url TEXT)
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS collection_codes (
  token TEXT PRIMARY KEY, institution TEXT NOT NULL, merchant_id TEXT NOT NULL,
  kind TEXT NOT NULL, created_us INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wallet_accounts (
  institution TEXT NOT NULL, account_id TEXT NOT NULL, customer_id TEXT NOT NULL,
  agreed_limit INTEGER NOT NULL, PRIMARY KEY (institution, account_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
  institution TEXT NOT NULL, handle TEXT NOT NULL, customer_id TEXT NOT NULL,
  account_id TEXT NOT NULL, grade TEXT NOT NULL, PRIMARY KEY (institution, handle))
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders (
  order_id TEXT PRIMARY KEY, institution TEXT NOT NULL, merchant_id TEXT NOT NULL,
  out_trade_no TEXT NOT NULL, direction TEXT NOT NULL, amount INTEGER NOT NULL,
  description TEXT NOT NULL, status TEXT NOT NULL, created_us INTEGER NOT NULL,
  expires_us INTEGER, code_token TEXT, paid_us INTEGER, payment_id TEXT,
  payer_institution TEXT, fee INTEGER NOT NULL DEFAULT 0,
  refunded INTEGER NOT NULL DEFAULT 0, terminal_id TEXT,
  UNIQUE (merchant_id, out_trade_no)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS orders_token ON orders (code_token)
  WHERE code_token IS NOT NULL;
CREATE TABLE IF NOT EXISTS payments (
  payment_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, issuer TEXT NOT NULL,
  acquirer TEXT NOT NULL, customer_id TEXT NOT NULL, account_id TEXT NOT NULL,
  amount INTEGER NOT NULL, fee INTEGER NOT NULL, grade TEXT NOT NULL,
  business_date TEXT NOT NULL, status TEXT NOT NULL, created_us INTEGER NOT NULL,
  failure TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS payments_processing ON payments (created_us)
  WHERE status = 'processing';
CREATE INDEX IF NOT EXISTS payments_failed ON payments (order_id, created_us)
  WHERE status = 'failed';
CREATE TABLE IF NOT EXISTS refunds (
  refund_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, merchant_id TEXT NOT NULL,
  out_refund_no TEXT NOT NULL, amount INTEGER NOT NULL, fee_refund INTEGER NOT NULL,
  status TEXT NOT NULL, created_us INTEGER NOT NULL, reason TEXT NOT NULL,
  UNIQUE (order_id, out_refund_no)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refunds_processing ON refunds (created_us)
  WHERE status = 'processing';
CREATE TABLE IF NOT EXISTS obligations (
  obligation_id TEXT PRIMARY KEY, payer TEXT NOT NULL, payee TEXT NOT NULL,
  amount INTEGER NOT NULL, order_id TEXT NOT NULL, reference TEXT NOT NULL,
  business_date TEXT NOT NULL, created_us INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS obligations_date ON obligations (business_date);
CREATE TABLE IF NOT EXISTS limit_usage (
  institution TEXT NOT NULL, customer_id TEXT NOT NULL, account_id TEXT NOT NULL,
  business_date TEXT NOT NULL, grade TEXT NOT NULL, used INTEGER NOT NULL,
  PRIMARY KEY (institution, customer_id, account_id, business_date, grade)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
  scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint BLOB NOT NULL, owner TEXT NOT NULL,
  status INTEGER, body BLOB, created_us INTEGER NOT NULL, PRIMARY KEY (scope, key))
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nonces (
  key_id TEXT NOT NULL, nonce TEXT NOT NULL, seen_us INTEGER NOT NULL,
  PRIMARY KEY (key_id, nonce)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_seen ON nonces (seen_us);
CREATE TABLE IF NOT EXISTS used_codes (key TEXT PRIMARY KEY, keep_until_us INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  event_id TEXT PRIMARY KEY, merchant_id TEXT NOT NULL, type TEXT NOT NULL,
  url TEXT NOT NULL, payload BLOB NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
  next_us INTEGER NOT NULL, created_us INTEGER NOT NULL, last_error TEXT);
CREATE INDEX IF NOT EXISTS events_due ON events (next_us) WHERE status = 'pending';
"""

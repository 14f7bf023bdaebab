"""SM2 sign / verify / encrypt / decrypt ops/s: zhifu.crypto.sm2 (gmalglib) against candidates.

Candidates: gmalglib used directly (to show the wrapper's cost), gmssl 3.2.2 (pure Python, the
test oracle) and, when installed, gmssl-fast, gmalg and snowland-smx (``pysmx``). A missing
package is reported and skipped. Before timing, every candidate's signature is verified by
zhifu and zhifu's by the candidate, and ciphertexts are decrypted both ways (interop column).

Workload as in docs/standards/dependencies.md §1: 100-byte message, 32-byte plaintext, ZA with the
default ID 1234567812345678, every library with its native formats.

Usage::

    python bench/sm2_candidates.py             # ~0.8 s per measurement
    python bench/sm2_candidates.py --seconds 0.1
"""

# ruff: noqa: PLC0415  (candidate imports are local so that a missing package is skipped)

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "src"))

from bench.harness import fmt_rate, ops_per_second
from zhifu.crypto import sm2

MESSAGE = bytes(range(100))
PLAINTEXT = bytes(range(32))
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
PRIVATE, PUBLIC = sm2.generate_keypair()
D_HEX, XY_HEX = PRIVATE.secret.hex(), PUBLIC.to_bytes("xy").hex()


@dataclass(frozen=True)
class Candidate:
    """Four operations plus converters to zhifu's formats (raw r‖s, C1C3C2 with 04)."""

    label: str
    package: str
    implementation: str
    sign: Callable[[], bytes]
    verify: Callable[[bytes], bool]
    encrypt: Callable[[], bytes]
    decrypt: Callable[[bytes], bytes]
    ct_to_zhifu: Callable[[bytes], bytes] = lambda ct: ct
    ct_from_zhifu: Callable[[bytes], bytes] = lambda ct: ct


def _k_hex() -> str:
    return f"{secrets.randbelow(N - 1) + 1:064x}"


def zhifu_candidate() -> Candidate:
    return Candidate(
        "zhifu.crypto.sm2", "gmalglib", "wrapper over gmalglib (C)",
        lambda: sm2.sign(PRIVATE, MESSAGE),
        lambda sig: sm2.verify(PUBLIC, MESSAGE, sig),
        lambda: sm2.encrypt(PUBLIC, PLAINTEXT),
        lambda ct: sm2.decrypt(PRIVATE, ct),
    )  # fmt: skip


def gmalglib_candidate() -> Candidate:
    from gmalglib.sm2 import SM2

    signer = SM2(sk=PRIVATE.secret, rnd_fn=secrets.token_bytes)
    verifier = SM2(pk=PUBLIC.point, rnd_fn=secrets.token_bytes)
    return Candidate(
        "gmalglib (direct, objects reused)", "gmalglib", "C extension",
        lambda: bytes(signer.sign(MESSAGE)),
        lambda sig: bool(verifier.verify(MESSAGE, sig)),
        lambda: bytes(verifier.encrypt(PLAINTEXT)),
        lambda ct: bytes(signer.decrypt(ct)),
    )  # fmt: skip


def gmssl_candidate() -> Candidate:
    from gmssl import sm2 as gmssl_sm2

    legacy = gmssl_sm2.CryptSM2(private_key=D_HEX, public_key="", mode=1)
    legacy.public_key = XY_HEX  # its constructor would lstrip("04") the key
    return Candidate(
        "gmssl", "gmssl", "pure Python",
        lambda: bytes.fromhex(legacy.sign_with_sm3(MESSAGE, _k_hex())),
        lambda sig: bool(legacy.verify_with_sm3(sig.hex(), MESSAGE)),
        lambda: legacy.encrypt(PLAINTEXT),
        legacy.decrypt,
        ct_to_zhifu=lambda ct: b"\x04" + ct,
        ct_from_zhifu=lambda ct: ct[1:],
    )  # fmt: skip


def gmssl_fast_candidate() -> Candidate:
    import gmssl_fast

    key = gmssl_fast.SM2(private_key=D_HEX, public_key="04" + XY_HEX)
    return Candidate(
        "gmssl-fast", "gmssl-fast", "Rust/PyO3 + static GmSSL",
        lambda: bytes(key.sign(MESSAGE)),
        lambda sig: bool(key.verify(MESSAGE, sig)),
        lambda: bytes(key.encrypt(PLAINTEXT)),
        lambda ct: bytes(key.decrypt(ct)),
        ct_to_zhifu=lambda ct: b"\x04" + ct,
        ct_from_zhifu=lambda ct: ct[1:],
    )  # fmt: skip


def gmalg_candidate() -> Candidate:
    import gmalg

    key = gmalg.SM2(sk=PRIVATE.secret, uid=sm2.DEFAULT_UID, pk=PUBLIC.point)

    def sign() -> bytes:
        r, s = key.sign(MESSAGE)
        return bytes(r).rjust(32, b"\x00") + bytes(s).rjust(32, b"\x00")

    return Candidate(
        "gmalg", "gmalg", "pure Python",
        sign,
        lambda sig: bool(key.verify(MESSAGE, sig[:32], sig[32:])),
        lambda: bytes(key.encrypt(PLAINTEXT)),
        lambda ct: bytes(key.decrypt(ct)),
    )  # fmt: skip


def snowland_candidate() -> Candidate:
    from pysmx.SM2 import Decrypt, Encrypt, Sign, Verify

    uid = sm2.DEFAULT_UID
    return Candidate(
        "snowland-smx (pysmx)", "snowland-smx", "pure Python",
        lambda: bytes(Sign(MESSAGE, PRIVATE.secret, _k_hex(), 64, uid=uid)),
        lambda sig: bool(Verify(sig, MESSAGE, XY_HEX, 64, uid=uid)),
        lambda: bytes(Encrypt(PLAINTEXT, XY_HEX, 64)),
        lambda ct: bytes(Decrypt(ct, D_HEX, 64) or b""),
        ct_to_zhifu=lambda ct: b"\x04" + ct,
        ct_from_zhifu=lambda ct: ct[1:],
    )  # fmt: skip


BUILDERS = (
    zhifu_candidate,
    gmalglib_candidate,
    gmssl_candidate,
    gmssl_fast_candidate,
    gmalg_candidate,
    snowland_candidate,
)


def interop(c: Candidate) -> str:
    """Both-way signature and ciphertext exchange with zhifu, and the C3 check."""
    try:
        ok = sm2.verify(PUBLIC, MESSAGE, c.sign())
        ok = ok and c.verify(sm2.sign(PRIVATE, MESSAGE))
        ok = ok and sm2.decrypt(PRIVATE, c.ct_to_zhifu(c.encrypt())) == PLAINTEXT
        ok = ok and c.decrypt(c.ct_from_zhifu(sm2.encrypt(PUBLIC, PLAINTEXT))) == PLAINTEXT
    except Exception as exc:  # a broken candidate is a result, not a crash
        return f"error: {type(exc).__name__}"
    return "yes" if ok else "NO"


def rejects_tampered(c: Candidate) -> str:
    ct = c.ct_from_zhifu(sm2.encrypt(PUBLIC, PLAINTEXT))
    tampered = ct[:70] + bytes([ct[70] ^ 1]) + ct[71:]  # a byte inside C3
    try:
        out = c.decrypt(tampered)
    except Exception:  # any error is a rejection
        return "yes"
    return "yes" if not out else "**NO**"


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def measure(c: Candidate, seconds: float) -> tuple[float, float, float, float]:
    sig, ct = c.sign(), c.encrypt()
    return (
        ops_per_second(c.sign, seconds=seconds),
        ops_per_second(lambda: c.verify(sig), seconds=seconds),
        ops_per_second(c.encrypt, seconds=seconds),
        ops_per_second(lambda: c.decrypt(ct), seconds=seconds),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.25, help="per repeat (3 repeats)")
    args = parser.parse_args()
    print(f"\n### SM2 candidates ({datetime.date.today().isoformat()}, {platform.machine()}, "
          f"nproc={os.cpu_count()}, Python {platform.python_version()})\n")  # fmt: skip
    print("| library | version | implementation | sign | verify | encrypt | decrypt "
          "| sign/verify vs gmssl | interop with zhifu | rejects tampered C3 |")  # fmt: skip
    print("|---|---|---|---:|---:|---:|---:|---|---|---|")
    rows, skipped = [], []
    for build in BUILDERS:
        try:
            candidate = build()
        except ImportError as exc:
            skipped.append(f"{build.__name__}: {exc}")
            continue
        rows.append((candidate, measure(candidate, args.seconds)))
    base = next((r for c, r in rows if c.package == "gmssl"), None)
    for c, (sign_r, verify_r, enc_r, dec_r) in rows:
        ratio = f"{sign_r / base[0]:.1f}x / {verify_r / base[1]:.1f}x" if base else "-"
        rates = " | ".join(fmt_rate(v) for v in (sign_r, verify_r, enc_r, dec_r))
        print(f"| {c.label} | {version(c.package)} | {c.implementation} | {rates} | {ratio} "
              f"| {interop(c)} | {rejects_tampered(c)} |")  # fmt: skip
    for line in skipped:
        print(f"\nskipped {line}")


if __name__ == "__main__":
    main()

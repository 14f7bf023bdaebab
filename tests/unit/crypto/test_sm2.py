"""Tests of zhifu.crypto.sm2 (GB/T 32918) and zhifu.crypto.sm2_der.

Vectors: docs/standards/card-terminal.md §6.1 T06-T12 = GB/T 32918.5-2017 annex A / GM/T 0003.5 (the
T06-T08 example curve is checked with a small affine reference implementation kept in this
file, because gmalglib only knows sm2p256v1). Differential tests against gmssl 3.2.2 (test-only
dependency) and, when present, the OpenSSL command line.
"""

from __future__ import annotations

import contextlib
import pickle
import random
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from gmalglib.sm2 import SM2
from gmssl import func as gmssl_func
from gmssl import sm2 as gmssl_sm2
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.core.errors import DecodeError, UsageError
from zhifu.crypto import sm2, sm2_der
from zhifu.crypto.errors import CryptoError, InvalidKeyError
from zhifu.crypto.sm2 import Sm2PrivateKey, Sm2PublicKey

# --- a tiny affine reference (test-only; textbook formulas of GB/T 32918.1/.2) ----------------


def _sm3(data: bytes) -> bytes:
    ctx = hashes.Hash(hashes.SM3())
    ctx.update(data)
    return ctx.finalize()


Point = tuple[int, int] | None


@dataclass(frozen=True)
class Curve:
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int

    def add(self, pt1: Point, pt2: Point) -> Point:
        if pt1 is None:
            return pt2
        if pt2 is None:
            return pt1
        (x1, y1), (x2, y2) = pt1, pt2
        if x1 == x2 and (y1 + y2) % self.p == 0:
            return None
        if pt1 == pt2:
            lam = (3 * x1 * x1 + self.a) * pow(2 * y1, -1, self.p) % self.p
        else:
            lam = (y2 - y1) * pow(x2 - x1, -1, self.p) % self.p
        x3 = (lam * lam - x1 - x2) % self.p
        return x3, (lam * (x1 - x3) - y1) % self.p

    def mul(self, k: int, pt: Point) -> Point:
        result: Point = None
        while k:
            if k & 1:
                result = self.add(result, pt)
            pt, k = self.add(pt, pt), k >> 1
        return result

    def za(self, uid: bytes, px: int, py: int) -> bytes:
        fields = (self.a, self.b, self.gx, self.gy, px, py)
        return _sm3((len(uid) * 8).to_bytes(2, "big") + uid + b"".join(
            v.to_bytes(32, "big") for v in fields))  # fmt: skip

    def sign(self, d: int, e: int, k: int) -> tuple[int, int]:
        kg = self.mul(k, (self.gx, self.gy))
        assert kg is not None
        r = (e + kg[0]) % self.n
        return r, pow(1 + d, -1, self.n) * (k - r * d) % self.n

    def verify(self, pt: Point, e: int, r: int, s: int) -> bool:
        t = (r + s) % self.n
        if not (0 < r < self.n and 0 < s < self.n) or t == 0:
            return False
        x1y1 = self.add(self.mul(s, (self.gx, self.gy)), self.mul(t, pt))
        return x1y1 is not None and (e + x1y1[0]) % self.n == r


def _h(text: str) -> int:
    return int(text.replace(" ", ""), 16)


# docs/standards/card-terminal.md §6.1, curve of T06-T08 (GB/T 32918.5 annex A example)
EXAMPLE_CURVE = Curve(
    p=_h("8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3"),
    a=_h("787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498"),
    b=_h("63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A"),
    gx=_h("421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D"),
    gy=_h("0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2"),
    n=_h("8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7"),
)
SM2P256V1 = Curve(  # GB/T 32918.5 clause 4
    p=_h("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF"),
    a=_h("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"),
    b=_h("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"),
    gx=_h("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"),
    gy=_h("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"),
    n=_h("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123"),
)

# --- T09-T12: sm2p256v1 (docs/standards/card-terminal.md §6.1 / GB/T 32918.5-2017 annex A)
# ------------------

T09_D = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
T09_X = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
T09_Y = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
T10_ZA = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
T10_E = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
T11_K = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
T11_R = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
T11_S = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
T12_C1 = (
    "04 04EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73"
    " E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A63094D99283AFF767E124DF0"
)
T12_C3 = "59983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766"
T12_C2 = "21886CA989CA9C7D58087307CA93092D651EFA"
MESSAGE = b"message digest"
N = SM2P256V1.n


def _b(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@pytest.fixture(scope="module")
def t09_key() -> Sm2PrivateKey:
    return Sm2PrivateKey.from_hex(T09_D)


def _replay(monkeypatch: pytest.MonkeyPatch, *nonces: bytes) -> None:
    """Feed fixed nonces to gmalglib (which reads the 32 random bytes little-endian)."""
    queue = [k[::-1] for k in nonces]
    monkeypatch.setattr(sm2, "_random_bytes", lambda n: queue.pop(0))


# T06-T08: example curve, reference implementation only (gmalglib has sm2p256v1 only)


def test_t06_example_curve_public_key() -> None:
    d = _h("128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263")
    assert EXAMPLE_CURVE.mul(EXAMPLE_CURVE.n, (EXAMPLE_CURVE.gx, EXAMPLE_CURVE.gy)) is None
    assert EXAMPLE_CURVE.mul(d, (EXAMPLE_CURVE.gx, EXAMPLE_CURVE.gy)) == (
        _h("0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A"),
        _h("7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857"),
    )


def test_t07_t08_example_curve_za_e_and_signature() -> None:
    c = EXAMPLE_CURVE
    d = _h("128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263")
    point = c.mul(d, (c.gx, c.gy))
    assert point is not None
    za = c.za(b"ALICE123@YAHOO.COM", *point)
    assert za.hex().upper() == "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"
    e = _sm3(za + MESSAGE)
    assert e.hex().upper() == "B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76"
    r, s = c.sign(d, int.from_bytes(e, "big"), _h(T08_K))
    assert (r, s) == (_h(T08_R), _h(T08_S))
    assert c.verify(point, int.from_bytes(e, "big"), r, s)
    assert not c.verify(point, int.from_bytes(e, "big"), r ^ 1, s)


T08_K = "6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F"
T08_R = "40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1"
T08_S = "6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7"


def test_reference_agrees_with_t09_t11_on_sm2p256v1() -> None:
    c, d = SM2P256V1, _h(T09_D)
    point = c.mul(d, (c.gx, c.gy))
    assert point == (_h(T09_X), _h(T09_Y))
    e = _sm3(c.za(sm2.DEFAULT_UID, *point) + MESSAGE)
    assert c.sign(d, int.from_bytes(e, "big"), _h(T11_K)) == (_h(T11_R), _h(T11_S))


# T09-T12 on zhifu.crypto.sm2


def test_t09_public_key(t09_key: Sm2PrivateKey) -> None:
    public = sm2.public_key_from_private(t09_key)
    assert (public.x.hex().upper(), public.y.hex().upper()) == (T09_X, T09_Y)
    assert public.to_bytes() == b"\x04" + _b(T09_X + T09_Y)


def test_t10_za_and_e(t09_key: Sm2PrivateKey) -> None:
    assert sm2.compute_za(t09_key.public_key).hex().upper() == T10_ZA
    assert sm2.compute_e(t09_key.public_key, MESSAGE).hex().upper() == T10_E
    # gmalglib's own ZA ("entity info") agrees with ours
    assert SM2(pk=t09_key.public_key.point).get_entity_info().hex().upper() == T10_ZA


def test_t11_published_signature_verifies(t09_key: Sm2PrivateKey) -> None:
    public, sig = t09_key.public_key, _b(T11_R + T11_S)
    assert sm2.verify(public, MESSAGE, sig)
    assert sm2.verify(public, MESSAGE, sm2.signature_to_der(sig))
    assert sm2.verify_digest(public, _b(T10_E), sig)


@pytest.mark.parametrize(
    ("message", "signature"),
    [
        (MESSAGE, _b(T11_R)[:-1] + bytes([_b(T11_R)[-1] ^ 1]) + _b(T11_S)),  # r xor 1
        (MESSAGE, _b(T11_R) + _b(T11_S)[:-1] + bytes([_b(T11_S)[-1] ^ 1])),  # s xor 1
        (b"message digesT", _b(T11_R + T11_S)),  # message changed
        (MESSAGE, bytes(64)),  # r = s = 0
        (MESSAGE, N.to_bytes(32, "big") + _b(T11_S)),  # r = n
        (MESSAGE, _b(T11_R + T11_S)[:63]),  # wrong length
        (MESSAGE, b""),
        (MESSAGE, b"\x30\x02\x02\x00"),  # broken DER
    ],
)
def test_t11_rejections(t09_key: Sm2PrivateKey, message: bytes, signature: bytes) -> None:
    assert not sm2.verify(t09_key.public_key, message, signature)


def test_t11_other_uid_rejects(t09_key: Sm2PrivateKey) -> None:
    assert not sm2.verify(t09_key.public_key, MESSAGE, _b(T11_R + T11_S), uid=b"ALICE")


def test_t11_signature_reproduced_with_published_k(
    t09_key: Sm2PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    _replay(monkeypatch, _b(T11_K))
    assert sm2.sign(t09_key, MESSAGE).hex().upper() == T11_R + T11_S


@pytest.mark.parametrize("order", ["C1C3C2", "C1C2C3"])
def test_t12_published_ciphertext_decrypts(t09_key: Sm2PrivateKey, order: sm2.Order) -> None:
    parts = (T12_C1, T12_C3, T12_C2) if order == "C1C3C2" else (T12_C1, T12_C2, T12_C3)
    assert sm2.decrypt(t09_key, _b("".join(parts)), order) == b"encryption standard"


@pytest.mark.parametrize("order", ["C1C3C2", "C1C2C3"])
def test_t12_ciphertext_reproduced_with_published_k(
    t09_key: Sm2PrivateKey, monkeypatch: pytest.MonkeyPatch, order: sm2.Order
) -> None:
    _replay(monkeypatch, _b(T11_K))
    ct = sm2.encrypt(t09_key.public_key, b"encryption standard", order)
    parts = (T12_C1, T12_C3, T12_C2) if order == "C1C3C2" else (T12_C1, T12_C2, T12_C3)
    assert ct == _b("".join(parts))


# --- C3 integrity (gmssl 3.2.2 flaw 1) ---------------------------------------------------------


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


@pytest.mark.parametrize("order", ["C1C3C2", "C1C2C3"])
@pytest.mark.parametrize("region", ["C1.x", "C1.y", "C3", "C2"])
def test_tampered_ciphertext_raises(t09_key: Sm2PrivateKey, order: sm2.Order, region: str) -> None:
    ct = sm2.encrypt(t09_key.public_key, b"encryption standard", order)
    c3_at = 65 if order == "C1C3C2" else len(ct) - 32
    c2_at = 97 if order == "C1C3C2" else 65
    index = {"C1.x": 5, "C1.y": 40, "C3": c3_at + 7, "C2": c2_at + 3}[region]
    with pytest.raises(CryptoError, match="SM2 decryption failed"):
        sm2.decrypt(t09_key, _flip(ct, index), order)


def test_gmssl_322_returns_plaintext_for_tampered_ciphertext(t09_key: Sm2PrivateKey) -> None:
    """Documents why gmssl 3.2.2 is a test oracle only (docs/sm2-library.md flaw 1)."""
    ct = sm2.encrypt(t09_key.public_key, b"encryption standard")
    tampered = _flip(ct, 70)  # inside C3
    legacy = gmssl_sm2.CryptSM2(private_key=T09_D, public_key=T09_X + T09_Y, mode=1)
    assert legacy.decrypt(tampered[1:]) == b"encryption standard"  # no error from gmssl
    with pytest.raises(CryptoError):
        sm2.decrypt(t09_key, tampered)


def test_encrypt_redraws_k_when_kdf_output_is_zero(
    t09_key: Sm2PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gmalglib 0.5.9 returns C3 = 0^32 instead of redrawing k when t = KDF(...) is all zero."""
    rng, point = random.Random(32918), t09_key.public_key.point
    while True:  # find (deterministically) a k whose 1-byte KDF output is 00: ~256 tries
        bad_k = rng.randbytes(32)
        if not any(SM2(pk=point, rnd_fn=lambda n, k=bad_k: k).encrypt(b"A")[65:97]):
            break
    _replay(monkeypatch, bad_k[::-1], _b(T11_K))
    assert sm2.decrypt(t09_key, sm2.encrypt(t09_key.public_key, b"A")) == b"A"


# --- nonce source (gmssl 3.2.2 flaw 2: random.choice) -----------------------------------------


def test_nonces_and_keys_come_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = secrets.token_bytes

    def recording(n: int) -> bytes:
        calls.append(n)
        return real(n)

    monkeypatch.setattr(secrets, "token_bytes", recording)
    private_key, public_key = sm2.generate_keypair()
    assert calls == [32]
    first, second = sm2.sign(private_key, MESSAGE), sm2.sign(private_key, MESSAGE)
    assert first != second and len(calls) >= 3
    sm2.encrypt(public_key, b"x")
    assert len(calls) >= 4


def test_gmssl_322_nonce_is_predictable_from_random_seed() -> None:
    """Documents flaw 2: gmssl's k comes from the Mersenne Twister of the random module."""
    random.seed(1)
    first = gmssl_func.random_hex(64)
    random.seed(1)
    assert gmssl_func.random_hex(64) == first


# --- keys whose x starts with 00 or 04 (gmssl 3.2.2 flaw 3: lstrip("04")) ---------------------


def _key_with_x_prefix(prefix: int) -> Sm2PrivateKey:
    d = 1
    while True:  # deterministic search: about 256 tries
        key = Sm2PrivateKey(d.to_bytes(32, "big"))
        if key.public_key.x[0] == prefix:
            return key
        d += 1


@pytest.fixture(scope="module", params=[0x00, 0x04], ids=["x=00..", "x=04.."])
def awkward_key(request: pytest.FixtureRequest) -> Sm2PrivateKey:
    return _key_with_x_prefix(request.param)


def test_awkward_keys_round_trip(awkward_key: Sm2PrivateKey) -> None:
    public = awkward_key.public_key
    for form in ("uncompressed", "xy", "compressed"):
        assert Sm2PublicKey.from_bytes(public.to_bytes(form)) == public
    assert Sm2PublicKey.from_hex(public.to_bytes().hex()) == public
    assert sm2.public_key_from_der(sm2.public_key_to_der(public)) == public
    assert sm2.public_key_from_pem(sm2.public_key_to_pem(public)) == public
    assert sm2.private_key_from_pem(sm2.private_key_to_pem(awkward_key)) == awkward_key
    sig = sm2.sign(awkward_key, MESSAGE)
    assert sm2.verify(Sm2PublicKey.from_bytes(public.to_bytes("xy")), MESSAGE, sig)
    assert sm2.decrypt(awkward_key, sm2.encrypt(public, b"payload")) == b"payload"


def test_awkward_keys_interoperate_with_gmssl(awkward_key: Sm2PrivateKey) -> None:
    legacy = _gmssl(awkward_key)
    assert legacy.verify_with_sm3(sm2.sign(awkward_key, MESSAGE).hex(), MESSAGE)
    theirs = bytes.fromhex(legacy.sign_with_sm3(MESSAGE, T11_K))
    assert sm2.verify(awkward_key.public_key, MESSAGE, theirs)
    assert legacy.decrypt(sm2.encrypt(awkward_key.public_key, b"abc")[1:]) == b"abc"


def test_gmssl_322_corrupts_04_prefixed_keys_whose_x_starts_with_0_or_4(
    awkward_key: Sm2PrivateKey,
) -> None:
    """Documents flaw 3: CryptSM2(public_key="04"+x+y) strips leading 0/4 digits of x."""
    point_hex = awkward_key.public_key.to_bytes().hex()
    legacy = gmssl_sm2.CryptSM2(private_key=None, public_key=point_hex)
    assert legacy.public_key != point_hex[2:]
    assert len(legacy.public_key) < 128


# --- interop with gmssl 3.2.2 (both ways) -----------------------------------------------------


def _gmssl(key: Sm2PrivateKey) -> gmssl_sm2.CryptSM2:
    legacy = gmssl_sm2.CryptSM2(private_key=key.secret.hex(), public_key="", mode=1)
    legacy.public_key = key.public_key.to_bytes("xy").hex()  # bypass its lstrip("04")
    return legacy


@pytest.fixture(scope="module")
def fresh_key() -> Sm2PrivateKey:
    return sm2.generate_keypair()[0]


@settings(max_examples=50, deadline=None)
@given(message=st.binary(max_size=300))
def test_signatures_interoperate_with_gmssl(fresh_key: Sm2PrivateKey, message: bytes) -> None:
    legacy = _gmssl(fresh_key)
    ours = sm2.sign(fresh_key, message)
    assert legacy.verify_with_sm3(ours.hex(), message)
    k = secrets.randbelow(N - 1) + 1
    theirs = bytes.fromhex(legacy.sign_with_sm3(message, f"{k:064x}"))
    assert sm2.verify(fresh_key.public_key, message, theirs)
    assert not sm2.verify(fresh_key.public_key, message + b"!", theirs)


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(min_size=1, max_size=300))
def test_ciphertexts_interoperate_with_gmssl(fresh_key: Sm2PrivateKey, plaintext: bytes) -> None:
    legacy = _gmssl(fresh_key)
    ours = sm2.encrypt(fresh_key.public_key, plaintext)
    assert legacy.decrypt(ours[1:]) == plaintext  # gmssl's C1 has no 04 prefix
    found = None
    while found is None:  # gmssl gives None when the KDF output is all zero: a new k (GB/T 32918)
        found = legacy.encrypt(plaintext)
    theirs = b"\x04" + found
    assert sm2.decrypt(fresh_key, theirs) == plaintext


@settings(max_examples=50, deadline=None)
@given(message=st.binary(max_size=200), uid=st.binary(max_size=40))
def test_sign_verify_round_trip_any_uid(
    fresh_key: Sm2PrivateKey, message: bytes, uid: bytes
) -> None:
    sig = sm2.sign(fresh_key, message, uid=uid)
    assert len(sig) == 64
    assert sm2.verify(fresh_key.public_key, message, sig, uid=uid)
    assert sm2.verify(fresh_key.public_key, message, sm2.signature_to_der(sig), uid=uid)


def test_signatures_verify_in_the_reference(fresh_key: Sm2PrivateKey) -> None:
    public = fresh_key.public_key
    point = (int.from_bytes(public.x, "big"), int.from_bytes(public.y, "big"))
    for message in (b"", b"abc", bytes(range(256))):
        sig = sm2.sign(fresh_key, message, uid=b"ALICE123@YAHOO.COM")
        e = int.from_bytes(sm2.compute_e(public, message, b"ALICE123@YAHOO.COM"), "big")
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        assert SM2P256V1.verify(point, e, r, s)


def test_compute_za_matches_reference_for_random_keys() -> None:
    for _ in range(5):
        public = sm2.generate_keypair()[1]
        px, py = (int.from_bytes(v, "big") for v in (public.x, public.y))
        for uid in (b"", sm2.DEFAULT_UID, b"ALICE123@YAHOO.COM"):
            assert sm2.compute_za(public, uid) == SM2P256V1.za(uid, px, py)


def test_compute_za_accepts_the_longest_uid_only(t09_key: Sm2PrivateKey) -> None:
    assert len(sm2.compute_za(t09_key.public_key, b"u" * 8191)) == 32
    with pytest.raises(UsageError) as err:
        sm2.sign(t09_key, MESSAGE, uid=b"u" * 8192)
    assert err.value.argument == "uid"


# --- key types, masking, argument errors ------------------------------------------------------


def test_private_key_repr_is_masked(t09_key: Sm2PrivateKey) -> None:
    for text in (repr(t09_key), str(t09_key), f"{t09_key}", f"{t09_key!r}"):
        assert text == "Sm2PrivateKey(<masked>)"
    with pytest.raises(InvalidKeyError) as err:
        Sm2PrivateKey(_b(T09_D)[:31])
    assert T09_D[:62] not in str(err.value).upper() and "31 bytes" in str(err.value)
    assert repr(t09_key.public_key).startswith("Sm2PublicKey(fingerprint=")


def test_keys_are_frozen_comparable_hashable_and_picklable(t09_key: Sm2PrivateKey) -> None:
    with pytest.raises(AttributeError):
        t09_key.secret = bytes(32)  # type: ignore[misc]
    clone = pickle.loads(pickle.dumps(t09_key))
    assert clone == t09_key and hash(clone) == hash(t09_key)
    assert pickle.loads(pickle.dumps(t09_key.public_key)) == t09_key.public_key
    assert {t09_key.public_key, clone.public_key} == {t09_key.public_key}
    assert t09_key != sm2.generate_keypair()[0]


@pytest.mark.parametrize(
    "secret",
    [bytes(32), (N - 1).to_bytes(32, "big"), N.to_bytes(32, "big"), b"\x01" * 31, b"\x01" * 33],
    ids=["zero", "n-1", "n", "31 bytes", "33 bytes"],
)
def test_bad_private_keys(secret: bytes) -> None:
    with pytest.raises(InvalidKeyError) as err:
        Sm2PrivateKey(secret)
    assert err.value.argument == "secret"


def test_private_key_range_upper_end() -> None:
    key = Sm2PrivateKey((N - 2).to_bytes(32, "big"))  # n-2 is the largest valid d
    assert sm2.verify(key.public_key, b"m", sm2.sign(key, b"m"))


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"\x04" + bytes(64), 1),  # not on the curve
        (b"\x05" + _b(T09_X + T09_Y), 0),
        (b"\x04" + _b(T09_X), 0),  # 33 bytes with 04
        (b"\x02" + _b(T09_X)[:31], 0),
        (_b(T09_X + T09_Y)[:-1] + b"\x00", 1),  # 64 bytes, not on the curve
    ],
)
def test_bad_public_key_bytes(data: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as err:
        Sm2PublicKey.from_bytes(data)
    assert err.value.offset == offset


def test_public_key_constructor_wants_uncompressed_point() -> None:
    compressed = Sm2PublicKey.from_hex("04" + T09_X + T09_Y).to_bytes("compressed")
    assert Sm2PublicKey.from_bytes(compressed).y.hex().upper() == T09_Y
    with pytest.raises(InvalidKeyError):
        Sm2PublicKey(compressed)
    with pytest.raises(DecodeError):
        Sm2PublicKey.from_hex("zz")
    with pytest.raises(UsageError):
        Sm2PublicKey.from_bytes(compressed).to_bytes("hybrid")  # type: ignore[arg-type]


def test_encrypt_decrypt_argument_errors(t09_key: Sm2PrivateKey) -> None:
    with pytest.raises(UsageError, match="empty"):
        sm2.encrypt(t09_key.public_key, b"")
    with pytest.raises(UsageError) as err:
        sm2.encrypt(t09_key.public_key, b"x", "C2C1C3")  # type: ignore[arg-type]
    assert err.value.argument == "order"
    with pytest.raises(DecodeError) as short:
        sm2.decrypt(t09_key, b"\x04" + bytes(96))
    assert short.value.offset == 97
    ct = sm2.encrypt(t09_key.public_key, b"x")
    with pytest.raises(DecodeError) as prefix:
        sm2.decrypt(t09_key, b"\x02" + ct[1:])
    assert prefix.value.field == "C1"
    with pytest.raises(UsageError):
        sm2.sign_digest(t09_key, bytes(31))
    with pytest.raises(UsageError):
        sm2.verify_digest(t09_key.public_key, bytes(33), bytes(64))


def test_decrypt_with_wrong_key_raises(t09_key: Sm2PrivateKey) -> None:
    ct = sm2.encrypt(t09_key.public_key, b"secret data")
    with pytest.raises(CryptoError):
        sm2.decrypt(sm2.generate_keypair()[0], ct)


def test_sign_reports_random_source_failure(
    t09_key: Sm2PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sm2, "_random_bytes", lambda n: b"short")
    with pytest.raises(CryptoError, match="random source"):
        sm2.sign(t09_key, MESSAGE)
    with pytest.raises(CryptoError, match="random source"):
        sm2.encrypt(t09_key.public_key, MESSAGE)


# --- DER / PEM -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "der"),
    [
        (bytes(31) + b"\x01" + bytes(31) + b"\x02", "3006020101020102"),
        (b"\x80" + bytes(31) + b"\x7f" + bytes(31),
         "3045022100800000000000000000000000000000000000000000000000000000000000000002207F"
         + "00" * 31),
    ],
)  # fmt: skip
def test_signature_der_known_values(raw: bytes, der: str) -> None:
    assert sm2.signature_to_der(raw).hex().upper() == der.upper()
    assert sm2.signature_from_der(_b(der)) == raw


@pytest.mark.parametrize(
    ("der", "offset"),
    [
        ("3006020101020102FF", 8),  # trailing byte
        ("30070201010202 0002", 7),  # s = 0002 is not minimal
        ("3006020181020102", 4),  # r negative
        ("3005020002 0101", 4),  # r empty
        ("3106020101020102", 0),  # SET, not SEQUENCE
        ("308106020101020102", 1),  # non-minimal length
        ("3085000000000602", 1),  # 5-byte length form
        ("30060201010201", 2),  # runs past the end
        ("3026022101" + "00" * 32 + "020101", 4),  # r of 33 significant bytes
        ("", 0),
    ],
)
def test_signature_der_strictness(der: str, offset: int) -> None:
    with pytest.raises(DecodeError) as err:
        sm2.signature_from_der(_b(der))
    assert err.value.offset == offset


def test_signature_to_der_wants_64_bytes() -> None:
    with pytest.raises(UsageError):
        sm2.signature_to_der(bytes(63))


def test_der_layouts_are_the_openssl_ones(t09_key: Sm2PrivateKey) -> None:
    spki = sm2.public_key_to_der(t09_key.public_key)
    assert spki.hex().upper().startswith("3059301306072A8648CE3D020106082A811CCF5501822D034200")
    pkcs8 = sm2.private_key_to_der(t09_key)
    assert pkcs8.hex().upper().startswith("308187020100301306072A8648CE3D020106082A811CCF55")
    sec1 = sm2.private_key_to_der(t09_key, "sec1")
    assert sec1.hex().upper().startswith("30770201010420" + T09_D + "A00A06082A811CCF5501822DA144")
    for der in (pkcs8, sec1):
        assert sm2.private_key_from_der(der) == t09_key
    assert sm2.private_key_to_pem(t09_key, "sec1").startswith("-----BEGIN EC PRIVATE KEY-----\n")
    with pytest.raises(UsageError):
        sm2.private_key_to_der(t09_key, "pkcs1")  # type: ignore[arg-type]


def _mutations(der: bytes) -> Iterator[bytes]:
    for i in range(len(der)):
        yield der[:i]
        yield _flip(der, i)


@pytest.mark.parametrize(
    ("decode", "encode"),
    [
        (sm2.public_key_from_der, lambda k: sm2.public_key_to_der(k.public_key)),
        (sm2.private_key_from_der, lambda k: sm2.private_key_to_der(k, "pkcs8")),
        (sm2.private_key_from_der, lambda k: sm2.private_key_to_der(k, "sec1")),
    ],
    ids=["spki", "pkcs8", "sec1"],
)
def test_every_truncation_and_bit_flip_raises_decode_error_or_decodes(
    t09_key: Sm2PrivateKey,
    decode: Callable[[bytes], object],
    encode: Callable[[Sm2PrivateKey], bytes],
) -> None:
    der = encode(t09_key)
    for mutated in _mutations(der):
        try:
            decode(mutated)
        except DecodeError as err:
            assert err.offset is not None and 0 <= err.offset <= len(der)


@pytest.mark.parametrize(
    ("der", "field", "offset"),
    [
        ("30", "private key", 0),
        ("3003020102", "version", 2),
        ("3006020101040100", "privateKey", 7),  # d of 1 byte
    ],
)
def test_private_key_decode_errors(der: str, field: str, offset: int) -> None:
    with pytest.raises(DecodeError) as err:
        sm2.private_key_from_der(_b(der))
    assert (err.value.field, err.value.offset) == (field, offset)


def test_private_key_with_mismatched_public_key_is_rejected(t09_key: Sm2PrivateKey) -> None:
    other = sm2.generate_keypair()[1]
    der = sm2_der.encode_private_key(t09_key.secret, other.point)
    with pytest.raises(DecodeError, match="does not match") as err:
        sm2.private_key_from_der(der)
    assert der[err.value.offset or 0 :][:65] == other.point


def test_private_key_out_of_range_is_a_decode_error(t09_key: Sm2PrivateKey) -> None:
    der = sm2_der.encode_private_key(N.to_bytes(32, "big"), t09_key.public_key.point, "sec1")
    with pytest.raises(DecodeError, match="not in") as err:
        sm2.private_key_from_der(der)
    assert err.value.offset == 7


def test_public_key_der_with_other_curve_is_rejected() -> None:
    p256 = _b(
        "3059301306072A8648CE3D020106082A8648CE3D030107034200046B17D1F2E12C4247F8BCE6E563A440F2"
        "77037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB640"
        "6837BF51F5"
    )
    with pytest.raises(DecodeError) as err:
        sm2.public_key_from_der(p256)
    assert (err.value.field, err.value.offset) == ("algorithm", 4)


def test_pem_errors(t09_key: Sm2PrivateKey) -> None:
    pem = sm2.public_key_to_pem(t09_key.public_key)
    with pytest.raises(DecodeError, match="no PEM block"):
        sm2.private_key_from_pem(pem)
    with pytest.raises(DecodeError, match="base64"):
        sm2.public_key_from_pem(pem.replace("MFkw", "M!kw"))
    assert sm2.public_key_from_pem(("junk\n" + pem).encode()) == t09_key.public_key


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=160))
def test_decoders_raise_only_decode_error(data: bytes) -> None:
    for decode in (sm2.public_key_from_der, sm2.private_key_from_der, sm2.signature_from_der):
        with contextlib.suppress(DecodeError):
            decode(data)


# --- OpenSSL command line (skipped when absent or without SM2) ---------------------------------


def _openssl(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def openssl_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command")
    path = tmp_path_factory.mktemp("sm2") / "key.pem"
    try:
        _openssl("genpkey", "-algorithm", "SM2", "-out", str(path))
    except subprocess.CalledProcessError:
        pytest.skip("this openssl has no SM2")
    return path


def test_openssl_key_files_interoperate(openssl_key: Path, tmp_path: Path) -> None:
    key = sm2.private_key_from_pem(openssl_key.read_text())  # PKCS#8
    spki = _openssl("pkey", "-in", str(openssl_key), "-pubout", "-outform", "DER")
    assert sm2.public_key_from_der(spki) == key.public_key
    assert sm2.public_key_to_der(key.public_key) == spki
    sec1_pem = _openssl("ec", "-in", str(openssl_key)).decode()  # "SM2 PRIVATE KEY" in 3.x
    assert sm2.private_key_from_pem(sec1_pem) == key
    ours = tmp_path / "ours.pem"
    for form in ("pkcs8", "sec1"):
        ours.write_text(sm2.private_key_to_pem(key, form))
        assert _openssl("pkey", "-in", str(ours), "-pubout", "-outform", "DER") == spki


def test_openssl_signatures_interoperate(openssl_key: Path, tmp_path: Path) -> None:
    key = sm2.private_key_from_pem(openssl_key.read_text())
    message, sig_path = tmp_path / "msg", tmp_path / "sig"
    message.write_bytes(MESSAGE)
    common = [
        "-rawin",
        "-in",
        str(message),
        "-digest",
        "sm3",
        "-pkeyopt",
        "distid:1234567812345678",
    ]
    theirs = _openssl("pkeyutl", "-sign", "-inkey", str(openssl_key), *common)
    assert sm2.verify(key.public_key, MESSAGE, theirs)
    sig_path.write_bytes(sm2.signature_to_der(sm2.sign(key, MESSAGE)))
    pub = tmp_path / "pub.pem"
    pub.write_text(sm2.public_key_to_pem(key.public_key))
    out = _openssl("pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-sigfile", str(sig_path),
                   *common)  # fmt: skip
    assert b"Verified Successfully" in out

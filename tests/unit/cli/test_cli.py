"""The command line: --help everywhere, --json, errors without tracebacks, calculator vectors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from zhifu.cli.main import build_parser, main

K2 = "0123456789ABCDEFFEDCBA9876543210"
NOW = "4E6F77206973207468652074696D6520666F7220616C6C20"  # "Now is the time for all "
T09_PUB = (
    "0409F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
T09_PRIV = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
T11_SIG = (
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)


def _commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*prefix, name))
    return found


COMMANDS = _commands(build_parser())


def test_the_tree_has_the_calculator() -> None:
    names = {" ".join(c) for c in COMMANDS}
    for expected in (
        "crypto hash",
        "crypto encrypt",
        "crypto decrypt",
        "crypto kcv",
        "crypto mac",
        "crypto pinblock encode",
        "crypto pinblock decode",
        "crypto sm2 keygen",
        "crypto sm2 sign",
        "crypto sm2 verify",
        "crypto sm2 encrypt",
        "crypto sm2 decrypt",
        "crypto emv derive-mk",
        "crypto emv session-key",
        "crypto emv arqc",
        "crypto emv arpc",
        "serve",
    ):
        assert expected in names


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "zhifu")
def test_help_everywhere(command: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    assert "usage: zhifu" in capsys.readouterr().out


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out.strip(), err.strip()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["crypto", "hash", "--alg", "sm3", "616263"],
            "66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0",
        ),  # T01
        (
            ["crypto", "encrypt", "--alg", "des", "--key", "0123456789ABCDEF", "4E6F772069732074"],
            "3FA40E8A984D4815",
        ),  # T13
        (
            ["crypto", "encrypt", "--alg", "sm4", "--key", K2, K2],
            "681EDF34D206965E86B3E94F536E4246",
        ),  # T03
        (
            [
                "crypto",
                "decrypt",
                "--alg",
                "sm4",
                "--mode",
                "cbc",
                "--key",
                K2,
                "681EDF34D206965E86B3E94F536E4246",
            ],
            K2,
        ),
        (["crypto", "kcv", "--alg", "3des", "--key", K2, "--length", "2"], "08D7"),  # T15
        (["crypto", "kcv", "--alg", "sm4", "--key", K2, "--length", "4"], "2677F46B"),  # T05
        (
            ["crypto", "mac", "--alg", "x9.9", "--key", "0123456789ABCDEF", NOW],
            "70A30640CC76DD8B",
        ),  # T16
        (["crypto", "mac", "--alg", "x9.19", "--key", K2, NOW], "A1C72E74EA3FA9B6"),  # T17
        (
            ["crypto", "mac", "--alg", "iso9797-1-3", "--padding", "2", "--key", K2, NOW],
            "E9086230CA3BE796",
        ),  # T18
        (
            [
                "crypto",
                "mac",
                "--alg",
                "cup-ecb",
                "--key",
                "2222222222222222",
                "1234567890ABCDEFABCDEF1234567890",
            ],
            "E267B6E2",
        ),  # T22
        (
            [
                "crypto",
                "pinblock",
                "encode",
                "--format",
                "0",
                "--pan",
                "43219876543210987",
                "--pin",
                "1234",
            ],
            "0412AC89ABCDEF67",
        ),  # T24
        (
            [
                "crypto",
                "pinblock",
                "decode",
                "--format",
                "0",
                "--pan",
                "5432101234567891",
                "--block",
                "041215FEDCBA9876",
            ],
            "1234",
        ),  # T25
        (
            [
                "crypto",
                "pinblock",
                "decode",
                "--format",
                "4",
                "--pan",
                "1234567890123456",
                "--key",
                "00112233445566778899AABBCCDDEEFF",
                "--block",
                "E4BE5B623AF7E006AC319E5B93544564",
            ],
            "1234",
        ),  # T27
        (
            [
                "crypto",
                "emv",
                "session-key",
                "--scheme",
                "emv-csk",
                "--mk",
                K2,
                "--r",
                "001C000000000000",
            ],
            "E9FB384AF807B940FEDCEA613461B0C4 (KCV ",
        ),  # T37 (KCV: see test_kcv)
        (
            [
                "crypto",
                "sm2",
                "verify",
                "--public-key",
                T09_PUB,
                "--signature",
                T11_SIG,
                b"message digest".hex(),
            ],
            "valid",
        ),  # T11
    ],
)
def test_calculator_vectors(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(argv, capsys)
    assert (status, err) == (0, "")
    assert out == expected or (expected.endswith("(KCV ") and out.startswith(expected))


def test_sm2_verify_refuses_a_flipped_signature(capsys: pytest.CaptureFixture[str]) -> None:
    bad = T11_SIG[:-1] + ("B" if T11_SIG[-1] != "B" else "C")
    status, out, _ = _run(
        ["crypto", "sm2", "verify", "--public-key", T09_PUB, "--signature", bad, "00"], capsys
    )
    assert (status, out) == (1, "invalid")


def test_sm2_sign_verify_encrypt_decrypt_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    _, sig, _ = _run(
        ["crypto", "sm2", "sign", "--private-key", T09_PRIV, "--id", "ALICE", "ABCD"], capsys
    )
    status, out, _ = _run(
        [
            "crypto",
            "sm2",
            "verify",
            "--public-key",
            T09_PUB,
            "--signature",
            sig,
            "--id",
            "ALICE",
            "ABCD",
        ],
        capsys,
    )
    assert (status, out) == (0, "valid")
    _, ct, _ = _run(
        ["crypto", "sm2", "encrypt", "--public-key", T09_PUB, "--order", "c1c2c3", "CAFE"], capsys
    )
    _, pt, _ = _run(
        ["crypto", "sm2", "decrypt", "--private-key", T09_PRIV, "--order", "c1c2c3", ct], capsys
    )
    assert pt == "CAFE"


def test_emv_chain_t35(capsys: pytest.CaptureFixture[str]) -> None:
    """T34/T35: option A, CSK, ARQC and ARPC method 1 through the CLI (--json)."""
    _, out, _ = _run(
        [
            "crypto",
            "emv",
            "derive-mk",
            "--imk",
            K2,
            "--pan",
            "99012345678901234",
            "--psn",
            "45",
            "--json",
        ],
        capsys,
    )
    mk = json.loads(out)["mk"]
    assert mk == "67F8292358083E5EA7AB7FDA58D53B6B"
    _, out, _ = _run(
        [
            "crypto",
            "emv",
            "session-key",
            "--scheme",
            "emv-csk",
            "--mk",
            mk,
            "--r",
            "1234567890123456",
            "--json",
        ],
        capsys,
    )
    sk = json.loads(out)["sk"]
    assert sk == "29B33180E567CE38EA4CBC9D753B0E61"
    _, arqc, _ = _run(["crypto", "emv", "arqc", "--sk", sk, "0123456789ABCDEF" * 2], capsys)
    assert arqc == "FA624250B008B59A"
    _, arpc, _ = _run(
        ["crypto", "emv", "arpc", "--sk", sk, "--arqc", arqc, "--arc", "0000"], capsys
    )
    assert arpc == "45D4255EEF10C920"


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["crypto", "kcv", "--alg", "des", "--key", "00"], "--key"),
        (["crypto", "hash", "--alg", "sm3", "XYZ"], "HEX"),
        (["crypto", "encrypt", "--alg", "aes", "--key", "00" * 16, "00"], "HEX"),
        (["crypto", "emv", "derive-mk", "--imk", "00", "--pan", "1"], "--imk"),
        (["crypto", "sm2", "sign", "--private-key", "00", "01"], "--private-key"),
        (
            ["crypto", "sm2", "verify", "--public-key", "0401", "--signature", "00", "01"],
            "--public-key",
        ),
        (["crypto", "pinblock", "encode", "--format", "0", "--pin", "1234"], "--pan"),
    ],
)
def test_bad_input_is_a_one_line_error_naming_the_argument(
    argv: list[str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(argv, capsys)
    assert status == 2 and out == ""
    assert err.startswith(f"zhifu: error: {names}:") and "\n" not in err
    assert "Traceback" not in err


def test_unknown_algorithm_exits_2_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "zhifu.cli", "crypto", "hash", "--alg", "md5", "00"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "invalid choice: 'md5'" in proc.stderr and "Traceback" not in proc.stderr


def test_json_everywhere_is_valid_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["crypto", "sm2", "keygen", "--json"], capsys)
    data = json.loads(out)
    assert status == 0 and len(data["private_key"]) == 64 and data["public_key"].startswith("04")

"""``zhifu barcode device enroll`` and ``zhifu barcode code``: a phone, emulated by a file.

``device enroll --institution I --customer C --account A --out FILE`` enrols a phone for the
wallet account and writes its provisioning to FILE, a new file of mode 0600 (an existing file is
never overwritten)::

    {"format": "zhifu-device-1", "institution": "zhifu", "handle": "4711042",
     "secret": "<64 hex digits>", "customer_id": "C1", "account_id": "A1", "grade": "C",
     "last_step": null, "last_counter": null}

The device secret goes only into that file, never to the screen. ``code --device FILE`` is the
phone showing a payment code: it computes the next one-time code offline
(:func:`zhifu.barcode.codes.payment_code.compute_code`, the platform's default time step) and keeps
the step and counter of the last code in the file (rewritten atomically under a lock), so two
calls never show the same code, even at once.

>>> device = {"format": FORMAT, "institution": "zhifu", "handle": "1234567",
...     "secret": "00" * 32, "last_step": 5, "last_counter": 0}
>>> next_position(device, 5, 10), next_position(device, 6, 10)
((5, 1), (6, 0))
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from zhifu.barcode.registry import SIMULATED
from zhifu.cli.barcode.support import (
    barcode_leaf,
    check_ident,
    check_institution,
    platform,
    refuse_existing,
)
from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError

FORMAT: Final = "zhifu-device-1"


def register(cmds: SubParsers) -> None:
    """Add ``device enroll`` and ``code``."""
    text = "phones enrolled for payment codes (付款码)"
    group = cmds.add_parser("device", help=text, description=text)
    group.set_defaults(help_parser=group)
    sub = group.add_subparsers(title="device commands", metavar="COMMAND")
    p = barcode_leaf(
        sub, "enroll", _enroll, "enrol a phone; its secret goes only into a new 0600 file"
    )
    p.add_argument("--institution", required=True, help="issuer: zhifu, huanyu or qingniao")
    p.add_argument("--customer", required=True, help="the wallet's customer id")
    p.add_argument("--account", required=True, help="the wallet account the codes spend")
    p.add_argument(
        "--grade",
        choices=("A", "B", "C"),
        default="C",
        help="risk grade of the device's codes, sets the daily limit (default C)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="new provisioning file (JSON)")
    p = leaf(cmds, "code", _code, "show the next payment code of a provisioned phone")
    p.add_argument("--device", required=True, metavar="FILE", help="from `device enroll`")
    p.add_argument("--png", metavar="OUT", help="also draw the code as a QR image (PNG) here")


# -- enrolment -----------------------------------------------------------------------------------


def _enroll(args: argparse.Namespace) -> Outcome:
    institution = check_institution(args.institution)
    customer = check_ident(args.customer, "--customer")
    account = check_ident(args.account, "--account")
    out = Path(args.out)
    refuse_existing(out, "--out")
    with platform(args) as system:
        found = system.directory.account(institution, account)
        if found is None or found.customer_id != customer:
            raise UsageError(
                f"no account {account} of customer {customer} at {institution} "
                "(open it with `wallet open`)",
                argument="--account",
            )
        handle = provision(system, out, institution, customer, account, args.grade)
    data = {
        "institution": institution,
        "handle": handle,
        "customer_id": customer,
        "account_id": account,
        "grade": args.grade,
        "device_file": str(out),
    }
    lines = [
        f"device {handle} enrolled at {institution} for {customer}/{account} (grade {args.grade})",
        f"provisioning written to {out} (mode 0600; it holds the device secret)",
        f"next: zhifu barcode code --device {out}",
    ]
    return Outcome(data, lines)


def provision(  # noqa: PLR0917 - who the phone belongs to, in order
    system: Any, out: Path, institution: str, customer: str, account: str, grade: str
) -> str:
    """Enrol a phone and write its provisioning file (new, 0600); the device handle."""
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{out} exists: refusing to overwrite it", argument="--out") from None
    except OSError as exc:
        raise UsageError(f"cannot create {out}: {exc.strerror}", argument="--out") from None
    try:
        handle, secret = system.enroll_device(institution, customer, account, grade=grade)
        device = {
            "format": FORMAT,
            "institution": institution,
            "handle": handle,
            "secret": secret.hex(),
            "customer_id": customer,
            "account_id": account,
            "grade": grade,
            "last_step": None,
            "last_counter": None,
        }
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            fd = -1
            json.dump(device, file, indent=1)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        if fd >= 0:
            os.close(fd)
        out.unlink(missing_ok=True)
        raise
    return str(handle)


# -- showing a code ------------------------------------------------------------------------------


def read_device(text: str) -> dict[str, Any]:
    """A provisioning file's content, checked (errors never quote it)."""
    try:
        device = json.loads(text)
    except ValueError:
        device = None
    if not isinstance(device, dict) or device.get("format") != FORMAT:
        raise UsageError(f"not a device file ({FORMAT}) of `device enroll`", argument="--device")
    secret = device.get("secret")
    checks = (
        device.get("institution") in SIMULATED,
        # 7 digits: the handle of the layouts of zhifu's three institutions
        isinstance(device.get("handle"), str) and re.fullmatch(r"\d{7}", device["handle"]),
        isinstance(secret, str) and re.fullmatch(r"(?:[0-9a-f]{2}){16,64}", secret),
        _optional_int(device.get("last_step")) and _optional_int(device.get("last_counter")),
    )
    if not all(checks):
        raise UsageError(
            "the device file is damaged (institution, handle or secret)", argument="--device"
        )
    return device


def _optional_int(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def next_position(device: dict[str, Any], step: int, counters: int) -> tuple[int, int]:
    """(step, counter) of the next code at ``step``, never one shown before; ``counters`` codes
    fit in one step (10 to the layout's counter digits)."""
    last_step, last_counter = device.get("last_step"), device.get("last_counter")
    if last_step is None or step > last_step:
        return step, 0
    if step < last_step:
        raise UsageError(
            "the clock is behind the last code this device showed; wait and try again",
            argument="--device",
        )
    counter = (last_counter or 0) + 1
    if counter >= counters:
        raise UsageError(
            "every code of this time step has been shown; try again in a few seconds",
            argument="--device",
        )
    return step, counter


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[int]:
    """An open descriptor of ``path`` under an exclusive lock, the file's current version."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a device file", argument="--device")
    for _ in range(100):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}", argument="--device") from None
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_ino == os.stat(path).st_ino:  # not replaced while we waited
            break
        os.close(fd)
    else:
        raise UsageError(f"{path} keeps changing; try again", argument="--device")
    try:
        yield fd
    finally:
        os.close(fd)


def _replace(path: Path, device: dict[str, Any]) -> None:
    """Rewrite the file atomically (a new 0600 file renamed over it)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(device, file, indent=1)
        file.write("\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _code(args: argparse.Namespace) -> Outcome:
    from zhifu.barcode.codes.payment_code import CodePolicy, compute_code  # noqa: PLC0415
    from zhifu.barcode.institution import LAYOUTS  # noqa: PLC0415 - late: the CLI starts fast
    from zhifu.core.clock import SystemClock  # noqa: PLC0415

    path = Path(args.device)
    with _locked(path) as fd:
        with os.fdopen(os.dup(fd), "rb") as file:
            device = read_device(file.read(1_000_000).decode("utf-8", "replace"))
        layout = LAYOUTS[device["institution"]]
        now = CodePolicy().step_at(SystemClock().now())
        step, counter = next_position(device, now, 10**layout.counter_digits)
        code = compute_code(
            bytes.fromhex(device["secret"]), layout, device["handle"], step, counter
        )
        _replace(path, {**device, "last_step": step, "last_counter": counter})
    lines = [code]
    if args.png:
        save_png(code, Path(args.png))
        lines.append(f"QR image written to {args.png}")
    data = {
        "code": code,
        "institution": device["institution"],
        "handle": device["handle"],
        "png": args.png,
    }
    return Outcome(data, lines)


def save_png(text: str, path: Path) -> None:
    """Draw ``text`` as a QR symbol into a PNG file (replacing an older image)."""
    from zhifu.barcode.codes.render import render_png  # noqa: PLC0415

    try:
        path.write_bytes(render_png(text))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", argument="--png") from None

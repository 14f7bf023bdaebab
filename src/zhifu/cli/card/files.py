"""The files the card commands are given: a card, a profile, issuer keys, where to write.

Every problem is a :class:`~zhifu.core.errors.UsageError` naming the option, one line, that
says what the file is instead when it is one of zhifu's own (a card given as issuer keys, an
issuer key file given as a card) and never shows the file's contents.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> IssuerKeys.test().save(f"{folder}/issuer.json")
>>> read_card(f"{folder}/issuer.json")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: card: .../issuer.json is an issuer key file, not a card file
>>> check_out(f"{folder}/missing/ref.card", force=False)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.core.errors.UsageError: out: the folder .../missing does not exist
"""

from __future__ import annotations

import json
from pathlib import Path

from zhifu.card.image.model import FORMAT as CARD_FORMAT
from zhifu.card.image.model import CardImage
from zhifu.card.issuer import ISSUER_FORMAT, IssuerKeys
from zhifu.card.profile import PROFILE_FORMAT
from zhifu.core.errors import DecodeError, UsageError

__all__ = ["check_out", "profile_error", "read_card", "read_issuer"]

_KINDS = {
    CARD_FORMAT: "a card file",
    ISSUER_FORMAT: "an issuer key file",
    PROFILE_FORMAT: "a card profile",
}


def _kind_of(path: str) -> str | None:
    """Which of zhifu's files ``path`` holds (by its ``format``), or None."""
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return None
    kind = data.get("format") if isinstance(data, dict) else None
    return _KINDS.get(kind) if isinstance(kind, str) else None


def _wrong_file(path: str, wanted: str, argument: str, exc: DecodeError) -> UsageError:
    kind = _kind_of(path)
    if kind == wanted:
        where = f" in {exc.field}" if exc.field and exc.field not in ("card", "format") else ""
        if wanted == "a card profile":  # written by hand: a mistake rather than damage
            return UsageError(f"{path}: {exc.reason}{where}", argument=argument)
        noun = wanted.split(" ", 1)[1]
        return UsageError(f"{path} is a damaged {noun} ({exc.reason}{where})", argument=argument)
    if kind is not None:
        return UsageError(f"{path} is {kind}, not {wanted}", argument=argument)
    reason = {"not JSON": "not JSON", "not UTF-8 text": "not text"}.get(exc.reason)
    return UsageError(
        f"{path} is not {wanted} ({reason or 'JSON, but none of the files zhifu writes'})",
        argument=argument,
    )


def read_card(path: str, argument: str = "card") -> CardImage:
    """The card file at ``path``; UsageError naming ``argument`` when it is not one."""
    try:
        return CardImage.load(path)
    except DecodeError as exc:
        raise _wrong_file(path, "a card file", argument, exc) from None
    except UsageError as exc:
        raise UsageError(exc.message, argument=argument) from None


def read_issuer(path: str) -> IssuerKeys:
    """The issuer key file at ``path``; UsageError naming ``issuer`` when it is not one."""
    try:
        return IssuerKeys.load(path)
    except DecodeError as exc:
        raise _wrong_file(path, "an issuer key file", "issuer", exc) from None


def profile_error(source: str, exc: DecodeError) -> UsageError:
    """The UsageError for a profile ``issue_card`` could not use (a file of another kind, or a
    profile with a fault, named by where it is)."""
    if not Path(source).is_file():  # a built-in profile: its fault is zhifu's
        return UsageError(f"{source}: {exc.reason}", argument="profile")
    return _wrong_file(source, "a card profile", "profile", exc)


def check_out(path: str, *, force: bool) -> Path:
    """Where ``card issue`` may write: an existing folder, and no card there unless ``force``."""
    out = Path(path)
    folder = out.parent
    if not folder.is_dir():
        raise UsageError(f"the folder {folder} does not exist", argument="out")
    if out.is_dir():
        raise UsageError(f"{path} is a folder; name the card file to write", argument="out")
    if out.exists() and not force:
        raise UsageError(f"{path} exists (give --force to replace it)", argument="out")
    return out

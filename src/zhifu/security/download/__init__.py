"""Signed download packages for terminals: keys, CA public keys, parameters, a program.

The format both sides share — the platform that builds and signs
(:mod:`zhifu.acquirer.downloads`) and the terminal that verifies and applies
(:mod:`zhifu.terminal.download`) — so it lives here, below both:

* :mod:`~zhifu.security.download.kinds` — the kinds and their entries' fields, as tables;
* :mod:`~zhifu.security.download.canonical` — the one byte form of a body (canonical JSON);
* :mod:`~zhifu.security.download.package` — the file: magic line, body, signature;
* :mod:`~zhifu.security.download.signing` — signing in the security module, the terminal's
  checks (signer, signature, digests, contents);
* :mod:`~zhifu.security.download.errors` — one refusal per rule, each with its ``code``.

The rules are written out in ``docs/terminal.md`` ("Downloads").
"""

from zhifu.security.download.errors import DownloadError, MalformedPackageError
from zhifu.security.download.kinds import Kind
from zhifu.security.download.package import Entry, Op, Package, Signer, decode_file, make_entry
from zhifu.security.download.signing import key_id, sign_package, signer_of, verify_package

__all__ = [
    "DownloadError",
    "Entry",
    "Kind",
    "MalformedPackageError",
    "Op",
    "Package",
    "Signer",
    "decode_file",
    "key_id",
    "make_entry",
    "sign_package",
    "signer_of",
    "verify_package",
]

"""The management plane's groups and routes (``docs/acquirer.md``), keyed MTI + 60.3.

Every group starts with the same checks (fields 41, 42 and 60 present; terminal registered,
of that merchant, not blocked; MAC verified when one is carried) and ends with the responder.
Requests no route selects go to ``unsupported`` (``40``) after the same checks, so an unknown
terminal still gets ``97`` and a bad MAC ``A0``. Financial transactions are to add their groups
with :meth:`~zhifu.acquirer.pipeline.Pipeline.add` (routes on MTI + processing code + 60.1).

>>> for route in MANAGEMENT_ROUTES[:3]:
...     print(route.group, route.mti, route.network_code)
sign-on 0800 001
sign-on 0800 003
sign-on 0800 004
"""

from __future__ import annotations

from typing import Final

from zhifu.acquirer.participants import (
    CheckFields,
    CheckTerminal,
    DownloadEnd,
    Echo,
    ParameterDownload,
    ParameterQuery,
    Respond,
    SignOff,
    SignOn,
    Unsupported,
    VerifyMac,
)
from zhifu.acquirer.pipeline import Participant, Pipeline, Route
from zhifu.acquirer.services import Services
from zhifu.acquirer.tables import PK_RSA, PK_SM2

__all__ = ["MANAGEMENT_ROUTES", "UNROUTED", "management_pipeline"]

UNROUTED = "unsupported"

MANAGEMENT_ROUTES: Final = (
    *(Route("sign-on", "0800", network_code=code) for code in ("001", "003", "004", "005", "006")),
    Route("sign-off", "0820", network_code="002"),
    Route("echo", "0820", network_code="301"),
    Route("capk-query", "0820", network_code="372"),
    Route("capk-query-sm", "0820", network_code="373"),
    Route("capk-download", "0800", network_code="370"),
    Route("capk-download-end", "0800", network_code="371"),
    Route("aid-query", "0820", network_code="382"),
    Route("aid-download", "0800", network_code="380"),
    Route("aid-download-end", "0800", network_code="381"),
)
"""Route -> group of every management message the host answers."""


def management_pipeline(services: Services) -> Pipeline:
    """The pipeline with the management groups (participants are shared flyweights)."""
    fields, terminal = CheckFields(("41", "42", "60")), CheckTerminal(services)
    mac, respond, key_field = VerifyMac(services), Respond(services), CheckFields(("62",))

    def group(*steps: Participant) -> tuple[Participant, ...]:
        return (fields, terminal, mac, *steps, respond)

    groups: dict[str, tuple[Participant, ...]] = {
        "sign-on": group(SignOn(services)),
        "sign-off": group(SignOff(services)),
        "echo": group(Echo()),
        "capk-query": group(key_field, ParameterQuery(services, "capk", PK_RSA)),
        "capk-query-sm": group(key_field, ParameterQuery(services, "capk", PK_SM2)),
        "capk-download": group(key_field, ParameterDownload(services, "capk")),
        "capk-download-end": group(DownloadEnd(services, "capk")),
        "aid-query": group(key_field, ParameterQuery(services, "aid")),
        "aid-download": group(key_field, ParameterDownload(services, "aid")),
        "aid-download-end": group(DownloadEnd(services, "aid")),
        UNROUTED: (CheckFields(("41", "42")), terminal, mac, Unsupported(), respond),
    }
    return Pipeline(groups, MANAGEMENT_ROUTES, unrouted=UNROUTED)

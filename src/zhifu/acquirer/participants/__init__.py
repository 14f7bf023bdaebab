"""The participants of the management plane (sign-on, sign-off, echo, downloads) and the ones
every group shares (field checks, terminal check, MAC check, response).

>>> from zhifu.acquirer.participants import Echo
>>> Echo().name
'Echo'
"""

from zhifu.acquirer.participants.check_fields import CheckFields, Unsupported
from zhifu.acquirer.participants.check_terminal import CheckTerminal
from zhifu.acquirer.participants.downloads import DownloadEnd, ParameterDownload, ParameterQuery
from zhifu.acquirer.participants.echo import Echo
from zhifu.acquirer.participants.respond import Respond
from zhifu.acquirer.participants.sign_off import SignOff
from zhifu.acquirer.participants.sign_on import SignOn
from zhifu.acquirer.participants.verify_mac import VerifyMac

__all__ = [
    "CheckFields",
    "CheckTerminal",
    "DownloadEnd",
    "Echo",
    "ParameterDownload",
    "ParameterQuery",
    "Respond",
    "SignOff",
    "SignOn",
    "Unsupported",
    "VerifyMac",
]

"""Rules a payment institution lives by: its licence lifecycle, its published fees, its
customers' complaints and the daily reconciliation of customer reserve funds (备付金).

The rules come from the PBOC's rules for non-bank payment institutions; ``docs/compliance.md``
says which rule comes from where and the choices zhifu made.

>>> from zhifu.compliance import InstitutionRegistry
>>> InstitutionRegistry.open(":memory:").may_do_business("Z001")
False
"""

from zhifu.compliance.complaints import ComplaintBook
from zhifu.compliance.errors import ComplianceError
from zhifu.compliance.fees import FeeBook, FeeSchedule, Rate
from zhifu.compliance.institutions import InstitutionKind, InstitutionRegistry
from zhifu.compliance.reserve import Reconciliation, ReserveBook

__all__ = [
    "ComplaintBook",
    "ComplianceError",
    "FeeBook",
    "FeeSchedule",
    "InstitutionKind",
    "InstitutionRegistry",
    "Rate",
    "Reconciliation",
    "ReserveBook",
]

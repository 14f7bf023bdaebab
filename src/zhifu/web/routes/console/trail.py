"""The audit trail with its verification, the risk rules' alerts and blocks, and the
institutions' licences.

>>> [p.path for p in (AUDIT, RISK, INSTITUTIONS)]
['/console/audit', '/console/risk', '/console/institutions']
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Request, Response, get

from zhifu.web.access import site_of
from zhifu.web.pages import escape, html_response
from zhifu.web.routes.console.frame import (
    Lng,
    Texts,
    frame,
    instant,
    lang_of,
    register,
    table,
    text,
)

AUDIT = register("/console/audit", "audit.read", "审计日志", "Audit trail")
RISK = register("/console/risk", "risk.read", "风险告警与拦截", "Risk alerts and blocks")
INSTITUTIONS = register(
    "/console/institutions", "compliance.read", "机构与许可", "Institutions and licences"
)
TEXT: Final[Texts] = {
    "verified": {"zh": "链完整：{n} 条记录均已验证", "en": "The chain holds: {n} records verified"},
    "broken": {"zh": "链已损坏：第 {seq} 条记录（{why}）", "en": "Broken at record {seq} ({why})"},
    "columns": {
        "zh": "序号|时间|操作者|操作|对象|结果",
        "en": "Seq|At|Actor|Action|Object|Outcome",
    },
    "alerts": {"zh": "告警", "en": "Alerts"},
    "blocks": {"zh": "拦截中", "en": "Blocked now"},
    "alert_columns": {"zh": "时间|规则|结果|对象|原因", "en": "At|Rule|Outcome|Subject|Why"},
    "block_columns": {"zh": "类型|对象|规则", "en": "Kind|Subject|Rule"},
    "institution_columns": {"zh": "代码|类型|名称|状态", "en": "Code|Kind|Name|State"},
}


@get("/console/audit", include_in_schema=False, sync_to_thread=False)
def audit(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """The last 100 records of the audit trail, and whether the whole chain verifies."""
    chosen, site = lang_of(lang), site_of(request.app.state)
    with site.lock:
        verdict = site.trail.verify()
        records = site.trail.records()[-100:]
    status = (text(TEXT, "verified", chosen, n=verdict.records) if verdict.ok else
              text(TEXT, "broken", chosen, seq=verdict.first_bad, why=verdict.reason))  # fmt: skip
    head = "".join(f"<th>{escape(c)}</th>" for c in TEXT["columns"][chosen].split("|"))
    rows = "".join(
        f"<tr><td>{r.seq}</td><td>{escape(r.at[:19])}</td><td>{escape(r.actor)}</td>"
        f"<td>{escape(r.action)}</td><td>{escape(r.object)}</td><td>{escape(r.outcome)}</td></tr>"
        for r in reversed(records)
    )
    body = (f'<p id="verdict" class="{"on" if verdict.ok else "off"}">{status}</p>'
            f'<div class="wide"><table id="trail"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")  # fmt: skip
    return html_response(frame(chosen, AUDIT.title[chosen], body, AUDIT.path))


@get("/console/risk", include_in_schema=False, sync_to_thread=False)
def risk(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """The risk rules' last alerts (newest first) and what is blocked now."""
    chosen, site = lang_of(lang), site_of(request.app.state)
    alerts = [[instant(a.at), a.rule, a.outcome, f"{a.kind} {a.subject}", a.why]
              for a in reversed(site.risk.alerts(100))]  # fmt: skip
    blocks = [[str(b["kind"]), str(b["subject"]), str(b["rule"])] for b in site.risk.blocks()]
    body = (f'<h2>{text(TEXT, "blocks", chosen)}</h2>'
            f'{table("blocks", TEXT["block_columns"][chosen], blocks, chosen)}'
            f'<h2>{text(TEXT, "alerts", chosen)}</h2>'
            f'{table("alerts", TEXT["alert_columns"][chosen], alerts, chosen)}')  # fmt: skip
    return html_response(frame(chosen, RISK.title[chosen], body, RISK.path))


@get("/console/institutions", include_in_schema=False, sync_to_thread=False)
def institutions(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """The institutions whose licences this installation keeps, and their states."""
    chosen, site = lang_of(lang), site_of(request.app.state)
    with site.lock:
        rows = [[i.code, i.kind.value, i.name, i.state.value]
                for i in site.compliance.institutions()]  # fmt: skip
    body = table("institutions", TEXT["institution_columns"][chosen], rows, chosen)
    return html_response(frame(chosen, INSTITUTIONS.title[chosen], body, INSTITUTIONS.path))


ROUTES = [audit, risk, institutions]

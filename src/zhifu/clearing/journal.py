"""A clearing system kept in a JSON journal file, for the command line.

The journal is a scenario (participants, config, items, events) plus the instant the system
has reached (``clock``). Each command replays it on a fresh in-memory system up to ``clock``
(event sourcing: the journal is the state, the system is rebuilt, deterministically, ledger
included), applies what it was asked, and saves the journal with the new clock.

>>> import json, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "beps.json")
>>> journal = Journal.create(path, {"participants": [
...     {"code": "102100099996", "city": "1000", "caps": {"NPC": "1000.00"}},
...     {"code": "103290000002", "city": "2900", "caps": {"NPC": "1000.00"}}]})
>>> journal.add({"items": [{"id": "C1", "time": "2025-10-09T10:00:00",
...     "type": "ordinary_credit", "payer_bank": "102100099996",
...     "payee_bank": "103290000002", "amount": "12.34"}]})
1
>>> system = journal.system()
>>> system.status("C1").status.value, journal.clock
('PR03', '2025-10-09T10:00:00+08:00')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.simulate import Progress, Scenario, parse_instant, replay
from zhifu.core.errors import UsageError

_SCENARIO_KEYS = ("participants", "config", "items", "events")


class Journal:
    """A scenario file plus a clock; see the module docstring."""

    def __init__(self, path: str | Path, data: dict[str, Any]) -> None:
        self.path = Path(path)
        self.data = data

    @classmethod
    def load(cls, path: str | Path) -> Journal:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(
                "no such state file (submit a file with participants first)", argument="state"
            ) from None
        except ValueError as exc:
            raise UsageError(f"not a state file: {exc}", argument="state") from None
        if not isinstance(data, dict) or "participants" not in data:
            raise UsageError("not a clearing state file", argument="state")
        return cls(path, data)

    @classmethod
    def create(cls, path: str | Path, scenario: Mapping[str, Any]) -> Journal:
        """A new journal from a scenario's participants and config (items come with add)."""
        data = {
            "participants": scenario["participants"],
            "config": scenario.get("config", {}),
            "items": [],
            "events": [],
        }
        journal = cls(path, data)
        Scenario.from_mapping(journal.scenario_data())  # validate before saving
        journal.save()
        return journal

    @classmethod
    def open_or_create(cls, path: str | Path, scenario: Mapping[str, Any]) -> Journal:
        if Path(path).exists():
            return cls.load(path)
        if "participants" not in scenario:
            raise UsageError("a new state needs the participants", argument="FILE")
        return cls.create(path, scenario)

    @property
    def clock(self) -> str | None:
        found = self.data.get("clock")
        return str(found) if found else None

    def scenario_data(self) -> dict[str, Any]:
        out = {k: self.data[k] for k in _SCENARIO_KEYS if k in self.data}
        if self.clock:
            out["until"] = self.clock
        if self.data.get("start"):
            out["start"] = self.data["start"]
        return out

    def add(self, scenario: Mapping[str, Any]) -> int:
        """Append a file's items and events (times must not go back); returns how many."""
        items = list(scenario.get("items", []))
        events = list(scenario.get("events", []))
        times = [parse_instant(x.get("time")) for x in items + events]
        times += [parse_instant(i["receipt"]["time"]) for i in items if i.get("receipt")]
        if self.clock and times and min(times) < parse_instant(self.clock):
            raise UsageError("items and events must not be earlier than the clock", argument="FILE")
        self.data["items"] = self.data.get("items", []) + items
        self.data["events"] = self.data.get("events", []) + events
        if times:
            self._set_clock(max(times))
        Scenario.from_mapping(self.scenario_data())  # validate before saving
        self.save()
        return len(items) + len(events)

    def _set_clock(self, instant: datetime) -> None:
        if self.clock is None or instant > parse_instant(self.clock):
            self.data["clock"] = instant.isoformat()
        self.data.setdefault("start", self.data.get("start") or self._first())

    def _first(self) -> str | None:
        entries = self.data.get("items", []) + self.data.get("events", [])
        times = [parse_instant(x["time"]) for x in entries]
        return min(times).isoformat() if times else None

    def advance(self, system: ClearingSystem, instant: datetime) -> None:
        """Move the system and the journal's clock to ``instant``."""
        system.advance_to(instant)
        self.data["clock"] = system.now.isoformat()
        self.save()

    def system(self, progress: Progress | None = None) -> ClearingSystem:
        """The system rebuilt from the journal, at the journal's clock."""
        return self.replay(progress)[0]

    def replay(
        self, progress: Progress | None = None
    ) -> tuple[ClearingSystem, list[dict[str, Any]]]:
        """The system rebuilt from the journal and the answers to its requests."""
        scenario = Scenario.from_mapping(self.scenario_data())
        if not scenario.items and not scenario.events:
            raise UsageError("the state holds no items yet", argument="state")
        return replay(scenario, progress=progress)

    def save(self) -> None:
        text = json.dumps(self.data, ensure_ascii=False, indent=1, sort_keys=True)
        self.path.write_text(text + "\n", encoding="utf-8")

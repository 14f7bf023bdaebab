"""The centres' event log: every engine call written down before a bank hears of it, and replayed.

``zhifu serve`` keeps the BEPS centres in memory and their history here: each call that changes
the engine (:mod:`~zhifu.clearing.eventlog.records`) is appended, in the same database
transaction as the messages it puts in the banks' inboxes, to one append-only table
(:mod:`~zhifu.clearing.eventlog.store`, SQLite in the clearing folder or PostgreSQL), before the
bank that sent it gets its confirmation. At start the records are replayed: same calls, same
instants, same rounds, positions, queues and settlements (``docs/clearing.md``, *State and
restarts*).
"""

from zhifu.clearing.eventlog.records import Record, Recorder, replay
from zhifu.clearing.eventlog.store import EventLogError, EventStore, Loaded

__all__ = ["EventLogError", "EventStore", "Loaded", "Record", "Recorder", "replay"]

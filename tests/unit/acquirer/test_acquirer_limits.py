"""Connection caps per source address and in all; a log that writes one line per interval."""

from __future__ import annotations

from zhifu.acquirer.config import AcquirerConfig
from zhifu.acquirer.limits import ConnectionLimits, Refusal, ThrottledLog


def test_defaults_leave_room_for_many_addresses() -> None:
    config = AcquirerConfig()
    assert config.max_connections_per_address == 32
    assert config.first_frame_timeout_seconds == 10.0 < config.idle_timeout_seconds
    assert config.max_connections // config.max_connections_per_address >= 32


def test_each_address_has_its_own_share_within_the_total() -> None:
    limits = ConnectionLimits(total=5, per_address=2)
    assert [limits.admit("a") for _ in range(3)] == [None, None, Refusal.ADDRESS]
    assert [limits.admit("b") for _ in range(3)] == [None, None, Refusal.ADDRESS]
    assert limits.admit("c") is None
    assert limits.admit("d") is Refusal.FULL  # the total wins even with room at "d"
    assert limits.open == 5
    for _ in range(2):
        limits.release("a")
    assert limits.from_address("a") == 0 and limits.open == 3
    assert limits.admit("a") is None and limits.admit("d") is None


def test_throttled_log_counts_each_key_apart() -> None:
    now = [0.0]
    lines: list[str] = []
    log = ThrottledLog(lines.append, interval=10.0, clock=lambda: now[0])
    for second in range(25):
        now[0] = float(second)
        log.emit("refused", f"refused {second}")
        if second % 5 == 0:
            log.emit("silent", f"silent {second}")
    assert lines == [
        "refused 0",
        "silent 0",
        "refused 10 (9 more like this in the last 10s)",
        "silent 10 (1 more like this in the last 10s)",
        "refused 20 (9 more like this in the last 10s)",
        "silent 20 (1 more like this in the last 10s)",
    ]

"""Simulated time as a learner reads it (DESIGN §4): ``t = 2 d 00:00:08``, ``2 days old``.

Pure functions over milliseconds, shared by the engine's event sentences and the views. Raw
milliseconds stay where Kafka itself shows them (configs such as ``retention.ms``, timestamps).
"""
from __future__ import annotations

_SECOND_MS = 1000
_MINUTE_MS = 60 * _SECOND_MS
_HOUR_MS = 60 * _MINUTE_MS
_DAY_MS = 24 * _HOUR_MS


def clock_text(elapsed_ms: int) -> str:
    """Time since the cluster started as ``t = D d HH:MM:SS`` (``.mmm`` when not whole seconds).

    >>> clock_text(2 * 86_400_000 + 8_000)
    't = 2 d 00:00:08'
    >>> clock_text(1_500)
    't = 0 d 00:00:01.500'
    """
    sign = "-" if elapsed_ms < 0 else ""
    elapsed_ms = abs(int(elapsed_ms))
    days, rest = divmod(elapsed_ms, _DAY_MS)
    hours, rest = divmod(rest, _HOUR_MS)
    minutes, rest = divmod(rest, _MINUTE_MS)
    seconds, millis = divmod(rest, _SECOND_MS)
    text = f"t = {sign}{days} d {hours:02d}:{minutes:02d}:{seconds:02d}"
    return text + (f".{millis:03d}" if millis else "")


def duration_text(duration_ms: float) -> str:
    """A duration in the largest unit that reads naturally: ``2 days``, ``3.5 h``, ``12 s``,
    ``250 ms``.

    >>> duration_text(172_800_008)
    '2 days'
    >>> duration_text(90_000)
    '1.5 min'
    """
    duration_ms = float(duration_ms)
    for unit_ms, one, many in ((_DAY_MS, "day", "days"), (_HOUR_MS, "h", "h"),
                               (_MINUTE_MS, "min", "min"), (_SECOND_MS, "s", "s")):
        if abs(duration_ms) >= unit_ms:
            value = duration_ms / unit_ms
            number = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{number} {one if number == '1' else many}"
    return f"{duration_ms:g} ms"


def age_text(age_ms: float) -> str:
    """How old something is: ``2 days old``."""
    return f"{duration_text(age_ms)} old"

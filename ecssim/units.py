"""Human units in scenario files, parsed in one place.

Inside ecssim every time is in seconds, every memory size in MiB and every CPU amount in
ECS CPU units (1 vCPU = 1024). Scenario files may write ``"90s"``, ``"5m"``, ``"2h"``,
``"1d"``, ``"8 GiB"`` or plain numbers (seconds / MiB). Inside ECS objects ECS's own rules
apply: task-level ``memory: "2 GB"`` is 2048 MiB and ``cpu: "1 vCPU"`` is 1024 units.
"""

from __future__ import annotations

import re

_DURATION_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
}
# Sizes: MiB/GiB/MB/GB all mean powers of two, as ECS itself reads "GB" (decisions.md).
_SIZE_UNITS = {
    "mib": 1.0,
    "mb": 1.0,
    "m": 1.0,
    "gib": 1024.0,
    "gb": 1024.0,
    "g": 1024.0,
    "tib": 1024.0 * 1024.0,
    "tb": 1024.0 * 1024.0,
}
#: Longest duration a scenario may write anywhere (100 years): finite, and far from where float
#: seconds lose sub-millisecond precision.
MAX_DURATION_S = 100 * 365 * 86400.0
#: Largest size a scenario may write (1 PiB in MiB), far above any instance type's memory.
MAX_SIZE_MIB = float(2**30)
#: Largest rate a scenario may write (a million events per second).
MAX_RATE_PER_S = 1e6
#: Largest CPU amount in ECS CPU units: ECS's API integers are 32-bit.
MAX_CPU_UNITS = 2**31 - 1
_NUMBER_UNIT = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def _split(text: str) -> tuple[float, str]:
    match = _NUMBER_UNIT.match(text)
    if not match:
        raise ValueError(f"expected a number with an optional unit, got {text!r}")
    return float(match.group(1)), match.group(2).lower()


def parse_duration(value: object) -> float:
    """Seconds from ``"90s"``, ``"5m"``, ``"2h"``, ``"1d"``, ``"250ms"`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '90s' or a number of seconds")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        number, unit = _split(value)
        if unit == "":
            seconds = number
        elif unit in _DURATION_UNITS:
            seconds = number * _DURATION_UNITS[unit]
        else:
            raise ValueError(f"unknown time unit {unit!r} in {value!r}; use s, m, h or d (e.g. '90s', '5m')")
    else:
        raise ValueError("expected a duration such as '90s' or a number of seconds")
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"a duration must be zero or positive, got {value!r}")
    if seconds > MAX_DURATION_S:
        raise ValueError(f"a duration must be at most 100 years ({MAX_DURATION_S:.0f} s), got {value!r}")
    return seconds


def parse_size_mib(value: object) -> float:
    """MiB from ``"8 GiB"``, ``"512 MiB"``, ``"2 GB"`` (= 2048 MiB) or a number of MiB."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as '8 GiB' or a number of MiB")
    if isinstance(value, (int, float)):
        mib = float(value)
    elif isinstance(value, str):
        number, unit = _split(value)
        if unit == "":
            mib = number
        elif unit in _SIZE_UNITS:
            mib = number * _SIZE_UNITS[unit]
        else:
            raise ValueError(f"unknown size unit {unit!r} in {value!r}; use MiB or GiB")
    else:
        raise ValueError("expected a size such as '8 GiB' or a number of MiB")
    if mib < 0 or mib != mib:
        raise ValueError(f"a size must be zero or positive, got {value!r}")
    if mib > MAX_SIZE_MIB:
        raise ValueError(f"a size must be at most 1 PiB ({MAX_SIZE_MIB:.0f} MiB), got {value!r}")
    return mib


def parse_ecs_cpu(value: object) -> int:
    """CPU units as ECS reads a task-level ``cpu``: ``"1024"``, ``1024`` or ``"1 vCPU"``."""
    if isinstance(value, bool):
        raise ValueError("expected CPU units such as 1024 or '1 vCPU'")
    if isinstance(value, (int, float)):
        units = float(value)
    elif isinstance(value, str):
        number, unit = _split(value)
        if unit == "":
            units = number
        elif unit == "vcpu":
            units = number * 1024
        else:
            raise ValueError(f"expected CPU units such as '1024' or '1 vCPU', got {value!r}")
    else:
        raise ValueError("expected CPU units such as 1024 or '1 vCPU'")
    if units < 0 or units != units or units > MAX_CPU_UNITS or units != int(units):
        raise ValueError(f"CPU units must be a whole number from 0 to {MAX_CPU_UNITS}, got {value!r}")
    return int(units)


def parse_ecs_memory(value: object) -> int:
    """MiB as ECS reads a task-level ``memory``: ``"2048"``, ``2048`` or ``"2 GB"`` (2048 MiB)."""
    mib = parse_size_mib(value)
    if mib != int(mib):
        raise ValueError(f"memory must be a whole number of MiB, got {value!r}")
    return int(mib)


def parse_rate_per_s(value: object) -> float:
    """Events per second from ``"150/h"``, ``"2.5/m"``, ``"0.1/s"``, ``"30 per hour"`` or a number per second."""
    if isinstance(value, bool):
        raise ValueError("expected a rate such as '150/h' or a number per second")
    if isinstance(value, (int, float)):
        rate = float(value)
    elif isinstance(value, str):
        text = value.replace(" per ", "/")
        if "/" not in text:
            rate = float(_split(text)[0]) if _split(text)[1] == "" else -1.0
            if rate < 0:
                raise ValueError(f"expected a rate such as '150/h', got {value!r}")
        else:
            count_text, _, per_text = text.partition("/")
            count, unit = _split(count_text)
            if unit:
                raise ValueError(f"expected a rate such as '150/h', got {value!r}")
            per_text = per_text.strip()
            per = parse_duration(per_text if per_text[:1].isdigit() else "1" + per_text)
            if per <= 0:
                raise ValueError(f"a rate needs a positive period, got {value!r}")
            rate = count / per
    else:
        raise ValueError("expected a rate such as '150/h' or a number per second")
    if rate < 0 or rate != rate:
        raise ValueError(f"a rate must be zero or positive, got {value!r}")
    if rate > MAX_RATE_PER_S:
        raise ValueError(f"a rate must be at most {MAX_RATE_PER_S:.0f} per second, got {value!r}")
    return rate


#: Largest whole number a scenario field takes: ECS's API integers are 32-bit.
MAX_INT = 2**31 - 1
#: Largest magnitude of any other number in a scenario (prices, demand levels, factors).
MAX_NUMBER = 1e12


def check_magnitude(value: object) -> object:
    """``value`` unless it is a number too large (or not finite) for any scenario field.

    The scenario models run it after every field so that a typo such as ``1e30`` or ``.inf``
    is refused at load time with the field's path, not met as an overflow inside a run.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
        raise ValueError(f"must be at most {MAX_INT} in size (ECS's integers are 32-bit), got {value}")
    if isinstance(value, float) and not -MAX_NUMBER <= value <= MAX_NUMBER:
        raise ValueError(f"expected a finite number of at most {MAX_NUMBER:g} in size, got {value!r}")
    return value


def format_duration(seconds: float) -> str:
    """A short human form of a duration, for messages and summaries (``"1h 5m"``)."""
    if seconds != seconds:
        return "n/a"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds != int(seconds) else f"{int(seconds)}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount = int(seconds // size)
        if amount:
            parts.append(f"{amount}{unit}")
            seconds -= amount * size
    return " ".join(parts[:2])

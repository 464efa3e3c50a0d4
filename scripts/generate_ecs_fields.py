"""Regenerate ``ecssim/scenario/data/ecs_fields.json`` from the installed botocore.

Usage: ``python scripts/generate_ecs_fields.py`` (needs the test extra: botocore pinned).
The test ``tests/scenario/test_ecs_fields.py`` fails when the shipped file and a fresh
generation differ, so run this after changing the botocore pin and commit the result.
"""

from __future__ import annotations

from pathlib import Path

from ecssim.scenario.ecs_fields import DATA_FILE, build_field_table, dump_field_table

TARGET = Path(__file__).resolve().parent.parent / "ecssim" / "scenario" / "data" / DATA_FILE


def main() -> None:
    table = build_field_table()
    TARGET.write_text(dump_field_table(table), encoding="utf-8")
    print(f"wrote {TARGET} ({len(table['shapes'])} shapes, botocore {table['botocoreVersion']})")


if __name__ == "__main__":
    main()

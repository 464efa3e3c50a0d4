"""Build ``ecssim/scenario/data/instance_types.csv`` from the shared EC2 instance-type table.

Usage: ``python scripts/build_instance_catalog.py [SOURCE_CSV]`` (default
``/work/shared/data/ec2-instance-types.csv``, EC2 DescribeInstanceTypes data as published
in the Apache-2.0 moto project). Keeps only the columns ecssim uses, sorted by name.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

COLUMNS = (
    "instance_type",
    "vcpus",
    "memory_mib",
    "max_enis",
    "gpus",
    "architectures",
    "spot",
    "current_generation",
)
DEFAULT_SOURCE = Path("/work/shared/data/ec2-instance-types.csv")
TARGET = Path(__file__).resolve().parent.parent / "ecssim" / "scenario" / "data" / "instance_types.csv"


def build(source: Path, target: Path) -> int:
    """Copy the kept columns of ``source`` into ``target``; returns the number of types."""
    with source.open(newline="", encoding="utf-8") as handle:
        rows = [{column: row[column] for column in COLUMNS} for row in csv.DictReader(handle)]
    rows.sort(key=lambda row: row["instance_type"])
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    count = build(source, TARGET)
    print(f"wrote {TARGET} ({count} instance types from {source})")


if __name__ == "__main__":
    main()

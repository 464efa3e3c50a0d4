"""The folder ``ecssim docker-validate`` writes: real runs, simulated replications, comparison.

Layout (every table as :meth:`ecssim.analysis.Result.save` writes it)::

    DIR/comparison.csv          per metric (and per real incident): real value, prediction interval, inside
    DIR/real/runs.csv           one row per real run: seed and the compared metrics
    DIR/real/run-000/           each real run's tables (times in simulated seconds), plus
                                container_exits.csv: each essential container's real exit
    DIR/sim/runs.csv            one row per simulated replication
    DIR/sim/replication-000/    each replication's tables
    DIR/calibration-timing.yaml the calibrated latencies as given (wall seconds)
    DIR/validation.json         factor, seeds, counts, the scaled timing the simulations used
    DIR/running-tasks.png, comparison.png   (with plots)

The folder is written into a temporary sibling and moved into place when complete, so an
interrupted validation leaves nothing at ``DIR``; ``DIR`` must be new or empty (a
validation is evidence: it is never replaced).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from ..analysis import output

if TYPE_CHECKING:  # pragma: no cover
    from .compare import Validation

#: Marker field of ``validation.json`` (value: layout version).
MARKER = "ecssim_validation"
LAYOUT_VERSION = 1
COMPARISON_FILE = "comparison.csv"
DETAILS_FILE = "validation.json"
CALIBRATION_FILE = "calibration-timing.yaml"


def check_new_folder(folder: str | Path) -> None:
    """Refuse a ``folder`` that exists and is not empty (before a long validation starts).

    Raises:
        OutputFolderError: it holds something; validations never replace anything.
    """
    path = Path(folder)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise output.OutputFolderError(f"{path} exists and is not a folder; choose another --out")
    if path.exists() and any(path.iterdir()):
        raise output.OutputFolderError(
            f"{path} is not empty; a validation is written to a new or empty folder (choose another --out)")


def runs_table(metrics: list[dict], seeds: list[int], replications: list[int]) -> pd.DataFrame:
    """One row per run: its seed, replication and every compared metric."""
    frame = pd.DataFrame(metrics)
    frame.insert(0, "replication", replications)
    frame.insert(0, "seed", seeds)
    return frame


#: The real exits of a real run's essential containers, beside its tables.
EXITS_FILE = "container_exits.csv"


def _exits_writer(exits: pd.DataFrame | None):  # noqa: ANN202 - a Result.save extra hook, or None
    if exits is None:
        return None

    def write(folder: Path) -> list[str]:
        exits.to_csv(folder / EXITS_FILE, index=False, lineterminator="\n")
        return [EXITS_FILE]

    return write


def save_validation(validation: Validation, folder: str | Path, *, plots: bool = True) -> Path:
    """Write ``validation`` to ``folder`` (layout in the module doc) and return its path."""
    from .compare import SIM_SEED_OFFSET, run_metrics

    check_new_folder(folder)
    real, sims = validation.real, validation.simulated

    def write(tmp: Path) -> None:
        validation.comparison.to_csv(tmp / COMPARISON_FILE, index=False, lineterminator="\n")
        for side, results, name in (("real", real, "run"), ("sim", sims, "replication")):
            (tmp / side).mkdir()
            seeds = [r.seed for r in results]
            reps = [r.replication for r in results]
            runs_table([run_metrics(r) for r in results], seeds, reps).to_csv(
                tmp / side / "runs.csv", index=False, lineterminator="\n")
            for index, result in enumerate(results):
                exits = validation.real_exits[index] if side == "real" and index < len(validation.real_exits) else None
                result.save(tmp / side / f"{name}-{index:03d}", extra=_exits_writer(exits))
        (tmp / CALIBRATION_FILE).write_text(
            yaml.safe_dump({"timing": validation.calibration_timing}, sort_keys=False), encoding="utf-8")
        files = [COMPARISON_FILE, CALIBRATION_FILE, DETAILS_FILE, "real", "sim"]
        if plots:
            from .plots import save_validation_plots

            files += [path.name for path in save_validation_plots(validation, tmp)]
        output.write_json(tmp / DETAILS_FILE, {
            MARKER: LAYOUT_VERSION,
            "factor": validation.factor,
            "real_runs": len(real),
            "real_seeds": [r.seed for r in real],
            "sim_replications": len(sims),
            "sim_seed": SIM_SEED_OFFSET + validation.seed,
            "scenario": real[0].scenario.get("name") if real else None,
            "sim_timing": validation.timing,
            "files": files,
        })

    return output.write_folder(folder, write)

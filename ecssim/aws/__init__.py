"""Snapshot a live ECS cluster into a scenario (``ecssim import-cluster``; extra ``ecssim[aws]``).

``snapshot(cluster)`` reads the cluster with read-only boto3 calls (:mod:`.snapshot`) and maps
what it read to a scenario dict that starts in the cluster's current state (:mod:`.to_scenario`);
``import_cluster`` also keeps the header, and ``write_snapshot`` writes it (:mod:`.writer`).
"""

from __future__ import annotations

from .snapshot import AWS_HINT, IAM_ACTIONS, ClusterSnapshot, SnapshotError, read_cluster
from .to_scenario import ImportedCluster, to_scenario
from .writer import MARKER, check_target, write_snapshot


def import_cluster(cluster: str, session=None, region: str | None = None,  # noqa: ANN001
                   profile: str | None = None, duration: str = "1h") -> ImportedCluster:
    """Read ``cluster`` and map it to a scenario, with its header and warnings."""
    return to_scenario(read_cluster(cluster, session=session, region=region, profile=profile), duration=duration)


def snapshot(cluster: str, session=None, region: str | None = None,  # noqa: ANN001
             profile: str | None = None, duration: str = "1h") -> dict:
    """The scenario dict (camelCase, as a file holds it) of ``cluster``'s current state.

    Raises:
        SnapshotError: no credentials or region, a missing permission, no such ACTIVE cluster.
        MissingExtraError: boto3 is not installed.
    """
    return import_cluster(cluster, session=session, region=region, profile=profile, duration=duration).scenario


__all__ = ["AWS_HINT", "IAM_ACTIONS", "MARKER", "ClusterSnapshot", "ImportedCluster", "SnapshotError",
           "check_target", "import_cluster", "read_cluster", "snapshot", "to_scenario", "write_snapshot"]

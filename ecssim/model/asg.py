"""Auto Scaling groups: each fleet launches its instances and keeps its desired size.

A fleet *is* an Auto Scaling group. It launches ``count`` instances at the start (spread
round-robin over its AZs) and, with ``replaceLostInstances`` (default, as an ASG does),
launches a replacement ``timing.asgReplacementDelay`` after EC2 terminates one of its
instances, whatever terminated it (a fault or an operator action). A replacement goes to
the AZ with the fewest of the fleet's live instances among the AZs that accept new
instances (an ASG's AZ balancing; with equal counts it is round-robin over those AZs), so
during an AZ outage that refuses new instances it lands in the surviving AZs. If no AZ of
the fleet accepts instances, the launch waits until one does.

Every instance, replacements included, is keyed ``<fleet>/<index>`` (the index continues
after ``count``): its agent's random stream and its time to failure depend on that key
only, so a replacement never shifts the draws of the instances that already exist.
"""

from __future__ import annotations

from ..scenario.catalog import builtin_attributes, instance_type, registered_resources, task_eni_limit
from .agent import SimulatedAgent


class AutoScalingGroup:
    """One fleet: launches its instances and replaces the ones EC2 terminates."""

    def __init__(self, world, fleet) -> None:  # noqa: ANN001
        self.world = world
        self.fleet = fleet
        self.name: str = fleet.name
        cluster_model = world.scenario.cluster
        self.entry = instance_type(fleet.instance_type)
        self.cpu, self.memory = registered_resources(
            self.entry, cluster_model.memory_overhead_fraction, fleet.reserved_memory,
            fleet.registered_cpu, fleet.registered_memory,
        )
        self.task_enis = task_eni_limit(self.entry, fleet.awsvpc_trunking, fleet.eni_trunking_limit)
        self.next_index = 0
        self.slots: list[int] = []  # every instance it launched, in launch order
        self.pending: list[tuple[int, str]] = []  # (lost slot, incident) waiting for an AZ that accepts instances
        self.rng = world.streams.get("asg", fleet.name)

    # ------------------------------------------------------------------ launching
    def launch_initial(self, warm: bool) -> None:
        """Launch the fleet's ``count`` instances at t=0, round-robin over its AZs."""
        zones = self.fleet.availability_zones
        for index in range(self.fleet.count):
            self._launch(zones[index % len(zones)], warm)

    def _launch(self, az: str, warm: bool = False, reason: str = "", incident: str = "") -> int:
        world = self.world
        fleet, entry = self.fleet, self.entry
        index = self.next_index
        self.next_index += 1
        attributes = builtin_attributes(entry, az)
        attributes.update(fleet.attributes)
        stream_key = f"{fleet.name}/{index}"
        info = world.cluster.add_instance(
            fleet=fleet.name, instance_type=entry.name, az=az, market=fleet.market, cpu=self.cpu,
            memory=self.memory, attributes=attributes, stream_key=stream_key, task_enis=self.task_enis,
            gpus=entry.gpus, agent_version=fleet.agent_version,
        )
        slot = info.slot
        self.slots.append(slot)
        world.rec.instance_ids.append(info.id)
        world.rec.instance_azs.append(az)
        agent_rng = world.streams.get("agent", stream_key)
        world.plane.agents.append(
            SimulatedAgent(world.env, slot, self.cpu, self.memory, world.scenario.timing, agent_rng, world.rec,
                           world.plane)
        )
        world.log.instances.append((info.id, fleet.name, entry.name, az, fleet.market, self.cpu, self.memory,
                                    world.env.now))
        world.rec.instance_state(slot, "", "REGISTERING", reason, incident)
        if warm:
            world.plane.instance_registered(slot)
        else:
            delay = world.scenario.timing.agent_registration.sample(agent_rng)
            world.env.process(self._register_later(slot, delay))
        return slot

    def _register_later(self, slot: int, delay: float):
        world = self.world
        yield world.env.timeout(delay)
        info = world.cluster.infos[slot]
        if world.plane.agents[slot].alive and info.az not in world.refusing_azs:
            world.plane.instance_registered(slot)

    # ------------------------------------------------------------------ replacing
    def instance_terminated(self, slot: int, incident: str = "") -> None:
        """EC2 terminated one of the fleet's instances: launch a replacement if the fleet keeps its size.

        The replacement's REGISTERING row names the lost instance and carries the incident.
        """
        if not self.fleet.replace_lost_instances:
            return
        delay = self.world.scenario.timing.asg_replacement_delay.sample(self.rng)
        if delay <= 0.0:
            self._replace(slot, incident)
        else:
            timer = self.world.env.timeout(delay)
            timer.callbacks.append(lambda _event: self._replace(slot, incident))

    def _replace(self, lost: int, incident: str) -> None:
        az = self._pick_az()
        if az is None:
            self.pending.append((lost, incident))  # no AZ accepts instances: wait for one (retry_pending)
            return
        self._launch(az, reason=self._reason(lost), incident=incident)

    def _reason(self, lost: int) -> str:
        return f"Auto Scaling group {self.name} replaces {self.world.cluster.infos[lost].id}"

    def retry_pending(self) -> None:
        """An AZ accepts instances again: launch the replacements that were waiting."""
        while self.pending:
            az = self._pick_az()
            if az is None:
                return
            lost, incident = self.pending.pop(0)
            self._launch(az, reason=self._reason(lost), incident=incident)

    def _pick_az(self) -> str | None:
        """The accepting AZ with the fewest live instances of this fleet (ties: the fleet's AZ order)."""
        world = self.world
        refusing = world.refusing_azs
        zones = [az for az in self.fleet.availability_zones if az not in refusing]
        if not zones:
            return None
        live = dict.fromkeys(zones, 0)
        agents, infos = world.plane.agents, world.cluster.infos
        for slot in self.slots:
            az = infos[slot].az
            if az in live and not agents[slot].terminated:
                live[az] += 1
        return min(zones, key=live.__getitem__)

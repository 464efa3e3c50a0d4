"""Auto Scaling groups: each fleet launches its instances and keeps its desired size.

A fleet *is* an Auto Scaling group. It launches ``count`` instances at the start (spread
round-robin over its AZs) and, with ``replaceLostInstances`` (default, as an ASG does),
launches a replacement ``timing.asgReplacementDelay`` after EC2 terminates one of its
instances, whatever terminated it (a fault or an operator action). A replacement goes to
the AZ with the fewest of the fleet's live instances among the AZs that accept new
instances (an ASG's AZ balancing; with equal counts it is round-robin over those AZs), so
during an AZ outage that refuses new instances it lands in the surviving AZs. If no AZ of
the fleet accepts instances, the launch waits until one does.

When an AZ accepts instances again after an outage, a fleet with ``azRebalance`` (EC2 Auto
Scaling's AZRebalance process, on by default) evens its AZs out: it launches an instance in
the AZ with the fewest and, once that one registers, terminates one in the AZ with the most,
until no two AZs differ by more than one instance. EC2 Auto Scaling launches before it
terminates, as here; which instance it terminates follows its termination policy, which
knows nothing of tasks: ecssim takes the instance with the fewest tasks (ties: the newest),
its assumption. The terminated instance's tasks stop with the host (no incident: nothing
failed), and it is not replaced.

Every instance, replacements included, is keyed ``<fleet>/<index>`` (the index continues
after ``count``): its agent's random stream and its time to failure depend on that key
only, so a replacement never shifts the draws of the instances that already exist.
"""

from __future__ import annotations

from ..scenario.catalog import builtin_attributes, instance_type, registered_resources, task_eni_limit
from .cluster import InstanceInfo
from .compaction import remap_dict, remap_slots
from .timers import call_later

#: The attribute that keeps a capacity provider's tasks on its instances (see control.capacity_provider).
PROVIDER_ATTRIBUTE = "ecssim.capacity-provider"


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
        self._live_in = dict.fromkeys(fleet.availability_zones, 0)  # live (not terminated) instances per AZ
        self._live_slots: dict[str, dict[int, None]] = {}  # AZ -> its live instances, in launch order
        self.pending: list[tuple[str, str]] = []  # (lost instance id, incident) waiting for an AZ that accepts instances
        #: launched instance -> AZ to terminate an instance in once it registers (InstanceInfo keys:
        #: an entry outlives its instance when it is lost while registering, and slots get renumbered)
        self.rebalance_victims: dict[InstanceInfo, str] = {}
        self.retiring: set[int] = set()  # slots terminated by AZ rebalancing (not replaced)
        self.rng = world.streams.get("asg", fleet.name)
        self.desired: int = fleet.count  # DesiredCapacity (managed scaling changes it)
        self.launched_at: dict[int, float] = {}  # live slot -> launch time (-inf for warm-started instances)
        self.scaling_in: set[int] = set()  # slots chosen by a scale-in, draining or terminated (not replaced)
        self.capacity_provider: str = ""  # name of the capacity provider over this group ("" if none)
        self.launch_delay = fleet.launch_delay if fleet.launch_delay is not None else \
            world.scenario.timing.agent_registration

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
        if self.capacity_provider:
            attributes[PROVIDER_ATTRIBUTE] = self.capacity_provider
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
        agent_rng = world.streams.fresh("agent", stream_key)  # asked for once: the agent keeps it
        agent = world.agent_factory(world, slot, self.cpu, self.memory, agent_rng)
        agent.on_terminated = self._instance_gone
        world.plane.agents.append(agent)
        self._live_in[az] = self._live_in.get(az, 0) + 1
        self._live_slots.setdefault(az, {})[slot] = None
        world.log.instances.append((info.id, fleet.name, entry.name, az, fleet.market, self.cpu, self.memory,
                                    world.env.now, self.capacity_provider))
        self.launched_at[slot] = -float("inf") if warm else world.env.now
        world.rec.instance_state(slot, "", "REGISTERING", reason, incident)
        if warm:
            world.plane.instance_registered(slot)
        else:
            delay = self.launch_delay.sample(agent_rng)
            world.env.process(self._register_later(info, agent, delay))
        return slot

    def _register_later(self, info: InstanceInfo, agent, delay: float):  # noqa: ANN001
        """The instance registers after ``delay`` (it holds the instance, not its slot: slots get renumbered)."""
        world = self.world
        yield world.env.timeout(delay)
        if agent.alive and info.az not in world.refusing_azs:
            world.plane.instance_registered(info.slot)
            victim_az = self.rebalance_victims.pop(info, None)
            if victim_az is not None:
                self._retire_one(victim_az)

    # ------------------------------------------------------------------ replacing
    def instance_terminated(self, slot: int, incident: str = "") -> None:
        """EC2 terminated one of the fleet's instances: launch a replacement if the fleet keeps its size.

        The replacement's REGISTERING row names the lost instance and carries the incident.
        """
        if not self.fleet.replace_lost_instances or slot in self.retiring or slot in self.scaling_in:
            return
        delay = self.world.scenario.timing.asg_replacement_delay.sample(self.rng)
        call_later(self.world.env, delay, self._replace, self.world.cluster.infos[slot].id, incident)

    def _replace(self, lost: str, incident: str) -> None:
        az = self._pick_az()
        if az is None:
            self.pending.append((lost, incident))  # no AZ accepts instances: wait for one (retry_pending)
            return
        self._launch(az, reason=self._reason(lost), incident=incident)

    def _reason(self, lost: str) -> str:
        return f"Auto Scaling group {self.name} replaces {lost}"

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
        live = self._live_per_az()
        return min(live, key=live.__getitem__) if live else None

    def _live_per_az(self) -> dict[str, int]:
        """Live (not terminated) instances of this fleet per AZ that accepts instances, in the fleet's AZ order."""
        refusing = self.world.refusing_azs
        live = self._live_in
        return {az: live[az] for az in self.fleet.availability_zones if az not in refusing}

    def _instance_gone(self, slot: int) -> None:
        """One of the group's instances was terminated: it no longer counts in its AZ (nor needs
        its launch time, which only the warm-up of instances in service reads)."""
        az = self.world.cluster.infos[slot].az
        self._live_in[az] -= 1
        del self._live_slots[az][slot]
        self.launched_at.pop(slot, None)

    def remap_slots(self, new_of) -> None:  # noqa: ANN001
        """The cluster dropped slots and renumbered the others (``model.compaction``): follow suit."""
        self.slots = remap_slots(self.slots, new_of)
        self._live_slots = {az: dict.fromkeys(remap_slots(slots, new_of)) for az, slots in self._live_slots.items()}
        self.launched_at = remap_dict(self.launched_at, new_of)
        self.retiring = set(remap_slots(self.retiring, new_of))
        self.scaling_in = set(remap_slots(self.scaling_in, new_of))

    # ------------------------------------------------------------------ desired capacity
    def in_service(self) -> list[int]:
        """Instances counted in the group's capacity: launched, not terminated, not being scaled in."""
        agents = self.world.plane.agents
        return [s for s in self.slots if not agents[s].terminated and s not in self.scaling_in]

    def scale_out(self, desired: int, reason: str) -> list[int]:
        """Raise DesiredCapacity to ``desired``: launch the missing instances, each in the thinnest AZ."""
        launched: list[int] = []
        missing = desired - len(self.in_service()) - len(self.pending)
        self.desired = desired
        for _ in range(max(missing, 0)):
            az = self._pick_az()
            if az is None:
                break  # no AZ accepts instances (an outage): the launches wait (retry_pending)
            launched.append(self._launch(az, reason=reason))
        return launched

    def choose_scale_in(self, candidates: list[int], count: int) -> list[int]:
        """Which of ``candidates`` a scale-in terminates: EC2 Auto Scaling's default termination policy.

        Repeatedly the AZ with the most in-service instances of the group (ties: the fleet's
        AZ order), then at random within it (the policy's later criteria, launch template age
        and billing hour, do not separate simulated instances).
        """
        infos = self.world.cluster.infos
        per_az: dict[str, int] = {az: 0 for az in self.fleet.availability_zones}
        for slot in self.in_service():
            per_az[infos[slot].az] = per_az.get(infos[slot].az, 0) + 1
        left = list(candidates)
        chosen: list[int] = []
        while left and len(chosen) < count:
            zones = {infos[s].az for s in left}
            az = max((z for z in per_az if z in zones), key=per_az.__getitem__)
            pool = [s for s in left if infos[s].az == az]
            victim = pool[int(self.rng.random() * len(pool))]
            chosen.append(victim)
            left.remove(victim)
            per_az[az] -= 1
        return chosen

    # ------------------------------------------------------------------ AZ rebalancing
    def rebalance(self) -> None:
        """An AZ accepts instances again: launch where the fleet is thinnest, to retire where it is thickest."""
        if not self.fleet.az_rebalance:
            return
        live = self._live_per_az()
        for info, victim_az in self.rebalance_victims.items():  # launches already on their way
            live[info.az] -= 1
            live[victim_az] -= 1
        while live:
            low = min(live, key=live.__getitem__)
            high = max(live, key=live.__getitem__)
            if live[high] - live[low] <= 1:
                return
            slot = self._launch(low, reason=f"Auto Scaling group {self.name} rebalances its Availability Zones")
            self.rebalance_victims[self.world.cluster.infos[slot]] = high
            live[low] += 1
            live[high] -= 1

    def _retire_one(self, az: str) -> None:
        """Terminate the fleet's instance in ``az`` with the fewest tasks (ties: the newest)."""
        world = self.world
        agents = world.plane.agents
        candidates = list(self._live_slots.get(az, ()))  # launch order, terminated ones left out
        if not candidates:
            return
        victim, fewest = -1, -1
        for slot in reversed(candidates):  # newest first: the first with the fewest tasks wins ties
            count = len(agents[slot].tasks)
            if fewest < 0 or count < fewest:
                victim, fewest = slot, count
                if count == 0:
                    break  # none can have fewer
        self.retiring.add(victim)
        world.ec2.terminate(victim, f"Auto Scaling group {self.name} rebalances its Availability Zones")

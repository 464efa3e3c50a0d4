"""What happens to a host on EC2's side, and when ECS hears of it (ecs-reference 5.1, 5.2, 12).

- ``terminate``: EC2 terminates the instance. The host stops at once; ECS marks it INACTIVE
  and its tasks STOPPED ``timing.instanceLossDetectionDelay`` later (default 0: "INACTIVE
  immediately" when the agent is connected); its Auto Scaling group is told at once.
- ``impair``: the host stops working but is not terminated. ECS notices only that the agent
  stopped answering: ``agentConnected`` becomes false after ``timing.agentHeartbeatTimeout``.
  Its tasks stay RUNNING in ECS's view and are not replaced; ``terminate_after`` makes EC2
  terminate it in the end. An impaired host never comes back by itself.
- ``disconnect`` / ``reconnect``: only the agent's connection drops; the host keeps working.

Delays of zero act at once (no SimPy event), so the rows keep the order of the causes.
"""

from __future__ import annotations

from .timers import call_later

#: ``reason`` of the agent rows.
HEARTBEAT_TIMEOUT = "Agent heartbeat timed out (host impaired)"
AGENT_DISCONNECTED = "Agent disconnected"
AGENT_RECONNECTED = "Agent reconnected"


class Ec2:
    """The EC2 side of every container instance of a world."""

    def __init__(self, world) -> None:  # noqa: ANN001
        self.world = world
        self.env = world.env
        self.plane = world.plane
        self.timing = world.scenario.timing

    # ------------------------------------------------------------------ termination
    def terminate(self, slot: int, reason: str, incident: str = "") -> None:
        """EC2 terminates the instance: the host stops, ECS learns after the detection delay."""
        agent = self.plane.agents[slot]
        if agent.terminated:
            return
        agent.die()
        agent.terminated = True
        self.plane.host_failed(slot, incident)
        delay = self.timing.instance_loss_detection_delay.sample(agent.rng)
        if delay <= 0.0:
            self.plane.terminate_instance(slot, reason, incident)
        else:  # the instance, not its slot: slots get renumbered meanwhile (model.compaction)
            call_later(self.env, delay, self._ecs_learns, self.world.cluster.infos[slot], reason, incident)
        self.world.asgs[self.world.cluster.infos[slot].fleet].instance_terminated(slot, incident)

    # ------------------------------------------------------------------ impairment
    def impair(self, slot: int, incident: str, terminate_after: float | None, reason: str) -> None:
        """The host stops working without being terminated; ECS sees the agent disconnect later."""
        agent = self.plane.agents[slot]
        if not agent.alive:
            return
        agent.die()
        self.plane.host_failed(slot, incident)
        timeout = self.timing.agent_heartbeat_timeout.sample(agent.rng)  # a dead host draws nothing else
        info = self.world.cluster.infos[slot]  # not the slot: slots get renumbered meanwhile (model.compaction)
        call_later(self.env, timeout, self._heartbeat_missed, info, incident)
        if terminate_after is not None:
            call_later(self.env, terminate_after, self._terminate_impaired, info, reason, incident)

    def _ecs_learns(self, info, reason: str, incident: str) -> None:  # noqa: ANN001
        """The detection delay after a termination ended: ECS marks the instance INACTIVE."""
        self.plane.terminate_instance(info.slot, reason, incident)  # only this makes it INACTIVE: slot >= 0

    def _heartbeat_missed(self, info, incident: str) -> None:  # noqa: ANN001
        """ECS misses the impaired host's heartbeats: its agent shows disconnected."""
        if info.slot >= 0:  # -1: INACTIVE and its slot dropped meanwhile, nothing to show
            self.plane.agent_connection(info.slot, False, HEARTBEAT_TIMEOUT, incident)

    def _terminate_impaired(self, info, reason: str, incident: str) -> None:  # noqa: ANN001
        if info.slot >= 0:  # -1: terminated otherwise and its slot dropped meanwhile
            self.terminate(info.slot, reason, incident)

    # ------------------------------------------------------------------ agent connection
    def disconnect(self, slot: int, incident: str) -> bool:
        """The agent of a working host loses its connection; False if there was nothing to disconnect."""
        agent = self.plane.agents[slot]
        if not agent.alive or not agent.connected or not self.plane.cluster.view.connected[slot]:
            return False
        agent.disconnect(incident)
        self.plane.agent_connection(slot, False, AGENT_DISCONNECTED, incident)
        return True

    def reconnect(self, slot: int, incident: str) -> None:
        """The agent disconnected by ``incident`` reconnects (unless the host died meanwhile)."""
        agent = self.plane.agents[slot]
        if not agent.alive or agent.disconnected_by != incident:
            return
        self.plane.agent_connection(slot, True, AGENT_RECONNECTED, incident)
        agent.reconnect()

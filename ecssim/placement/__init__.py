"""Task placement on EC2 container instances: pure functions over numpy arrays.

``place`` filters the instances a task fits on (binding: agent connected, CPU, memory, ports,
ENIs, GPUs, then the ``distinctInstance`` and ``memberOf`` constraints, whose expressions are
compiled once with :func:`compile_query`) and ranks the survivors by the ordered strategies (ecs-reference section 3);
``choose_tasks_to_stop`` is its scale-in mirror. Nothing here knows about SimPy or time.
"""

from ecssim.placement.demand import TaskDemand
from ecssim.placement.messages import unable_to_place_message
from ecssim.placement.pipeline import (
    REASON_AGENT,
    REASON_CPU,
    REASON_DISTINCT_INSTANCE,
    REASON_ENI,
    REASON_GPU,
    REASON_MEMBER_OF,
    REASON_MEMORY,
    REASON_NO_ACTIVE_INSTANCES,
    REASON_PORTS,
    Constraint,
    PlacementDecision,
    compiled_query,
    place,
    query_context,
)
from ecssim.placement.query import (
    MAX_EXPRESSION_LENGTH,
    Query,
    QueryContext,
    QueryEvaluationError,
    QuerySyntaxError,
    compile_query,
    parse,
)
from ecssim.placement.scale_in import choose_tasks_to_stop
from ecssim.placement.strategies import (
    DEFAULT_RUNTASK_STRATEGY,
    DEFAULT_SERVICE_STRATEGY,
    DefaultServiceStrategy,
    validate_strategies,
)
from ecssim.placement.view import (
    AGENT_RESERVED_TCP_PORTS,
    AZ_ATTRIBUTE,
    MAX_RESERVED_PORTS,
    ClusterView,
)

__all__ = [
    "AGENT_RESERVED_TCP_PORTS",
    "AZ_ATTRIBUTE",
    "DEFAULT_RUNTASK_STRATEGY",
    "DEFAULT_SERVICE_STRATEGY",
    "MAX_EXPRESSION_LENGTH",
    "MAX_RESERVED_PORTS",
    "REASON_AGENT",
    "REASON_CPU",
    "REASON_DISTINCT_INSTANCE",
    "REASON_ENI",
    "REASON_GPU",
    "REASON_MEMBER_OF",
    "REASON_MEMORY",
    "REASON_NO_ACTIVE_INSTANCES",
    "REASON_PORTS",
    "ClusterView",
    "Constraint",
    "DefaultServiceStrategy",
    "PlacementDecision",
    "Query",
    "QueryContext",
    "QueryEvaluationError",
    "QuerySyntaxError",
    "TaskDemand",
    "choose_tasks_to_stop",
    "compile_query",
    "compiled_query",
    "parse",
    "place",
    "query_context",
    "unable_to_place_message",
    "validate_strategies",
]

"""The optional ``prices`` section: its shape, its validation and the fleet cross-check."""

from __future__ import annotations

import pytest

from ecssim.scenario import ScenarioError, load_scenario_dict
from ecssim.scenario.price_models import FargatePrices, InstancePrice, Prices


def errors_of(data: dict) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_dict(data, source="s")
    return [f"{issue.path}: {issue.message}" for issue in info.value.issues]


def with_prices(minimal: dict, prices: dict, spot_fleet: bool = False) -> dict:
    if spot_fleet:
        minimal["cluster"]["fleets"].append(
            {"name": "cheap", "instanceType": "c5.xlarge", "count": 1, "market": "spot"})
    return {**minimal, "prices": prices}


def test_no_prices_by_default(minimal: dict) -> None:
    assert load_scenario_dict(minimal).prices is None


def test_the_documented_shape_loads(minimal: dict) -> None:
    scenario = load_scenario_dict(with_prices(minimal, {
        "instances": {"m5.large": {"onDemand": 0.096, "spot": 0.035}, "c5.xlarge": {"spot": 0.07}},
        "fargate": {"vcpuHour": 0.04048, "gbHour": 0.004445, "spotVcpuHour": 0.01334, "spotGbHour": 0.00146},
        "minimumBilledSeconds": "1m",
    }, spot_fleet=True))
    prices = scenario.prices
    assert prices.instances["m5.large"] == InstancePrice(on_demand=0.096, spot=0.035)
    assert prices.instances["c5.xlarge"].for_market("spot") == 0.07
    assert prices.instances["c5.xlarge"].for_market("on-demand") is None
    assert prices.minimum_billed_seconds == 60.0
    assert prices.fargate.hourly(0.5, 1.0, spot=False) == pytest.approx(0.5 * 0.04048 + 0.004445)
    assert prices.fargate.hourly(0.5, 1.0, spot=True) == pytest.approx(0.5 * 0.01334 + 0.00146)
    dumped = scenario.model_dump(mode="json", by_alias=True)["prices"]
    assert dumped["instances"]["m5.large"] == {"onDemand": 0.096, "spot": 0.035}
    assert dumped["fargate"]["spotVcpuHour"] == 0.01334 and dumped["minimumBilledSeconds"] == 60.0


def test_defaults() -> None:
    prices = Prices()
    assert prices.instances == {} and prices.fargate is None
    assert prices.minimum_billed_seconds == 60.0
    assert FargatePrices(vcpu_hour=1, gb_hour=1).hourly(1, 1, spot=True) is None


def test_unknown_instance_type_suggests_names(minimal: dict) -> None:
    errors = errors_of(with_prices(minimal, {"instances": {"m5.large": {"onDemand": 0.1},
                                                           "m5.lage": {"onDemand": 0.1}}}))
    assert errors == ["prices.instances: unknown instance type 'm5.lage'; did you mean m5.large, m5n.large, "
                      "m5d.large?"]


def test_negative_prices_rejected(minimal: dict) -> None:
    errors = errors_of(with_prices(minimal, {
        "instances": {"m5.large": {"onDemand": -0.1}},
        "fargate": {"vcpuHour": 0.04, "gbHour": -1},
        "minimumBilledSeconds": -1,
    }))
    assert errors == [
        "prices.instances.m5.large.onDemand: must be >= 0.0, got -0.1",
        "prices.fargate.gbHour: must be >= 0.0, got -1",
        "prices.minimumBilledSeconds: a duration must be zero or positive, got -1",
    ]


def test_unknown_key_has_a_did_you_mean(minimal: dict) -> None:
    errors = errors_of(with_prices(minimal, {"instances": {"m5.large": {"ondemand": 0.1}}}))
    assert errors == ["prices.instances.m5.large.ondemand: unknown field; did you mean onDemand?"]


def test_fargate_spot_prices_come_in_pairs(minimal: dict) -> None:
    errors = errors_of(with_prices(minimal, {
        "instances": {"m5.large": {"onDemand": 0.1}},
        "fargate": {"vcpuHour": 0.04, "gbHour": 0.004, "spotVcpuHour": 0.01},
    }))
    assert errors == ["prices.fargate: give spotVcpuHour and spotGbHour together (the FARGATE_SPOT prices), "
                      "or neither"]


def test_every_fleet_needs_the_price_of_its_market(minimal: dict) -> None:
    errors = errors_of(with_prices(minimal, {
        "instances": {"m5.large": {"spot": 0.035}, "c5.xlarge": {"onDemand": 0.17}},
    }, spot_fleet=True))
    assert errors == [
        "prices.instances.m5.large.onDemand: fleet 'main' (cluster.fleets[0], market on-demand) needs this "
        "price, USD per hour",
        "prices.instances.c5.xlarge.spot: fleet 'cheap' (cluster.fleets[1], market spot) needs this price, "
        "USD per hour",
    ]


def test_a_fleet_type_missing_from_prices(minimal: dict) -> None:
    errors = errors_of(with_prices(minimal, {"fargate": {"vcpuHour": 0.04, "gbHour": 0.004}}))
    assert errors == ["prices.instances.m5.large.onDemand: fleet 'main' (cluster.fleets[0], market on-demand) "
                      "needs this price, USD per hour"]

"""The teaching animation: frames, flashes at faults, task blocks, and the GIF file."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from PIL import Image

from ecssim.analysis.plots.animation import FLASH_COLOR, GONE_COLOR, animate, frame_times, save_animation
from ecssim.analysis.plots.style import FAULT_COLOR


@pytest.fixture(scope="module")
def az_outage_result(plot_helpers):
    """The small cluster; us-east-1b goes down (instances terminated) at 10 min."""
    data = dict(plot_helpers.scenario)
    data |= {"name": "plots-az-outage", "duration": "20m", "workloads": [], "actions": [],
             "faults": [{"type": "azOutage", "name": "b-down", "availabilityZone": "us-east-1b",
                         "start": "10m", "mode": "terminated"}]}
    return plot_helpers.run(data)


@pytest.fixture
def anims():
    made = []
    yield made.append
    for anim in made:
        # Frames were drawn through ``anim.scene``, not by matplotlib: silence its
        # "Animation was deleted without rendering anything" warning.
        anim._draw_was_started = True
        plt.close(anim._fig)


def fault_times(result) -> np.ndarray:
    rows = result.events[(result.events["entity"] == "fault") & (result.events["event"] == "fault")]
    return np.unique(rows.drop_duplicates("incident_id")["time_s"].to_numpy())


def test_frames_are_even_plus_fault_times(small_result, anims):
    anim = animate(small_result, frames=20)
    anims(anim)
    faults = fault_times(small_result)
    even = np.linspace(0, small_result.duration_s, 20)
    expected = np.unique(np.concatenate([even, faults]))
    np.testing.assert_array_equal(anim.frame_times_s, expected)
    assert len(list(anim.new_frame_seq())) == len(expected)
    assert set(faults) <= set(anim.frame_times_s)


def test_more_faults_than_frames_add_no_frames():
    faults = np.linspace(1.0, 99.0, 11)
    np.testing.assert_array_equal(frame_times(100.0, 10, faults), np.linspace(0.0, 100.0, 10))
    both = frame_times(100.0, 11, faults)  # as many faults as frames: each fault gets its frame
    np.testing.assert_array_equal(both, np.unique(np.concatenate([np.linspace(0.0, 100.0, 11), faults])))


def test_frame_times_validation():
    with pytest.raises(ValueError, match="at least one frame"):
        frame_times(100.0, 0, np.array([]))


def test_lost_instance_flashes_then_is_crossed_out(small_result, anims):
    anim = animate(small_result, frames=10)
    anims(anim)
    scene = anim.scene
    lost = small_result.instances[small_result.instances["incident_id"] != ""].iloc[0]
    frame = int(np.flatnonzero(anim.frame_times_s == lost["terminated_at_s"])[0])
    scene.draw(frame)
    iid = lost["instance_id"]
    assert iid in scene.flashed
    assert scene.boxes[iid].get_facecolor() == pytest.approx(FLASH_COLOR)
    assert scene.outlines[iid].get_edgecolor() == pytest.approx(to_rgba(FAULT_COLOR))
    others = [i for i in scene.boxes if i != iid]
    assert all(scene.boxes[i].get_facecolor() != pytest.approx(FLASH_COLOR) for i in others)
    scene.draw(frame + 1)  # next frame: no flash, crossed out and greyed
    assert iid not in scene.flashed
    assert scene.boxes[iid].get_facecolor() == pytest.approx(GONE_COLOR)
    assert all(line.get_visible() for line in scene.crosses[iid])
    assert "LOST" in scene.labels[iid].get_text()


def test_az_outage_flashes_the_whole_zone(az_outage_result, anims):
    anim = animate(az_outage_result, frames=5)
    anims(anim)
    frame = int(np.flatnonzero(anim.frame_times_s == 600.0)[0])
    anim.scene.draw(frame)
    zone = set(az_outage_result.instances.loc[(az_outage_result.instances["az"] == "us-east-1b")
                                              & (az_outage_result.instances["launched_at_s"] <= 600.0),
                                              "instance_id"])
    assert zone and anim.scene.flashed == zone
    for iid in zone:
        assert anim.scene.boxes[iid].get_facecolor() == pytest.approx(FLASH_COLOR)
    assert "az_outage" in anim.scene.subtitle.get_text()


@pytest.mark.parametrize("resource, task_column, registered", [("cpu", "cpu", "cpu_registered"),
                                                               ("memory", "memory_mib", "memory_registered_mib")])
def test_task_blocks_fill_each_box_by_reserved_share(small_result, anims, resource, task_column, registered):
    anim = animate(small_result, frames=7, resource=resource)
    anims(anim)
    scene = anim.scene
    events = small_result.events
    freed = events[(events["entity"] == "task") & (events["event"] == "state")
                   & events["to_state"].isin(("STOPPING", "STOPPED"))].groupby("entity_id")["time_s"].min()
    tasks = small_result.tasks.assign(freed_s=small_result.tasks["task_id"].map(freed))
    instances = small_result.instances.set_index("instance_id")
    for frame in (1, 3, len(anim.frame_times_s) - 1):
        scene.draw(frame)
        t = anim.frame_times_s[frame]
        held = tasks[(tasks["created_at_s"] <= t) & ~(tasks["freed_s"] <= t)]
        heights: dict[str, float] = {}
        for collection in scene.blocks:
            for path in collection.get_paths():
                (x0, y0), (x1, y1) = path.get_extents().get_points()
                box = next(i for i, b in scene.boxes.items() if abs(b.get_x() - x0) < 1e-9
                           and b.get_y() - 1e-9 <= y0 and y1 <= b.get_y() + b.get_height() + 1e-9)
                heights[box] = heights.get(box, 0.0) + (y1 - y0) / scene.boxes[box].get_height()
        expected = (held.groupby("instance_id")[task_column].sum()
                    / instances.loc[held["instance_id"].unique(), registered])
        assert sum(len(c.get_paths()) for c in scene.blocks) == len(held)
        assert heights == pytest.approx(expected.to_dict())


def test_save_animation_writes_a_gif(small_result, tmp_path):
    path = save_animation(small_result, tmp_path / "run.gif", frames=6, interval_ms=250)
    expected = len(frame_times(small_result.duration_s, 6, fault_times(small_result)))
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == expected
        assert gif.info["duration"] == 250


def test_save_animation_refuses_other_formats(small_result, tmp_path):
    with pytest.raises(ValueError, match=r"GIF files only.*does not end in \.gif"):
        save_animation(small_result, tmp_path / "run.mp4")


def test_empty_cases(empty_result, plot_helpers, anims, tmp_path):
    anim = animate(empty_result, frames=3)
    anims(anim)
    assert "No tasks were placed" in anim.scene.subtitle.get_text()
    none = plot_helpers.replace_tables(empty_result, instances=empty_result.instances.iloc[0:0])
    anim = animate(none)
    anims(anim)
    assert anim.scene is None and len(anim.frame_times_s) == 1
    assert "No container instances in this run" in plot_helpers.texts(anim._fig)
    with Image.open(save_animation(none, tmp_path / "none.gif")) as gif:
        assert gif.n_frames == 1

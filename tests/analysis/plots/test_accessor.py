"""``result.plot``, ``standard_figures`` and ``save_plots``: every figure of a run, by name."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import pytest
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

import ecssim.analysis.plots as plots
from ecssim.analysis.plots import STANDARD_FIGURES, ResultPlots, save_plots, standard_figures

NAMES = ["capacity", "tasks", "gantt", "heatmap", "fragmentation", "recovery", "availability", "scaling", "demand"]
#: The figures of a run without capacity providers and demand (the fixtures here): scaling and demand are left out.
ALWAYS = NAMES[:-2]
PNG = b"\x89PNG\r\n\x1a\n"


def title_of(fig: Figure) -> str:
    titles = [fig.get_suptitle()] + [ax.get_title(loc=loc) for ax in fig.axes for loc in ("center", "left")]
    return " ".join(t for t in titles if t)


def test_import_ecssim_does_not_load_pyplot():
    code = ("import sys, ecssim, ecssim.analysis; "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "assert 'ecssim.analysis.plots' not in sys.modules, 'plots imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("method", NAMES)
def test_each_method_returns_a_figure_with_a_title(small_result, method):
    plots = small_result.plot
    assert isinstance(plots, ResultPlots)
    fig = getattr(plots, method)()
    assert isinstance(fig, Figure)
    assert title_of(fig)
    plt.close(fig)


def test_methods_pass_their_options_on(small_result):
    fig = small_result.plot.capacity(by="cluster", resources=("cpu",))
    assert len(fig.axes) == 1
    plt.close(fig)
    fig = small_result.plot.tasks(services=["web"])
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["web"]
    plt.close(fig)


def test_all_gives_the_standard_figures_in_order(small_result):
    figures = small_result.plot.all()
    assert list(STANDARD_FIGURES) == NAMES
    assert list(figures) == ALWAYS == plots.figure_names(small_result)
    assert all(isinstance(f, Figure) and title_of(f) for f in figures.values())
    for fig in figures.values():
        plt.close(fig)


@pytest.mark.parametrize("fixture", ["empty_result", "no_fault_result"])
def test_standard_figures_never_fail_on_sparse_runs(request, fixture):
    figures = standard_figures(request.getfixturevalue(fixture))
    assert list(figures) == ALWAYS
    for fig in figures.values():
        assert title_of(fig)
        plt.close(fig)


def test_save_plots_writes_one_png_per_figure_and_closes_them(small_result, tmp_path, monkeypatch):
    full = plots.save_animation
    monkeypatch.setattr(plots, "save_animation", lambda result, path: full(result, path, frames=3))  # fast
    open_before = plt.get_fignums()
    paths = save_plots(small_result, tmp_path / "plots", animation=True)
    assert paths == [tmp_path / "plots" / f"{name}.png" for name in ALWAYS] + [tmp_path / "plots" / "animation.gif"]
    assert all(p.read_bytes().startswith(PNG) for p in paths[:-1])
    assert paths[-1].read_bytes().startswith(b"GIF8")
    assert plt.get_fignums() == open_before


def test_save_plots_other_format_and_bad_format(empty_result, tmp_path):
    paths = save_plots(empty_result, tmp_path, fmt="svg")
    assert [p.name for p in paths] == [f"{name}.svg" for name in ALWAYS]
    assert paths[0].read_text(encoding="utf-8").lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match="unsupported figure format 'bmp'"):
        save_plots(empty_result, tmp_path / "nothing", fmt="bmp")
    assert not (tmp_path / "nothing").exists()


def test_animation_through_the_accessor(small_result, tmp_path):
    anim = small_result.plot.animation(frames=2)
    assert isinstance(anim, FuncAnimation)
    anim._draw_was_started = True  # not shown on purpose: silence matplotlib's "deleted without rendering"
    plt.close(anim._fig)
    path = small_result.plot.save_animation(tmp_path / "run.gif", frames=2)
    assert path.read_bytes().startswith(b"GIF8")

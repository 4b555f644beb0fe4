"""Redis loses everything (FLUSHALL): the next tick rebuilds configs and placements from
SQL, and a remote action's running server is adopted, not doubled."""

from __future__ import annotations

import psutil

from jsorc import admin
from jsorc.admin import Dispatch
from jsorc.placement import MODULE, READY, REMOTE
from jsorc.regeneration import run_tick
from jsorc.runtime import Runtime
from jsorc.spawning import spawn_action


def test_flushall_loses_no_config_and_no_placement(rt: Runtime, inline_dispatch: Dispatch) -> None:
    for name in ("text_tools", "vectors", "classifier"):
        admin.configure(rt, name, "jsorc_examples.config")
    admin.load(rt, "vectors", "module", dispatch=inline_dispatch)
    admin.load(rt, "text_tools", "remote", dispatch=inline_dispatch)
    pid = rt.backend.pid("text_tools")
    configs_before = rt.state.fetch_configs()
    assert pid is not None and len(configs_before) == 3

    rt.state.client.flushall()
    assert rt.state.fetch_configs() == {} and rt.state.fetch_placements() == {}

    report = run_tick(rt, respawn=lambda name: spawn_action(rt, name, reason="regeneration"))

    assert sorted(report.restored["configs"]) == ["classifier", "text_tools", "vectors"]
    assert sorted(report.restored["placements"]) == ["text_tools", "vectors"]
    assert rt.state.fetch_configs() == configs_before
    placements = rt.state.fetch_placements()
    assert (placements["vectors"].mode, placements["vectors"].status) == (MODULE, READY)
    assert (placements["text_tools"].mode, placements["text_tools"].status) == (REMOTE, READY)
    # The server that kept running was found through its record file and adopted.
    assert rt.backend.pid("text_tools") == pid
    servers = [
        p for p in psutil.process_iter(["cmdline"])
        if "jsorc.server" in (p.info["cmdline"] or []) and str(rt.settings.home) in
        " ".join(p.info["cmdline"] or [])
    ]  # fmt: skip
    assert [p.pid for p in servers] == [pid]


def test_an_unloaded_action_stays_unloaded_after_a_flush(
    rt: Runtime, inline_dispatch: Dispatch
) -> None:
    admin.configure(rt, "vectors", "jsorc_examples.config")
    admin.load(rt, "vectors", "module", dispatch=inline_dispatch)
    admin.unload(rt, "vectors", dispatch=inline_dispatch)
    rt.state.client.flushall()

    report = run_tick(rt, respawn=lambda name: None)

    assert report.restored == {"configs": ["vectors"], "placements": []}
    assert rt.state.fetch_placements() == {}

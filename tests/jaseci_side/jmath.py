"""A Jaseci action module served by Jaseci's own action server; run only under a Python
that has Jaseci 1.4 installed (see tests/test_jaseci_compat.py)."""

from jaseci.jsorc.live_actions import jaseci_action


@jaseci_action(act_group=["jmath"], allow_remote=True)
def add(a: int, b: int = 1):
    return a + b


@jaseci_action(act_group=["jmath"], allow_remote=True)
def total(*nums, scale: int = 1):
    return sum(nums) * scale


@jaseci_action(act_group=["jmath"], allow_remote=True)
def describe(name: str, **traits):
    return {"name": name, **traits}


if __name__ == "__main__":
    import sys
    from jaseci.jsorc.remote_actions import launch_server
    launch_server(port=int(sys.argv[1]), host="127.0.0.1")

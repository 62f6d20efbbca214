"""Promotion scores: how a promotable agent tells Pacemaker where to promote.

Pacemaker promotes the instances with the highest ``master-<resource>`` node
attribute. Agents set it with ``crm_attribute --promotion`` (the successor of the
deprecated ``crm_master``), normally with lifetime ``reboot`` so it dies with the node.
"""

from ocfkit.ocf.contract import ErrGeneric


def set_score(agent, score, lifetime="reboot"):
    from ocfkit.process import CommandError, run

    # The resource without its clone suffix: the attribute belongs to the clone.
    resource = agent.env.instance.split(":", 1)[0]
    argv = ["crm_attribute", "--promotion", resource, "--lifetime", lifetime]
    node = agent.env.node
    if node:
        argv += ["--node", node]
    if score is None:
        argv.append("--delete")
    else:
        argv += ["--update", str(int(score))]
    try:
        result = run(argv, deadline=agent.deadline, log=agent.log)
    except CommandError as exc:
        raise ErrGeneric(f"cannot set the promotion score: {exc}") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise ErrGeneric(f"crm_attribute --promotion failed (exit {result.returncode})"
                         + (f": {detail[-1]}" if detail else ""))

"""What the deploy runs on a host runs with the run's privileges (``--sudo``, ``--su-user``...)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_deploy_code_runs_a_command_without_the_runs_sudo():
    # host.run_shell_command inside a callback (python.call) gets none of the run's privilege
    # arguments: over SSH it runs as the SSH user. Facts and operations get them.
    bare = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in [ROOT / "deploy.py", *sorted((ROOT / "operations").rglob("*.py"))]
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run_shell_command"
    ]
    assert not bare, f"use a fact (host.get_fact) or an operation instead: {bare}"

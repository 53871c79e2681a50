"""Options shared by the whole suite."""

import pytest

DEFAULT_IMAGES = ["debian:12", "debian:13"]


def pytest_addoption(parser):
    parser.addoption(
        "--image",
        action="append",
        help=f"base image of the integration targets, repeatable (default: {' '.join(DEFAULT_IMAGES)})",
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the markers into its groups
def pytest_collection_modifyitems(items):
    # lab/test runs two pytest-xdist workers. Everything testing one image stays on one worker
    # (its deployed host is session-scoped there), as does each module's own set of containers;
    # unit tests go wherever a worker is free.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "image" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(callspec.params["image"]))
        elif "integration" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def pytest_generate_tests(metafunc):
    # Session-scoped, so that every module testing a deployed host shares one per image. Tests
    # that use it loop over their cases instead of parametrizing them: beside this parameter, a
    # function-level parametrize makes pytest tear the deployed host down and deploy it again.
    if "image" in metafunc.fixturenames:
        images = metafunc.config.getoption("image") or DEFAULT_IMAGES
        metafunc.parametrize("image", images, scope="session")

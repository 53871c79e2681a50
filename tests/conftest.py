"""Options shared by the whole suite."""

# pyinfra runs on gevent and patches the standard library when its CLI module is imported
# (the plan tests do); patch first, before ssl and urllib3 are imported, as pyinfra itself does.
from gevent import monkey

monkey.patch_all()

DEFAULT_IMAGES = ["debian:12", "debian:13"]


def pytest_addoption(parser):
    parser.addoption(
        "--image",
        action="append",
        help=f"base image of the integration targets, repeatable (default: {' '.join(DEFAULT_IMAGES)})",
    )


def pytest_generate_tests(metafunc):
    # Session-scoped, so that every module testing a deployed host shares one per image. Tests
    # that use it loop over their cases instead of parametrizing them: beside this parameter, a
    # function-level parametrize makes pytest tear the deployed host down and deploy it again.
    if "image" in metafunc.fixturenames:
        images = metafunc.config.getoption("image") or DEFAULT_IMAGES
        metafunc.parametrize("image", images, scope="session")

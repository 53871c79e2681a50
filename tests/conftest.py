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
    if "image" in metafunc.fixturenames:
        images = metafunc.config.getoption("image") or DEFAULT_IMAGES
        metafunc.parametrize("image", images, scope="session")

"""conftest's grouping for pytest-xdist: a test that uses a module-scoped fixture runs on the
worker that builds it, with the module's other such tests; other tests stay free."""

import pytest


@pytest.fixture(scope="module")
def built_once():
    return object()


def test_a_module_fixture_puts_the_test_in_its_module_group(request, built_once):
    mark = request.node.get_closest_marker("xdist_group")
    assert mark is not None and mark.args == (__name__,)


def test_a_test_without_one_is_not_grouped(request):
    assert request.node.get_closest_marker("xdist_group") is None


@pytest.mark.xdist_group("shared")
def test_a_named_group_is_kept(request, built_once):
    assert [m.args for m in request.node.iter_markers("xdist_group")] == [("shared",)]

"""The examples of the Markdown pages run in an empty temporary folder, so that a
page writing a file (``loss.csv`` in docs/worked-example.md) leaves nothing behind."""

import pytest


@pytest.fixture(autouse=True)
def _pages_run_in_a_temporary_folder(request):
    if request.node.path.suffix == ".md":
        request.getfixturevalue("monkeypatch").chdir(request.getfixturevalue("tmp_path"))

"""The README's configuration table is generated from operations/defaults.py."""

from pathlib import Path

from operations.defaults import markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_table_matches_the_defaults():
    assert markdown_table() in README.read_text(), "regenerate it with: python -m operations.defaults --update-readme"

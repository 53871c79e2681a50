"""The README's configuration table is generated from operations/settings/keys.py."""

from pathlib import Path

from operations.settings.keys import markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_table_matches_the_defaults():
    assert markdown_table() in README.read_text(), "regenerate it with: python -m operations.settings.keys --update-readme"

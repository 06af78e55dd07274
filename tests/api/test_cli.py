"""The partner-api command line: a mistyped --db is an error, never a new empty database."""

from pathlib import Path

import pytest

from partner_api.cli import main


@pytest.mark.parametrize(
    "command",
    [
        ["create-token", "kari@x.no"],
        ["import-amelding", "f.json"],
        ["add-client", "--partner-orgnr", "1", "123456785", "X"],
    ],
)
def test_commands_on_a_missing_database_fail_without_creating_it(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "typo.sqlite"
    with pytest.raises(SystemExit) as exited:
        main([command[0], "--db", str(missing), *command[1:]])
    assert f"no database at {missing}" in str(exited.value.code)
    assert not missing.exists()

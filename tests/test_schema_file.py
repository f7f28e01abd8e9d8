"""The committed schema.graphql is what the code exports (clients generate from it)."""

from pathlib import Path

from statsgraph.schema import export_sdl


def test_schema_graphql_is_current() -> None:
    committed = (Path(__file__).resolve().parents[1] / "schema.graphql").read_text()
    assert committed == export_sdl(), "schema.graphql is stale: run `statsgraph export-schema > schema.graphql`"


def test_big_totals_are_bigint() -> None:
    sdl = export_sdl()
    assert "scalar BigInt" in sdl
    assert "totalTokens: BigInt!" in sdl and "requests: BigInt!" in sdl

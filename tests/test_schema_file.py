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


def test_persisted_manifest_is_current() -> None:
    from statsgraph.server.persisted import build_manifest, load_manifest

    root = Path(__file__).resolve().parents[1]
    committed = load_manifest(root / "operations" / "manifest.json")
    assert committed == build_manifest(root / "operations"), (
        "operations/manifest.json is stale: run `statsgraph export-manifest > operations/manifest.json`"
    )
    assert len(committed) >= len(list((root / "operations").glob("*.graphql")))

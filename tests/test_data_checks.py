"""Data assets checked on arrival: their columns, row counts and rows against the schema."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from dmart_attach.config import Settings
from tests.utils import files
from tests.utils.factories import Api, json_payload, record, upload
from tests.utils.uploads import SPACE, attachment_parents, stored_record, tree_files


@pytest.fixture
def demo(admin: Api) -> Api:
    """A space with an entry `reports/sales` and an entry `gallery/album1` to attach files to."""
    return attachment_parents(admin)


def test_users_example_csv_with_auto_shortname_and_schema(demo: Api, settings: Settings) -> None:
    users = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "name": {"type": "string", "minLength": 2}},
        "required": ["id", "name"],
    }
    demo.create(SPACE, record("schema", "schema", "users", is_active=True, payload=json_payload(users)))
    request_record = record(
        "csv",
        "reports/sales",
        "auto",
        is_active=True,
        payload={"content_type": "csv", "schema_shortname": "users", "body": {}},
    )

    stored = stored_record(
        upload(demo, SPACE, request_record, "people.csv", b"id,name\n1,alpha\n2,beta\n", mime="text/csv")
    )

    shortname = stored["shortname"]
    assert len(shortname) == 8
    assert stored["uuid"].startswith(shortname)
    assert (stored["attributes"]["uuid"], stored["attributes"]["shortname"]) == (stored["uuid"], shortname)
    assert stored["subpath"] == "reports/sales"
    assert stored["attributes"]["payload"] == {
        "content_type": "csv",
        "schema_shortname": "users",
        "checksum": hashlib.sha256(b"id,name\n1,alpha\n2,beta\n").hexdigest(),
        "body": f"{shortname}.csv",
        "columns": [{"name": "id", "type": "BIGINT"}, {"name": "name", "type": "VARCHAR"}],
        "row_count": 2,
    }

    before = tree_files(settings.spaces_root)
    refused = upload(demo, SPACE, request_record, "people.csv", b"id,name\n1,alpha\nx,beta\n3,c\n", mime="text/csv")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("validation", 422)
    assert error["info"] == [
        {"loc": [3, "id"], "msg": "'x' is not of type 'integer'"},
        {"loc": [4, "name"], "msg": "'c' is too short"},
    ]
    assert tree_files(settings.spaces_root) == before


def test_jsonl_rows_are_validated_with_their_line_numbers(demo: Api) -> None:
    demo.create(
        SPACE,
        record("schema", "schema", "row", is_active=True, payload=json_payload({"type": "object", "required": ["id"]})),
    )
    request_record = record("jsonl", "reports/sales", "rows", payload={"schema_shortname": "row", "body": {}})

    refused = upload(demo, SPACE, request_record, "rows.jsonl", b'{"id": 1}\n\n{"name": "x"}\n')

    assert refused.status_code == 400
    assert refused.json()["error"]["info"] == [{"loc": [3, "id"], "msg": "'id' is a required property"}]


def test_data_assets_record_columns_types_and_row_counts(demo: Api, tmp_path: Path) -> None:
    def described(resource_type: str, name: str, content: bytes) -> dict[str, Any]:
        attachment = record(resource_type, "reports/sales", name.replace(".", "_"), is_active=True)
        payload: dict[str, Any] = stored_record(upload(demo, SPACE, attachment, name, content))["attributes"]["payload"]
        return {key: payload[key] for key in ("columns", "row_count", "tables") if key in payload}

    assert described("csv", "bom.csv", files.CSV_BOM_SEMICOLONS) == {
        "columns": [
            {"name": "id", "type": "BIGINT"},
            {"name": "name", "type": "VARCHAR"},
            {"name": "score", "type": "DOUBLE"},
        ],
        "row_count": 2,
    }
    assert described("csv", "quoted.csv", files.CSV_QUOTED_NEWLINES)["row_count"] == 2
    assert described("jsonl", "mixed.jsonl", files.JSONL_MIXED_KEYS) == {
        "columns": [
            {"name": "id", "type": "BIGINT"},
            {"name": "name", "type": "VARCHAR"},
            {"name": "tags", "type": "VARCHAR[]"},
            {"name": "ok", "type": "BOOLEAN"},
        ],
        "row_count": 3,
    }
    assert described("parquet", "p.parquet", files.parquet(tmp_path)) == {
        "columns": [
            {"name": "id", "type": "INTEGER"},
            {"name": "seen", "type": "TIMESTAMP"},
            {"name": "marks", "type": "INTEGER[]"},
        ],
        "row_count": 2,
    }
    assert described("duckdb", "d.duckdb", files.duckdb_database(tmp_path)) == {
        "tables": [
            {
                "name": "people",
                "columns": [{"name": "id", "type": "INTEGER"}, {"name": "name", "type": "VARCHAR"}],
                "row_count": 2,
            }
        ]
    }
    assert described("sqlite", "s.sqlite", files.sqlite_database(tmp_path)) == {
        "tables": [
            {
                "name": "scores",
                "columns": [{"name": "id", "type": "INTEGER"}, {"name": "score", "type": "REAL"}],
                "row_count": 3,
            }
        ]
    }


LATE_TEXT_CSV = "a,b\n" + "".join(f"{n},{n}\n" for n in range(30_000)) + "oops,x\n"


LATE_TEXT_JSONL = "".join(json.dumps({"a": n, "gone": None}) + "\n" for n in range(30_000)) + '{"a": "oops"}\n'


@pytest.mark.parametrize(
    ("kind", "content", "columns", "query", "rows"),
    [
        (
            "csv",
            LATE_TEXT_CSV,
            [{"name": "a", "type": "VARCHAR"}, {"name": "b", "type": "VARCHAR"}],
            "SELECT count(*) AS n, sum(TRY_CAST(a AS BIGINT)) AS total, max(b) AS last FROM file WHERE a <> 'oops'",
            [{"n": 30_000, "total": 449_985_000, "last": "9999"}],
        ),
        (
            "jsonl",
            LATE_TEXT_JSONL,
            [{"name": "a", "type": "JSON"}, {"name": "gone", "type": "NULL"}],
            "SELECT count(*) AS n, count(gone) AS gone, count(*) FILTER (json_type(a) = 'VARCHAR') AS text FROM late",
            [{"n": 30_001, "gone": 0, "text": 1}],
        ),
    ],
)
def test_column_types_come_from_every_row_and_queries_read_with_them(
    demo: Api, kind: str, content: str, columns: list[dict[str, str]], query: str, rows: list[dict[str, Any]]
) -> None:
    """A value unlike the first 30 000 rows still counts: no later query fails on converting it."""
    attachment = record(kind, "reports/sales", "late", is_active=True)
    payload = stored_record(upload(demo, SPACE, attachment, f"late.{kind}", content.encode()))["attributes"]["payload"]
    every_row = {"space_name": SPACE, "subpath": "reports", "shortname": "sales", "data_asset_type": kind}

    answer = demo.client.post("/managed/data-asset", json={**every_row, "query_string": query}, headers=demo.headers)
    listed = demo.client.post(
        "/managed/data-asset", json={**every_row, "query_string": "SELECT * FROM file"}, headers=demo.headers
    )

    assert (payload["columns"], payload["row_count"]) == (columns, 30_001)
    assert answer.status_code == 200, answer.text
    assert answer.json()["attributes"]["rows"] == rows
    assert listed.status_code == 200, listed.text
    assert listed.json()["attributes"]["columns"] == columns


def test_bom_is_not_part_of_the_first_column_when_rows_are_validated(demo: Api) -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "score": {"type": "number"}},
        "required": ["id"],
    }
    demo.create(SPACE, record("schema", "schema", "scored", is_active=True, payload=json_payload(schema)))
    attachment = record("csv", "reports/sales", "people", payload={"schema_shortname": "scored", "body": {}})

    stored = stored_record(upload(demo, SPACE, attachment, "people.csv", files.CSV_BOM_SEMICOLONS))

    assert stored["attributes"]["payload"]["columns"][0] == {"name": "id", "type": "BIGINT"}


def test_replaced_file_is_checked_against_the_schema_it_already_had(demo: Api) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    demo.create(SPACE, record("schema", "schema", "counts", is_active=True, payload=json_payload(schema)))
    with_schema = record("csv", "reports/sales", "counts", payload={"schema_shortname": "counts", "body": {}})
    stored_record(upload(demo, SPACE, with_schema, "c.csv", b"n\n1\n"))

    refused = upload(demo, SPACE, record("csv", "reports/sales", "counts"), "c.csv", b"n\nx\n")

    assert (refused.status_code, refused.json()["error"]["info"]) == (
        400,
        [{"loc": [2, "n"], "msg": "'x' is not of type 'integer'"}],
    )
    kept = demo.get(f"/managed/payload/csv/{SPACE}/reports/sales/counts.csv")
    assert kept.text == "n\n1\n"


def test_csv_with_a_huge_cell_passes_the_row_check(demo: Api) -> None:
    demo.create(SPACE, record("schema", "schema", "any_row", is_active=True, payload=json_payload({"type": "object"})))
    huge_cell = b"a,b\n1," + b"x" * 200_000 + b"\n"
    attachment = record("csv", "reports/sales", "wide", payload={"schema_shortname": "any_row", "body": {}})

    stored = stored_record(upload(demo, SPACE, attachment, "w.csv", huge_cell))

    assert stored["attributes"]["payload"]["row_count"] == 1


@pytest.mark.parametrize(
    ("kind", "file_name", "content", "expected"),
    [
        ("jsonl", "rows.jsonl", b'{"a": 1}\nnot json\n', 'Malformed JSON in file "payload_file"'),
        ("parquet", "t.parquet", b"PAR1" + b"\x00" * 64, "No magic bytes found at end of file 'payload_file'"),
        ("duckdb", "d.duckdb", b"", 'Could not read enough bytes from file "payload_file"'),
    ],
    ids=["jsonl", "parquet", "truncated-duckdb"],
)
def test_unreadable_data_asset_refusals_do_not_show_server_paths(
    demo: Api, settings: Settings, tmp_path: Path, kind: str, file_name: str, content: bytes, expected: str
) -> None:
    content = content or files.duckdb_database(tmp_path)[:5000]

    answer = upload(demo, SPACE, record(kind, "reports/sales", "broken"), file_name, content)

    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]["message"]
    assert message.startswith(f"The file does not open as {kind}: ")
    assert expected in message
    assert str(settings.spaces_root) not in message
    assert ".~tmp" not in message

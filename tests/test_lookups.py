"""byuuid, byslug, the CSV export and unique_fields, all answered from the index."""

from typing import Any

from tests.utils.factories import Api, json_payload, record


def make_blog(admin: Api, **folder_body: Any) -> None:
    admin.create("blog", record("space", "/", "blog", is_active=True))
    admin.create("blog", record("folder", "/", "people", is_active=True, payload=json_payload(folder_body)))


def test_byuuid_finds_by_prefix_and_byslug_by_slug(admin: Api) -> None:
    make_blog(admin)
    created = admin.create(
        "blog", record("content", "people", "ann", is_active=True, slug="ann-page", payload=json_payload({"age": 30}))
    )
    admin.create("blog", record("comment", "people/ann", "hello", is_active=True, body="hi"))
    full = created["records"][0]["uuid"]

    by_uuid = admin.get(f"/managed/byuuid/{full[:8]}", retrieve_json_payload=True, retrieve_attachments=True).json()
    by_slug = admin.get("/managed/byslug/ann-page").json()

    assert (by_uuid["shortname"], by_uuid["subpath"], by_uuid["uuid"]) == ("ann", "people", full)
    assert by_uuid["attributes"]["payload"]["body"] == {"age": 30}
    assert [item["shortname"] for item in by_uuid["attachments"]["comment"]] == ["hello"]
    assert (by_slug["shortname"], by_slug["attachments"]) == ("ann", {})
    missing = admin.get("/managed/byslug/nobody")
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, 220)


def test_csv_uses_the_folders_columns(admin: Api) -> None:
    make_blog(admin, csv_columns=[{"key": "shortname", "name": "Name"}, {"key": "age", "name": "Age"}])
    for name, age in (("ann", 30), ("bob", 41)):
        admin.create("blog", record("content", "people", name, is_active=True, payload=json_payload({"age": age})))

    response = admin.client.post(
        "/managed/csv", json={"type": "subpath", "space_name": "blog", "subpath": "people"}, headers=admin.headers
    )

    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="blog_people.csv"'
    assert response.content.decode("utf-8") == "\ufeffName,Age\r\nann,30\r\nbob,41\r\n"


def test_csv_without_columns_flattens_attributes(admin: Api) -> None:
    make_blog(admin)
    admin.create("blog", record("content", "people", "ann", is_active=True, tags=["x"]))

    response = admin.client.post(
        "/managed/csv",
        json={"type": "subpath", "space_name": "blog", "subpath": "people", "include_fields": ["tags", "is_active"]},
        headers=admin.headers,
    )

    header, row = response.content.decode("utf-8-sig").splitlines()
    assert header == "resource_type,shortname,subpath,uuid,tags,is_active"
    assert row.startswith("content,ann,people,") and row.endswith(',"[""x""]",True')


def test_unique_fields_refuse_a_second_entry_with_the_same_values(admin: Api) -> None:
    make_blog(admin, unique_fields=[["payload.body.email"]])
    admin.create("blog", record("content", "people", "ann", is_active=True, payload=json_payload({"email": "a@x"})))
    admin.create("blog", record("content", "people", "bob", is_active=True, payload=json_payload({"email": "b@x"})))

    clash = admin.request(
        "blog", "create", record("content", "people", "cat", is_active=True, payload=json_payload({"email": "a@x"}))
    )
    update = admin.request("blog", "update", record("content", "people", "bob", payload=json_payload({"email": "a@x"})))
    same = admin.request("blog", "update", record("content", "people", "ann", payload=json_payload({"email": "a@x"})))

    for refused in (clash, update):
        assert refused.status_code == 400
        failed = refused.json()["error"]["info"][0]["failed"][0]
        assert failed["error_code"] == 415
        assert failed["error"] == "Entry should have unique values on the following fields: payload.body.email"
    assert same.status_code == 200
    assert admin.get("/managed/entry/content/blog/people/cat").status_code == 404

"""Dmart's own Python client, pydmart, driven against a real server of this service, unchanged."""

import asyncio
import io
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from pydantic import ValidationError
from pydmart import (
    ActionRequest,
    ActionRequestRecord,
    ApiResponse,
    ContentType,
    DmartException,
    DmartService,
    QueryRequest,
    QueryType,
    RequestType,
    ResourceType,
)

from dmart_attach.services.bootstrap import bootstrap
from dmart_attach.services.container import build_services
from tests.conftest import ADMIN_PASSWORD, SAMPLE_SPACES, copy_tree, make_settings
from tests.utils.data_assets import csv_bytes
from tests.utils.files import PNG
from tests.utils.live import live_server

T = TypeVar("T")

SALES = csv_bytes("region,total", "north,3", "south,4", "north,5")
POST = {"title": "Hello", "views": 1}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server on a fresh tree for the whole module; each test works in its own space."""
    spaces = tmp_path_factory.mktemp("pydmart") / "spaces"
    spaces.mkdir()
    with live_server(make_settings(spaces, data_asset_workers=1, is_registrable=True)) as url:
        yield url


def as_admin(url: str, scenario: Callable[[DmartService], Awaitable[T]]) -> T:
    """Run `scenario` with a client logged in as the admin, on an event loop of its own."""

    async def logged_in() -> T:
        async with DmartService(url) as dmart:
            await dmart.login("dmart", ADMIN_PASSWORD)
            return await scenario(dmart)

    return asyncio.run(logged_in())


def action(space_name: str, request_type: RequestType, *records: ActionRequestRecord) -> ActionRequest:
    return ActionRequest(space_name=space_name, request_type=request_type, records=list(records))


def one(resource_type: ResourceType, subpath: str, shortname: str, **attributes: Any) -> ActionRequestRecord:
    return ActionRequestRecord(resource_type=resource_type, subpath=subpath, shortname=shortname, attributes=attributes)


async def make_post(dmart: DmartService, space_name: str) -> None:
    """A space with the folder `posts` and the JSON entry `posts/hello`."""
    await dmart.request(
        action(space_name, RequestType.create, one(ResourceType.space, "/", space_name, is_active=True))
    )
    await dmart.request(action(space_name, RequestType.create, one(ResourceType.folder, "/", "posts", is_active=True)))
    entry = one(
        ResourceType.content,
        "posts",
        "hello",
        is_active=True,
        displayname={"en": "Hello post"},
        tags=["news"],
        payload={"content_type": "json", "body": POST},
    )
    await dmart.request(action(space_name, RequestType.create, entry))


def shortnames(answer: ApiResponse) -> list[str]:
    return [record.shortname for record in answer.records]


def extra(answer: ApiResponse, key: str) -> Any:
    """A top-level key of the envelope that pydmart's model keeps as an extra (`attributes`)."""
    assert answer.model_extra is not None
    return answer.model_extra[key]


async def download(dmart: DmartService, url: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=dmart.headers) as response:
        return response.status, response.headers["content-type"], await response.read()


def test_login_profile_and_permissions(server: str) -> None:
    async def scenario(dmart: DmartService) -> tuple[ApiResponse, str, ApiResponse, dict[str, Any]]:
        login = await dmart.login("dmart", ADMIN_PASSWORD)
        return login, dmart.auth_token, await dmart.get_profile(), await dmart.get_permissions()

    login, token, profile, permissions = as_admin(server, scenario)

    [user] = login.records
    assert user.attributes["access_token"] == token
    assert (user.resource_type, user.shortname, user.subpath) == ("user", "dmart", "users")
    assert user.attributes["type"] == "web"
    assert user.attributes["access_token"].count(".") == 2
    [me] = profile.records
    assert (me.resource_type, me.shortname) == ("user", "dmart")
    assert me.attributes["roles"] == ["super_admin"]
    everything = ["query", "view", "update", "create", "delete", "attach", "assign", "move", "progress_ticket"]
    assert permissions["__all_spaces__:__all_subpaths__:content"] == {
        "allowed_actions": [*everything, "lock", "unlock"],
        "conditions": [],
        "restricted_fields": [],
        "allowed_fields_values": {},
    }
    assert me.attributes["permissions"] == permissions


def test_a_wrong_password_raises_the_clients_exception(server: str) -> None:
    async def scenario() -> DmartException:
        async with DmartService(server) as dmart:
            with pytest.raises(DmartException) as refused:
                await dmart.login("dmart", "Not_the_password_1")
            assert dmart.auth_token == ""
            return refused.value

    error = asyncio.run(scenario()).error
    assert (error.type, error.code, error.message) == ("auth", 10, "Invalid username or password")


def test_spaces_and_children(server: str) -> None:
    async def scenario(dmart: DmartService) -> tuple[ApiResponse, ...]:
        await make_post(dmart, "listing")
        return (
            await dmart.get_spaces(),
            await dmart.get_children("listing", "/"),
            await dmart.get_children("listing", "posts", restrict_types=[ResourceType.content]),
            await dmart.get_children("listing", "posts", restrict_types=[ResourceType.folder]),
        )

    spaces, root, posts, no_folders = as_admin(server, scenario)

    assert "listing" in shortnames(spaces)
    assert "management" in shortnames(spaces)
    assert {record.resource_type for record in spaces.records} == {"space"}
    assert shortnames(root) == ["posts", "schema"]
    assert extra(root, "attributes") == {"total": 2, "returned": 2}
    [hello] = posts.records
    assert (hello.resource_type, hello.subpath, hello.shortname) == ("content", "posts", "hello")
    assert hello.attributes["displayname"]["en"] == "Hello post"
    assert hello.attributes["tags"] == ["news"]
    assert no_folders.records == []


def test_entry_and_comment_create_update_delete(server: str) -> None:
    async def scenario(dmart: DmartService) -> dict[str, Any]:
        await make_post(dmart, "life")
        seen: dict[str, Any] = {}
        seen["update"] = await dmart.request(
            action(
                "life",
                RequestType.update,
                one(
                    ResourceType.content,
                    "posts",
                    "hello",
                    payload={"content_type": "json", "body": {"title": "Edited"}},
                ),
            )
        )
        comment = {"content_type": "comment", "body": {"body": "Nice post", "state": "open"}}
        seen["comment"] = await dmart.request(
            action(
                "life",
                RequestType.create,
                one(ResourceType.comment, "posts/hello", "first", is_active=True, payload=comment),
            )
        )
        edited = {"content_type": "comment", "body": {"body": "Very nice post", "state": "open"}}
        seen["comment_update"] = await dmart.request(
            action("life", RequestType.update, one(ResourceType.comment, "posts/hello", "first", payload=edited))
        )
        seen["with_comment"] = await dmart.retrieve_entry(
            ResourceType.content, "life", "posts", "hello", retrieve_json_payload=True, retrieve_attachments=True
        )
        seen["comment_delete"] = await dmart.request(
            action("life", RequestType.delete, one(ResourceType.comment, "posts/hello", "first"))
        )
        seen["without_comment"] = await dmart.retrieve_entry(
            ResourceType.content, "life", "posts", "hello", retrieve_attachments=True
        )
        seen["delete"] = await dmart.request(
            action("life", RequestType.delete, one(ResourceType.content, "posts", "hello"))
        )
        with pytest.raises(DmartException) as missing:
            await dmart.retrieve_entry(ResourceType.content, "life", "posts", "hello")
        seen["missing"] = missing.value
        return seen

    seen = as_admin(server, scenario)

    [updated] = seen["update"].records
    # Dmart deep-merges an update's JSON body into the stored one.
    assert updated.attributes["payload"]["body"] == {"title": "Edited", "views": 1}
    assert updated.attributes["displayname"]["en"] == "Hello post"
    [comment] = seen["comment"].records
    assert (comment.resource_type, comment.subpath, comment.shortname) == ("comment", "posts/hello", "first")
    assert comment.attributes["payload"]["body"] == {"body": "Nice post", "state": "open"}
    [comment_update] = seen["comment_update"].records
    assert comment_update.attributes["payload"]["body"] == {"body": "Very nice post", "state": "open"}

    entry = seen["with_comment"]
    assert (entry.shortname, entry.is_active, entry.owner_shortname) == ("hello", True, "dmart")
    assert entry.displayname is not None and entry.displayname.en == "Hello post"
    assert entry.tags == {"news"}
    assert entry.payload is not None
    assert (entry.payload.content_type, entry.payload.body) == (ContentType.json, {"title": "Edited", "views": 1})
    assert entry.attachments is not None
    [listed] = entry.attachments["comment"]
    assert (listed["shortname"], listed["subpath"]) == ("first", "posts/hello")
    assert listed["attributes"]["payload"]["body"] == {"body": "Very nice post", "state": "open"}

    assert [(r.resource_type, r.subpath, r.shortname) for r in seen["comment_delete"].records] == [
        ("comment", "posts/hello", "first")
    ]
    assert seen["without_comment"].attachments == {}
    assert shortnames(seen["delete"]) == ["hello"]
    assert seen["missing"].error.code == 220


def test_uploads_payloads_downloads_and_data_asset_sql(server: str, tmp_path: Path) -> None:
    picture = tmp_path / "pixel.png"
    picture.write_bytes(PNG)
    sales = tmp_path / "sales.csv"
    sales.write_bytes(SALES)

    async def scenario(dmart: DmartService) -> dict[str, Any]:
        await make_post(dmart, "files")
        seen: dict[str, Any] = {}
        with picture.open("rb") as file:
            seen["image"] = await dmart.upload_with_payload("files", "posts/hello", "pixel", ResourceType.media, file)
        with sales.open("rb") as file:
            seen["csv"] = await dmart.upload_with_payload(
                "files", "posts/hello", "sales", ResourceType.csv, file, content_type=ContentType.csv
            )
        seen["entry"] = await dmart.retrieve_entry(
            ResourceType.content, "files", "posts", "hello", retrieve_json_payload=True, retrieve_attachments=True
        )
        seen["payload"] = await dmart.get_payload("content", "files", "posts", "hello")
        image_url = dmart.get_attachment_url(ResourceType.media, "files", "posts", "hello", "pixel", ".png")
        csv_url = dmart.get_attachment_url(ResourceType.csv, "files", "posts", "hello", "sales", ".csv")
        seen["image_url"], seen["csv_url"] = image_url, csv_url
        seen["image_download"] = await download(dmart, image_url)
        seen["csv_download"] = await download(dmart, csv_url)
        bare_url = dmart.get_attachment_url(ResourceType.media, "files", "posts", "hello", "pixel")
        seen["bare_download"] = await download(dmart, bare_url)
        seen["sql"] = await dmart.fetch_data_asset(
            "content",
            "csv",
            "files",
            "posts",
            "hello",
            "SELECT region, sum(total) AS total FROM file GROUP BY region ORDER BY region",
        )
        with pytest.raises(DmartException) as writing:
            await dmart.fetch_data_asset("content", "csv", "files", "posts", "hello", "DROP TABLE file")
        seen["writing_sql"] = writing.value.error
        return seen

    seen = as_admin(server, scenario)

    [image] = seen["image"].records
    assert (image.resource_type, image.subpath, image.shortname) == ("media", "posts/hello", "pixel")
    assert image.attributes["payload"]["content_type"] == "image_png"
    assert image.attributes["payload"]["body"] == "pixel.png"
    [table] = seen["csv"].records
    assert (table.resource_type, table.subpath, table.shortname) == ("csv", "posts/hello", "sales")
    assert table.attributes["payload"]["content_type"] == "csv"
    assert table.attributes["payload"]["body"] == "sales.csv"
    assert table.attributes["payload"]["row_count"] == 3

    attachments = seen["entry"].attachments
    assert sorted(attachments) == ["csv", "media"]
    assert [item["shortname"] for item in attachments["media"]] == ["pixel"]
    assert [item["shortname"] for item in attachments["csv"]] == ["sales"]
    assert attachments["media"][0]["attributes"]["payload"]["body"] == "pixel.png"

    assert seen["payload"].status == "success"
    assert extra(seen["payload"], "attributes") == POST

    assert seen["image_url"] == f"{server}/managed/payload/media/files/posts/hello/pixel.png"
    assert seen["image_download"] == seen["bare_download"] == (200, "image/png", PNG)
    status, content_type, body = seen["csv_download"]
    assert (status, content_type.split(";")[0], body) == (200, "text/csv", SALES)

    assert extra(seen["sql"], "attributes") == {
        "columns": [{"name": "region", "type": "VARCHAR"}, {"name": "total", "type": "HUGEINT"}],
        "rows": [{"region": "north", "total": 8}, {"region": "south", "total": 4}],
        "returned": 2,
        "truncated": False,
    }
    refused = seen["writing_sql"]
    assert (refused.type, refused.code) == ("data_asset", 402)
    assert refused.message == "Only SELECT queries are run on data assets; this statement is DROP"


def test_query_and_space_health(server: str) -> None:
    async def scenario(dmart: DmartService) -> tuple[ApiResponse, ApiResponse, ApiResponse]:
        await make_post(dmart, "finding")
        found = await dmart.query(
            QueryRequest(
                type=QueryType.search,
                space_name="finding",
                subpath="/",
                search="@shortname:hello",
                retrieve_json_payload=True,
            )
        )
        missing = await dmart.query(
            QueryRequest(type=QueryType.search, space_name="finding", subpath="/", search="@shortname:nothing")
        )
        return found, missing, await dmart.get_space_health("finding")

    found, missing, health = as_admin(server, scenario)

    [hello] = found.records
    assert (hello.resource_type, hello.subpath, hello.shortname) == ("content", "posts", "hello")
    assert hello.attributes["payload"]["body"] == POST
    assert extra(found, "attributes") == {"total": 1, "returned": 1}
    assert missing.records == []
    assert extra(missing, "attributes") == {"total": 0, "returned": 0}
    report = extra(health, "attributes")
    assert (report["space_name"], report["healthy"]) == ("finding", True)
    assert (report["entries"], report["folders"], report["attachments"]) == (1, 2, 0)
    assert report["invalid_metas"] == report["orphan_payloads"] == report["missing_payloads"] == []


def test_logout_ends_the_token(server: str) -> None:
    async def scenario(dmart: DmartService) -> tuple[ApiResponse, DmartException, DmartException]:
        token = dmart.auth_token
        await dmart.get_profile()
        logout = await dmart.logout()
        with pytest.raises(DmartException) as same_client:
            await dmart.get_profile()
        async with DmartService(server) as other:
            other.auth_token = token
            with pytest.raises(DmartException) as other_client:
                await other.get_spaces()
        return logout, same_client.value, other_client.value

    logout, same_client, other_client = as_admin(server, scenario)

    assert (logout.status, logout.records) == ("success", [])
    for refused in (same_client, other_client):
        assert (refused.error.type, refused.error.code) == ("jwtauth", 49)


def test_in_memory_files_upload_too(server: str) -> None:
    """aiohttp names a file object without a name after its form field, `payload_file`, with no extension."""

    async def scenario(dmart: DmartService) -> tuple[ApiResponse, ApiResponse, tuple[int, str, bytes], ApiResponse]:
        await make_post(dmart, "memory")
        image = await dmart.upload_with_payload("memory", "posts/hello", "pixel", ResourceType.media, io.BytesIO(PNG))
        table = await dmart.upload_with_payload(
            "memory", "posts/hello", "auto", ResourceType.csv, io.BytesIO(SALES), content_type=ContentType.csv
        )
        url = dmart.get_attachment_url(ResourceType.media, "memory", "posts", "hello", "pixel", ".png")
        sql = await dmart.fetch_data_asset(
            "content", "csv", "memory", "posts", "hello", "SELECT count(*) AS n FROM file", [table.records[0].shortname]
        )
        return image, table, await download(dmart, url), sql

    image, table, downloaded, sql = as_admin(server, scenario)

    assert image.records[0].attributes["payload"]["content_type"] == "image_png"
    assert image.records[0].attributes["payload"]["body"] == "pixel.png"
    assert downloaded == (200, "image/png", PNG)
    [stored] = table.records
    assert len(stored.shortname) == 8
    assert stored.attributes["payload"]["body"] == f"{stored.shortname}.csv"
    assert extra(sql, "attributes")["rows"] == [{"n": 3}]


def test_info_and_account_calls(server: str) -> None:
    async def scenario(dmart: DmartService) -> dict[str, ApiResponse]:
        return {
            "login_by": await dmart.login_by({"shortname": "dmart"}, ADMIN_PASSWORD),
            "manifest": await dmart.get_manifest(),
            "settings": await dmart.get_settings(),
            "taken": await dmart.check_existing("shortname", "dmart"),
            "free": await dmart.check_existing("shortname", "nobody_yet"),
            "update_user": await dmart.update_user(
                {
                    "resource_type": "user",
                    "subpath": "users",
                    "shortname": "dmart",
                    "attributes": {"displayname": {"en": "The admin"}},
                }
            ),
            "profile": await dmart.get_profile(),
        }

    seen = as_admin(server, scenario)

    assert seen["login_by"].records[0].shortname == "dmart"
    assert extra(seen["manifest"], "attributes")["name"] == "dmart_attach"
    settings = extra(seen["settings"], "attributes")
    assert (settings["admin_password"], settings["jwt_secret"], settings["admin_shortname"]) == (
        "******",
        "******",
        "dmart",
    )
    assert extra(seen["taken"], "attributes") == {"unique": False, "field": "shortname"}
    assert extra(seen["free"], "attributes")["unique"] is True
    assert seen["update_user"].status == "success"
    assert seen["profile"].records[0].attributes["displayname"]["en"] == "The admin"


def test_refusals_reach_the_client_as_its_exception(server: str) -> None:
    async def refused(call: Awaitable[Any]) -> DmartException:
        with pytest.raises(DmartException) as caught:
            await call
        return caught.value

    async def scenario(dmart: DmartService) -> list[DmartException]:
        await make_post(dmart, "refusals")
        duplicate = one(ResourceType.content, "posts", "hello", is_active=True)
        async with DmartService(server) as anonymous:
            nobody = await refused(anonymous.get_spaces())
        return [
            await refused(dmart.request(action("refusals", RequestType.create, duplicate))),
            await refused(dmart.fetch_data_asset("content", "csv", "refusals", "posts", "hello", "SELECT * FROM file")),
            await refused(dmart.get_payload("content", "refusals", "posts", "nothing")),
            nobody,
        ]

    duplicate, sql, missing, nobody = as_admin(server, scenario)

    assert (duplicate.error.type, duplicate.error.code) == ("request", 430)
    assert duplicate.error.info is not None
    [failed] = duplicate.error.info[0]["failed"]
    assert (failed["record"]["shortname"], failed["error_code"]) == ("hello", 400)
    assert failed["error"] == "This shortname hello already exists"
    assert (sql.error.type, sql.error.code, sql.error.message) == (
        "data_asset",
        220,
        "This entry has no csv data asset",
    )
    assert missing.error.code == 220
    assert (nobody.error.type, nobody.error.code) == ("jwtauth", 49)


def test_every_entry_of_the_sample_tree_reads_in_the_clients_models(tmp_path: Path) -> None:
    """Dmart's sample tree, as it is: spaces, listings, entries with attachments, JSON payloads, health."""
    settings = make_settings(copy_tree(SAMPLE_SPACES, tmp_path / "spaces"), data_asset_workers=1)
    services = build_services(settings)
    bootstrap(services.store)
    services.auth.set_password("dmart", ADMIN_PASSWORD)

    async def scenario(dmart: DmartService) -> dict[str, Any]:
        seen: dict[str, Any] = {"spaces": shortnames(await dmart.get_spaces()), "read": 0, "refused": [], "payloads": 0}
        for space_name in seen["spaces"]:
            listed = await dmart.query(
                QueryRequest(type=QueryType.search, space_name=space_name, subpath="/", search="", limit=1000)
            )
            for item in listed.records:
                children = await dmart.get_children(space_name, item.subpath, limit=1000)
                assert (item.resource_type, item.shortname) in {
                    (r.resource_type, r.shortname) for r in children.records
                }
                try:
                    entry = await dmart.retrieve_entry(
                        ResourceType(item.resource_type),
                        space_name,
                        item.subpath,
                        item.shortname,
                        retrieve_json_payload=True,
                        retrieve_attachments=True,
                    )
                except ValidationError:
                    seen["refused"].append((space_name, item.subpath, item.shortname, item.attributes["payload"]))
                    continue
                assert (entry.shortname, entry.is_active, entry.owner_shortname) == (
                    item.shortname,
                    item.attributes["is_active"],
                    item.attributes["owner_shortname"],
                )
                seen["read"] += 1
                if entry.payload is not None and entry.payload.content_type == ContentType.json:
                    body = await dmart.get_payload(item.resource_type, space_name, item.subpath, item.shortname)
                    assert extra(body, "attributes") == entry.payload.body
                    seen["payloads"] += 1
            health = await dmart.get_space_health(space_name)
            assert extra(health, "attributes")["space_name"] == space_name
        return seen

    with live_server(settings) as url:
        seen = as_admin(url, scenario)

    assert seen["spaces"] == ["applications", "archive", "management", "personal", "maqola"]
    assert (seen["read"], seen["payloads"]) == (94, 51)
    # pydmart's Payload knows no `image_jpeg`, the content type Dmart gives the sample's legacy `image`.
    [(space_name, subpath, shortname, payload)] = seen["refused"]
    assert (space_name, subpath, shortname, payload["content_type"]) == (
        "personal",
        "people/dmart/protected",
        "avatar",
        "image_jpeg",
    )


def test_a_registered_user_logs_in_and_is_reset_by_the_admin(server: str) -> None:
    async def scenario(dmart: DmartService) -> tuple[ApiResponse, ApiResponse, ApiResponse, ApiResponse]:
        async with DmartService(server) as newcomer:
            created = await newcomer.create_user(
                {
                    "resource_type": "user",
                    "subpath": "users",
                    "shortname": "newcomer",
                    "attributes": {"password": "Newcomer_pass_1", "email": "newcomer@example.com"},
                }
            )
            await newcomer.login("newcomer", "Newcomer_pass_1")
            before = await newcomer.get_profile()
            reset = await dmart.user_reset("newcomer")
            after = await newcomer.get_profile()
        return created, before, reset, after

    created, before, reset, after = as_admin(server, scenario)

    assert (created.status, created.records) == ("success", [])
    [me] = before.records
    assert (me.shortname, me.attributes["email"], me.attributes["roles"]) == ("newcomer", "newcomer@example.com", [])
    assert me.attributes["force_password_change"] is False
    assert extra(reset, "attributes") == {"sms_sent": False, "email_sent": False}
    assert after.records[0].attributes["force_password_change"] is True

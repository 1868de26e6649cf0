"""POST /managed/query over the index: every query type, filter and paging edge."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from tests.conftest import ADMIN_PASSWORD, login, make_settings
from tests.utils.factories import Api, json_payload, record


@pytest.fixture
def sample(sample_spaces: Path) -> Iterator[Api]:
    """The admin, logged in, on a copy of the Dmart sample tree."""
    app = create_app(make_settings(sample_spaces))
    with TestClient(app) as client:
        app.state.services.auth.set_password("dmart", ADMIN_PASSWORD)
        yield Api(client, login(client, "dmart", ADMIN_PASSWORD))


def query(api: Api, **body: Any) -> Any:
    response = api.client.post("/managed/query", json=body, headers=api.headers)
    assert response.status_code == 200, response.text
    return response.json()


def names(answer: Any) -> list[str]:
    return [item["shortname"] for item in answer["records"]]


def test_spaces_lists_the_five_sample_spaces(sample: Api) -> None:
    answer = query(sample, type="spaces", space_name="management", subpath="/")

    assert sorted(names(answer)) == ["applications", "archive", "management", "maqola", "personal"]
    assert answer["attributes"] == {"total": 5, "returned": 5}


def test_subpath_lists_entries_then_folders(sample: Api) -> None:
    answer = query(sample, type="subpath", space_name="applications", subpath="api")

    assert names(answer) == [
        "query_all_applications",
        "test_by_saad",
        "user_profile",
        "applications",
        "management",
        "user",
    ]
    assert [item["resource_type"] for item in answer["records"]] == ["content"] * 3 + ["folder"] * 3
    assert answer["attributes"] == {"total": 6, "returned": 6}


def test_a_star_search_lists_what_an_empty_one_lists(sample: Api) -> None:
    def search(text: str) -> Any:
        return query(sample, type="search", space_name="applications", subpath="api", search=text, exact_subpath=True)

    assert names(search("*")) == names(search(""))
    assert search("*")["attributes"] == search("")["attributes"]
    assert search("*")["attributes"]["total"] > 0


def test_subpath_paging_at_the_edges(sample: Api) -> None:
    def page(offset: int) -> Any:
        return query(sample, type="subpath", space_name="applications", subpath="api", limit=2, offset=offset)

    assert names(page(0)) == ["query_all_applications", "test_by_saad"]
    assert names(page(5)) == ["user"]
    assert names(page(6)) == []
    assert page(6)["attributes"] == {"total": 6, "returned": 0}


def test_subpath_retrieves_payloads_and_attachments(sample: Api) -> None:
    answer = query(
        sample,
        type="subpath",
        space_name="applications",
        subpath="api",
        filter_shortnames=["test_by_saad"],
        retrieve_json_payload=True,
        retrieve_attachments=True,
    )

    [entry] = answer["records"]
    assert entry["attributes"]["payload"]["body"] == {"end_point": "/user/profile", "verb": "get"}
    assert [item["shortname"] for item in entry["attachments"]["media"]] == ["warframe"]
    assert entry["attachments"]["media"][0]["subpath"] == "api/test_by_saad"


def test_attachments_below_a_folder(sample: Api) -> None:
    answer = query(sample, type="attachments", space_name="applications", subpath="api")

    assert [(item["resource_type"], item["shortname"], item["subpath"]) for item in answer["records"]] == [
        ("media", "warframe", "api/test_by_saad")
    ]
    assert answer["attributes"] == {"total": 1, "returned": 1}
    exact = query(sample, type="attachments", space_name="applications", subpath="api", exact_subpath=True)
    assert exact["attributes"] == {"total": 0, "returned": 0}


def test_search_by_payload_field_and_full_text(sample: Api) -> None:
    by_field = query(sample, type="search", space_name="applications", subpath="/", search="@payload.body.verb:get")
    by_words = query(
        sample, type="search", space_name="applications", subpath="api", exact_subpath=True, search="profile"
    )

    assert [(item["subpath"], item["shortname"]) for item in by_field["records"]] == [
        ("api", "test_by_saad"),
        ("api", "user_profile"),
        ("api/user", "test_by_saad"),
        ("api/user", "user_profile"),
    ]
    assert sorted(names(by_words)) == ["test_by_saad", "user_profile"]


@pytest.fixture
def posts(admin: Api) -> Api:
    """A space `blog` with five posts whose views, tags and owners differ."""
    admin.space("blog", "posts")
    for number, tags in enumerate([["a"], ["a", "b"], ["b"], [], ["a"]]):
        body = {"views": number * 10, "title": f"Post number {number}", "kind": "even" if number % 2 == 0 else "odd"}
        admin.create(
            "blog", record("content", "posts", f"post{number}", is_active=True, tags=tags, payload=json_payload(body))
        )
    admin.create("blog", record("comment", "posts/post1", "c1", is_active=True, body="nice"))
    admin.create("blog", record("reply", "posts/post1", "r1", is_active=True, body="thanks"))
    return admin


def test_search_by_tag_negation_alternatives_and_ranges(posts: Api) -> None:
    def search(text: str, **extra: Any) -> list[str]:
        return names(query(posts, type="search", space_name="blog", subpath="posts", search=text, **extra))

    assert search("@tags:b") == ["post1", "post2"]
    assert search("-@tags:a") == ["post2", "post3"]
    assert search("@shortname:post0|post3") == ["post0", "post3"]
    assert search("@payload.body.views:[10 30]") == ["post1", "post2", "post3"]
    assert search("@payload.body.views:[(10 30]") == ["post2", "post3"]
    assert search("@payload.body.views:[10 (30]") == ["post1", "post2"]
    assert search("@payload.body.views:[20 +inf]") == ["post2", "post3", "post4"]
    assert search("@payload.body.views:[-inf 10]") == ["post0", "post1"]
    assert search("@payload.body.views:[1e1 2e1]") == ["post1", "post2"]
    assert search("@body.views:>=30") == ["post3", "post4"]
    assert search("@payload.body.views:<10") == ["post0"]
    assert search("@payload.body.kind:odd number") == ["post1", "post3"]
    assert search("@shortname:post*", filter_tags=["a"]) == ["post0", "post1", "post4"]
    assert search("(@tags:b) (@payload.body.views:40)") == ["post1", "post2", "post4"]
    assert search("", filter_tags=[]) == ["post0", "post1", "post2", "post3", "post4"]


def test_search_totals_count_the_kept_values_matches_below_a_folder(posts: Api) -> None:
    def counted(text: str, **extra: Any) -> tuple[int, list[str]]:
        answer = query(posts, type="search", space_name="blog", subpath="/", search=text, limit=1, **extra)
        return answer["attributes"]["total"], names(answer)

    assert counted("@payload.body.kind:odd") == (2, ["post1"])
    assert counted("", filter_tags=["a"]) == (3, ["post0"])
    assert counted("@tags:b -@payload.body.kind:odd") == (1, ["post2"])
    assert counted("@payload.body.kind:even @payload.body.views:>=20") == (2, ["post2"])
    assert counted("@payload.body.kind:even number") == (3, ["post0"])
    assert counted("(@payload.body.kind:odd) (@tags:a)") == (4, ["post0"])
    assert counted("@payload.body.kind:none") == (0, [])


def test_search_sorts_by_payload_field_and_pages_exactly(posts: Api) -> None:
    def page(offset: int) -> Any:
        return query(
            posts,
            type="search",
            space_name="blog",
            subpath="posts",
            sort_by="payload.body.views",
            sort_type="descending",
            limit=2,
            offset=offset,
        )

    assert names(page(0)) == ["post4", "post3"]
    assert names(page(4)) == ["post0"]
    assert page(5)["attributes"] == {"total": 5, "returned": 0}


def test_filters_and_field_selection(posts: Api) -> None:
    answer = query(
        posts,
        type="search",
        space_name="blog",
        subpath="/",
        filter_types=["content"],
        filter_shortnames=["post1", "post2"],
        include_fields=["tags", "payload.content_type"],
    )

    assert [item["attributes"] for item in answer["records"]] == [
        {"tags": ["a", "b"], "payload": {"content_type": "json"}},
        {"tags": ["b"], "payload": {"content_type": "json"}},
    ]
    excluded = query(posts, type="subpath", space_name="blog", subpath="posts", limit=1, exclude_fields=["payload"])
    assert "payload" not in excluded["records"][0]["attributes"]
    late = query(posts, type="search", space_name="blog", subpath="posts", from_date="2999-01-01T00:00:00")
    assert late["attributes"] == {"total": 0, "returned": 0}


def test_attachments_of_one_entry_and_their_aggregation(posts: Api) -> None:
    answer = query(posts, type="attachments", space_name="blog", subpath="posts/post1", retrieve_json_payload=True)
    counted = query(posts, type="attachments_aggregation", space_name="blog", subpath="posts/post1")
    comments = query(posts, type="attachments", space_name="blog", subpath="posts", filter_types=["comment"])

    assert [(item["resource_type"], item["shortname"]) for item in answer["records"]] == [
        ("comment", "c1"),
        ("reply", "r1"),
    ]
    assert answer["records"][0]["attributes"]["body"] == "nice"
    assert counted["records"][0]["shortname"] == "aggregation_result"
    assert counted["records"][0]["attributes"] == {"comment": 1, "reply": 1}
    assert names(comments) == ["c1"]


def test_tags_counters_random_and_aggregation(posts: Api) -> None:
    tags = query(posts, type="tags", space_name="blog", subpath="posts")
    counters = query(posts, type="counters", space_name="blog", subpath="posts", search="@tags:a")
    sample = query(posts, type="random", space_name="blog", subpath="posts", limit=2)
    grouped = query(
        posts,
        type="aggregation",
        space_name="blog",
        subpath="posts",
        aggregation_data={
            "group_by": ["@payload.body.kind"],
            "reducers": [
                {"reducer_name": "count", "alias": "n"},
                {"reducer_name": "sum", "alias": "views", "args": ["payload.body.views"]},
                {"reducer_name": "max", "alias": "most", "args": ["body.views"]},
                {"reducer_name": "min", "alias": "least", "args": ["payload.body.views"]},
                {"reducer_name": "avg", "alias": "mean", "args": ["payload.body.views"]},
            ],
        },
    )

    assert tags["records"][0]["attributes"] == {"tags": ["a", "b"], "tag_counts": {"a": 3, "b": 2}}
    assert counters["records"] == [] and counters["attributes"]["total"] == 3
    assert len(sample["records"]) == 2 and sample["attributes"]["total"] == 5
    assert set(names(sample)) <= {"post0", "post1", "post2", "post3", "post4"}
    assert [item["attributes"] for item in grouped["records"]] == [
        {"payload.body.kind": "even", "n": 3, "views": 60, "most": 40, "least": 0, "mean": 20.0},
        {"payload.body.kind": "odd", "n": 2, "views": 40, "most": 30, "least": 10, "mean": 20.0},
    ]
    assert grouped["attributes"] == {"total": 2, "returned": 2}


def test_a_tag_repeated_in_one_entry_counts_that_entry_once(posts: Api) -> None:
    posts.create("blog", record("content", "posts", "twice", is_active=True, tags=["a", "a"]))

    tags = query(posts, type="tags", space_name="blog", subpath="posts")
    found = query(posts, type="search", space_name="blog", subpath="posts", search="@tags:a")

    assert tags["records"][0]["attributes"]["tag_counts"] == {"a": 4, "b": 2}
    assert found["attributes"]["total"] == 4


def test_limit_minus_one_means_the_largest_page(posts: Api) -> None:
    answer = query(posts, type="subpath", space_name="blog", subpath="posts", limit=-1)

    assert answer["attributes"] == {"total": 5, "returned": 5}


def test_jq_filter_reshapes_records(posts: Api) -> None:
    answer = query(posts, type="subpath", space_name="blog", subpath="posts", limit=2, jq_filter="[.[] | .shortname]")

    assert answer["records"] == [["post0", "post1"]]


def test_jq_filter_refuses_env(posts: Api) -> None:
    response = posts.client.post(
        "/managed/query",
        json={"type": "search", "space_name": "blog", "subpath": "/", "jq_filter": "env"},
        headers=posts.headers,
    )

    assert response.status_code == 422


def test_query_on_a_missing_space_is_refused(admin: Api) -> None:
    response = admin.client.post(
        "/managed/query", json={"type": "search", "space_name": "nowhere", "subpath": "/"}, headers=admin.headers
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 203


def test_deep_pages_start_from_kept_keys_that_follow_every_write(posts: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dmart_attach.storage.finder.ANCHOR_STEP", 2)

    def page(offset: int) -> list[str]:
        return names(query(posts, type="subpath", space_name="blog", subpath="posts", limit=2, offset=offset))

    assert [page(offset) for offset in (2, 3, 4)] == [["post2", "post3"], ["post3", "post4"], ["post4"]]
    posts.create("blog", record("content", "posts", "post15", is_active=True))
    posts.request("blog", "delete", record("content", "posts", "post0"))
    assert [page(offset) for offset in (2, 3, 4, 5)] == [["post2", "post3"], ["post3", "post4"], ["post4"], []]
    assert page(0) == ["post1", "post15"]


def test_searches_most_rows_match_page_from_kept_keys_and_count_from_kept_tallies(
    posts: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dmart_attach.storage.finder.ANCHOR_STEP", 2)
    monkeypatch.setattr("dmart_attach.storage.finder._DENSE_MATCHES", 1)
    posts.create("blog", record("folder", "posts", "old", is_active=True))
    body = {"views": 99, "title": "Ancient", "kind": "odd"}
    posts.create(
        "blog", record("content", "posts/old", "ancient", is_active=True, tags=["a"], payload=json_payload(body))
    )

    def search(text: str, offset: int) -> Any:
        return query(posts, type="search", space_name="blog", subpath="posts", search=text, limit=2, offset=offset)

    def pages(text: str) -> tuple[int, list[list[str]]]:
        answers = [search(text, offset) for offset in (2, 3, 4, 5)]
        return answers[0]["attributes"]["total"], [names(answer) for answer in answers]

    assert pages("@tags:a") == (4, [["post4", "ancient"], ["ancient"], [], []])
    # post1 holds both tags: counted once.
    assert pages("@tags:a|b") == (5, [["post2", "post4"], ["post4", "ancient"], ["ancient"], []])
    assert pages("@payload.body.kind:even|odd") == (
        6,
        [["post2", "post3"], ["post3", "post4"], ["post4", "ancient"], ["ancient"]],
    )
    kept = posts.client.app.state.services.store.index.connection()  # type: ignore[attr-defined]
    assert kept.execute("SELECT count(DISTINCT selector) FROM anchors WHERE selector != ''").fetchone() == (3,)

    posts.request("blog", "update", record("content", "posts", "post4", tags=[]))
    posts.create("blog", record("content", "posts", "post5", is_active=True, tags=["a"]))
    posts.request("blog", "delete", record("content", "posts", "post0"))
    assert pages("@tags:a") == (3, [["ancient"], [], [], []])
    assert names(search("@tags:a", 0)) == ["post1", "post5"]
    assert pages("@tags:a|b") == (4, [["post5", "ancient"], ["ancient"], [], []])
    assert pages("@payload.body.kind:even|odd") == (5, [["post3", "post4"], ["post4", "ancient"], ["ancient"], []])


def test_history_newest_first_with_exact_paging(posts: Api) -> None:
    for views in (100, 200, 300):
        posts.request("blog", "update", record("content", "posts", "post1", payload=json_payload({"views": views})))

    def page(offset: int) -> Any:
        return query(
            posts,
            type="history",
            space_name="blog",
            subpath="posts",
            filter_shortnames=["post1"],
            limit=2,
            offset=offset,
        )

    # Five lines: what the fixture wrote (the creation among them), then the three updates.
    first, last, past = page(0), page(2), page(5)
    changes = [item["attributes"]["diff"]["payload.body.views"]["new"] for item in first["records"]]
    assert changes == [300, 200]
    assert last["records"][0]["attributes"]["diff"]["payload.body.views"]["new"] == 100
    assert "payload.body.views" not in last["records"][1]["attributes"]["diff"]
    assert (first["attributes"], past["attributes"]) == ({"total": 5, "returned": 2}, {"total": 5, "returned": 0})
    assert "request_headers" not in first["records"][0]["attributes"]
    assert first["records"][0]["resource_type"] == "history"


def test_history_needs_a_shortname(posts: Api) -> None:
    response = posts.client.post(
        "/managed/query", json={"type": "history", "space_name": "blog", "subpath": "posts"}, headers=posts.headers
    )

    assert (response.status_code, response.json()["error"]["code"]) == (400, 209)


def test_events_newest_first_filtered_and_paged(posts: Api) -> None:
    posts.request("blog", "delete", record("content", "posts", "post3"))

    def page(offset: int, **extra: Any) -> Any:
        return query(posts, type="events", space_name="blog", subpath="/", limit=2, offset=offset, **extra)

    newest = page(0)
    assert [(item["attributes"]["request"], item["shortname"]) for item in newest["records"]] == [
        ("delete", "post3"),
        ("create", "r1"),
    ]
    total = newest["attributes"]["total"]
    assert [item["shortname"] for item in page(total - 1)["records"]] == ["blog"]
    assert page(total)["records"] == []
    deleted = page(0, search='"delete"')
    assert (deleted["attributes"]["total"], deleted["records"][0]["subpath"]) == (1, "posts")
    assert page(0, to_date="2000-01-01T00:00:00")["attributes"]["total"] == 0


def test_attachments_spaces_and_aggregation_page_at_the_edges(posts: Api) -> None:
    def attachments(offset: int) -> Any:
        return query(posts, type="attachments", space_name="blog", subpath="posts", limit=1, offset=offset)

    assert (names(attachments(0)), names(attachments(1)), names(attachments(2))) == (["c1"], ["r1"], [])
    assert attachments(2)["attributes"] == {"total": 2, "returned": 0}

    def spaces(offset: int) -> list[str]:
        return names(query(posts, type="spaces", space_name="blog", subpath="/", limit=1, offset=offset))

    assert (spaces(0), spaces(1), spaces(2)) == (["blog"], ["management"], [])

    def groups(offset: int) -> Any:
        return query(
            posts,
            type="aggregation",
            space_name="blog",
            subpath="posts",
            limit=1,
            offset=offset,
            aggregation_data={"group_by": ["payload.body.kind"], "reducers": [{"reducer_name": "count", "alias": "n"}]},
        )

    assert [item["attributes"] for item in groups(1)["records"]] == [{"payload.body.kind": "odd", "n": 2}]
    assert [item["shortname"] for item in groups(1)["records"]] == ["2"]
    assert groups(2)["attributes"] == {"total": 2, "returned": 0}


def test_search_finds_relationships_by_their_target(posts: Api) -> None:
    target = {"type": "content", "space_name": "blog", "subpath": "posts", "shortname": "post2"}
    posts.create("blog", record("relationship", "posts/post1", "link", is_active=True, related_to=target))

    answer = query(
        posts,
        type="search",
        space_name="blog",
        subpath="/",
        filter_types=["relationship"],
        search="@related_to.shortname:post2",
    )

    assert [(item["resource_type"], item["subpath"], item["shortname"]) for item in answer["records"]] == [
        ("relationship", "posts/post1", "link")
    ]


def test_dates_meta_sorting_schema_names_and_skipped_totals(posts: Api) -> None:
    def search(**extra: Any) -> Any:
        return query(posts, type="search", space_name="blog", subpath="posts", **extra)

    assert names(search(search="@created_at:[2000-01-01 2999-12-31]", filter_types=["content"])) == [
        "post0",
        "post1",
        "post2",
        "post3",
        "post4",
    ]
    assert search(search="@created_at:<2000-01-01")["attributes"]["total"] == 0
    assert search(to_date="2000-01-01T00:00:00")["attributes"]["total"] == 0
    assert names(search(sort_by="shortname", sort_type="descending", limit=2)) == ["post4", "post3"]
    assert search(retrieve_total=False, limit=1)["attributes"] == {"total": -1, "returned": 1}
    assert search(filter_schema_names=["nothing"])["attributes"]["total"] == 0


def test_sample_search_by_tag_and_schema(sample: Api) -> None:
    sample.request("applications", "update", record("content", "api/user", "user_profile", tags=["profile"]))

    by_tag = query(sample, type="search", space_name="applications", subpath="/", search="@tags:profile")
    by_schema = query(
        sample, type="search", space_name="applications", subpath="api", exact_subpath=True, filter_schema_names=["api"]
    )

    assert [(item["subpath"], item["shortname"]) for item in by_tag["records"]] == [("api/user", "user_profile")]
    assert names(by_schema) == ["query_all_applications", "test_by_saad", "user_profile"]


def test_search_on_long_values_and_wildcards_in_payload_fields(posts: Api) -> None:
    long_title = "x" * 300
    posts.create(
        "blog", record("content", "posts", "long", is_active=True, payload=json_payload({"title": long_title}))
    )

    def search(text: str) -> list[str]:
        return names(query(posts, type="search", space_name="blog", subpath="posts", search=text))

    assert search(f"@payload.body.title:{long_title}") == ["long"]
    assert search("@payload.body.title:Post*") == ["post0", "post1", "post2", "post3", "post4"]
    assert search("-@payload.body.title:Post*") == ["long"]
    assert search("@payload.body.title:xxx*") == ["long"]


def test_password_hashes_are_neither_answered_nor_searchable(sample: Api) -> None:
    users = {"space_name": "management", "subpath": "users"}
    grouped = query(
        sample,
        type="aggregation",
        **users,
        search="",
        aggregation_data={"group_by": ["@password"], "reducers": [{"reducer_name": "count", "alias": "n"}]},
    )

    assert [item["attributes"] for item in grouped["records"]] == [{"password": None, "n": 3}]
    assert query(sample, type="search", **users, search="argon2id")["attributes"] == {"total": 0, "returned": 0}
    assert query(sample, type="search", **users, search="@password:*")["attributes"] == {"total": 0, "returned": 0}
    assert names(query(sample, type="search", **users, search="", sort_by="password")) == [
        "alibaba",
        "anonymous",
        "dmart",
    ]


def test_bare_words_with_nul_characters_are_searched_not_a_server_error(sample: Api) -> None:
    folder = {"space_name": "applications", "subpath": "api"}
    plain = query(sample, type="search", **folder, search="profile")

    assert query(sample, type="search", **folder, search="profile\x00") == plain
    assert query(sample, type="search", **folder, search="pro\x00file")["attributes"] == {"total": 0, "returned": 0}
    assert names(query(sample, type="search", **folder, search="-profile\x00")) == names(
        query(sample, type="search", **folder, search="-profile")
    )


@pytest.mark.parametrize("reducer_name", ["sum", "min", "max", "avg"])
def test_a_reducer_without_its_field_is_refused(sample: Api, reducer_name: str) -> None:
    response = sample.client.post(
        "/managed/query",
        json={
            "type": "aggregation",
            "space_name": "applications",
            "subpath": "/",
            "aggregation_data": {"group_by": ["@resource_type"], "reducers": [{"reducer_name": reducer_name}]},
        },
        headers=sample.headers,
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"] == {
        "type": "request",
        "code": 400,
        "message": f"The reducer {reducer_name} needs a field in args",
        "info": None,
    }

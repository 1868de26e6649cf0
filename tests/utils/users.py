"""A second user, created through /managed/request with a role that grants what a test needs."""

from tests.utils.factories import Api, record

MANAGEMENT = "management"


def make_user(admin: Api, shortname: str, password: str, *, space_name: str, actions: list[str]) -> Api:
    """Create a user whose role allows `actions` on every attachment kind and entry in `space_name`; log it in."""
    permission = f"{shortname}_{space_name}"
    admin.create(
        MANAGEMENT,
        record(
            "permission",
            "permissions",
            permission,
            is_active=True,
            subpaths={space_name: ["/", "__all_subpaths__"]},
            resource_types=[
                "folder",
                "content",
                "comment",
                "reply",
                "reaction",
                "share",
                "relationship",
                "alteration",
                "json",
                "lock",
            ],
            actions=actions,
        ),
        record("role", "roles", f"{shortname}_role", is_active=True, permissions=[permission]),
        record("user", "users", shortname, is_active=True, password=password, roles=[f"{shortname}_role"]),
    )
    response = admin.client.post("/user/login", json={"shortname": shortname, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["records"][0]["attributes"]["access_token"]
    return Api(admin.client, {"Authorization": f"Bearer {token}"})

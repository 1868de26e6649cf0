"""The permission map and the key walk, without a server (contract §8)."""

from typing import Any

from dmart_attach.models.core import Permission, User
from dmart_attach.models.enums import ActionType, ResourceType
from dmart_attach.services.permissions import Checker, build_map
from dmart_attach.storage.layout import Address


def make_permission(name: str, subpaths: dict[str, list[str]], actions: list[str], **rules: Any) -> Permission:
    return Permission.model_validate(
        {
            "shortname": name,
            "owner_shortname": "dmart",
            "is_active": True,
            "subpaths": subpaths,
            "resource_types": ["content"],
            "actions": actions,
            **rules,
        }
    )


def checker_for(*permissions: Permission, shortname: str = "bob") -> Checker:
    user = User(shortname=shortname, owner_shortname=shortname, is_active=True)
    return Checker(user=user, grants=build_map(shortname, permissions))


def test_keys_of_several_permissions_merge_actions_and_conditions_and_keep_the_last_field_rules() -> None:
    grants = build_map(
        "bob",
        [
            make_permission("a", {"shop": ["/products/"]}, ["view"], conditions=["own"], restricted_fields=["tags"]),
            make_permission("b", {"shop": ["products"]}, ["update", "view"], conditions=["is_active"]),
        ],
    )

    assert grants == {
        "shop:products:content": {
            "allowed_actions": ["view", "update"],
            "conditions": ["own", "is_active"],
            "restricted_fields": [],
            "allowed_fields_values": {},
        }
    }


def test_current_user_and_empty_subpath_lists_expand_to_keys() -> None:
    grants = build_map("bob", [make_permission("a", {"personal": ["people/__current_user__//"], "shop": []}, ["view"])])

    assert sorted(grants) == ["personal:people/bob:content", "shop:/:content"]


def test_samples_null_field_rules_read_as_empty() -> None:
    permission = make_permission("a", {"shop": ["x"]}, ["view"], restricted_fields=None, allowed_fields_values=None)

    assert (permission.restricted_fields, permission.allowed_fields_values) == ([], {})


def test_only_the_last_global_key_present_at_a_prefix_is_evaluated() -> None:
    # Both keys are global candidates at prefix `products`; Dmart weighs only `shop:__all_subpaths__`.
    checker = checker_for(
        make_permission("everywhere", {"__all_spaces__": ["__all_subpaths__"]}, ["delete"]),
        make_permission("shop_wide", {"shop": ["__all_subpaths__"]}, ["view"]),
    )
    address = Address("shop", "products", "pen", ResourceType.content)

    assert checker.allows(ActionType.view, address) is True
    assert checker.allows(ActionType.delete, address) is False
    assert checker.allows(ActionType.delete, Address("other", "products", "pen", ResourceType.content)) is True


def test_folder_checks_walk_into_the_folders_own_name() -> None:
    checker = checker_for(make_permission("a", {"shop": ["products"]}, ["create"], resource_types=["folder"]))

    assert checker.allows(ActionType.create, Address("shop", "/", "products", ResourceType.folder)) is True
    assert checker.allows(ActionType.create, Address("shop", "/", "drafts", ResourceType.folder)) is False


def test_an_inactive_user_may_do_nothing() -> None:
    user = User(shortname="bob", owner_shortname="bob", is_active=False)
    grants = build_map("bob", [make_permission("a", {"__all_spaces__": ["__all_subpaths__"]}, ["view"])])

    assert (
        Checker(user=user, grants=grants).allows(ActionType.view, Address("s", "/", "x", ResourceType.content)) is False
    )

"""Dmart's search syntax, parsed."""

import pytest

from dmart_attach.errors import DmartError
from dmart_attach.models.search import FieldTerm, Group, Word
from dmart_attach.services.search_syntax import parse_search


def test_empty_search_has_no_groups() -> None:
    assert parse_search("") == []
    assert parse_search(None) == []


def test_a_lone_star_matches_everything_and_keeps_the_other_terms() -> None:
    assert parse_search("*") == []
    assert parse_search("* @tags:a") == [Group(fields=[FieldTerm("tags", ("a",))])]


def test_fields_words_negation_and_alternatives() -> None:
    assert parse_search('hello -bye @tags:a|b -@shortname:x @title:"two words"') == [
        Group(
            fields=[
                FieldTerm("tags", ("a", "b")),
                FieldTerm("shortname", ("x",), negative=True),
                FieldTerm("title", ("two words",)),
            ],
            words=[Word("hello"), Word("bye", negative=True)],
        )
    ]


def test_ranges_comparisons_and_path_shortcuts() -> None:
    [group] = parse_search("@body.n:[9 2] @attributes.created_at:[2024-01-01,2024-02-01] @n:>=3 @s:!x @t:{red}")

    assert group.fields == [
        FieldTerm("payload.body.n", low="2", high="9"),
        FieldTerm("created_at", low="2024-01-01", high="2024-02-01"),
        FieldTerm("n", ("3",), comparison=">="),
        FieldTerm("s", ("x",), comparison="!"),
        FieldTerm("t", ("red",)),
    ]


def test_parenthesised_groups_are_alternatives() -> None:
    assert parse_search("(@a:1 and @b:2) (word)") == [
        Group(fields=[FieldTerm("a", ("1",)), FieldTerm("b", ("2",))]),
        Group(words=[Word("word")]),
    ]


def test_a_range_needs_two_bounds() -> None:
    with pytest.raises(DmartError) as refused:
        parse_search("@n:[1]")

    assert (refused.value.status_code, refused.value.code) == (400, 400)

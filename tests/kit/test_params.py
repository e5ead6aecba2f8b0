from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from openbooking.kit.errors import InvalidParameter
from openbooking.kit.params import parse_id, parse_id_list


@pytest.mark.parametrize(
    "query",
    [
        "service_ids[]=1&service_ids[]=2",
        "service_ids[0]=1&service_ids[1]=2",
        "service_ids=1,2",
        "service_ids=1&service_ids=2",
        "service_ids=1.0&service_ids[]=2.00",
        "service_ids=1,%202&other=9",
    ],
)
def test_every_array_spelling_gives_the_same_ids(query: str) -> None:
    assert parse_id_list(QueryParams(query), "service_ids") == [1, 2]


def test_missing_list_is_empty_and_duplicates_collapse() -> None:
    assert parse_id_list(QueryParams("staff_id=3"), "service_ids") == []
    assert parse_id_list(QueryParams("service_ids=5,5,4"), "service_ids") == [5, 4]


@pytest.mark.parametrize("bad", ["abc", "1.5", "-1", "1e3", "１２", "9" * 40, "1;2"])
def test_malformed_ids_name_the_field(bad: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_id_list(QueryParams({"service_ids[]": bad}), "service_ids")
    assert "service_ids" in caught.value.message


def test_id_forms() -> None:
    assert parse_id("100", "id") == 100
    assert parse_id("100.0", "id") == 100
    with pytest.raises(InvalidParameter):
        parse_id(str(2**53), "id")


def test_too_many_ids_are_refused() -> None:
    with pytest.raises(InvalidParameter):
        parse_id_list(QueryParams("service_ids=" + ",".join(map(str, range(60)))), "service_ids")

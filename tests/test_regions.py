"""The Netherlands ships as data; regions are found by name, town or code."""

import json
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.regions import service
from app.regions.models import Region, RegionFile

NL_PROVINCES = {
    "NL-DR": "Drenthe", "NL-FL": "Flevoland", "NL-FR": "Fryslân", "NL-GE": "Gelderland",
    "NL-GR": "Groningen", "NL-LI": "Limburg", "NL-NB": "Noord-Brabant", "NL-NH": "Noord-Holland",
    "NL-OV": "Overijssel", "NL-UT": "Utrecht", "NL-ZE": "Zeeland", "NL-ZH": "Zuid-Holland",
}  # fmt: skip
# Municipalities per province since 1 January 2023 (CBS).
NL_MUNICIPALITIES_PER_PROVINCE = {
    "NL-NB": 56, "NL-GE": 51, "NL-ZH": 50, "NL-NH": 44, "NL-LI": 31, "NL-UT": 26,
    "NL-OV": 25, "NL-FR": 18, "NL-ZE": 13, "NL-DR": 12, "NL-GR": 10, "NL-FL": 6,
}  # fmt: skip


def test_the_netherlands_file_has_12_provinces_and_342_municipalities() -> None:
    tree = service.read_region_file(service.builtin_file())
    by_level = Counter(r.level.value for r in tree.regions)
    assert by_level == {"country": 1, "province": 12, "municipality": 342}
    provinces = {r.code: r.name for r in tree.regions if r.level.value == "province"}
    assert provinces == NL_PROVINCES
    municipalities = [r for r in tree.regions if r.level.value == "municipality"]
    assert all(r.code.startswith("GM") and len(r.code) == 6 for r in municipalities)
    assert Counter(r.parent for r in municipalities) == NL_MUNICIPALITIES_PER_PROVINCE
    assert {r.code: (r.name, r.parent) for r in municipalities}["GM0106"] == ("Assen", "NL-DR")


def test_tree_endpoint(client: TestClient) -> None:
    response = client.get("/api/v1/regions")
    assert response.status_code == 200
    [netherlands] = response.json()
    assert (netherlands["code"], netherlands["level"]) == ("NL", "country")
    assert len(netherlands["children"]) == 12
    drenthe = next(p for p in netherlands["children"] if p["code"] == "NL-DR")
    assert {"code": "GM0106", "name": "Assen", "level": "municipality", "children": []} in drenthe[
        "children"
    ]


@pytest.mark.parametrize(
    ("query", "first_code"),
    [
        ("assen", "GM0106"),
        ("ASSEN", "GM0106"),
        ("sudwest", "GM1900"),
        ("Súdwest-Fryslân", "GM1900"),
        ("sudwest fryslan", "GM1900"),
        ("den haag", "GM0518"),
        ("'s-Gravenhage", "GM0518"),
        ("drenthe", "NL-DR"),
        ("spijkenisse", "GM1930"),
        ("Voorne", "GM1992"),
    ],
)
def test_search_ignores_case_and_accents(client: TestClient, query: str, first_code: str) -> None:
    response = client.get("/api/v1/regions", params={"q": query})
    assert response.status_code == 200
    assert response.json()[0]["code"] == first_code


def test_search_result_says_which_town_matched(client: TestClient) -> None:
    [hit, *_] = client.get("/api/v1/regions", params={"q": "Den Haag"}).json()
    assert hit["matched_alias"] == "Den Haag"
    assert hit["parent"] == {"code": "NL-ZH", "name": "Zuid-Holland", "level": "province"}


@pytest.mark.parametrize("query", ["zzzqqq", "%", "_", "   "])
def test_search_without_matches_is_empty(client: TestClient, query: str) -> None:
    assert client.get("/api/v1/regions", params={"q": query}).json() == []


def test_search_query_length_is_limited(client: TestClient) -> None:
    response = client.get("/api/v1/regions", params={"q": "a" * 101})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "q"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Assen", "GM0106"),
        ("gm0106", "GM0106"),
        ("Spijkenisse (Nissewaard)", "GM1930"),
        ("Bergen (NH.)", "GM0373"),
        ("den bosch", "GM0796"),
        ("Hengelo", "GM0164"),
    ],
)
def test_resolving_what_someone_typed(session: Session, typed: str, code: str) -> None:
    result = service.resolve_place(session, typed=typed)
    assert result.region is not None
    assert result.region.code == code


def test_an_ambiguous_town_offers_the_candidates(session: Session) -> None:
    result = service.resolve_place(session, typed="Bergen")
    assert result.region is None
    assert {"GM0373", "GM0893"} <= {r.code for r in result.candidates}


def test_a_province_is_not_a_place_for_a_report(session: Session) -> None:
    assert service.resolve_place(session, typed="Drenthe").region is None
    assert service.get_municipality(session, code="NL-DR") is None


UK_TREE = {
    "source": "a tiny example",
    "regions": [
        {"code": "GB", "name": "United Kingdom", "level": "country"},
        {"code": "GB-ENG", "name": "England", "level": "province", "parent": "GB"},
        {"code": "E06000023", "name": "Bristol", "level": "municipality", "parent": "GB-ENG"},
    ],
}


def test_another_country_loads_beside_the_netherlands(session: Session) -> None:
    result = service.load_tree(session, tree=RegionFile.model_validate(UK_TREE))
    assert (result.added, result.retired) == (3, 0)
    assert service.get_municipality(session, code="E06000023") is not None
    assert service.get_municipality(session, code="GM0106") is not None


def test_reloading_a_country_retires_what_it_no_longer_lists(session: Session) -> None:
    service.load_tree(session, tree=RegionFile.model_validate(UK_TREE))
    smaller = {**UK_TREE, "regions": UK_TREE["regions"][:2]}
    result = service.load_tree(session, tree=RegionFile.model_validate(smaller))
    assert result.retired == 1
    bristol = session.get(Region, "E06000023")
    assert bristol is not None
    assert not bristol.active
    assert service.get_municipality(session, code="E06000023") is None


def test_a_broken_file_is_refused_with_every_problem_named(
    session: Session, tmp_path: Path
) -> None:
    broken = {
        "regions": [
            {"code": "XX", "name": "Nowhere", "level": "country", "parent": "NL"},
            {"code": "XX-A", "name": "A", "level": "municipality", "parent": "XX"},
            {"code": "XX-B", "name": "B", "level": "province", "parent": "ZZ"},
        ]
    }
    with pytest.raises(service.RegionFileError) as info:
        service.load_tree(session, tree=RegionFile.model_validate(broken))
    message = info.value.message
    assert "XX: a country has no parent" in message
    assert "XX-A: a municipality's parent must be a province" in message
    assert "XX-B: parent 'ZZ' is not in the file" in message
    assert session.exec(select(Region).where(Region.code == "XX")).first() is None

    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"regions": [{"code": "X", "level": "planet"}]}))
    with pytest.raises(service.RegionFileError, match=r"regions\.0\.name"):
        service.read_region_file(path)

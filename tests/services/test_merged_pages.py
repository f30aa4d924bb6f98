"""Several users' scans merged into one list, paged against the real demo server."""

from __future__ import annotations

from collections import Counter

import pytest

from viewer.api.client import PrismClient
from viewer.core.errors import NetworkError
from viewer.core.models import ScanPage
from viewer.demo.catalog import SCENARIOS, demo_scan_id
from viewer.demo.server import DEMO_API_KEY
from viewer.services.merged_pages import MergedPageSource, parse_user_tokens


@pytest.fixture(scope="module")
def client(demo_server):
    client = PrismClient(demo_server.base_url, DEMO_API_KEY)
    yield client
    client.close()


def counting_source(client: PrismClient, tokens, per_token_limit: int, page_size: int):
    calls: Counter[tuple[str, str | None]] = Counter()

    def list_page(token: str, cursor: str | None) -> ScanPage:
        calls[(token, cursor)] += 1
        return client.list_scans_page(token, cursor=cursor, limit=per_token_limit)

    return MergedPageSource.for_tokens(tokens, list_page, page_size=page_size), calls


def read_all(source: MergedPageSource) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = source(cursor)
        pages.append([scan.id for scan in page.results])
        if page.cursor is None:
            return pages
        cursor = page.cursor


def test_merged_pages_follow_the_servers_order_across_users(client):
    tokens = ["demo-alex", "demo-sam", "demo-kim"]
    # what the server lists for all users, newest first, restricted to those users
    everyone = [s for s in client.iter_scans(page_size=100)]
    expected = [s.id for s in everyone if s.user_token in tokens]
    assert len(expected) == sum(s.user_token in tokens for s in SCENARIOS)

    source, calls = counting_source(client, tokens, per_token_limit=2, page_size=3)
    pages = read_all(source)
    merged = [scan_id for page in pages for scan_id in page]
    assert merged == expected  # createdAt descending (ties by id), nothing lost, nothing repeated
    assert all(len(page) == 3 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 3
    # each user's pages are fetched once (memoised between merged pages)
    assert max(calls.values()) == 1
    per_user = Counter(s.user_token for s in SCENARIOS if s.user_token in tokens)
    assert sum(1 for token, _ in calls if token == "demo-alex") == -(-per_user["demo-alex"] // 2)


def test_the_same_cursor_gives_the_same_page_and_none_starts_over(client):
    source, _calls = counting_source(client, ["demo-jordan", "demo-sam"], per_token_limit=3, page_size=4)
    first = source(None)
    second = source(first.cursor)
    again = source(first.cursor)  # a retry after a failure asks with the same cursor
    assert [s.id for s in again.results] == [s.id for s in second.results]
    assert again.cursor == second.cursor
    restarted = source(None)
    assert [s.id for s in restarted.results] == [s.id for s in first.results]


def test_an_unknown_token_is_a_user_without_scans(client):
    source, _calls = counting_source(client, ["demo-kim", "nobody-here"], per_token_limit=10, page_size=50)
    page = source(None)
    assert page.cursor is None
    assert {s.id for s in page.results} == {demo_scan_id(s.name) for s in SCENARIOS if s.user_token == "demo-kim"}
    assert source.unknown_tokens == ("nobody-here",)


def test_other_errors_reach_the_list_and_a_retry_continues():
    failures = {"b": 1}

    def list_page(token: str, cursor: str | None) -> ScanPage:
        if token == "b" and failures["b"]:
            failures["b"] -= 1
            raise NetworkError("connection reset")
        return ScanPage((), None)

    source = MergedPageSource.for_tokens(["a", "b"], list_page)
    with pytest.raises(NetworkError):
        source(None)
    assert source(None) == ScanPage((), None)


def test_a_cursor_of_other_tokens_is_refused(client):
    source, _ = counting_source(client, ["demo-alex", "demo-sam"], per_token_limit=1, page_size=1)
    other, _ = counting_source(client, ["demo-kim", "demo-sam"], per_token_limit=1, page_size=1)
    cursor = source(None).cursor
    assert cursor is not None
    with pytest.raises(ValueError):
        other(cursor)


def test_user_tokens_from_pasted_text_and_files():
    assert parse_user_tokens("demo-alex, demo-sam; demo-kim") == ["demo-alex", "demo-sam", "demo-kim"]
    assert parse_user_tokens("demo-alex\n\n  demo-sam  \n# a comment\ndemo-alex\n") == ["demo-alex", "demo-sam"]
    csv_text = "userToken,name,created\r\ndemo-alex,Alex,2025-01-01\r\n\"demo,odd\",Odd,2025-01-02\r\n"
    assert parse_user_tokens(csv_text) == ["demo-alex", "demo,odd"]
    assert parse_user_tokens("") == [] and parse_user_tokens("token\n") == []

"""Several users' scans as one list: a page source that merges one page source per user token.

The API cannot list users, so QA pastes or imports tokens (``parse_user_tokens``) and the scan list
sees one ordinary page source (``cursor -> ScanPage``), newest first.

How the merge stays correct and restartable:
- Each token is read through its own source (``GET /scans?userToken=...``, newest first). A scan is
  emitted only when every token that still has scans has a loaded scan to compare it with, so the
  merged order is exactly ``createdAt`` descending (ties: id descending, like the server).
- The merged cursor is plain data: per token, the server cursor of the page being read and how many
  of its scans were emitted. Asking again with the same cursor gives the same page (a retry after a
  failure works); pages fetched while serving one merged page are memoised for the next one, so a
  token's page is normally fetched once.
- A token the server does not know (404) is treated as a user without scans and listed in
  ``unknown_tokens``; any other error propagates (the list shows it and can retry).
"""

from __future__ import annotations

import csv
import io
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping

from viewer.core.errors import NotFoundError
from viewer.core.models import Scan, ScanPage

PageSource = Callable[[str | None], ScanPage]

DEFAULT_MERGED_PAGE_SIZE = 25
_CURSOR_PREFIX = "merged:"
_OLDEST = datetime.min.replace(tzinfo=timezone.utc)
_HEADER_WORDS = {"token", "usertoken", "user_token", "user token", "user"}


def parse_user_tokens(text: str) -> list[str]:
    """Tokens from pasted text or a text/CSV file.

    Several lines: one token per line, the first column when a line is CSV. A single line:
    tokens separated by commas or semicolons ("demo-alex, demo-sam"). Blank lines, ``#``
    comments and a header ("token", "userToken", ...) are skipped; duplicates are dropped, the
    first occurrence kept.
    """
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) == 1:
        candidates = lines[0].replace(";", ",").split(",")
    else:
        candidates = [row[0] for row in csv.reader(io.StringIO("\n".join(lines))) if row]
    tokens = (c.strip() for c in candidates)
    return list(dict.fromkeys(t for t in tokens if t and t.lower() not in _HEADER_WORDS))


@dataclass
class _Lane:
    """Where one token's listing stands: its current page (by the cursor that fetched it) and offset."""

    token: str
    page_cursor: str | None
    offset: int
    done: bool


def _sort_key(scan: Scan) -> tuple[datetime, str]:
    return scan.created_at or _OLDEST, scan.id


class MergedPageSource:
    """``source(cursor) -> ScanPage`` over several tokens; ``cursor=None`` starts over."""

    def __init__(self, sources: Mapping[str, PageSource], page_size: int = DEFAULT_MERGED_PAGE_SIZE) -> None:
        if not sources:
            raise ValueError("a merged listing needs at least one user token")
        self._sources = dict(sources)
        self._page_size = max(1, page_size)
        self._pages: dict[tuple[str, str | None], ScanPage] = {}
        self._unknown: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def for_tokens(cls, tokens: Iterable[str], list_page: Callable[[str, str | None], ScanPage],
                   page_size: int = DEFAULT_MERGED_PAGE_SIZE) -> "MergedPageSource":
        """``list_page(token, cursor)`` fetches one page of one user's scans."""
        return cls({t: (lambda cursor, t=t: list_page(t, cursor)) for t in dict.fromkeys(tokens)}, page_size)

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(self._sources)

    @property
    def unknown_tokens(self) -> tuple[str, ...]:
        """Tokens the server answered 404 for so far, in the order given."""
        with self._lock:
            return tuple(t for t in self._sources if t in self._unknown)

    def __call__(self, cursor: str | None) -> ScanPage:
        with self._lock:
            if cursor is None:  # a fresh listing (first load or refresh): forget memoised pages
                self._pages.clear()
                self._unknown.clear()
                lanes = [_Lane(token, None, 0, False) for token in self._sources]
            else:
                lanes = self._decode(cursor)
            used_before = {(lane.token, lane.page_cursor) for lane in lanes}
            results = self._merge(lanes)
            more = any(not lane.done for lane in lanes)
            next_cursor = self._encode(lanes) if more else None
            keep = used_before | {(lane.token, lane.page_cursor) for lane in lanes}
            self._pages = {key: page for key, page in self._pages.items() if key in keep}
            return ScanPage(tuple(results), next_cursor)

    # -- merging ----------------------------------------------------------------------------------

    def _merge(self, lanes: list[_Lane]) -> list[Scan]:
        results: list[Scan] = []
        while len(results) < self._page_size:
            heads = [(lane, scan) for lane in lanes if (scan := self._head(lane)) is not None]
            if not heads:
                break
            lane, scan = max(heads, key=lambda pair: _sort_key(pair[1]))
            results.append(scan)
            lane.offset += 1
        return results

    def _head(self, lane: _Lane) -> Scan | None:
        """The lane's next scan, fetching its next page when the current one is used up."""
        while not lane.done:
            page = self._page(lane.token, lane.page_cursor)
            if lane.offset < len(page.results):
                return page.results[lane.offset]
            if page.cursor is None or not page.results or page.cursor == lane.page_cursor:
                lane.done = True
                return None
            lane.page_cursor, lane.offset = page.cursor, 0
        return None

    def _page(self, token: str, cursor: str | None) -> ScanPage:
        key = (token, cursor)
        page = self._pages.get(key)
        if page is None:
            try:
                page = self._sources[token](cursor)
            except NotFoundError:
                self._unknown.add(token)
                page = ScanPage((), None)
            self._pages[key] = page
        return page

    # -- cursor -----------------------------------------------------------------------------------

    def _encode(self, lanes: list[_Lane]) -> str:
        state = [[lane.token, lane.page_cursor, lane.offset, lane.done] for lane in lanes]
        return _CURSOR_PREFIX + json.dumps(state, separators=(",", ":"))

    def _decode(self, cursor: str) -> list[_Lane]:
        if not cursor.startswith(_CURSOR_PREFIX):
            raise ValueError("not a cursor of this merged listing")
        state = json.loads(cursor[len(_CURSOR_PREFIX):])
        lanes = [_Lane(str(token), page_cursor, int(offset), bool(done))
                 for token, page_cursor, offset, done in state]
        if {lane.token for lane in lanes} != set(self._sources):
            raise ValueError("the cursor belongs to another set of user tokens")
        return lanes

"""The scan list (model, delegate, panel) against the real local Prism stand-in server.

Data flows for real: ``PrismClient`` over HTTP to the stand-in server, previews through
``ScanOpener.fetch_preview`` into an ``AssetCache`` under ``tmp_path``. In-test sources are used
only where the server cannot produce the situation on demand (a page request held back while the
user switches token, a source that raises a non-API error).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QHelpEvent, QImage
from PySide6.QtWidgets import QApplication, QToolTip

from viewer.api.client import PrismClient
from viewer.assets.cache import AssetCache
from viewer.core.errors import NetworkError
from viewer.core.formatting import format_time
from viewer.core.models import (
    STAGES,
    Scan,
    ScanPage,
    ScanStatus,
    StageState,
    parse_datetime,
)
from viewer.demo.catalog import SCENARIOS, demo_scan_id
from viewer.demo.server import DEMO_API_KEY
from viewer.qt.badges import GREEN, RED
from viewer.qt.scan_delegate import ROW_HEIGHT
from viewer.qt.scan_list_model import ScanListModel, ScanRoles
from viewer.qt.scan_list_panel import ScanListPanel
from viewer.qt.tasks import TaskRunner
from viewer.services.scan_opening import ScanOpener

pytestmark = pytest.mark.gui

WAIT_MS = 15000


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def runner(qapp):
    runner = TaskRunner()
    yield runner
    assert runner.shutdown(10000), "a scan list worker outlived its test"
    assert runner.pending == 0


@pytest.fixture
def client(demo_server):
    client = PrismClient(demo_server.base_url, DEMO_API_KEY)
    yield client
    client.close()


def raw_scans(base_url: str, user_token: str | None = None) -> list[dict[str, Any]]:
    """Every scan as the server's ``GET /scans`` sends it (one big page, straight JSON)."""
    params: dict[str, Any] = {"limit": 100}
    if user_token:
        params["userToken"] = user_token
    response = requests.get(f"{base_url}/scans", params=params, timeout=10,
                            headers={"authorization": f"Bearer {DEMO_API_KEY}"})
    response.raise_for_status()
    body = response.json()
    assert body["pageInfo"]["cursor"] is None
    return body["results"]


def page_source_for(client: PrismClient, user_token: str | None = None, limit: int = 20) -> Callable:
    return lambda cursor: client.list_scans_page(user_token, limit=limit, cursor=cursor)


def load_all_pages(qtbot, model: ScanListModel) -> None:
    while model.canFetchMore():
        with qtbot.waitSignal(model.pageLoaded, timeout=WAIT_MS):
            model.fetchMore()
    assert model.error is None, model.error


def roles(model: ScanListModel, row: int, role: ScanRoles) -> Any:
    return model.data(model.index(row, 0), role)


@pytest.fixture
def make_panel(qtbot, runner, tmp_path):
    """Build a shown panel over a model; closes it (stopping its timers) after the test."""
    panels: list[ScanListPanel] = []

    def make(page_source=None, scan_source=None, thumbnail_source=None, *, height: int = 700,
             poll_interval_ms: int = 5000, **panel_options) -> ScanListPanel:
        model = ScanListModel(runner, page_source, scan_source, thumbnail_source,
                              poll_interval_ms=poll_interval_ms)
        panel = ScanListPanel(model, **panel_options)
        qtbot.addWidget(panel)
        panel.resize(440, height)
        panel.show()
        qtbot.waitExposed(panel)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.close()
        assert not panel.model.polling


def scan_json(scan_id: str, status: str, states: tuple, *, token: str = "qa-user",
              created: str = "2025-03-01T10:00:00Z") -> dict[str, Any]:
    assets = {"id": f"assets-{scan_id}", "scanId": scan_id}
    for stage, state in zip(STAGES, states):
        assets[stage] = state
        assets[f"{stage}UpdatedAt"] = created if state else None
    return {"id": scan_id, "status": status, "userToken": token, "deviceConfigName": "IPHONE_SCANNER",
            "createdAt": created, "scanAssets": assets}


# --------------------------------------------------------------------------- list content


def test_list_shows_every_demo_scan_with_the_servers_stage_states(qtbot, runner, client, demo_server):
    model = ScanListModel(runner, page_source_for(client, limit=5))
    load_all_pages(qtbot, model)
    served = raw_scans(demo_server.base_url)

    assert model.rowCount() == len(served) == len(SCENARIOS)
    assert [roles(model, row, ScanRoles.ScanIdRole) for row in range(model.rowCount())] == [s["id"] for s in served]
    for row, raw in enumerate(served):
        if raw["id"] == demo_scan_id("progressing"):
            continue  # changes by itself between the two reads; see the re-poll test
        expected_states = tuple(
            StageState.NONE if raw["scanAssets"][stage] is None else StageState(raw["scanAssets"][stage])
            for stage in STAGES)
        assert roles(model, row, ScanRoles.StageStatesRole) == expected_states, raw["id"]
        assert roles(model, row, ScanRoles.StatusRole) is ScanStatus(raw["status"])
        assert roles(model, row, ScanRoles.UserTokenRole) == raw["userToken"]
        assert roles(model, row, ScanRoles.CreatedAtRole) == parse_datetime(raw["createdAt"])
        assert roles(model, row, ScanRoles.DeviceRole) == {
            "IPHONE_SCANNER": "iPhone", "ANDROID_SCANNER": "Android"}[raw["deviceConfigName"]]
        assert roles(model, row, ScanRoles.ScanRole).id == raw["id"]

    failed_body = model.row_of(demo_scan_id("failed-body"))
    assert roles(model, failed_body, ScanRoles.StageStatesRole) == (
        StageState.SUCCEEDED, StageState.FAILED, StageState.NONE, StageState.NONE)
    assert roles(model, failed_body, ScanRoles.StatusTextRole) == "Failed"


def test_paging_loads_every_page_as_the_view_scrolls(qtbot, client, demo_server, make_panel):
    requests_made: list[str | None] = []
    in_flight = 0
    most_in_flight = 0
    lock = threading.Lock()

    def counting_source(cursor: str | None) -> ScanPage:
        nonlocal in_flight, most_in_flight
        with lock:
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
            requests_made.append(cursor)
        try:
            return client.list_scans_page(limit=3, cursor=cursor)
        finally:
            with lock:
                in_flight -= 1

    panel = make_panel(counting_source, height=5 * ROW_HEIGHT)
    model, view = panel.model, panel.view
    qtbot.waitUntil(lambda: model.rowCount() >= 3 and not model.loading, timeout=WAIT_MS)
    qtbot.wait(200)  # let the view ask for whatever fills its viewport
    first_screen = model.rowCount()
    assert first_screen < len(SCENARIOS), "pages must load as the user scrolls, not all at once"

    while not model.exhausted:
        before = model.rowCount()
        view.scrollToBottom()
        qtbot.waitUntil(lambda: model.rowCount() > before or model.exhausted, timeout=WAIT_MS)

    assert [s.id for s in model.scans()] == [s["id"] for s in raw_scans(demo_server.base_url)]
    assert len(requests_made) == -(-len(SCENARIOS) // 3)  # one request per page, none repeated
    assert requests_made[0] is None and len(set(requests_made)) == len(requests_made)
    assert most_in_flight == 1
    assert panel.scan_count == len(SCENARIOS)
    assert panel.status_text == f"{len(SCENARIOS)} scans"


def test_a_processing_scan_updates_live_on_repoll(qtbot, runner, make_demo_server):
    server = make_demo_server(progress_seconds=2.0)
    client = PrismClient(server.base_url, DEMO_API_KEY)
    try:
        model = ScanListModel(runner, page_source_for(client, "demo-alex"), client.get_scan,
                              poll_interval_ms=150)
        load_all_pages(qtbot, model)
        row = model.row_of(demo_scan_id("progressing"))
        assert roles(model, row, ScanRoles.StatusRole) is ScanStatus.PROCESSING
        assert model.polling

        seen_states: list[tuple] = []
        model.dataChanged.connect(
            lambda top, bottom, _roles=(): top.row() <= row <= bottom.row()
            and seen_states.append(roles(model, row, ScanRoles.StageStatesRole)))
        qtbot.waitUntil(lambda: roles(model, row, ScanRoles.StatusRole) is ScanStatus.READY, timeout=WAIT_MS)

        assert roles(model, row, ScanRoles.StageStatesRole) == (StageState.SUCCEEDED,) * 4
        assert len(seen_states) >= 2, "badges should change step by step, not only at the end"
        assert any(StageState.STARTED in states for states in seen_states)
        qtbot.waitUntil(lambda: not model.polling, timeout=2000)  # nothing left to re-poll
        model.stop()
    finally:
        client.close()


def test_thumbnail_arrives_lazily_for_visible_rows_only(qtbot, client, tmp_path, make_panel):
    opener = ScanOpener(client, AssetCache(tmp_path / "cache"))
    asked: list[str] = []

    def preview(scan_id: str) -> Path | None:
        asked.append(scan_id)
        return opener.fetch_preview(scan_id)

    panel = make_panel(page_source_for(client, limit=12), thumbnail_source=preview, height=4 * ROW_HEIGHT)
    model, view = panel.model, panel.view
    qtbot.waitUntil(lambda: model.rowCount() >= 12, timeout=WAIT_MS)
    # on the first screen: scans with their capture data in (a preview), and one without
    first_screen = [model.scan(row) for row in range(3) if model.scan(row).id != demo_scan_id("progressing")]
    with_preview = [s for s in first_screen if s.assets.state("captureData") is StageState.SUCCEEDED]
    without = [s for s in first_screen if s.assets.state("captureData") is StageState.NONE]
    assert with_preview and without
    row = model.row_of(with_preview[0].id)
    qtbot.waitUntil(lambda: with_preview[0].id in asked, timeout=WAIT_MS)  # asked for by painting
    qtbot.waitUntil(lambda: roles(model, row, ScanRoles.ThumbnailRole) is not None, timeout=WAIT_MS)
    image = roles(model, row, ScanRoles.ThumbnailRole)
    assert isinstance(image, QImage) and not image.isNull()
    assert 0 < image.width() <= 48 and 0 < image.height() <= 64
    assert max(image.width() / 48, image.height() / 64) == pytest.approx(1, abs=0.05)  # fitted to the box

    qtbot.waitUntil(lambda: model.thumbnails.loading_count == 0, timeout=WAIT_MS)
    for scan in without:
        assert scan.id in asked and roles(model, model.row_of(scan.id), ScanRoles.ThumbnailRole) is None

    visible = {model.scan(row).id for row in range(model.rowCount())
               if view.viewport().rect().intersects(view.visualRect(panel.proxy.index(row, 0)))}
    assert set(asked) <= visible
    assert model.scan(11).id not in asked


# --------------------------------------------------------------------------- errors and resets


def test_a_failing_page_source_emits_load_failed_with_the_message(qtbot, runner, demo_server, make_panel):
    wrong_key = PrismClient(demo_server.base_url, "not-the-key")
    try:
        panel = make_panel(page_source_for(wrong_key))
        model = panel.model
        with qtbot.waitSignal(model.loadFailed, timeout=WAIT_MS) as failed:
            model.fetchMore()
        assert "API key was not accepted" in failed.args[0]
        assert not model.canFetchMore() and not model.loading
        assert panel.status_text == f"Could not load scans: {failed.args[0]}"
    finally:
        wrong_key.close()

    def broken(cursor: str | None) -> ScanPage:
        raise ValueError("page 1 is garbled")

    model.reset(broken)
    qtbot.waitUntil(lambda: model.error is not None, timeout=WAIT_MS)
    assert model.error == "Could not load the list of scans: page 1 is garbled"

    good = [Scan.parse(scan_json("s1", "READY", ("succeeded",) * 4))]
    attempts = iter([NetworkError("cannot reach the server"), ScanPage(tuple(good), None)])

    def flaky(cursor: str | None) -> ScanPage:
        outcome = next(attempts)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with qtbot.waitSignal(model.loadFailed, timeout=WAIT_MS) as failed:
        model.reset(flaky)
    assert failed.args == ["cannot reach the server"]
    with qtbot.waitSignal(model.pageLoaded, timeout=WAIT_MS):
        model.retry()
    assert model.rowCount() == 1 and model.error is None


def test_reset_drops_the_results_of_the_old_source(qtbot, runner):
    release = threading.Event()
    old = ScanPage((Scan.parse(scan_json("old", "READY", ("succeeded",) * 4)),), None)
    new = ScanPage((Scan.parse(scan_json("new", "READY", ("succeeded",) * 4)),), None)

    def slow_old(cursor: str | None) -> ScanPage:
        release.wait(10)
        return old

    model = ScanListModel(runner, slow_old)
    model.fetchMore()
    assert model.loading
    with qtbot.waitSignal(model.pageLoaded, timeout=WAIT_MS):
        model.reset(lambda cursor: new)
    release.set()
    runner.wait(5000)
    qtbot.wait(50)  # deliver whatever the old worker queued
    assert [s.id for s in model.scans()] == ["new"]


# --------------------------------------------------------------------------- the delegate


def _badge_colour_share(image: QImage, rect, colour: QColor, tolerance: int = 40) -> float:
    hits = total = 0
    for x in range(rect.left() + 2, rect.right() - 1):
        for y in range(rect.top() + 2, rect.bottom() - 1):
            pixel = image.pixelColor(x, y)
            total += 1
            hits += (abs(pixel.red() - colour.red()) + abs(pixel.green() - colour.green())
                     + abs(pixel.blue() - colour.blue())) <= tolerance
    return hits / total


@pytest.fixture
def sam_panel(qtbot, client, make_panel):
    """demo-sam's scans (among them a failed body and a stuck one), all on screen."""
    count = sum(s.user_token == "demo-sam" for s in SCENARIOS)
    panel = make_panel(page_source_for(client, "demo-sam"), height=(count + 2) * ROW_HEIGHT)
    qtbot.waitUntil(lambda: panel.model.exhausted and panel.scan_count == count, timeout=WAIT_MS)
    qtbot.wait(50)
    return panel


def badge_rect(panel: ScanListPanel, scan_id: str, stage: str):
    index = panel.proxy.mapFromSource(panel.model.index_of(scan_id))
    rect = panel.view.visualRect(index)
    delegate = panel.view.itemDelegate()
    return delegate.layout(rect, panel.view.font()).badges[STAGES.index(stage)]


def test_delegate_paints_badges_in_their_state_colours(sam_panel):
    image = sam_panel.view.viewport().grab().toImage()
    failed_id = demo_scan_id("failed-body")

    assert _badge_colour_share(image, badge_rect(sam_panel, failed_id, "body"), RED) > 0.5
    assert _badge_colour_share(image, badge_rect(sam_panel, failed_id, "captureData"), GREEN) > 0.5
    hollow = badge_rect(sam_panel, failed_id, "fittedBody")  # not started: outline only
    assert _badge_colour_share(image, hollow, RED) == 0 and _badge_colour_share(image, hollow, GREEN) == 0
    assert _badge_colour_share(image, hollow, QColor("white"), tolerance=12) > 0.5
    stuck_body = badge_rect(sam_panel, demo_scan_id("stuck"), "body")
    assert _badge_colour_share(image, stuck_body, QColor("#f0a81c")) > 0.5


def test_badge_tooltips_give_stage_state_and_time(qtbot, sam_panel, demo_server):
    view = sam_panel.view
    failed_id = demo_scan_id("failed-body")
    raw = next(s for s in raw_scans(demo_server.base_url, "demo-sam") if s["id"] == failed_id)
    expected_time = format_time(parse_datetime(raw["scanAssets"]["bodyUpdatedAt"]))

    pos = badge_rect(sam_panel, failed_id, "body").center()
    event = QHelpEvent(QEvent.Type.ToolTip, pos, view.viewport().mapToGlobal(pos))
    try:
        QApplication.sendEvent(view.viewport(), event)
        qtbot.waitUntil(QToolTip.isVisible, timeout=3000)
        assert QToolTip.text() == f"Body: failed\nUpdated {expected_time}"

        pos = badge_rect(sam_panel, failed_id, "measurement").center()
        QApplication.sendEvent(view.viewport(), QHelpEvent(QEvent.Type.ToolTip, pos, view.viewport().mapToGlobal(pos)))
        qtbot.waitUntil(lambda: QToolTip.text().startswith("Measurement"), timeout=3000)
        assert QToolTip.text() == "Measurement: not started\nNo update time"
    finally:
        QToolTip.hideText()


# --------------------------------------------------------------------------- the panel


def test_filter_narrows_the_rows(qtbot, client, make_panel):
    panel = make_panel(page_source_for(client, limit=100))
    qtbot.waitUntil(lambda: panel.model.exhausted, timeout=WAIT_MS)
    proxy = panel.proxy
    assert proxy.rowCount() == len(SCENARIOS)

    def shown() -> set[str]:
        return {proxy.index(r, 0).data(ScanRoles.ScanIdRole) for r in range(proxy.rowCount())}

    qtbot.keyClicks(panel.filter_edit, "android")
    android = {demo_scan_id(s.name) for s in SCENARIOS if s.device == "ANDROID_SCANNER"}
    assert shown() == android and 0 < len(android) < len(SCENARIOS)
    assert panel.status_text == f"{len(android)} of {len(SCENARIOS)} scans shown"

    panel.filter_edit.setText("FAILED")
    failed = {demo_scan_id(s.name) for s in SCENARIOS if s.status == "FAILED"}
    assert shown() == failed and demo_scan_id("failed-body") in failed

    panel.filter_edit.setText("demo-kim")
    assert proxy.rowCount() == sum(s.user_token == "demo-kim" for s in SCENARIOS)
    panel.filter_edit.setText(demo_scan_id("stuck")[:13])
    assert proxy.rowCount() == 1
    panel.filter_edit.setText("no such scan")
    assert proxy.rowCount() == 0 and panel.status_text == "No scans match “no such scan”."
    panel.filter_edit.clear()
    assert proxy.rowCount() == len(SCENARIOS)


def test_select_scan_before_and_after_it_is_loaded(qtbot, client, make_panel):
    panel = make_panel(page_source_for(client, limit=3), height=4 * ROW_HEIGHT)
    activated: list[Scan] = []
    panel.scanActivated.connect(activated.append)
    oldest = demo_scan_id(max(SCENARIOS, key=lambda s: s.created_before_start_s).name)  # on the last page

    with qtbot.waitSignal(panel.scanActivated, timeout=WAIT_MS):
        assert panel.select_scan(oldest) is False
    assert [s.id for s in activated] == [oldest]
    assert panel.current_scan().id == oldest

    newest = panel.model.scan(0).id
    assert panel.select_scan(newest) is True
    assert [s.id for s in activated] == [oldest, newest]

    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Down)
    assert activated[-1].id == panel.model.scan(1).id
    qtbot.keyClick(panel.filter_edit, Qt.Key.Key_Down)  # arrows in the filter move the list too
    assert activated[-1].id == panel.model.scan(2).id


def test_token_box_remembers_tokens_and_shortcuts_focus(qtbot, client, make_panel):
    panel = make_panel(page_source_for(client), recent_tokens=["demo-sam", "demo-alex"])
    assert panel.recent_tokens == ["demo-sam", "demo-alex"]
    chosen: list[str] = []
    panel.userTokenChosen.connect(chosen.append)
    panel.userTokenChosen.connect(lambda token: panel.model.reset(page_source_for(client, token)))

    panel.token_box.lineEdit().clear()
    qtbot.keyClicks(panel.token_box.lineEdit(), "demo-kim")
    with qtbot.waitSignal(panel.model.pageLoaded, timeout=WAIT_MS):
        qtbot.keyClick(panel.token_box.lineEdit(), Qt.Key.Key_Return)
    assert chosen == ["demo-kim"]
    assert panel.recent_tokens == ["demo-kim", "demo-sam", "demo-alex"]
    assert {s.user_token for s in panel.model.scans()} == {"demo-kim"}

    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=3000)
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert panel.filter_edit.hasFocus()
    qtbot.keyClick(panel.filter_edit, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert panel.token_box.lineEdit().hasFocus()
    with qtbot.waitSignal(panel.refreshRequested, timeout=1000):
        qtbot.keyClick(panel.view, Qt.Key.Key_F5)


def test_closing_the_panel_stops_polling(qtbot, make_panel):
    pending = Scan.parse(scan_json("p1", "PROCESSING", ("succeeded", "started", None, None)))
    polls: list[str] = []

    def scan_source(scan_id: str) -> Scan:
        polls.append(scan_id)
        return pending

    panel = make_panel(lambda cursor: ScanPage((pending,), None), scan_source, poll_interval_ms=30)
    qtbot.waitUntil(lambda: len(polls) >= 2, timeout=WAIT_MS)
    panel.close()
    count = len(polls)
    qtbot.wait(150)
    assert not panel.model.polling and len(polls) <= count + 1


def test_values_this_version_does_not_know_are_shown_as_sent(qtbot, make_panel):
    raw = scan_json("u1", "ARCHIVED", ("succeeded", "queued", None, None))
    raw["deviceConfigName"] = "PIXEL_SCANNER"
    panel = make_panel(lambda cursor: ScanPage((Scan.parse(raw),), None))
    qtbot.waitUntil(lambda: panel.scan_count == 1, timeout=WAIT_MS)
    model = panel.model
    assert roles(model, 0, ScanRoles.StatusTextRole) == "Archived"
    assert roles(model, 0, ScanRoles.DeviceRole) == "PIXEL_SCANNER"
    assert roles(model, 0, ScanRoles.StageStatesRole)[1] is StageState.UNKNOWN

    rect = badge_rect(panel, "u1", "body")
    index = panel.proxy.index(0, 0)
    tip = panel.view.itemDelegate().tooltip_at(panel.view.visualRect(index), panel.view.font(), index, rect.center())
    assert tip.startswith("Body: unknown ('queued')\nUpdated ")
    image = panel.view.viewport().grab().toImage()
    assert _badge_colour_share(image, rect, QColor("#8a63d2")) > 0.5

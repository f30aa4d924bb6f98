"""The QA workflow in a real window against the real demo server: filters with counts, "load all",
open by id, several users, J/K triage with prefetch, A/R/F verdicts painted in the list, export.

One window for the module (building one costs seconds); every test starts from the full list with
no filter (``fresh`` fixture).
"""

from __future__ import annotations

import csv
import io

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from tests.qt.helpers import wait_until
from viewer.core.models import ScanStatus, StageState
from viewer.core.secrets import KeyStore
from viewer.core.server_choice import target_from_name
from viewer.core.settings import Settings
from viewer.demo.catalog import SCENARIOS, demo_scan_id
from viewer.demo.server import DEMO_API_KEY
from viewer.qt.badges import GREEN, RED
from viewer.qt.scan_list_model import ScanRoles
from viewer.services.scan_filters import ScanFilter, load_preferences
from viewer.services.verdicts import Verdict, VerdictStore

pytestmark = pytest.mark.gui

WAIT_S = 30.0




@pytest.fixture(scope="module")
def qa_window(qapp, demo_server, tmp_path_factory):
    """(window, qa panel) on the demo server, with the user folders of this module."""
    from viewer.qt.main_window import MainWindow

    root = tmp_path_factory.mktemp("qa-userdirs")
    with pytest.MonkeyPatch.context() as patch:
        for kind in ("CACHE", "DATA", "CONFIG"):
            patch.setenv(f"SCAN_VIEWER_{kind}_DIR", str(root / kind.lower()))
        patch.setenv("SCAN_VIEWER_REVIEWER", "qa-tester")
        window = MainWindow(target_from_name(demo_server.base_url), DEMO_API_KEY, Settings(),
                            KeyStore(use_keyring=False), remember_geometry=False)
        qa = window.qa  # installed by MainWindow itself
        window.resize(1280, 1000)
        window.show()
        window.start()
        wait_until(lambda: window.session is not None and window.body_view is not None)
        wait_until(lambda: window.scan_list.model.rowCount() > 0)
        yield window, qa
        window.close()
        assert window.runner.pending == 0


@pytest.fixture
def fresh(qa_window, qtbot):
    """The whole demo list, loaded, unfiltered, nothing selected, the window active."""
    window, qa = qa_window
    session = window.session
    qa.cancel_verdict()
    qa.bar.set_filter(ScanFilter(), notify=True)
    window.scan_list.filter_edit.clear()
    qa.id_field.clear()
    window.scan_list.set_user_token("")
    window.scan_list.model.set_sources(lambda cursor: session.client.list_scans_page(None, cursor=cursor, limit=100),
                                       session.client.get_scan, session.opener.fetch_preview)
    wait_until(lambda: window.scan_list.model.exhausted)
    window.scan_list.clear_current()
    window.activateWindow()
    wait_until(lambda: QApplication.activeWindow() is window)
    window.scan_list.view.setFocus()
    return window, qa


def shown_ids(window) -> list[str]:
    proxy = window.scan_list.proxy
    return [proxy.index(r, 0).data(ScanRoles.ScanIdRole) for r in range(proxy.rowCount())]


def newest_first(names) -> list[str]:
    chosen = sorted((s for s in SCENARIOS if s.name in names), key=lambda s: s.created_before_start_s)
    return [demo_scan_id(s.name) for s in chosen]


# --------------------------------------------------------------------------- filters and counts


def test_filter_bar_narrows_to_body_failed_and_shows_counts(fresh):
    window, qa = fresh
    total = len(SCENARIOS)
    assert qa.bar.summary_text == f"{total} loaded"
    stage = qa.bar._stage
    stage.setCurrentIndex(stage.findData("body:failed"))
    assert shown_ids(window) == [demo_scan_id("failed-body")]
    assert "Body failed (1)" in qa.bar.choice_texts("stage")
    assert qa.bar.summary_text == f"1 of {total} loaded match"
    failed, stuck = qa.bar.toggle_texts()
    assert (failed, stuck) == ("Failed anywhere (3)", "Stuck (1)")
    assert f"Failed ({sum(s.status == 'FAILED' for s in SCENARIOS)})" in qa.bar.choice_texts("status")
    assert f"demo-kim ({sum(s.user_token == 'demo-kim' for s in SCENARIOS)})" in qa.bar.choice_texts("user")

    # AND with another kind
    user = qa.bar._user
    user.setCurrentIndex(user.findData("demo-alex"))
    assert shown_ids(window) == []
    assert "No loaded scans match the QA filters" in window.scan_list.status_text
    user.setCurrentIndex(user.findData("demo-sam"))
    assert shown_ids(window) == [demo_scan_id("failed-body")]

    # failed anywhere, then stuck: what the toggles say they keep
    qa.bar.set_filter(ScanFilter(failed_anywhere=True), notify=True)
    assert shown_ids(window) == newest_first({"failed-body", "failed-fitted-body", "failed-measurement"})
    qa.bar._failed.setChecked(False)
    qa.bar._stuck.setChecked(True)
    assert shown_ids(window) == [demo_scan_id("stuck")]
    qa.bar._stuck_minutes.setValue(4 * 60)  # a generous threshold: nothing is stuck
    assert shown_ids(window) == [] and qa.bar.toggle_texts()[1] == "Stuck (0)"
    qa.bar._stuck_minutes.setValue(30)
    assert shown_ids(window) == [demo_scan_id("stuck")]
    qa.bar._clear.click()
    assert len(shown_ids(window)) == total


def test_a_saved_filter_comes_back_by_name(fresh):
    window, qa = fresh
    body_failed = ScanFilter(stage="body", stage_state=StageState.FAILED)
    qa.bar.set_filter(body_failed, notify=True)
    qa.bar.save_current_as("body failed")
    qa.bar._clear.click()
    assert window.scan_list.scan_filter == ScanFilter()
    qa.bar.apply_saved("body failed")
    assert window.scan_list.scan_filter == body_failed
    assert shown_ids(window) == [demo_scan_id("failed-body")]
    assert load_preferences(qa.bar._preferences_path).saved["body failed"] == body_failed  # on disk
    qa.bar.delete_saved("body failed")
    assert "body failed" not in load_preferences(qa.bar._preferences_path).saved


def settle(qtbot, model) -> None:
    """Wait until the list stops loading pages by itself (the view fills its visible rows)."""
    while True:
        wait_until(lambda: model.has_loaded and not model.loading)
        qtbot.wait(250)
        if not model.loading:
            return


def test_load_all_loads_every_page_in_the_background(fresh, qtbot):
    window, qa = fresh
    session, model = window.session, window.scan_list.model
    model.set_sources(lambda cursor: session.client.list_scans_page(None, cursor=cursor, limit=2),
                      session.client.get_scan, session.opener.fetch_preview)
    settle(qtbot, model)
    remaining = len(SCENARIOS) - model.rowCount()
    assert remaining >= 4 and not model.exhausted  # the view loaded only what it shows
    states: list[bool] = []
    pages: list[int] = []
    model.loadAllChanged.connect(states.append)
    model.pageLoaded.connect(pages.append)
    try:
        qtbot.mouseClick(qa.load_all_button, Qt.MouseButton.LeftButton)
        assert qa.load_all_button.text() == "Cancel"
        wait_until(lambda: not model.loading_all)
    finally:
        model.loadAllChanged.disconnect(states.append)
        model.pageLoaded.disconnect(pages.append)
    assert states == [True, False]
    assert model.exhausted and model.error is None
    assert {s.id for s in model.scans()} == {demo_scan_id(s.name) for s in SCENARIOS}
    assert sum(pages) == remaining and len(pages) == -(-remaining // 2)  # every page, one after the other
    assert qa.load_all_button.text() == "Load all"
    assert qa.message_text == f"All {len(SCENARIOS)} scans are loaded."
    assert qa.bar.summary_text == f"{len(SCENARIOS)} loaded"

    # cancelling: loading stops after the page in flight
    model.set_sources(lambda cursor: session.client.list_scans_page(None, cursor=cursor, limit=1),
                      session.client.get_scan, session.opener.fetch_preview)
    settle(qtbot, model)
    loaded = model.rowCount()
    qa.toggle_load_all()
    assert model.loading_all and model.loading
    qa.toggle_load_all()
    assert not model.loading_all and qa.load_all_button.text() == "Load all"
    assert qa.message_text == f"Stopped loading: {loaded} scans loaded."
    settle(qtbot, model)
    assert model.rowCount() == loaded + 1 and not model.exhausted


# --------------------------------------------------------------------------- several users


def test_several_users_are_merged_newest_first(fresh, qtbot):
    window, qa = fresh
    model = window.scan_list.model
    qa.show_users(["demo-alex", "demo-kim", "nobody-here"])
    wait_until(lambda: model.exhausted)
    expected = newest_first({s.name for s in SCENARIOS if s.user_token in ("demo-alex", "demo-kim")})
    assert [s.id for s in model.scans()] == expected
    assert window.scan_list.token_box.currentText() == "demo-alex, demo-kim, nobody-here"
    assert window.scan_list.user_tokens == ("demo-alex", "demo-kim", "nobody-here")
    assert "“nobody-here”" in qa.message_text

    # typed into the token box, separated by commas
    box = window.scan_list.token_box
    box.lineEdit().setText("demo-sam, demo-jordan")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    wait_until(lambda: model.exhausted and model.rowCount() > 0
               and {s.user_token for s in model.scans()} == {"demo-sam", "demo-jordan"})
    assert [s.id for s in model.scans()] == newest_first(
        {s.name for s in SCENARIOS if s.user_token in ("demo-sam", "demo-jordan")})


# --------------------------------------------------------------------------- open by id


def test_open_by_id_selects_the_scan_and_opens_it(fresh, qtbot):
    window, qa = fresh
    stuck = demo_scan_id("stuck")
    qa.bar.set_filter(ScanFilter(failed_anywhere=True), notify=True)  # hides the stuck scan
    QApplication.clipboard().setText(f"Ticket QA-12: scan {stuck} never finishes")
    qtbot.keyClick(window.scan_list.view, Qt.Key.Key_O,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert qa.id_field.hasFocus() and qa.id_field.text() == stuck
    with qtbot.waitSignal(qa.scanOpenedById, timeout=WAIT_S * 1000):
        qtbot.keyClick(qa.id_field, Qt.Key.Key_Return)
    wait_until(lambda: window.details_scan_id == stuck)
    current = window.scan_list.current_scan()
    assert current is not None and current.id == stuck
    assert window.scan_list.scan_filter == ScanFilter()  # the filter gave way to the asked-for scan
    assert qa.bar.scan_filter == ScanFilter()
    assert window.scan_list.view.currentIndex().data(ScanRoles.ScanIdRole) == stuck

    qa.open_scan_id("00000000-0000-4000-8000-000000000000")
    wait_until(lambda: "No scan with id" in qa.message_text)
    assert "00000000-0000-4000-8000-000000000000" in qa.message_text
    assert window.details_scan_id == stuck  # nothing else was opened


def test_open_by_id_of_a_scan_outside_the_list(fresh):
    window, qa = fresh
    qa.show_users(["demo-kim"])
    wait_until(lambda: window.scan_list.model.exhausted)
    other = demo_scan_id("failed-body")  # demo-sam's
    qa.open_scan_id(other)
    wait_until(lambda: window.details_scan_id == other)
    assert "not in the loaded list" in qa.message_text
    assert window.scan_list.current_scan() is None


# --------------------------------------------------------------------------- triage


def test_j_and_k_move_through_the_filtered_list_and_the_window_follows(fresh, qtbot):
    window, qa = fresh
    qa.bar.set_filter(ScanFilter(status=ScanStatus.FAILED), notify=True)
    order = newest_first({"failed-body", "failed-fitted-body", "failed-measurement"})
    assert shown_ids(window) == order
    view = window.scan_list.view

    qtbot.keyClick(view, Qt.Key.Key_J)
    assert window.scan_list.current_scan().id == order[0]
    wait_until(lambda: window.details_scan_id == order[0])
    # the next one (its body exists: the fitted-body stage failed later) is prefetched into the cache
    wait_until(lambda: window.session.cache.is_complete(order[1]), timeout=60)

    qtbot.keyClick(view, Qt.Key.Key_J)
    assert window.scan_list.current_scan().id == order[1]
    wait_until(lambda: window.details_scan_id == order[1] and window.view_area.state == "body", timeout=60)
    assert "from the cache" in window.statusBar().currentMessage()
    qtbot.keyClick(view, Qt.Key.Key_J)
    qtbot.keyClick(view, Qt.Key.Key_J)  # at the end: stays on the last row
    assert window.scan_list.current_scan().id == order[2]
    qtbot.keyClick(view, Qt.Key.Key_K)
    assert window.scan_list.current_scan().id == order[1]
    qtbot.keyClick(view, Qt.Key.Key_Up)  # the arrow keys move too
    assert window.scan_list.current_scan().id == order[0]
    wait_until(lambda: window.details_scan_id == order[0])
    interactor = window.body_view.plotter  # the keys work while the 3D view has the focus
    interactor.setFocus()
    qtbot.keyClick(interactor, Qt.Key.Key_J)
    assert window.scan_list.current_scan().id == order[1]
    qtbot.keyClick(interactor, Qt.Key.Key_K)
    assert window.scan_list.current_scan().id == order[0]

    # typing in a text field never triggers the keys
    for field in (qa.id_field, window.scan_list.filter_edit):
        field.clear()
        field.setFocus()
        qtbot.keyClicks(field, "jkarf")
        assert field.text() == "jkarf"
        field.clear()
    assert window.scan_list.current_scan().id == order[0]
    assert qa.note_visible is False


def verdict_pixels(window, scan_id: str) -> tuple[QImage, object]:
    from viewer.qt.scan_delegate import ScanDelegate

    panel = window.scan_list
    index = panel.proxy.mapFromSource(panel.model.index_of(scan_id))
    panel.view.scrollTo(index)
    QCoreApplication.processEvents()
    delegate: ScanDelegate = panel.view.itemDelegate()
    rect = delegate.layout(panel.view.visualRect(index), panel.view.font()).verdict
    return panel.view.viewport().grab().toImage(), rect


def colour_share(image: QImage, rect, colour: QColor, tolerance: int = 40) -> float:
    hits = total = 0
    for x in range(rect.left(), rect.right() + 1):
        for y in range(rect.top(), rect.bottom() + 1):
            pixel = image.pixelColor(x, y)
            total += 1
            hits += (abs(pixel.red() - colour.red()) + abs(pixel.green() - colour.green())
                     + abs(pixel.blue() - colour.blue())) <= tolerance
    return hits / total


def test_a_marks_the_scan_and_the_marker_appears(fresh, qtbot):
    window, qa = fresh
    view = window.scan_list.view
    target = demo_scan_id("ready-tall")
    window.scan_list.select_scan(target)
    image, rect = verdict_pixels(window, target)
    assert colour_share(image, rect, GREEN) < 0.05  # no marker yet

    saved: list = []
    qa.verdictSaved.connect(saved.append)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_A)
    assert qa.note_visible and qa.note_edit.hasFocus()
    qtbot.keyClicks(qa.note_edit, "arms fine")  # letters go into the note, not to the shortcuts
    assert qa.note_edit.text() == "arms fine"
    assert VerdictStore(qa.store.path).get(target) is None  # nothing saved before Enter
    qtbot.keyClick(qa.note_edit, Qt.Key.Key_Return)
    qa.verdictSaved.disconnect(saved.append)

    assert len(saved) == 1 and saved[0].verdict is Verdict.ACCEPT and not qa.note_visible
    with VerdictStore(qa.store.path) as other:  # on disk, seen by another connection
        record = other.get(target)
    assert record is not None and (record.verdict, record.note, record.reviewer) == (
        Verdict.ACCEPT, "arms fine", "qa-tester")
    assert "Saved: Accept" in qa.message_text
    index = window.scan_list.model.index_of(target)
    assert index.data(ScanRoles.VerdictRole) == "A"
    image, rect = verdict_pixels(window, target)
    assert colour_share(image, rect, GREEN) > 0.4
    assert colour_share(image, rect, RED) < 0.05

    # R then Esc: nothing changes; R then Enter: rejected, painted red
    qtbot.keyClick(view, Qt.Key.Key_R)
    qtbot.keyClick(qa.note_edit, Qt.Key.Key_Escape)
    assert not qa.note_visible and index.data(ScanRoles.VerdictRole) == "A"
    qtbot.keyClick(view, Qt.Key.Key_R)
    assert qa.note_edit.text() == "arms fine"  # the earlier note is offered again
    qtbot.keyClick(qa.note_edit, Qt.Key.Key_Return)
    assert index.data(ScanRoles.VerdictRole) == "R"
    image, rect = verdict_pixels(window, target)
    assert colour_share(image, rect, RED) > 0.4
    tooltip = window.scan_list.view.itemDelegate().tooltip_at(
        window.scan_list.view.visualRect(window.scan_list.proxy.mapFromSource(index)),
        window.scan_list.view.font(), index, rect.center())
    assert tooltip == "QA verdict: Rejected"

    qa.clear_verdict()
    assert index.data(ScanRoles.VerdictRole) is None and qa.store.get(target) is None


def test_export_verdicts_from_the_file_menu_action(fresh, tmp_path):
    window, qa = fresh
    flagged = demo_scan_id("failed-measurement")
    window.scan_list.select_scan(flagged)
    assert qa.begin_verdict(Verdict.FLAG)
    qa.note_edit.setText("measurement failed twice")
    record = qa.confirm_verdict()
    assert record is not None
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    assert "&Export verdicts…" in [a.text() for a in file_menu.actions()]

    out = tmp_path / "verdicts.csv"
    qa.export_to(out)
    wait_until(lambda: out.exists() and "Exported" in qa.message_text)
    rows = {row["scan_id"]: row for row in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))}
    assert rows[flagged]["verdict"] == "flag" and rows[flagged]["note"] == "measurement failed twice"
    assert rows[flagged]["user_token"] == "demo-alex" and rows[flagged]["measurement"] == "failed"
    assert rows[flagged]["reviewer"] == "qa-tester" and rows[flagged]["time"].endswith("Z")

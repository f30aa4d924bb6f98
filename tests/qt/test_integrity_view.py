"""QA > Check assets in the window, against the real local server."""

import pytest

from viewer.core.secrets import KeyStore
from viewer.core.server_choice import target_from_name
from viewer.core.settings import Settings
from viewer.demo.catalog import demo_scan_id
from viewer.demo.server import DEMO_API_KEY

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, demo_server):
    from viewer.qt.main_window import MainWindow

    win = MainWindow(target_from_name(demo_server.base_url), DEMO_API_KEY, Settings(),
                     KeyStore(use_keyring=False), remember_geometry=False)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.session is not None and win.scan_list.model.rowCount() > 0, timeout=30000)
    yield win
    win.close()


def test_check_assets_reports_each_check_in_words(qtbot, window):
    window.open_scan(window.session.client.get_scan(demo_scan_id("not-a-mesh")))
    window.integrity_view.action.trigger()
    dialog = window.integrity_view.dialog
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=30000)
    rows = {name: (status, detail) for status, name, detail in dialog.rows}
    assert rows["model"][0] == "FAIL" and "not a mesh" in rows["model"][1]
    assert rows["pipeline"][0] == "PASS"
    assert "FAIL" in dialog.title.text()
    dialog.copy_report()
    from PySide6.QtGui import QGuiApplication

    assert "FAIL  model" in QGuiApplication.clipboard().text()


def test_without_a_scan_it_says_what_to_do(window):
    window.integrity_view.check_current()
    assert "Select a scan" in window.statusBar().currentMessage()

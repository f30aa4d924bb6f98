import pytest

from viewer.core.settings import Settings
from viewer.qt.settings_dialog import SettingsDialog

pytestmark = pytest.mark.gui


def test_dialog_edits_cache_limit_and_retention(qtbot):
    dialog = SettingsDialog(Settings(cache_budget_mb=1024, cache_retention_days=30), 5_000_000)
    qtbot.addWidget(dialog)
    dialog.budget.setValue(512)
    dialog.retention.setValue(7)
    assert dialog.result_settings().cache_budget_mb == 512
    assert dialog.result_settings().cache_retention_days == 7.0
    dialog.keep_forever.setChecked(True)
    assert dialog.result_settings().cache_retention_days is None
    assert not dialog.retention.isEnabled()

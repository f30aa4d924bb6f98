"""Guards against a known-bad Qt binding: PySide6 6.12.0 drops a reference to True/False on every
signal emit, which aborts Python 3.11 after a few thousand emits (pyproject excludes it)."""

import subprocess
import sys

PROGRAM = """
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Emitter(QObject):
    fired = Signal(int, object)
emitter = Emitter()
seen = []
emitter.fired.connect(lambda i, value: seen.append(i))
for i in range(20000):
    emitter.fired.emit(i, None)
print(len(seen))
"""


def test_many_signal_emits_keep_the_interpreter_alive():
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60,
                            env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip() == "20000"

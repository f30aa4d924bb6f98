"""Write a file so that a reader sees the old one or the new one, never half of one.

Bytes go to a temporary file in the same folder, which replaces the target only once complete;
on any error (or interruption) the temporary file is removed and the target is left untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator


@contextmanager
def atomic_write(path: Path, mode: str = "wb", *, durable: bool = False) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; it becomes ``path`` when the block ends.

    ``durable`` also flushes the data to disk before the rename (for records that must survive a
    power cut, not only a crash of this process).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding, **({} if "b" in mode else {"newline": ""})) as out:
            yield out
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = False) -> None:
    with atomic_write(path, "wb", durable=durable) as out:
        out.write(data)


def write_text_atomic(path: Path, text: str, *, durable: bool = False) -> None:
    with atomic_write(path, "w", durable=durable) as out:
        out.write(text)


def write_json_atomic(path: Path, data: Any, *, durable: bool = False) -> None:
    write_text_atomic(path, json.dumps(data, indent=1), durable=durable)

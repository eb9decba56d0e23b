"""Writing files safely and reproducibly: atomic writes, stable JSON and CSV, deterministic ``.npz``.

Shared by every layer that writes files (run folders, reports, sweeps, importers). A file is
written to a hidden temporary name beside it and renamed into place, so it is never seen half
written; the same data always gives the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Characters that make a spreadsheet read a text cell as a formula (OWASP's CSV injection advice)."""


def safe_text(text: str) -> str:
    """A text cell a spreadsheet shows as text: a leading ``'`` before a formula's first character."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def format_number(x: Any, decimals: int | None = 6) -> str:
    """A value as written to CSV files.

    Args:
        x: A number, a string, or None.
        decimals: Floats are rounded to this many decimals, and those smaller than ``10**-decimals``
            in magnitude written in ``%g`` with as many significant digits; None keeps every digit
            (``repr``, which round-trips exactly).

    Returns:
        The cell's text: ``""`` for None and for non-finite floats (a missing value), integers in full,
        text made formula-safe (:func:`safe_text`).
    """
    if x is None:
        return ""
    if isinstance(x, float | np.floating):
        if not np.isfinite(x):
            return ""
        v = float(x)
        if decimals is None:
            return repr(v)
        return repr(round(v, decimals)) if abs(v) >= 10.0**-decimals or v == 0 else f"{v:.{decimals}g}"
    if isinstance(x, np.integer):
        return str(int(x))
    return safe_text(x) if isinstance(x, str) else str(x)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace`` (never half-written)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def json_bytes(obj: Any) -> bytes:
    """Stable JSON: sorted keys, two-space indent, trailing newline."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default) + "\n").encode()


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "to_yaml"):
        return o.to_yaml()
    return str(o)


def csv_bytes(header: list[str], rows: Iterable[Iterable[Any]], decimals: int | None = 6) -> bytes:
    """CSV with Unix line ends and stable number formatting (:func:`format_number` with ``decimals``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([safe_text(h) for h in header])
    for row in rows:
        w.writerow([format_number(v, decimals) for v in row])
    return buf.getvalue().encode()


def atomic_write_blocks(path: Path, blocks: Iterable[bytes]) -> str:
    """Write blocks to ``path`` atomically (temporary file + ``os.replace``); return the SHA-256."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    digest = hashlib.sha256()
    with open(tmp, "wb") as fh:
        for b in blocks:
            fh.write(b)
            digest.update(b)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return digest.hexdigest()


NPZ_LEVEL = 1
"""Deflate level of ``replicate_trajectories.npz`` (1: fast; full-precision floats barely compress further)."""


def atomic_write_npz(path: Path, arrays: dict[str, np.ndarray]) -> str:
    """Write arrays as a compressed ``.npz`` (what ``numpy.load`` reads), byte-reproducibly; return its SHA-256.

    ``numpy.savez_compressed`` stamps each member with the current time; here every member has a
    fixed date, permissions and compression level, so the same arrays always give the same bytes.
    Members are streamed (numpy writes in 16 MiB blocks); written via a temporary file and ``os.replace``.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the platform
            info.external_attr = 0o644 << 16
            if hasattr(info, "compress_level"):  # Python >= 3.13
                info.compress_level = NPZ_LEVEL
            else:
                info._compresslevel = NPZ_LEVEL
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arr), allow_pickle=False)
    digest = hashlib.sha256()
    with open(tmp, "rb+") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return digest.hexdigest()


def save_figure(fig: Any, path: Path, fmt: str = "png") -> bytes:
    """Write a matplotlib Figure reproducibly (no software or date stamps; 110 dpi), atomically; return its bytes.

    Args:
        fig: A :class:`matplotlib.figure.Figure`.
        path: The file to write.
        fmt: ``png``, ``svg`` or ``pdf``.
    """
    buf = io.BytesIO()
    meta = (
        {"Software": None}
        if fmt == "png"
        else ({"Creator": None, "Producer": None, "CreationDate": None} if fmt == "pdf" else {"Date": None})
    )
    fig.savefig(buf, format=fmt, dpi=110, metadata=meta)
    data = buf.getvalue()
    atomic_write_bytes(path, data)
    return data

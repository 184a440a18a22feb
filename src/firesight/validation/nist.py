"""Reading the NIST fire-experiment files in ``../shared/real-data`` (FAA cargo-bay and
DelCo trainer tests, from NIST's ``firemodels/exp`` repository).

Every file: row 1 the column names, row 2 the units, data from row 3. The files are read
in place and never copied into the repository (NIST's notice travels with them).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from firesight.errors import DataError, NotFoundError

__all__ = [
    "default_real_data_dir",
    "read_nist_csv",
    "read_faa_test",
    "read_delco_test",
    "read_delco_hgl",
]


def default_real_data_dir(start: Path | None = None) -> Path:
    """``<repo>/../shared/real-data``: looked up from ``start`` (default: the current
    directory) and from this package's location, the first that exists; else the
    current directory's candidate."""
    candidates = []
    for base in (Path.cwd() if start is None else Path(start), Path(__file__).resolve()):
        for parent in (base, *base.parents):
            candidates.append(parent / ".." / "shared" / "real-data")
            if (parent / "pyproject.toml").exists():
                break
    for cand in candidates:
        if cand.is_dir():
            return cand.resolve()
    return candidates[0]


def read_nist_csv(path: Path | str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read one NIST experiment CSV: returns the numeric table and ``{column: unit}``.

    Raises
    ------
    NotFoundError
        The file does not exist.
    DataError
        The header, the unit row or the numbers are malformed.
    """
    p = Path(path)
    if not p.is_file():
        raise NotFoundError(f"real-data file {p} not found")
    try:
        head = pd.read_csv(p, nrows=1, header=0)
        units = {str(k).strip(): str(v).strip() for k, v in head.iloc[0].items()}
        frame = pd.read_csv(p, skiprows=[1], header=0)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: not a NIST experiment CSV ({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if "Time" not in frame.columns:
        raise DataError(f"{p}: no 'Time' column")
    frame = frame.apply(pd.to_numeric, errors="coerce")
    frame = frame[frame["Time"].notna()].reset_index(drop=True)
    if frame.empty:
        raise DataError(f"{p}: no data rows")
    return frame, units


def read_faa_test(real_data_dir: Path | str, test: int) -> pd.DataFrame:
    """FAA cargo-bay test ``test`` (1-4): rises above the starting values (K, mol/mol)."""
    path = Path(real_data_dir) / "FAA_Cargo_Compartments" / f"TestCase{test}_FAA_EXPDATA.csv"
    return read_nist_csv(path)[0]


def read_delco_test(real_data_dir: Path | str, test: int) -> pd.DataFrame:
    """DelCo trainer test ``test``: gas fractions (mol/mol), temperatures (C), 10 s steps."""
    return read_nist_csv(Path(real_data_dir) / "DelCo_Trainers" / f"Test_{test}.csv")[0]


def read_delco_hgl(real_data_dir: Path | str, test: int, room: str) -> pd.DataFrame:
    """Derived hot-gas-layer height [m] and lower/upper temperatures [C] of one room
    (``room`` like ``"Room_1"`` or ``"Floor_1"``). These files have no unit row."""
    p = Path(real_data_dir) / "DelCo_Trainers" / f"Test_{test}_{room}_HGL.csv"
    if not p.is_file():
        raise NotFoundError(f"real-data file {p} not found")
    frame = pd.read_csv(p).apply(pd.to_numeric, errors="coerce")
    if "Time" not in frame.columns or "T_upper" not in frame.columns:
        raise DataError(f"{p}: expected Time, Height, T_lower, T_upper columns")
    return frame

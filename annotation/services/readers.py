"""Read an import file (CSV, JSONL, JSON or Parquet, optionally gzipped) into a polars DataFrame of rows.

Every problem is reported as an ImportProblem that names the row (or line) and the field, so a curator can
fix the file; nothing here touches the database.
"""
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

FORMATS = ("csv", "jsonl", "json", "parquet")


@dataclass(frozen=True)
class ImportProblem:
    row: int | None  # 1-based data row (CSV, JSON, Parquet) or line (JSONL); None for the whole file
    field: str
    message: str

    def __str__(self):
        where = f"row {self.row}" if self.row is not None else "file"
        return f"{where}, field '{self.field}': {self.message}" if self.field else f"{where}: {self.message}"


class ImportFileError(Exception):
    """The file cannot be imported; `problems` says where and why. Nothing was written."""

    def __init__(self, problems):
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{len(self.problems)} problem(s), nothing was imported:\n{shown}{more}")


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    ext = suffixes[-1].lstrip(".") if suffixes else ""
    if ext in ("ndjson", "jsonl"):
        return "jsonl"
    if ext in FORMATS:
        return ext
    raise ImportFileError([ImportProblem(None, "", f"unknown file type '{path.name}': use .csv, .jsonl, .json or .parquet")])


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            [ImportProblem(None, "", f"not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} (save the file as UTF-8)")]
        ) from None


def _records_frame(records, problems) -> pl.DataFrame:
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            problems.append(ImportProblem(i, "", f"expected an object with named fields, got {type(rec).__name__}"))
    if problems:
        raise ImportFileError(problems)
    # Every value becomes text or a list of texts: the importers decide what a value means, not polars' inference.
    rows = [{k: _plain(v) for k, v in rec.items()} for rec in records]
    columns = list(dict.fromkeys(k for rec in rows for k in rec))
    return pl.DataFrame({c: [rec.get(c) for rec in rows] for c in columns}, strict=False) if rows else pl.DataFrame()


def _plain(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def read_rows(path) -> pl.DataFrame:
    """The file's rows as a DataFrame whose cells are strings (or null), in file order."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError([ImportProblem(None, "", f"no such file: {path}")])
    fmt = detect_format(path)
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise ImportFileError([ImportProblem(None, "", f"not a valid gzip file: {exc}")]) from None

    if fmt == "parquet":
        try:
            df = pl.read_parquet(io.BytesIO(raw))
        except Exception as exc:  # polars raises several types for a damaged file
            raise ImportFileError([ImportProblem(None, "", f"not a readable Parquet file: {exc}")]) from None
        return df.select(
            [pl.col(c).cast(pl.String) if df.schema[c] != pl.List(pl.String) else pl.col(c) for c in df.columns]
        )

    text = _decode(raw)
    problems: list[ImportProblem] = []
    if fmt == "csv":
        try:
            return pl.read_csv(io.StringIO(text), infer_schema=False)
        except pl.exceptions.PolarsError as exc:
            raise ImportFileError([ImportProblem(None, "", f"malformed CSV: {exc}")]) from None
    if fmt == "jsonl":
        records = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                problems.append(ImportProblem(lineno, "", f"malformed JSON: {exc.msg} at column {exc.colno}"))
        return _records_frame(records, problems)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError([ImportProblem(None, "", f"malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")]) from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise ImportFileError([ImportProblem(None, "", "a JSON file must hold a list of rows (or {\"data\": [...]})")])
    return _records_frame(data, problems)


def parse_list(value) -> list[str]:
    """A list cell: JSON ('["a", "b"]'), a Python-list string ("['a']", as MultiJail writes), or one plain value."""
    import ast

    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    value = value.strip()
    if not value:
        return []
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            try:
                parsed = ast.literal_eval(value)  # literals only: never runs code
            except (ValueError, SyntaxError):
                raise ValueError(f"malformed list {value[:80]!r}") from None
        if not isinstance(parsed, list):
            raise ValueError(f"expected a list, got {value[:80]!r}")
        return [str(v) for v in parsed]
    return [value]


def text_problem(text: str) -> str | None:
    """What is wrong with a text cell, if anything. NUL is refused because PostgreSQL cannot store it."""
    if not text:
        return "empty text"
    if "\x00" in text:
        return "contains a NUL character"
    return None

"""The ENHANCE annotations: crowd, automated, student and expert ABC scores.

Every source is read into one tidy long table, one row per (lesion, source, feature,
annotator, column) with the columns of :data:`LONG_COLUMNS`; what could not be read goes to a
problem report with a reason instead of being dropped silently. :func:`per_lesion` applies the
paper's aggregation (z-score per annotator, mean per lesion) and :func:`table2` counts the
annotated lesions as in the paper's Table 2. Chapter 02 (``chapters/02_annotations.ipynb``) is
built on this module.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import paths, datasets
from ..options import STUDENT_RULES

LONG_COLUMNS = ["dataset", "lesion_id", "source", "feature", "group", "annotator", "column",
                "value", "row_complete"]
PROBLEM_COLUMNS = ["file", "line", "column", "lesion_id", "value", "reason"]
FEATURES = ["A", "B", "C"]
SOURCES = ["automated", "crowd", "student", "expert"]
DATASETS = ["isic2017", "ph2"]
STUDENT_FEATURES = {"Asymmetry": "A", "Border": "B", "Color": "C"}

CROWD_FILES = {
    ("isic2017", "A"): "asymmetry.csv", ("isic2017", "B"): "border.csv",
    ("isic2017", "C"): "color.csv", ("ph2", "A"): "asymmetry_ph2.csv",
    ("ph2", "B"): "border_ph2.csv", ("ph2", "C"): "color_ph2.csv",
}
#: file and value column of each automated score; asymmetry's ``ii`` is the mean overlap
#: ratio the paper uses (``i`` counts the ratios below 0.9).
AUTOMATED_FILES = {
    ("isic2017", "A"): ("computer_asymmetry_0.9.csv", "ii"),
    ("isic2017", "B"): ("computer_border_.csv", "i"),
    ("isic2017", "C"): ("computer_color.csv", "i"),
    ("ph2", "A"): ("computer_asymmetry_ph2_0.9.csv", "ii"),
    ("ph2", "B"): ("computer_border_ph2_.csv", "i"),
    ("ph2", "C"): ("computer_color_ph2.csv", "i"),
}
_ID_SUFFIX = re.compile(r"_(segmentation|lesion)$")
_TRAILING_NUMBER = re.compile(r"(\d+)\s*$")


@dataclass
class Annotations:
    """The long table and the problem report of one read of the annotation files."""

    long: pd.DataFrame
    problems: pd.DataFrame

    def problem_summary(self) -> pd.DataFrame:
        """Number of problems per file and reason."""
        if self.problems.empty:
            return pd.DataFrame(columns=["file", "reason", "count"])
        return (self.problems.groupby(["file", "reason"]).size()
                .rename("count").reset_index())


@dataclass
class _Report:
    root: Path
    rows: list = field(default_factory=list)

    def add(self, path: Path, line, column, lesion_id, value, reason: str) -> None:
        self.rows.append((self._rel(path), line, column, lesion_id, value, reason))

    def _rel(self, path: Path) -> str:
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=PROBLEM_COLUMNS)


# --------------------------------------------------------------------------- parsing
def _read_rows(path: Path, sep: str,
               report: _Report) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line, fields) rows of a delimited file; malformed and blank rows reported.

    Accepts a UTF-8 byte-order mark, CRLF line ends and trailing empty columns. A row with
    more non-empty fields than the header has columns is malformed and skipped. Damage is
    reported with its line (:func:`_parse`): an unbalanced quote, and a last line cut off —
    every published file ends with a line break, so a file without one was truncated and
    its last row (whose last number may be cut short, 17 read as 1) is skipped.
    """
    lines, complete = _parse(path, sep, report)
    if not lines or len(lines[0]) < 2:
        raise datasets.DataFormatError(f"{path}: expected a header with an id column and at least "
                                       f"one value column separated by {sep!r}")
    header = [h.strip() for h in lines[0]]
    while header and not header[-1]:
        header.pop()
    rows, line = [], 1
    for number, fields in enumerate(lines[1:], 2):
        line += 1 + sum(f.count("\n") for f in fields)
        if not any(f.strip() for f in fields):
            report.add(path, line, "", "", "", "blank row")
            continue
        if number == len(lines) and not complete:
            report.add(path, line, "", fields[0].strip(), sep.join(fields),
                       "last line cut off (the file does not end with a line break); row skipped")
            continue
        extra = [f for f in fields[len(header):] if f.strip()]
        if extra:
            report.add(path, line, "", fields[0].strip(), sep.join(fields),
                       f"malformed row: {len(fields)} fields, header has {len(header)}")
            continue
        rows.append((line, [f.strip() for f in fields[:len(header)]] +
                     [""] * (len(header) - len(fields))))
    return header, rows


def _parse(path: Path, sep: str, report: _Report) -> tuple[list[list[str]], bool]:
    """The records of a delimited file and whether it ends with a line break.

    A quote that opens a field and is never closed on its line makes the csv module join the
    following lines into that field (20 lesions swallowed into one cell): such a file is
    reported at the quote's line and read again with quotes as plain characters, so that
    every line is a row of its own and the bad cell is reported as non-numeric.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `enhance fetch` or set ENHANCE_DATA_DIR")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
        lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    except (UnicodeDecodeError, csv.Error) as err:
        raise datasets.DataFormatError(
            f"{path}: not a readable {sep!r}-separated text file ({err})")
    quote = _swallowing_quote(lines)
    if quote is not None:
        report.add(path, quote, "", "", "", 'unbalanced quote: a " opens a field that takes in '
                   "the following lines; quotes read as plain characters")
        lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep,
                                quoting=csv.QUOTE_NONE))
    return lines, text.endswith(("\n", "\r"))


def _swallowing_quote(lines: list[list[str]]) -> int | None:
    """Line of the first record with a quoted field spanning lines with text in it, or None.

    A quoted field that holds only a line break (as in one published student file) is
    harmless and not reported.
    """
    line = 1
    for fields in lines:
        if any(("\n" in f or "\r" in f) and f.strip() for f in fields):
            return line
        line += 1 + sum(f.count("\n") for f in fields)
    return None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _cells_to_long(path: Path, header: list[str], rows, columns: dict[int, dict],
                   known_ids: set[str], report: _Report, id_cleaner=None) -> list[dict]:
    """Turn chosen columns of parsed rows into long records; report every skipped cell."""
    out, seen = [], {}
    for line, fields in rows:
        raw_id = fields[0]
        lesion_id = id_cleaner(raw_id) if id_cleaner else raw_id
        if not lesion_id:
            report.add(path, line, header[0], "", "", "row without lesion id")
            continue
        if lesion_id in seen:
            report.add(path, line, header[0], lesion_id, raw_id,
                       f"duplicate lesion id (first at line {seen[lesion_id]}); row skipped")
            continue
        seen[lesion_id] = line
        complete = not any(_is_empty(f) for f in fields[1:])
        if known_ids and lesion_id not in known_ids:
            report.add(path, line, header[0], lesion_id, raw_id,
                       "lesion id not in the dataset's ground truth; row skipped")
            continue
        for index, meta in columns.items():
            text = fields[index]
            if text == "":
                report.add(path, line, header[index], lesion_id, "", "empty cell")
                continue
            value = _number(text)
            if value is None:
                report.add(path, line, header[index], lesion_id, text, "non-numeric value")
                continue
            out.append({**meta, "lesion_id": lesion_id, "column": header[index], "value": value,
                        "row_complete": complete})
    return out


def _is_empty(text: str) -> bool:
    return text == "" or text.lower() == "nan"


def strip_suffix(lesion_id: str) -> str:
    """The lesion id without a ``_segmentation`` or ``_lesion`` file suffix."""
    return _ID_SUFFIX.sub("", lesion_id)


# --------------------------------------------------------------------------- sources
def read_crowd(root, known: dict[str, set], report: _Report) -> list[dict]:
    """Crowd workers' scores: three columns ``i, ii, iii`` per file, one per worker."""
    out = []
    for (dataset, feature), name in CROWD_FILES.items():
        path = root / "enhance" / "crowd" / name
        header, rows = _read_rows(path, ",", report)
        columns = {i: {"dataset": dataset, "source": "crowd", "feature": feature, "group": "",
                       "annotator": header[i]} for i in range(1, len(header))}
        out += _cells_to_long(path, header, rows, columns, known[dataset], report)
    return out


def read_automated(root, known: dict[str, set], report: _Report) -> list[dict]:
    """Scores of the classic algorithms; ids lose their ``_segmentation``/``_lesion`` suffix."""
    out = []
    for (dataset, feature), (name, value_column) in AUTOMATED_FILES.items():
        path = root / "enhance" / "automated" / name
        header, rows = _read_rows(path, ",", report)
        if value_column not in header:
            raise datasets.DataFormatError(f"{path}: no column {value_column!r} in {header}")
        meta = {"dataset": dataset, "source": "automated", "feature": feature, "group": "",
                "annotator": "algorithm"}
        out += _cells_to_long(path, header, rows, {header.index(value_column): meta},
                              known[dataset], report, id_cleaner=strip_suffix)
    return out


def read_expert(root, report: _Report) -> list[dict]:
    """The PH2 experts: asymmetry (0/1/2) and the number of colours present (C)."""
    table = datasets.ph2_table(root)
    records = []
    for row in table.itertuples():
        base = {"dataset": "ph2", "lesion_id": row.lesion_id, "source": "expert", "group": "",
                "annotator": "expert"}
        records.append({**base, "feature": "A", "column": "asymmetry",
                        "value": float(row.asymmetry), "row_complete": True})
        records.append({**base, "feature": "C", "column": "colours",
                        "value": float(row.n_colours), "row_complete": True})
    return records


def student_files(root) -> list[tuple[str, int, Path]]:
    """(year, group number, path) of every student file, in year/group order."""
    folder = Path(root) / "enhance" / "student"
    out = []
    for year_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        for path in year_dir.glob("group*.csv"):
            number = re.findall(r"\d+", path.stem)
            if number:
                out.append((year_dir.name, int(number[0]), path))
    return sorted(out)


def _data_types(path: Path, report: _Report) -> dict[int, list[str]]:
    header, rows = _read_rows(path, ";", report)
    if header[0] != "group_num":
        raise datasets.DataFormatError(
            f"{path}: first column must be 'group_num', found {header[0]!r}")
    types = {}
    for line, fields in rows:
        if not fields[0].isdigit():
            raise datasets.DataFormatError(
                f"{path}, line {line}: group_num {fields[0]!r} is not a number")
        types[int(fields[0])] = fields[1:]
    return types


def read_student(root, known: dict[str, set], report: _Report) -> list[dict]:
    """Students' scores: per course year, per group, columns typed by ``data_types.csv``.

    The annotator is the number at the end of a column header (``Asymmetry_1_2`` → 2,
    ``Grens_05_Annot4`` → 4, ``Asymmetrie_Group 3_persoon1`` → 1); a header without one
    gets its position among the columns of that feature. Features other than A, B, C keep
    the type name of ``data_types.csv`` (``Dermo``, ``Color_Categorised``…).
    """
    out, types_cache = [], {}
    for year, group, path in student_files(root):
        types_path = path.parent / "data_types.csv"
        if types_path not in types_cache:
            types_cache[types_path] = _data_types(types_path, report)
        types = types_cache[types_path].get(group)
        if types is None:
            raise datasets.DataFormatError(f"{types_path}: no row for group {group} ({path.name})")
        header, rows = _read_rows(path, ";", report)
        columns, position = {}, {}
        for index in range(1, len(header)):
            kind = types[index - 1] if index - 1 < len(types) else ""
            if not header[index] or not kind:
                report.add(path, 1, header[index] or f"#{index}", "", kind,
                           "column without header or data type; ignored")
                continue
            feature = STUDENT_FEATURES.get(kind, kind)
            position[feature] = position.get(feature, 0) + 1
            number = _TRAILING_NUMBER.search(header[index])
            annotator = number.group(1).lstrip("0") or "0" if number else str(position[feature])
            columns[index] = {"dataset": "isic2017", "source": "student", "feature": feature,
                              "group": f"{year}/group{group:02d}", "annotator": annotator}
        out += _cells_to_long(path, header, rows, columns, known["isic2017"], report)
    return out


def load(root=None, sources=SOURCES) -> Annotations:
    """Read every annotation source into one long table plus a problem report.

    Parameters
    ----------
    root : path-like, optional
        Data root in the official layout; :func:`config.data_dir` by default.
    sources : iterable of str
        Which of ``automated``, ``crowd``, ``student``, ``expert`` to read.
    """
    root = Path(root) if root is not None else paths.data_dir()
    known = {"isic2017": set(datasets.isic_ground_truth(root).lesion_id),
             "ph2": set(datasets.ph2_table(root).lesion_id)}
    report = _Report(root)
    readers = {"automated": lambda: read_automated(root, known, report),
               "crowd": lambda: read_crowd(root, known, report),
               "student": lambda: read_student(root, known, report),
               "expert": lambda: read_expert(root, report)}
    unknown = set(sources) - set(readers)
    if unknown:
        raise ValueError(f"unknown sources {sorted(unknown)}; choose from {SOURCES}")
    records = [r for source in sources for r in readers[source]()]
    long = pd.DataFrame.from_records(records, columns=LONG_COLUMNS)
    return Annotations(long=long, problems=report.frame())


# --------------------------------------------------------------------------- aggregation
def zscore(values: pd.Series) -> pd.Series:
    """Standardise to mean 0 and (population) SD 1; a constant series becomes all zeros."""
    std = values.std(ddof=0)
    centred = values - values.mean()
    return centred / std if std > 0 else centred


def per_lesion(long: pd.DataFrame, student_rule: str = "first_group",
               complete_rows_only: bool = True, features=FEATURES) -> pd.DataFrame:
    """The paper's per-lesion score: z-score per annotator, then the mean per lesion.

    An annotator is one crowd worker column, one student within one group (z-scored over that
    group's lesions), the algorithm, or the PH2 expert. A lesion that several student groups
    annotated gets, by ``student_rule``:

    ``"first_group"`` (default, the paper's rule)
        the score of the first of those groups in year/group order; this reproduces the
        correlations of the paper's Table 3.
    ``"mean_of_groups"``
        the mean of the groups' scores.

    With ``complete_rows_only`` (the default, as the published code did) a row of a file that
    has an empty cell anywhere is left out before z-scoring; in the student files that removes
    two 2017-2018 groups whose later annotators left cells empty. Crowd, automated and expert
    rows are always complete.

    Returns
    -------
    pandas.DataFrame
        ``dataset, lesion_id, source, feature, score, n_annotators, n_groups``.
    """
    if student_rule not in STUDENT_RULES:
        raise ValueError(f"student_rule must be one of {STUDENT_RULES}, not {student_rule!r}")
    keep = long.feature.isin(features)
    if complete_rows_only:
        keep &= long.row_complete.astype(bool)
    data = long[keep].copy()
    keys = ["dataset", "source", "feature", "group", "annotator"]
    data["z"] = data.groupby(keys, sort=False)["value"].transform(zscore)
    lesion_keys = ["dataset", "lesion_id", "source", "feature", "group"]
    by_group = (data.groupby(lesion_keys, sort=True)
                .agg(score=("z", "mean"), n_annotators=("annotator", "nunique"))
                .reset_index())
    final_keys = ["dataset", "lesion_id", "source", "feature"]
    grouped = by_group.groupby(final_keys, sort=True)
    if student_rule == "first_group":
        out = grouped.first()  # groups are sorted by year/group within each lesion
    else:
        out = grouped.agg(score=("score", "mean"), n_annotators=("n_annotators", "sum"))
    out["n_groups"] = grouped.size()
    return out.reset_index()[final_keys + ["score", "n_annotators", "n_groups"]]


def table2(per_lesion_scores: pd.DataFrame, root=None) -> pd.DataFrame:
    """Number of annotated lesions per dataset, source and feature (the paper's Table 2).

    Only lesions present in the dataset's ground truth are counted; every combination of
    dataset × source × feature appears, zero where nothing was annotated.
    """
    root = Path(root) if root is not None else paths.data_dir()
    known = {"isic2017": set(datasets.isic_ground_truth(root).lesion_id),
             "ph2": set(datasets.ph2_table(root).lesion_id)}
    in_gt = per_lesion_scores[[lid in known[ds] for ds, lid in
                               zip(per_lesion_scores.dataset, per_lesion_scores.lesion_id)]]
    counts = in_gt.groupby(["dataset", "source", "feature"]).lesion_id.nunique()
    full = pd.MultiIndex.from_product([DATASETS, SOURCES, FEATURES],
                                      names=["dataset", "source", "feature"])
    return counts.reindex(full, fill_value=0).rename("n_lesions").reset_index()

"""The ``enhance`` command line on the real data."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from enhance_utils import cli


def test_annotations_command_writes_the_tables(data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    assert cli.main(["annotations", "--out", str(tmp_path)]) == 0
    counts = pd.read_csv(tmp_path / "table2_counts.csv")
    assert list(counts.columns) == ["dataset", "source", "feature", "n_lesions"]
    assert set(counts.source) == {"automated", "crowd", "student", "expert"}
    assert set(counts.dataset) == {"isic2017", "ph2"} and set(counts.feature) == {"A", "B", "C"}
    row = counts.set_index(["dataset", "source", "feature"]).n_lesions
    assert row["isic2017", "student", "C"] == 1631 and row["ph2", "automated", "A"] == 165
    long = pd.read_csv(tmp_path / "annotations_long.csv")
    assert list(long.columns[:7]) == ["dataset", "lesion_id", "source", "feature", "group",
                                      "annotator", "column"]
    per_lesion = pd.read_csv(tmp_path / "annotations_per_lesion.csv")
    assert not per_lesion.duplicated(["dataset", "source", "feature", "lesion_id"]).any()
    problems = pd.read_csv(tmp_path / "annotation_problems.csv")
    assert len(problems) > 0 and problems.reason.notna().all()
    assert "problems reported" in capsys.readouterr().out


def test_fetch_verify_command(data_root, monkeypatch, capsys):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    assert cli.main(["fetch", "--verify"]) == 0
    assert "files with a known checksum are ok" in capsys.readouterr().out


def test_fetch_chapter_command(data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    assert cli.main(["fetch", "--chapter", "06_multitask", "--profile", "smoke"]) == 0
    assert f"data ready under {data_root}" in capsys.readouterr().out
    assert cli.main(["fetch", "--chapter", "10_nope"]) == 2
    assert "no chapter '10_nope'; the chapters are 01_datasets, " in capsys.readouterr().err
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(tmp_path))  # an empty tree: the tables are missing
    assert cli.main(["fetch", "--chapter", "02_annotations"]) == 2
    assert "lacks" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["03", "3", "03_automated_abc"])
def test_fetch_names_a_chapter_as_dev_py_lab_does(name, data_root, monkeypatch, capsys):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    assert cli.main(["fetch", "--chapter", name]) == 0
    assert f"data ready under {data_root}" in capsys.readouterr().out


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "enhance_utils.cli", "--help"],
                            capture_output=True, text=True, check=True)
    assert "annotations" in result.stdout and "fetch" in result.stdout

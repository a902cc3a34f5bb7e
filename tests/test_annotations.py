"""The annotation long table, problem report, aggregation and Table 2 (chapter 02)."""
from __future__ import annotations

import numpy as np
import pytest

from enhance_utils.data import annotations, datasets, paper
from minitree import write_tree


@pytest.fixture
def mini(tmp_path, fixtures):
    return write_tree(tmp_path, with_ph2_txt=fixtures / "ph2_table_fixture.txt")


@pytest.fixture(scope="module")
def real(data_root):
    return annotations.load(data_root)


def _score(scores, source, feature, lesion_id):
    row = scores[(scores.source == source) & (scores.feature == feature)
                 & (scores.lesion_id == lesion_id)]
    assert len(row) == 1, row
    return row.score.iloc[0]


# --------------------------------------------------------------------------- real data
def test_table2_reproduces_the_paper_but_ph2_auto_border(real, data_root):
    counts = annotations.table2(annotations.per_lesion(real.long), data_root)
    both = paper.beside_paper(counts, "table2", ["dataset", "source", "feature"], "n_lesions")
    differ = both[both.difference != 0]
    assert differ[["dataset", "source", "feature", "computed", "paper"]].values.tolist() == [
        ["ph2", "automated", "B", 199, 0]]


def test_table2_counts_named_in_the_issue(real, data_root):
    t = annotations.table2(annotations.per_lesion(real.long), data_root).set_index(
        ["dataset", "source", "feature"]).n_lesions
    assert [t["isic2017", "automated", f] for f in "ABC"] == [1970, 1996, 2000]
    assert [t["isic2017", "crowd", f] for f in "ABC"] == [1250] * 3
    assert [t["isic2017", "student", f] for f in "ABC"] == [1631] * 3
    assert t["ph2", "automated", "A"] == 165
    assert [t["ph2", "crowd", f] for f in "ABC"] == [200] * 3
    assert [t["ph2", "expert", f] for f in "AC"] == [200, 200]


def test_paper_rule_reproduces_table3_students(real, data_root):
    label = datasets.isic_ground_truth(data_root).set_index("lesion_id").label
    scores = annotations.per_lesion(real.long)
    for feature, published in zip("ABC", [0.151, 0.161, 0.230]):
        part = scores[(scores.source == "student") & (scores.feature == feature)]
        r = np.corrcoef(part.score, label.loc[part.lesion_id])[0, 1]
        assert abs(r - published) < 0.002, (feature, r)


def test_real_problems_are_reported_not_dropped(real):
    reasons = real.problems.reason
    assert (reasons == "empty cell").sum() > 0
    unknown = real.problems[reasons.str.startswith("lesion id not in")]
    assert sorted(unknown.value) == ["ISIC_001025", "ISIC_0010327."]
    assert real.long.value.notna().all()
    assert set(real.long.columns) >= {"dataset", "lesion_id", "source", "feature", "group",
                                      "annotator", "value"}


def test_student_annotators_from_headers(real):
    student = real.long[real.long.source == "student"]
    per_group = student.groupby("group").annotator.nunique()
    assert per_group.min() >= 3 and per_group.max() == 8
    assert per_group["2019-2020/group05"] == 8  # Annot1..Annot8 across features


def test_automated_ids_lose_suffixes(real):
    auto = real.long[real.long.source == "automated"]
    assert not auto.lesion_id.str.contains("_segmentation|_lesion").any()


# --------------------------------------------------------------------------- fixtures
def test_mini_long_table(mini):
    ann = annotations.load(mini)
    long = ann.long
    student = long[long.source == "student"]
    assert set(student.feature) == {"A", "B", "C", "Dermo"}
    g1 = student[student.group == "2017-2018/group01"]
    assert sorted(g1[g1.feature == "A"].annotator.unique()) == ["1", "2"]
    assert set(g1.lesion_id) == {"ISIC_0000001", "ISIC_0000002"}  # malformed row 3 skipped
    crowd_ph2 = long[(long.source == "crowd") & (long.dataset == "ph2")]
    assert len(crowd_ph2) == 3 * 3 * 3
    expert = long[long.source == "expert"]
    assert expert[expert.feature == "C"].set_index("lesion_id").value.to_dict() == {
        "IMD003": 1, "IMD009": 2, "IMD058": 5}


def test_mini_problem_report(mini):
    problems = annotations.load(mini).problems
    reasons = problems.groupby("file").reason.apply(list).to_dict()
    group01 = reasons["enhance/student/2017-2018/group01.csv"]
    assert any(r.startswith("malformed row") for r in group01)
    assert "blank row" in group01
    assert "empty cell" in reasons["enhance/student/2018-2019/group02.csv"]
    auto = reasons["enhance/automated/computer_asymmetry_0.9.csv"]
    assert any(r.startswith("duplicate lesion id") for r in auto)
    assert any(r.startswith("lesion id not in") for r in auto)
    crowd = problems[problems.file == "enhance/crowd/asymmetry.csv"]
    assert crowd[["lesion_id", "column", "value", "reason"]].values.tolist() == [
        ["ISIC_0000003", "ii", "x", "non-numeric value"]]


def test_zscore_per_annotator_and_rules(mini):
    long = annotations.load(mini).long
    first = annotations.per_lesion(long)
    # group01 asymmetry: annotator 1 rates 0, 2 -> z -1, +1; annotator 2 rates 1, 1 -> 0, 0
    assert _score(first, "student", "A", "ISIC_0000001") == pytest.approx(-0.5)
    assert _score(first, "student", "A", "ISIC_0000002") == pytest.approx(0.5)
    # ISIC_0000004's row in group02 has an empty cell: left out with the paper's rule
    assert "ISIC_0000004" not in set(first[first.source == "student"].lesion_id)
    mean = annotations.per_lesion(long, student_rule="mean_of_groups")
    # group02 keeps only ISIC_0000002 -> z 0 for both annotators; mean of 0.5 and 0
    assert _score(mean, "student", "A", "ISIC_0000002") == pytest.approx(0.25)
    every_row = annotations.per_lesion(long, "mean_of_groups", complete_rows_only=False)
    assert _score(every_row, "student", "A", "ISIC_0000002") == pytest.approx((0.5 - 0.5) / 2)
    assert _score(every_row, "student", "A", "ISIC_0000004") == pytest.approx(1.0)


def test_crowd_zscore_is_per_worker(mini):
    scores = annotations.per_lesion(annotations.load(mini).long)
    # worker i: 0, 2, 1 -> z -1.2247, 1.2247, 0; ii: 1, 1 -> 0, 0;
    # iii: 2, 2, 0 -> .707, .707, -1.414
    expected = np.mean([-1.224745, 0.0, 0.707107])
    assert _score(scores, "crowd", "A", "ISIC_0000001") == pytest.approx(expected, abs=1e-6)


def test_mini_table2(mini):
    scores = annotations.per_lesion(annotations.load(mini).long)
    t = annotations.table2(scores, mini).set_index(["dataset", "source", "feature"]).n_lesions
    assert t["isic2017", "student", "A"] == 2
    assert t["isic2017", "automated", "A"] == 2  # duplicate and unknown id not counted
    assert t["ph2", "expert", "B"] == 0
    assert len(t) == 2 * 4 * 3


def test_unknown_rule_and_source_are_errors(mini):
    long = annotations.load(mini, sources=["crowd"]).long
    with pytest.raises(ValueError, match="student_rule"):
        annotations.per_lesion(long, student_rule="last_group")
    with pytest.raises(ValueError, match="unknown sources"):
        annotations.load(mini, sources=["dermatologist"])


def test_unexpected_format_names_the_file(mini):
    (mini / "enhance/automated/computer_border_.csv").write_text("lesion|score\nISIC_0000001|3\n")
    with pytest.raises(Exception, match="computer_border_.csv"):
        annotations.load(mini, sources=["automated"])


def test_non_utf8_file_is_a_clear_error(mini):
    (mini / "enhance/crowd/color.csv").write_bytes(b"ID,i,ii,iii\nISIC_0000001,\xff\xfe,1,2\n")
    with pytest.raises(datasets.DataFormatError, match="color.csv"):
        annotations.load(mini, sources=["crowd"])


def test_data_types_row_missing_for_group(mini):
    path = mini / "enhance/student/2018-2019/data_types.csv"
    path.write_text("group_num;column_1\n1;Asymmetry\n")
    with pytest.raises(datasets.DataFormatError, match="no row for group 2"):
        annotations.load(mini, sources=["student"])

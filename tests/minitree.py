"""Write a tiny data tree in the official layout, with known answers and known defects."""
from __future__ import annotations

from pathlib import Path

GROUND_TRUTH = ("image_id,melanoma,seborrheic_keratosis\r\n"
                "ISIC_0000001,0.0,0.0\r\nISIC_0000002,1.0,0.0\r\n"
                "ISIC_0000003,0.0,1.0\r\nISIC_0000004,0.0,0.0\r\n")
METADATA = ("image_id,age_approximate,sex\nISIC_0000001,55,female\nISIC_0000002,unknown,unknown\n"
            "ISIC_0000003,80,male\nISIC_0000004,9,female\n")
CROWD = "ID,i,ii,iii\nISIC_0000001,0,1,2\nISIC_0000002,2,1,2\nISIC_0000003,1,x,0\n"
CROWD_PH2 = "ID,i,ii,iii\nIMD003,0,0,1\nIMD009,1,1,1\nIMD058,2,2,2\n"
AUTO_A = "ID,i,ii\nISIC_0000001,2,0.5\nISIC_0000002,0,0.9\nISIC_0000002,0,0.9\nISIC_9999999,1,0.1\n"
AUTO_A_PH2 = "ID,i,ii\nIMD003_lesion,0,0.95\n"
AUTO_I = "ID,i\nISIC_0000001_segmentation,3\nISIC_0000003_segmentation,5\n"
AUTO_I_PH2 = "ID,i\nIMD003_lesion,4\n"
DATA_TYPES = ("group_num;column_1;column_2;column_3;column_4;column_5\n"
              "1;Asymmetry;Asymmetry;Border;Color;Dermo\n"
              "2;Asymmetry;Color;Asymmetry;Color;\n")
# group 1: BOM, Dutch headers, trailing empty columns, a blank row, a malformed row.
GROUP1 = ("\ufeffID;Symmetrie_1_1;Symmetrie_1_2;Rand_1_1;Kleur_1_1;Dermo_1_1;;\n"
          "ISIC_0000001;0;1;2;3;1;;\n"
          "ISIC_0000002;2;1;4;1;0;;\n"
          ";;;;;;;\n"
          "ISIC_0000003;1;1;3;2;1;;;9\n")
# group 2 (next year): annotators by trailing number, an empty cell, a lesion shared with group 1.
GROUP2 = ("\ufeffID;Asymmetrie_2_1;Kleur_2_1;Asymmetrie_2_2;Kleur_2_2\n"
          "ISIC_0000002;0;2;1;2\n"
          "ISIC_0000004;2;0;;4\n")


def write_tree(root: Path, with_ph2_txt: Path | None = None) -> Path:
    files = {
        "isic2017/ISIC-2017_Training_Part3_GroundTruth.csv": GROUND_TRUTH,
        "isic2017/ISIC-2017_Training_Data/ISIC-2017_Training_Data_metadata.csv": METADATA,
        "enhance/crowd/asymmetry.csv": CROWD, "enhance/crowd/border.csv": CROWD,
        "enhance/crowd/color.csv": CROWD, "enhance/crowd/asymmetry_ph2.csv": CROWD_PH2,
        "enhance/crowd/border_ph2.csv": CROWD_PH2, "enhance/crowd/color_ph2.csv": CROWD_PH2,
        "enhance/automated/computer_asymmetry_0.9.csv": AUTO_A,
        "enhance/automated/computer_asymmetry_ph2_0.9.csv": AUTO_A_PH2,
        "enhance/automated/computer_border_.csv": AUTO_I,
        "enhance/automated/computer_border_ph2_.csv": AUTO_I_PH2,
        "enhance/automated/computer_color.csv": AUTO_I.replace("_segmentation", ""),
        "enhance/automated/computer_color_ph2.csv": AUTO_I_PH2.replace("_lesion", ""),
        "enhance/student/2017-2018/data_types.csv": DATA_TYPES,
        "enhance/student/2017-2018/group01.csv": GROUP1,
        "enhance/student/2018-2019/data_types.csv": DATA_TYPES,
        "enhance/student/2018-2019/group02.csv": GROUP2,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    if with_ph2_txt is not None:
        target = root / "ph2" / "PH2Dataset" / "PH2_dataset.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(with_ph2_txt.read_bytes())
    return root

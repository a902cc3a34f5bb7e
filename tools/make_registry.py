"""Regenerate ``enhance_utils/data/registry.csv`` from a local data tree in the official layout.

Usage: ``python tools/make_registry.py ../shared/data``

The ENHANCE annotation files are byte-identical to commit 61b4176 of the ENHANCE repository,
so their sha256 and size are computed from the local copy. ISIC and PH2 archives are not in
the mirror (it holds them unpacked, some files converted), so their checksums are left empty
until someone downloads the originals: members that the mirror keeps unchanged get theirs.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

ENHANCE_COMMIT = "61b4176c4e8b90e6670c5fde67e98dc6babc4308"
ENHANCE_URL = f"https://raw.githubusercontent.com/raumannsr/ENHANCE/{ENHANCE_COMMIT}/0_data/"
ISIC_URL = "https://isic-challenge-data.s3.amazonaws.com/2017/"
PH2_URL = "https://www.dropbox.com/s/k88qukc20ljnbuo/PH2Dataset.rar?dl=1"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from enhance_utils.data.registry import file_sha256  # noqa: E402

FIELDS = ["path", "url", "sha256", "size", "archive", "unpack_to", "note"]


def local(root: Path, rel: str) -> dict:
    path = root / rel
    return {"sha256": file_sha256(path), "size": path.stat().st_size}


def rows(root: Path) -> list[dict]:
    out = []
    for path in sorted((root / "enhance").rglob("*")):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            sub = path.relative_to(root / "enhance").as_posix()
            out.append({"path": rel, "url": ENHANCE_URL + sub, **local(root, rel),
                        "note": f"ENHANCE 0_data at commit {ENHANCE_COMMIT[:7]}"})
    gt = "isic2017/ISIC-2017_Training_Part3_GroundTruth.csv"
    out.append({"path": gt, "url": ISIC_URL + Path(gt).name, **local(root, gt),
                "note": "ISIC 2017 Part 3 training ground truth"})
    for name, note in [("ISIC-2017_Training_Data.zip", "2000 training images and metadata"),
                       ("ISIC-2017_Training_Part1_GroundTruth.zip", "2000 lesion masks")]:
        out.append({"path": f"isic2017/{name}", "url": ISIC_URL + name, "unpack_to": "isic2017",
                    "note": f"ISIC 2017 {note}; checksum not yet recorded"})
    meta = "isic2017/ISIC-2017_Training_Data/ISIC-2017_Training_Data_metadata.csv"
    out.append({"path": meta, **local(root, meta),
                "archive": "isic2017/ISIC-2017_Training_Data.zip",
                "note": "age_approximate and sex; inside the training images zip"})
    out.append({"path": "ph2/PH2Dataset.rar", "url": PH2_URL, "unpack_to": "ph2",
                "note": "PH2 database (Mendonca et al. 2015); checksum not yet recorded"})
    xlsx = "ph2/PH2Dataset/PH2_dataset.xlsx"
    out.append({"path": xlsx, **local(root, xlsx), "archive": "ph2/PH2Dataset.rar",
                "note": "PH2 table; inside the PH2 archive"})
    return out


def main(argv: list[str]) -> None:
    root = Path(argv[1])
    target = Path(__file__).resolve().parents[1] / "enhance_utils" / "data" / "registry.csv"
    with open(target, "w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows(root):
            writer.writerow({key: row.get(key, "") for key in FIELDS})
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv)

"""Each chapter gets exactly the data it reads: lists, checks, per-file download, sufficiency.

Sufficiency is tested where it is cheap to do for real: chapters 01, 02, 04 and 05 are executed
with papermill on a tree that holds nothing but what :func:`chapter_data.needs` lists; for the
image chapters the files their own functions open are checked against the list.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
import pytest

from enhance_utils.book import build
from enhance_utils.book import chapter_data
from enhance_utils.data import datasets, fetch, registry
from enhance_utils.learning import splits
from enhance_utils.abc import lesions as abc_lesions
from enhance_utils.profiles import PROFILES

PROJECT = Path(__file__).resolve().parents[1]


def _symlink_tree(data_needs, data_root: Path, tree: Path) -> Path:
    """A tree of links to the mirror's files that ``data_needs`` lists (PH2 as one folder)."""
    for rel in [p for p in data_needs.files if not registry.entries()[p].unpack_to] + \
            list(data_needs.members):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).symlink_to(data_root / rel)
    (tree / "ph2").mkdir()
    (tree / datasets.PH2_DIR).symlink_to(data_root / datasets.PH2_DIR)
    return tree


def test_every_chapter_of_the_book_has_its_list_and_asks_for_it():
    stems = [n.stem for n in build.chapters(PROJECT)]
    assert stems == list(chapter_data.CHAPTERS)
    for stem in stems:
        nb = nbformat.read(PROJECT / "chapters" / f"{stem}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.tags  # then the setup cell fetches the data
        assert f'setup_chapter("{stem}", profile' in code[1].source


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_needs_are_the_lesions_the_chapters_choose(data_root, profile):
    settings = PROFILES[profile]
    examples, _ = datasets.examples(settings.n_examples, data_root)
    isic_examples = {i for d, i in examples if d == "isic2017"}
    trained = set(splits.training_lesions(settings.training.n_lesions, data_root).lesion_id)
    abc = set(abc_lesions.recompute_ids("isic2017", PROFILES[profile].n_recompute,
                                                data_root))
    expected = {
        "01_datasets": (isic_examples, isic_examples),
        "02_annotations": (set(), set()),
        "03_automated_abc": (abc | {"ISIC_0000000", "ISIC_0000004"},) * 2,
        "04_correlation": (set(), set()),
        "05_agreement": (set(), set()),
        "06_multitask": (trained, set()),
        "07_ensembles": (trained, set()),
        "08_randomized": (trained, set()),
    }
    for chapter, (images, masks) in expected.items():
        needs = chapter_data.needs(chapter, profile, data_root)
        got_images = {Path(p).stem for p in needs.members if p.endswith(".jpg")}
        got_masks = {Path(p).stem.removesuffix("_segmentation") for p in needs.members
                     if p.endswith("_segmentation.png")}
        assert (got_images, got_masks) == (images, masks), chapter
        assert datasets.ISIC_METADATA in needs.members
        assert "ph2/PH2Dataset.rar" in needs.files and "enhance/crowd/asymmetry.csv" in needs.files
    sizes = {"smoke": 300, "cpu": 2000, "paper": 2000, "lite": 2000, "lite-cv": 2000}
    assert len([p for p in chapter_data.needs("06_multitask", profile, data_root).members
                if p.endswith(".jpg")]) == sizes[profile]
    explained = chapter_data.needs("09_explanations", profile, data_root)
    lesions = splits.training_lesions(PROFILES[profile].training.n_lesions, data_root)
    test = set(splits.paper_split(lesions, PROFILES[profile].training.split_seeds[0]).test)
    assert {Path(p).stem.removesuffix("_segmentation") for p in explained.members
            if p.endswith(".png")} == test  # the masks of the explained test lesions
    images = len(test) if PROFILES[profile].training.frozen else sizes[profile]
    assert len([p for p in explained.members if p.endswith(".jpg")]) == images


def test_chapter_03_options_change_the_sample(data_root):
    small = chapter_data.needs("03_automated_abc", "smoke", data_root, n_recompute=5)
    ids = {Path(p).stem for p in small.members if p.endswith(".jpg")}
    assert ids == set(abc_lesions.recompute_ids("isic2017", 5, data_root)) | {
        "ISIC_0000000", "ISIC_0000004"}
    with pytest.raises(ValueError, match="unknown chapter"):
        chapter_data.needs("10_nope", "smoke", data_root)


def test_image_chapters_open_only_listed_files(data_root, tmp_path, monkeypatch):
    """What the image chapters' own functions open lies in the tree made from their lists."""
    from enhance_utils.learning import training as experiments

    tree = _symlink_tree(chapter_data.needs("09_explanations", "smoke", data_root), data_root,
                         tmp_path / "tree")
    context = experiments.build_context(PROFILES["smoke"].training.n_lesions, root=tree)
    assert len(context.lesions) == 300 and context.skipped == []
    test = splits.paper_split(context.lesions, PROFILES["smoke"].training.split_seeds[0]).test
    for lesion in test:  # the lesions chapter 09 explains
        assert datasets.load_mask(datasets.isic_mask_path(lesion, tree)).any()

    abc = chapter_data.needs("03_automated_abc", "smoke", data_root)
    for lesion in abc_lesions.recompute_ids("isic2017", 40, data_root):
        for path in abc_lesions.input_paths("isic2017", lesion, "C", data_root).values():
            assert path.relative_to(data_root).as_posix() in abc.members


def test_a_data_dir_that_lacks_files_is_named(data_root, tmp_path, monkeypatch):
    needs = chapter_data.needs("01_datasets", "smoke", data_root)
    tree = _symlink_tree(needs, data_root, tmp_path / "tree")
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(tree))
    assert chapter_data.ensure("01_datasets", "smoke") == tree  # complete: nothing to do
    removed = next(p for p in needs.members if p.endswith(".jpg"))
    (tree / removed).unlink()
    with pytest.raises(FileNotFoundError, match=f"lacks 1 file.*{removed}.*unset ENHANCE_DATA_DIR"):
        chapter_data.ensure("01_datasets", "smoke")
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    assert chapter_data.ensure("09_explanations", "smoke") == data_root  # the mirror has it all


def _run_chapter(stem: str, tmp_path: Path, monkeypatch) -> dict:
    monkeypatch.delenv("MPLBACKEND", raising=False)
    out = tmp_path / f"{stem}.ipynb"
    build.execute_chapter(PROJECT / "chapters" / f"{stem}.ipynb", out, "smoke",
                         cwd=PROJECT / "chapters")
    return json.loads(out.read_text())


@pytest.mark.book
@pytest.mark.parametrize("chapter", ["02_annotations", "04_correlation", "05_agreement"])
def test_table_chapters_run_on_only_their_files(chapter, data_root, tmp_path, monkeypatch):
    tree = _symlink_tree(chapter_data.needs(chapter, "smoke", data_root), data_root,
                         tmp_path / "tree")
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(tree))
    executed = _run_chapter(chapter, tmp_path, monkeypatch)
    errors = [o for c in executed["cells"] for o in c.get("outputs", [])
              if o["output_type"] == "error"]
    assert errors == []


# --------------------------------------------------------------------------- downloading
def _serve_like_the_registry(data_root: Path, folder: Path, base: str) -> list[registry.RemoteFile]:
    """Registry rows whose URLs point at copies of the mirror's files on the local server; the
    ISIC images and masks of 30 lesions packed into zips laid out like the official ones."""
    rows = []
    for rel, entry in registry.entries().items():
        if rel.startswith("enhance/") or rel == chapter_data.TABLES[0]:
            served = folder / rel
            served.parent.mkdir(parents=True, exist_ok=True)
            served.write_bytes((data_root / rel).read_bytes())
            rows.append(registry.RemoteFile(rel, base + rel, entry.sha256, entry.size))
    lesions = datasets.isic_ground_truth(data_root).lesion_id[:30]
    for folder_name, names in (
            ("ISIC-2017_Training_Data", [f"{i}.jpg" for i in lesions] +
             ["ISIC-2017_Training_Data_metadata.csv"]),
            ("ISIC-2017_Training_Part1_GroundTruth", [f"{i}_segmentation.png" for i in lesions])):
        with zipfile.ZipFile(folder / f"{folder_name}.zip", "w") as archive:
            for name in names:
                archive.write(data_root / "isic2017" / folder_name / name, f"{folder_name}/{name}")
        rows.append(registry.RemoteFile(f"isic2017/{folder_name}.zip", base + f"{folder_name}.zip",
                                     unpack_to="isic2017"))
    metadata = registry.entries()[datasets.ISIC_METADATA]
    rows.append(registry.RemoteFile(metadata.path, sha256=metadata.sha256,
                                    archive=metadata.archive))
    return rows


@pytest.mark.book
def test_chapter_01_downloads_its_files_and_runs_on_them(data_root, server, download_env,
                                                         use_registry, tmp_path, monkeypatch):
    folder, base, log = server
    use_registry(_serve_like_the_registry(data_root, folder, base))
    # RAR archives cannot be read file by file and no tool here writes one: PH2 is linked in
    # as if unpacked, and the registry row of its archive left out.
    monkeypatch.setattr(chapter_data, "TABLES", chapter_data.TABLES[:1])
    (download_env / "ph2").mkdir(parents=True)
    (download_env / datasets.PH2_DIR).symlink_to(data_root / datasets.PH2_DIR)
    root = chapter_data.ensure("01_datasets", "smoke", progressbar=False)
    assert root == download_env
    got = sorted(p.relative_to(root).as_posix() for p in (root / "isic2017").rglob("*.*"))
    needs = chapter_data.needs("01_datasets", "smoke", data_root)
    assert got == sorted([chapter_data.TABLES[0], *needs.members])  # nothing more
    for rel in got:
        assert (root / rel).read_bytes() == (data_root / rel).read_bytes()
    assert all(ranged for path, ranged, _ in log if path.endswith(".zip"))
    log.clear()
    chapter_data.ensure("01_datasets", "smoke", progressbar=False)  # all there: no request
    assert log == []

    monkeypatch.setenv("ENHANCE_DATA_DIR", str(root))
    executed = _run_chapter("01_datasets", tmp_path, monkeypatch)
    errors = [o for c in executed["cells"] for o in c.get("outputs", [])
              if o["output_type"] == "error"]
    assert errors == []


def test_the_ph2_archive_is_downloaded_once_for_every_chapter(data_root, server, download_env,
                                                              use_registry, monkeypatch):
    """Chapters that read only the PH2 table share one download of the PH2 archive: a second
    chapter (and a rerun after the archive was deleted to save space) sends no request for it.
    No tool here writes RAR: the archive served is a stand-in, unpacked by copying the table."""
    folder, base, log = server
    rows = _serve_like_the_registry(data_root, folder, base)
    rar, table = (registry.entries()[p]
                  for p in (chapter_data.TABLES[1], chapter_data.PH2_TABLES[1]))
    (folder / "PH2Dataset.rar").write_bytes(b"Rar!\x1a\x07\x01\x00 stand-in")
    use_registry(rows + [registry.RemoteFile(rar.path, base + "PH2Dataset.rar",
                                          unpack_to=rar.unpack_to),
                         registry.RemoteFile(table.path, sha256=table.sha256, archive=rar.path)])
    members = [Path(table.path).relative_to(rar.unpack_to).as_posix()]

    def unpack(self, fname, extract_dir):
        (Path(extract_dir) / members[0]).parent.mkdir(parents=True, exist_ok=True)
        (Path(extract_dir) / members[0]).write_bytes((data_root / table.path).read_bytes())

    monkeypatch.setattr(fetch._Unrar, "_tool", lambda self, fname, extract_dir: "bsdtar")
    monkeypatch.setattr(fetch._Unrar, "_all_members", lambda self, fname: members)
    monkeypatch.setattr(fetch._Unrar, "_extract_file", unpack)

    def rar_requests() -> int:
        return sum(path.endswith("PH2Dataset.rar") for path, _, _ in log)

    chapter_data.ensure("02_annotations", "smoke", progressbar=False)
    assert rar_requests() == 1 and (download_env / table.path).is_file()
    chapter_data.ensure("04_correlation", "smoke", progressbar=False)
    assert rar_requests() == 1
    (download_env / rar.path).unlink()  # deleted after unpacking: the table still verifies
    chapter_data.ensure("05_agreement", "smoke", progressbar=False)
    assert rar_requests() == 1

"""Fault injection on the inputs (issue 16): the ABC cache, damaged files, paths, nonsense.

Every case is done for real on small trees written into ``tmp_path`` (copies of real files
where that helps); nothing is written into the data mirror.
"""
from __future__ import annotations

import contextlib
import json
import re

import numpy as np
import pytest
from PIL import Image
from skimage.draw import ellipse

from enhance_utils.data import datasets
from enhance_utils.abc import cache, runner

ISIC_IDS = ["ISIC_0000001", "ISIC_0000002"]


# --------------------------------------------------------------------------- small trees
def ellipse_mask(shape=(181, 221), axes=(30, 80)) -> np.ndarray:
    g = np.zeros(shape, np.uint8)
    rr, cc = ellipse(shape[0] // 2, shape[1] // 2, axes[0], axes[1], shape=shape)
    g[rr, cc] = 255
    return g


#: the environment of a command run on a small tree of the tests' own, whose tables are not
#: the published ones (``enhance_utils.cli.verify_published`` would refuse them)
OWN_TREE = {"ENHANCE_VERIFY_DATA": "0"}


def isic_tree(root, masks: dict, images: dict | None = None):
    """An ISIC tree with a ground truth of ``masks``' ids, their masks and optional images."""
    gt = root / datasets.ISIC_GROUND_TRUTH
    gt.parent.mkdir(parents=True, exist_ok=True)
    gt.write_text("image_id,melanoma,seborrheic_keratosis\n"
                  + "".join(f"{i},0.0,0.0\n" for i in masks))
    for lesion_id, mask in masks.items():
        path = datasets.isic_mask_path(lesion_id, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask).save(path)
    for lesion_id, image in (images or {}).items():
        path = datasets.isic_image_path(lesion_id, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)
    return root


def cache_files() -> list:
    return sorted(cache.folder().rglob("*.json"))


def run(root, feature="A", ids=ISIC_IDS, **options):
    return runner.compute("isic2017", feature, ids=ids, root=root, workers=1,
                          progress=False, **options)


# --------------------------------------------------------------------------- 4. ABC cache
def test_identical_masks_of_two_lesions_keep_their_ids(tmp_path):
    mask = ellipse_mask()
    root = isic_tree(tmp_path, {i: mask for i in ISIC_IDS})
    for _ in range(2):  # computed, then served from the cache
        frame = run(root)
        assert frame.lesion_id.tolist() == ISIC_IDS
        assert frame.status.tolist() == ["ok", "ok"]
    assert len(cache_files()) == 2


@pytest.mark.parametrize("content", ["null", "[]", "[1, 2]", "{}", '"text"', "{not json"])
def test_cache_entry_of_the_wrong_type_is_recomputed(tmp_path, content):
    root = isic_tree(tmp_path, {ISIC_IDS[0]: ellipse_mask()})
    first = run(root, ids=ISIC_IDS[:1])
    [file] = cache_files()
    file.write_text(content)
    again = run(root, ids=ISIC_IDS[:1])
    assert again.drop(columns="raw").equals(first.drop(columns="raw"))
    assert json.loads(file.read_text())["lesion_id"] == ISIC_IDS[0]


@pytest.mark.parametrize("change", [
    {"score": 7.0},                       # A counts two axes: 0, 1 or 2
    {"score": 1.5},
    {"lesion_id": "ISIC_0000009"},
    {"feature": "B"},
    {"status": "error"},
    {"raw": {"ii": 3.0, "ratio_ud": 3.0, "ratio_lr": 3.0}},
    {"reason": None},
])
def test_cache_entry_with_wrong_values_is_recomputed(tmp_path, change):
    root = isic_tree(tmp_path, {ISIC_IDS[0]: ellipse_mask()})
    first = run(root, ids=ISIC_IDS[:1]).iloc[0]
    [file] = cache_files()
    row = json.loads(file.read_text())
    assert cache.problem(row, ISIC_IDS[0], "A") is None
    row.update(change)
    assert cache.problem(row, ISIC_IDS[0], "A") is not None
    file.write_text(json.dumps(row))
    again = run(root, ids=ISIC_IDS[:1]).iloc[0]
    assert (again.lesion_id, again.score, again.raw) == (first.lesion_id, first.score, first.raw)
    assert cache.problem(json.loads(file.read_text()), ISIC_IDS[0], "A") is None


def test_no_cache_replaces_what_it_recomputes(tmp_path):
    root = isic_tree(tmp_path, {ISIC_IDS[0]: ellipse_mask()})
    first = run(root, feature="B", ids=ISIC_IDS[:1]).iloc[0]
    [file] = cache_files()
    row = json.loads(file.read_text())
    row["score"] = first.score + 1  # wrong but plausible: served while cached
    file.write_text(json.dumps(row))
    assert run(root, feature="B", ids=ISIC_IDS[:1]).score[0] == first.score + 1
    assert run(root, feature="B", ids=ISIC_IDS[:1], cache=False).score[0] == first.score
    assert json.loads(file.read_text())["score"] == first.score
    assert run(root, feature="B", ids=ISIC_IDS[:1]).score[0] == first.score


def test_a_full_cache_disk_leaves_no_partial_file(tmp_path, monkeypatch):
    """Issue 23: a cache entry that cannot be written leaves no 0-byte ``*.part`` file."""
    import errno
    import pathlib

    root = isic_tree(tmp_path / "data", {ISIC_IDS[0]: ellipse_mask()})

    def full(self, *args, **kwargs):
        open(self, "w").close()  # the file is created, nothing fits
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    with pytest.raises(OSError, match="No space left on device"):
        run(root, ids=ISIC_IDS[:1])
    assert [p for p in cache.folder().rglob("*") if p.is_file()] == []


# --------------------------------------------------------------------------- 5. mask size
def test_mask_smaller_than_its_image_is_refused_for_a_and_b(tmp_path):
    full = ellipse_mask((360, 440), (60, 160))
    small = full[::2, ::2].copy()
    image = np.full((360, 440, 3), 200, np.uint8)
    root = isic_tree(tmp_path, {ISIC_IDS[0]: full, ISIC_IDS[1]: small},
                     {i: image for i in ISIC_IDS})
    frame = run(root, feature="AB")
    assert frame.status.tolist() == ["ok", "error", "ok", "error"]
    for reason in frame.reason[frame.status == "error"]:
        assert "mask 220x180 is smaller than its image 440x360" in reason


def test_downsized_image_with_a_full_mask_is_accepted(tmp_path):
    """The mirror's layout: 256 x 256 images (aspect ratio not kept), full-resolution masks."""
    root = isic_tree(tmp_path, {ISIC_IDS[0]: ellipse_mask((360, 440), (60, 160))},
                     {ISIC_IDS[0]: np.full((256, 256, 3), 200, np.uint8)})
    assert run(root, feature="AB", ids=ISIC_IDS[:1]).status.tolist() == ["ok", "ok"]


# --------------------------------------------------------------------------- 6. lesion ids
@pytest.mark.parametrize("lesion_id", ["../../outside/evil", "/etc/passwd", "ISIC_0000001/..",
                                       "ISIC_0000001 ", "", "IMD003"])
def test_path_builders_refuse_ids_not_of_the_dataset(tmp_path, lesion_id):
    for builder in (datasets.isic_image_path, datasets.isic_mask_path):
        with pytest.raises(datasets.InvalidLesionId, match="not a isic2017 lesion id"):
            builder(lesion_id, tmp_path)
    with pytest.raises(datasets.InvalidLesionId):
        datasets.ph2_mask_path(lesion_id.replace("IMD003", "ISIC_1"), tmp_path)


def test_traversal_ids_are_refused_before_any_file_is_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.fromarray(ellipse_mask()).save(outside / "evil_segmentation.png")
    root = isic_tree(tmp_path / "data", {ISIC_IDS[0]: ellipse_mask()})
    for bad in ["../../outside/evil", str(outside / "evil")]:
        with pytest.raises(datasets.InvalidLesionId, match="evil"):
            run(root, ids=[ISIC_IDS[0], bad])


def test_ids_not_in_the_ground_truth_are_refused(tmp_path):
    root = isic_tree(tmp_path, {ISIC_IDS[0]: ellipse_mask()})
    with pytest.raises(ValueError, match="1 id.*not among the isic2017 lesions: ISIC_0000009"):
        run(root, ids=[ISIC_IDS[0], "ISIC_0000009"])


# --------------------------------------------------------------------------- 5. damaged inputs
def mirror_tree(data_root, root, damaged: dict[str, bytes] = {}):
    """``root`` holding links to the tables of the real data, and ``damaged`` files as given."""
    tables = [p for p in (data_root / "enhance").rglob("*") if p.is_file()]
    tables += [data_root / datasets.ISIC_GROUND_TRUTH, data_root / datasets.ISIC_METADATA,
               data_root / datasets.PH2_DIR / "PH2_dataset.xlsx"]
    for source in tables:
        rel = source.relative_to(data_root).as_posix()
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel in damaged:
            target.write_bytes(damaged[rel])
        else:
            target.symlink_to(source)
    (root / datasets.PH2_IMAGES).symlink_to(data_root / datasets.PH2_IMAGES)
    return root


AUTO_B = "enhance/automated/computer_border_.csv"
CROWD_C = "enhance/crowd/color.csv"


def problems_of(ann, rel):
    return ann.problems[ann.problems.file == rel]


def test_cut_last_number_is_reported_not_read_short(data_root, tmp_path):
    from enhance_utils.data import annotations

    text = (data_root / AUTO_B).read_bytes()
    assert text.endswith(b"ISIC_0014174_segmentation,17\n")
    root = mirror_tree(data_root, tmp_path, {AUTO_B: text[:-2]})  # "17\n" cut to "1"
    ann = annotations.load(root, sources=["automated"])
    cut = problems_of(ann, AUTO_B)
    assert cut.line.tolist() == [text.count(b"\n")]
    assert "last line cut off" in cut.reason.iloc[0]
    scored = ann.long[(ann.long.lesion_id == "ISIC_0014174") & (ann.long.feature == "B")]
    assert scored.empty  # not read as a border count of 1


def test_stray_quote_is_reported_and_swallows_nothing(data_root, tmp_path):
    from enhance_utils.data import annotations

    lines = (data_root / CROWD_C).read_bytes().split(b"\n")
    assert lines[599].startswith(b"ISIC_0009879,")  # line 600 of the file
    lines[599] = lines[599].replace(b",2,", b',"2,', 1)
    root = mirror_tree(data_root, tmp_path, {CROWD_C: b"\n".join(lines)})
    ann = annotations.load(root, sources=["crowd"])
    problems = problems_of(ann, CROWD_C)
    assert problems.line.tolist() == [600, 600]
    assert "unbalanced quote" in problems.reason.iloc[0]
    assert problems.reason.iloc[1] == "non-numeric value"
    crowd_c = ann.long[(ann.long.dataset == "isic2017") & (ann.long.feature == "C")]
    assert crowd_c.lesion_id.nunique() == 1250


def test_published_files_give_no_new_problems(data_root):
    """Every published file ends with a line break; the one quoted field (a line break in
    2019-2020/group02.csv) is balanced: neither is reported."""
    from enhance_utils.data import annotations

    reasons = set(annotations.load(data_root).problems.reason)
    assert not {r for r in reasons if "quote" in r or "cut off" in r}


def test_truncated_xlsx_names_the_file(data_root, tmp_path):
    data = (data_root / datasets.PH2_DIR / "PH2_dataset.xlsx").read_bytes()
    path = tmp_path / "PH2_dataset.xlsx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(datasets.DataFormatError, match="PH2_dataset.xlsx: not a readable xlsx"):
        datasets.read_ph2_xlsx(path)


@pytest.mark.parametrize("rel", [CROWD_C, datasets.ISIC_GROUND_TRUTH,
                                 f"{datasets.PH2_DIR}/PH2_dataset.xlsx"])
def test_chapter_data_check_verifies_checksums(data_root, tmp_path, monkeypatch, rel):
    from enhance_utils.book import chapter_data

    data = (data_root / rel).read_bytes()
    root = mirror_tree(data_root, tmp_path / "data", {rel: data[: len(data) - 3] + b"\n"})
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(root))
    with pytest.raises(chapter_data.ChecksumMismatch, match=f"1 file.*{rel}"):
        chapter_data.ensure("02_annotations", "smoke")


def test_chapter_data_checksums_are_remembered(data_root, tmp_path, monkeypatch):
    from enhance_utils.book import chapter_data
    from enhance_utils.data import registry

    root = mirror_tree(data_root, tmp_path / "data", {CROWD_C: (data_root / CROWD_C).read_bytes()})
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(root))
    hashed = []
    real = registry.file_sha256
    monkeypatch.setattr(registry, "file_sha256", lambda path: hashed.append(path) or real(path))
    chapter_data.ensure("02_annotations", "smoke")
    assert len(hashed) > 50 and not list(root.rglob("checksums.json"))
    hashed.clear()
    chapter_data.ensure("02_annotations", "smoke")  # a rebuild reads no file again
    assert hashed == []
    (root / CROWD_C).write_bytes((data_root / CROWD_C).read_bytes().replace(b",2,", b",3,", 1))
    with pytest.raises(chapter_data.ChecksumMismatch, match=CROWD_C):
        chapter_data.ensure("02_annotations", "smoke")
    assert [p.name for p in hashed] == ["color.csv"]


def test_truncated_jpeg_is_named_and_skipped_before_training(data_root, tmp_path, capsys):
    pipeline = pytest.importorskip("enhance_utils.learning.pipeline")  # TensorFlow
    good = datasets.isic_image_path("ISIC_0000000", data_root)
    cut = tmp_path / "ISIC_0000001.jpg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    reasons = pipeline.check_images([good, cut])
    assert reasons[0] is None
    assert reasons[1].startswith(f"unreadable image {cut}") and "truncated" in reasons[1]
    out = capsys.readouterr().out
    assert "1 of 2 image(s) cannot be read and are skipped" in out and str(cut) in out


# --------------------------------------------------------------------------- 6, 8. downloads
MASKS_ZIP = "isic2017/ISIC-2017_Training_Part1_GroundTruth.zip"
MASKS = "isic2017/ISIC-2017_Training_Part1_GroundTruth"
DEAD = "http://127.0.0.1:9/"  # nothing listens there: offline


def test_fetch_members_refuses_member_paths_with_dotdot(server, download_env, use_registry,
                                                        tmp_path):
    import zipfile

    from enhance_utils.data import fetch, registry

    folder, base, log = server
    member = "ISIC-2017_Training_Part1_GroundTruth/../../outside/evil.png"
    with zipfile.ZipFile(folder / "masks.zip", "w") as archive:
        archive.writestr(member, b"evil")
    use_registry([registry.RemoteFile(MASKS_ZIP, base + "masks.zip", unpack_to="isic2017")])
    with pytest.raises(fetch.FetchError, match="outside"):
        fetch.fetch_members(MASKS_ZIP, [f"isic2017/{member}"], progressbar=False)
    assert not list(tmp_path.rglob("evil.png")) and log == []  # refused before any request


def test_registry_path_outside_the_download_folder_is_refused(server, download_env,
                                                              use_registry):
    from enhance_utils.data import fetch, registry

    folder, base, log = server
    (folder / "evil.csv").write_text("evil\n")
    use_registry([registry.RemoteFile("../evil.csv", base + "evil.csv")])
    with pytest.raises(fetch.FetchError, match="outside"):
        fetch.fetch(progressbar=False)
    assert not (download_env.parent / "evil.csv").exists() and log == []


def test_zip_archive_with_a_member_outside_is_refused(server, download_env, use_registry,
                                                      tmp_path):
    import zipfile

    from enhance_utils.data import fetch, registry

    folder, base, _ = server
    with zipfile.ZipFile(folder / "masks.zip", "w") as archive:
        archive.writestr("Masks/ISIC_0000001_segmentation.png", b"fine")
        archive.writestr("../../evil.txt", b"evil")
    use_registry([registry.RemoteFile("isic2017/masks.zip", base + "masks.zip",
                                   unpack_to="isic2017")])
    with pytest.raises(fetch.FetchError, match=r"masks.zip holds '\.\./\.\./evil.txt'.*outside"):
        fetch.fetch(progressbar=False)
    assert not list(tmp_path.rglob("evil.txt"))


def fake_bsdtar(tmp_path, monkeypatch, listing: str, fail: str = ""):
    """A ``bsdtar`` on the PATH that lists ``listing`` or fails with ``fail`` on stderr, and
    leaves a mark if it is ever asked to extract."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "bsdtar"
    script.write_text("#!/bin/sh\n"
                      f'if [ -n "{fail}" ]; then echo "bsdtar: {fail}" >&2; exit 1; fi\n'
                      f'if [ "$1" = "-tf" ]; then printf "{listing}"; exit 0; fi\n'
                      f'touch "{tmp_path}/extracted"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    return tmp_path / "extracted"


def test_rar_with_a_member_outside_is_refused(server, download_env, use_registry, tmp_path,
                                              monkeypatch):
    from enhance_utils.data import fetch, registry

    folder, base, _ = server
    (folder / "PH2Dataset.rar").write_bytes(b"Rar!\x1a\x07\x00 stand-in")
    mark = fake_bsdtar(tmp_path, monkeypatch, "PH2Dataset/ok.txt\\n../../evil.txt\\n")
    use_registry([registry.RemoteFile("ph2/PH2Dataset.rar", base + "PH2Dataset.rar",
                                   unpack_to="ph2")])
    with pytest.raises(fetch.FetchError, match="evil.txt'.*outside"):
        fetch.fetch(progressbar=False)
    assert not mark.exists()


def test_damaged_rar_is_named_with_the_unpackers_message(server, download_env, use_registry,
                                                         tmp_path, monkeypatch):
    from enhance_utils.data import fetch, registry

    folder, base, _ = server
    (folder / "PH2Dataset.rar").write_bytes(b"Rar!\x1a\x07\x00 cut")
    fake_bsdtar(tmp_path, monkeypatch, "", fail="Truncated RAR file data")
    use_registry([registry.RemoteFile("ph2/PH2Dataset.rar", base + "PH2Dataset.rar",
                                   unpack_to="ph2")])
    with pytest.raises(fetch.FetchError) as err:
        fetch.fetch(progressbar=False)
    message = str(err.value)
    assert "bsdtar: Truncated RAR file data" in message
    assert f"delete {download_env / 'ph2' / 'PH2Dataset.rar'}" in message


def test_damaged_zip_is_named_with_zipfiles_message(server, download_env, use_registry):
    from enhance_utils.data import fetch, registry

    folder, base, _ = server
    (folder / "masks.zip").write_bytes(b"PK\x03\x04 cut short")
    use_registry([registry.RemoteFile("isic2017/masks.zip", base + "masks.zip",
                                   unpack_to="isic2017")])
    with pytest.raises(fetch.FetchError,
                       match=r"could not unpack .*masks.zip with zipfile: File is not a zip file"
                             r".*delete .*masks.zip"):
        fetch.fetch(progressbar=False)


def test_offline_fetch_lists_every_missing_file(download_env, use_registry):
    from enhance_utils.data import fetch, registry

    rows = [registry.RemoteFile(f"enhance/crowd/{name}.csv", f"{DEAD}{name}.csv")
            for name in ("asymmetry", "border", "color")]
    use_registry(rows)
    with pytest.raises(fetch.FetchError) as err:
        fetch.fetch(progressbar=False)
    message = str(err.value)
    assert message.startswith("3 of 3 file(s) could not be fetched")
    for row in rows:
        assert row.url in message and str(download_env / row.path) in message
    assert message.count("not tried (no network)") == 2


def test_hand_unpacked_ph2_folder_is_accepted_when_it_verifies(data_root, download_env,
                                                               use_registry):
    from enhance_utils.data import fetch, registry

    table = f"{datasets.PH2_DIR}/PH2_dataset.xlsx"
    rows = [registry.RemoteFile("ph2/PH2Dataset.rar", DEAD + "PH2Dataset.rar", unpack_to="ph2"),
            registry.RemoteFile(table, sha256=registry.file_sha256(data_root / table),
                             archive="ph2/PH2Dataset.rar")]
    use_registry(rows)
    (download_env / datasets.PH2_DIR).mkdir(parents=True)
    (download_env / table).write_bytes((data_root / table).read_bytes())
    assert fetch.fetch(progressbar=False) == download_env  # offline, and nothing to fetch
    (download_env / table).write_bytes(b"edited")
    with pytest.raises(fetch.FetchError, match="ph2/PH2Dataset.rar"):
        fetch.fetch(progressbar=False)


# --------------------------------------------------------------------------- 7. nonsense
def test_registry_rows_without_a_url_are_refused(download_env, use_registry):
    from enhance_utils.data import fetch, registry

    use_registry([registry.RemoteFile("enhance/crowd/asymmetry.csv", "")])
    with pytest.raises(ValueError, match="asymmetry.csv has no URL"):
        fetch.fetch(progressbar=False)


def test_results_folder_inside_the_data_folder_is_refused(tmp_path, monkeypatch):
    from enhance_utils.data import paths as config

    (tmp_path / "data").mkdir()
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ENHANCE_RESULTS_DIR", str(tmp_path / "data" / "results"))
    with pytest.raises(ValueError, match="results folder .* inside ENHANCE_DATA_DIR"):
        config.results_dir()
    monkeypatch.setenv("ENHANCE_RESULTS_DIR", str(tmp_path / "results"))
    assert config.results_dir() == tmp_path / "results"


def test_limits_and_resamples_are_checked_in_the_library(tmp_path):
    from enhance_utils.stats import bootstrap

    root = isic_tree(tmp_path, {ISIC_IDS[0]: ellipse_mask()})
    for limit in (-3, 0):
        with pytest.raises(ValueError, match=f"limit must be a positive number.*{limit}"):
            run(root, limit=limit)
    with pytest.raises(ValueError, match="no isic2017 lesions"):
        run(root, ids=[])
    for resamples in (0, -1, 2.5):
        with pytest.raises(ValueError, match="resamples must be a whole number"):
            bootstrap.bootstrap_pearson([1, 2, 3], [1, 3, 2], resamples)


def enhance(*args, env: dict, cwd, timeout: float = 300):
    """Run the ``enhance`` command line in a fresh process; (exit code, stdout, stderr); a
    command that runs longer than ``timeout`` seconds fails the test (a hang)."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "enhance_utils.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, **env})
    return done.returncode, done.stdout, done.stderr


def assert_refused(code, stderr, *fragments):
    """Exit code 2, one ``error:`` line naming the input (the command's own, or argparse's
    ``enhance CMD: error:`` for an option its type refuses), no traceback."""
    errors = [line for line in stderr.splitlines() if re.match(r"(enhance \w+: )?error:", line)]
    assert code == 2 and len(errors) == 1, stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in errors[0]


@pytest.fixture
def cli_env(tmp_path, data_root):
    return {"ENHANCE_DATA_DIR": str(data_root), "ENHANCE_CACHE_DIR": str(tmp_path / "cache")}


def test_abc_command_refuses_a_binary_ids_file(cli_env, tmp_path):
    ids_file = tmp_path / "ids.txt"
    ids_file.write_bytes(bytes(range(128, 256)))
    code, _, err = enhance("abc", "--dataset", "isic2017", "--feature", "A", "--ids", ids_file,
                           "--out", tmp_path / "A.csv", env=cli_env, cwd=tmp_path)
    assert_refused(code, err, f"{ids_file} is not a text file of lesion ids", "not UTF-8")


@pytest.mark.parametrize("ids, fragments", [
    (["../../outside/evil"], ["'../../outside/evil' is not a isic2017 lesion id"]),
    (["/etc/passwd"], ["'/etc/passwd' is not a isic2017 lesion id"]),
    (["ISIC_9999999"], ["not among the isic2017 lesions: ISIC_9999999"]),
    ([], ["no isic2017 lesions to score"]),
])
def test_abc_command_refuses_bad_ids(cli_env, tmp_path, ids, fragments):
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("".join(f"{i}\n" for i in ids))
    code, _, err = enhance("abc", "--dataset", "isic2017", "--feature", "A", "--ids", ids_file,
                           "--out", tmp_path / "A.csv", env=cli_env, cwd=tmp_path)
    assert_refused(code, err, *fragments)
    assert not (tmp_path / "A.csv").exists()


@pytest.mark.parametrize("args, fragments", [
    (["abc", "--dataset", "isic2017", "--feature", "A", "--limit", "-3", "--out", "A.csv"],
     ["argument --limit: must be at least 1, not -3"]),
    (["abc", "--dataset", "isic2017", "--feature", "A", "--ids", "nowhere.txt",
      "--out", "A.csv"], ["nowhere.txt"]),
    (["stats", "--out", "stats", "--resamples", "0"], ["resamples", "not 0"]),
])
def test_nonsense_arguments_exit_2(cli_env, tmp_path, args, fragments):
    code, _, err = enhance(*args, env=cli_env, cwd=tmp_path)
    assert_refused(code, err, *fragments)


@pytest.mark.parametrize("paths, fragments", [
    (["ph2/PH2Dataset/PH2_dataset.xlsx"], ["no URL for ph2/PH2Dataset/PH2_dataset.xlsx",
                                           "ph2/PH2Dataset.rar"]),
    (["nope.csv"], ["not in the registry: nope.csv"]),
])
def test_fetch_command_refuses_paths_it_cannot_fetch(tmp_path, paths, fragments):
    env = {"ENHANCE_DATA_DIR": "", "ENHANCE_DOWNLOAD_DIR": str(tmp_path / "downloads"),
           "ENHANCE_CACHE_DIR": str(tmp_path / "cache")}
    code, out, err = enhance("fetch", *paths, env=env, cwd=tmp_path)
    assert_refused(code, err, *fragments)
    assert "data ready" not in out


def test_annotations_command_names_a_missing_tree(tmp_path):
    (tmp_path / "empty").mkdir()
    env = {"ENHANCE_DATA_DIR": str(tmp_path / "empty"), "ENHANCE_CACHE_DIR": str(tmp_path / "c")}
    code, _, err = enhance("annotations", "--out", tmp_path / "out", env=env, cwd=tmp_path)
    assert_refused(code, err, "ISIC-2017_Training_Part3_GroundTruth.csv not found")


def test_abc_command_fails_on_error_rows_unless_allowed(tmp_path):
    root = isic_tree(tmp_path / "data", {ISIC_IDS[0]: ellipse_mask(), ISIC_IDS[1]: ellipse_mask()})
    datasets.isic_mask_path(ISIC_IDS[1], root).write_bytes(b"\x89PNG cut")
    env = {"ENHANCE_DATA_DIR": str(root), "ENHANCE_CACHE_DIR": str(tmp_path / "cache"),
           **OWN_TREE}
    args = ["abc", "--dataset", "isic2017", "--feature", "A", "--workers", "1",
            "--out", tmp_path / "A.csv"]
    code, _, err = enhance(*args, env=env, cwd=tmp_path)
    assert code == 1 and "Traceback" not in err
    assert "error: 1 of 2 rows failed (e.g. ISIC_0000002: unreadable mask" in err
    assert (tmp_path / "A.csv").is_file()  # the rows are written all the same
    code, _, err = enhance(*args, "--allow-failures", env=env, cwd=tmp_path)
    assert code == 0 and "error" not in err


def test_fetch_verify_names_a_data_dir_that_is_not_there(tmp_path):
    env = {"ENHANCE_DATA_DIR": str(tmp_path / "nowhere"), "ENHANCE_CACHE_DIR": str(tmp_path / "c")}
    code, _, err = enhance("fetch", "--verify", env=env, cwd=tmp_path)
    assert_refused(code, err, f"ENHANCE_DATA_DIR={str(tmp_path / 'nowhere')!r} is not a folder")


# --------------------------------------------------------------------------- issue 23: outputs
PUBLISHED = "enhance/automated/computer_asymmetry_ph2_0.9.csv"


@pytest.fixture
def small_data(tmp_path):
    """A small data tree of two ISIC lesions and one published file, its environment, and a
    link ``tmp_path/link`` to its ``enhance`` folder."""
    root = isic_tree(tmp_path / "data", {i: ellipse_mask() for i in ISIC_IDS})
    (root / PUBLISHED).parent.mkdir(parents=True)
    (root / PUBLISHED).write_text("published\n")
    (tmp_path / "link").symlink_to(root / "enhance")
    env = {"ENHANCE_DATA_DIR": str(root), "ENHANCE_CACHE_DIR": str(tmp_path / "cache"),
           **OWN_TREE}
    return root, env


def listing(root) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("via", ["data", "link"])
def test_abc_out_inside_the_data_folder_is_refused(small_data, tmp_path, via):
    root, env = small_data
    before = listing(root)
    out = tmp_path / via / PUBLISHED.removeprefix("enhance/" if via == "link" else "")
    code, _, err = enhance("abc", "--dataset", "isic2017", "--feature", "A", "--limit", "1",
                           "--workers", "1", "--out", out, env=env, cwd=tmp_path)
    assert_refused(code, err, f"--out {out}", "inside ENHANCE_DATA_DIR")
    assert listing(root) == before


@pytest.mark.parametrize("command", [
    ["report", "--results", "store"], ["stats", "--resamples", "10"], ["annotations"],
    ["scorecard"],
])
@pytest.mark.parametrize("via", ["data/enhance", "link"])
def test_out_folders_inside_the_data_folder_are_refused(small_data, tmp_path, command, via):
    root, env = small_data
    before = listing(root)
    out = tmp_path / via / "automated"
    code, _, err = enhance(*command, "--out", out, env=env, cwd=tmp_path)
    assert_refused(code, err, f"--out {out}", "inside ENHANCE_DATA_DIR")
    assert listing(root) == before and not (tmp_path / "store").exists()


@pytest.mark.parametrize("argv", [
    ["book", "--out"], ["train", "--results"], ["train", "--list-runs", "--results"],
    ["report", "--out", "out", "--results"], ["annotations", "--out"], ["scorecard", "--out"],
])
def test_every_output_option_is_checked_before_the_command_runs(small_data, tmp_path,
                                                                monkeypatch, argv):
    """Every command with an --out or --results (the book, training too: not run here)."""
    from enhance_utils import cli

    root, env = small_data
    monkeypatch.setenv("ENHANCE_DATA_DIR", env["ENHANCE_DATA_DIR"])
    args = cli.build_parser().parse_args([*argv, str(tmp_path / "link" / "automated")])
    what = cli.OUTPUT_OPTIONS[argv[-1].removeprefix("--")]
    with pytest.raises(ValueError, match=f"^{what} .*link/automated lies inside ENHANCE"):
        cli.refuse_outputs_in_data(args)
    args = cli.build_parser().parse_args([*argv, str(tmp_path / "elsewhere")])
    cli.refuse_outputs_in_data(args)


def test_results_inside_the_data_folder_is_refused_by_report(small_data, tmp_path):
    root, env = small_data
    code, _, err = enhance("report", "--results", tmp_path / "link", "--out", tmp_path / "out",
                           env=env, cwd=tmp_path)
    assert_refused(code, err, "inside ENHANCE_DATA_DIR")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------ issue 23: special files
def error_rows(out) -> dict:
    import pandas as pd

    frame = pd.read_csv(out)
    failed = frame[frame.status == "error"]
    return dict(zip(failed.lesion_id + "/" + failed.feature, failed.reason))


@pytest.mark.parametrize("which", ["mask", "image"])
def test_fifo_input_is_an_error_row_not_a_hang(tmp_path, which):
    import os

    image = np.full((181, 221, 3), 200, np.uint8)
    root = isic_tree(tmp_path / "data", {i: ellipse_mask() for i in ISIC_IDS},
                     {i: image for i in ISIC_IDS})
    fifo = getattr(datasets, f"isic_{which}_path")(ISIC_IDS[1], root)
    fifo.unlink()
    os.mkfifo(fifo)
    env = {"ENHANCE_DATA_DIR": str(root), "ENHANCE_CACHE_DIR": str(tmp_path / "cache"),
           **OWN_TREE}
    code, _, err = enhance("abc", "--dataset", "isic2017", "--feature", "AB", "--workers", "1",
                           "--out", tmp_path / "AB.csv", env=env, cwd=tmp_path, timeout=60)
    assert code == 1 and "Traceback" not in err and f"{ISIC_IDS[1]}: " in err
    rows = error_rows(tmp_path / "AB.csv")
    assert sorted(rows) == [f"{ISIC_IDS[1]}/A", f"{ISIC_IDS[1]}/B"]
    for reason in rows.values():
        assert f"{which} {fifo.name} is not a regular file" in reason


# ------------------------------------------------------------------------- issue 23: pixel limit
def bomb_jpeg(path, rows=30000, cols=30000):
    """A small JPEG whose header claims ``rows`` x ``cols`` pixels (beyond Pillow's limit)."""
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 150, 100)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = rows.to_bytes(2, "big") + cols.to_bytes(2, "big")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("feature", ["AB", "C"])
def test_image_beyond_the_pixel_limit_is_an_error_row(tmp_path, feature):
    image = np.full((181, 221, 3), 200, np.uint8)
    root = isic_tree(tmp_path, {i: ellipse_mask() for i in ISIC_IDS}, {ISIC_IDS[0]: image})
    bomb = datasets.isic_image_path(ISIC_IDS[1], root)
    bomb_jpeg(bomb)
    frame = run(root, feature=feature)
    assert frame.status.tolist() == ["ok", "error"] * len(feature)
    for reason in frame.reason[frame.status == "error"]:
        assert reason.startswith(f"unreadable image {bomb.name}: ") and "exceeds limit" in reason


# ------------------------------------------------------------------- issue 23: the training decoder
@contextlib.contextmanager
def no_hang(seconds: int):
    """Fail (TimeoutError) instead of hanging when the block runs longer than ``seconds``."""
    import signal

    def stop(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_image_check_refuses_what_tensorflow_cannot_decode(data_root, tmp_path, capsys):
    import os

    pipeline = pytest.importorskip("enhance_utils.learning.pipeline")  # TensorFlow
    good = datasets.isic_image_path("ISIC_0000000", data_root)
    tiff = tmp_path / "ISIC_0000001.jpg"
    Image.new("RGB", (32, 24), (200, 150, 100)).save(tiff, "TIFF")
    png = tmp_path / "ISIC_0000002.jpg"  # a PNG: TensorFlow's decode_image reads it
    Image.new("RGB", (32, 24), (200, 150, 100)).save(png, "PNG")
    fifo = tmp_path / "ISIC_0000003.jpg"
    os.mkfifo(fifo)
    with no_hang(30):
        reasons = pipeline.check_images([good, tiff, png, fifo])
    assert reasons[0] is None and reasons[2] is None
    assert reasons[1] == (f"unreadable image {tiff}: a TIFF file, which TensorFlow's decoder "
                          "does not read (BMP, GIF, JPEG, PNG, WEBP)")
    assert reasons[3] == (f"unreadable image {fifo}: not a regular file (a FIFO, a device or "
                          "a folder)")
    assert "2 of 4 image(s) cannot be read and are skipped" in capsys.readouterr().out
    assert pipeline.decode(str(png)).shape == (24, 32, 3)  # what training would have done
    with pytest.raises(pipeline.tf.errors.InvalidArgumentError):
        pipeline.decode(str(tiff))


# --------------------------------------------------------------------- issue 23: download leftovers
def served_csv(server, use_registry, rel="enhance/crowd/asymmetry.csv"):
    """One registry row, a small CSV on the local server; its registry path."""
    import hashlib

    from enhance_utils.data import registry

    folder, base, _ = server
    (folder / "a.csv").write_text("ID,i\nISIC_0000001,1\n")
    digest = hashlib.sha256((folder / "a.csv").read_bytes()).hexdigest()
    use_registry([registry.RemoteFile(rel, base + "a.csv", digest)])
    return rel


def test_temporaries_of_a_killed_download_are_removed_on_the_next_run(server, download_env,
                                                                      use_registry):
    from enhance_utils.data import fetch

    rel = served_csv(server, use_registry)
    folder = (download_env / rel).parent
    folder.mkdir(parents=True)
    left = [folder / "tmpk3x_9a2b", folder / "asymmetry.csv.part", folder / "color.csv.part"]
    for path in left:  # pooch's temporary file (tempfile's name), a member's
        path.write_bytes(b"\0" * 1000)
    (folder / "notes.txt").write_text("mine")
    fetch.fetch(progressbar=False)
    assert sorted(p.name for p in folder.iterdir()) == ["asymmetry.csv", "notes.txt"]


def test_a_running_download_keeps_its_temporaries(server, download_env, use_registry):
    """Another fetch of the same folder waits for the one running, whose files it keeps."""
    import fcntl
    import threading

    from enhance_utils.data import fetch

    rel = served_csv(server, use_registry)
    download_env.mkdir()
    running = download_env / "enhance" / "crowd" / "tmpabcdefgh"
    running.parent.mkdir(parents=True)
    running.write_bytes(b"being written")
    with open(download_env / fetch.LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the running fetch
        other = threading.Thread(target=fetch.fetch, kwargs={"progressbar": False})
        other.start()
        other.join(1.0)
        assert other.is_alive() and running.exists()
    other.join(30)
    assert not other.is_alive() and (download_env / rel).is_file()
    assert not running.exists()  # once the lock is free, nothing else writes there


def test_a_read_only_download_folder_that_holds_everything_is_used(server, download_env,
                                                                  use_registry, monkeypatch):
    """No lock can be taken there: the files are checked and used, nothing is written."""
    import builtins

    from enhance_utils.data import fetch

    rel = served_csv(server, use_registry)
    fetch.fetch(progressbar=False)
    (download_env / fetch.LOCK_FILE).unlink()
    real_open = builtins.open

    def read_only(file, mode="r", *args, **kwargs):
        if any(m in mode for m in "wax+"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only)
    assert fetch.fetch(progressbar=False) == download_env
    assert (download_env / rel).is_file() and not (download_env / fetch.LOCK_FILE).exists()


def test_downloaded_files_get_the_users_umask(server, download_env, use_registry):
    import os
    import stat

    from enhance_utils.data import fetch

    rel = served_csv(server, use_registry)
    previous = os.umask(0o027)
    try:
        fetch.fetch(progressbar=False)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((download_env / rel).stat().st_mode) == 0o640


@pytest.mark.parametrize("rel", [datasets.ISIC_GROUND_TRUTH, CROWD_C])
def test_a_table_cut_at_a_line_boundary_is_refused_by_every_command(data_root, tmp_path,
                                                                    monkeypatch, rel):
    """A published table cut after a whole line reads as a shorter, valid table (half the
    lesions, half the crowd's colour scores); every command that reads the tables
    checks them against the registry first and names the file. A tree of one's own skips the
    check with ``ENHANCE_VERIFY_DATA=0``; an intact copy passes it."""
    import argparse
    import shutil

    from enhance_utils import cli
    from enhance_utils.book import chapter_data

    root = tmp_path / "data"
    for name in [*chapter_data.table_files(), *chapter_data.PH2_TABLES]:
        if (data_root / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(data_root / name, root / name)
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(root))
    for command in cli.READS_PUBLISHED:
        cli.verify_published(argparse.Namespace(command=command))  # intact: nothing to say
    lines = (root / rel).read_bytes().splitlines(keepends=True)
    (root / rel).write_bytes(b"".join(lines[:len(lines) // 2]))
    for command in cli.READS_PUBLISHED:
        with pytest.raises(ValueError, match=f"differ from the registry's sha256 .*: {rel}"):
            cli.verify_published(argparse.Namespace(command=command))
    cli.verify_published(argparse.Namespace(command="stats"), env=OWN_TREE)
    cli.verify_published(argparse.Namespace(command="fetch"))  # fetch --verify says it itself
    code, _, err = enhance("annotations", "--out", tmp_path / "out",
                           env={"ENHANCE_DATA_DIR": str(root),
                                "ENHANCE_CACHE_DIR": str(tmp_path / "cache")}, cwd=tmp_path)
    assert_refused(code, err, f"1 file(s) under {root} differ", rel, "ENHANCE_VERIFY_DATA=0")
    assert not (tmp_path / "out").exists()


def test_an_empty_ph2_folder_is_named(data_root, tmp_path):
    """A data tree whose PH2 folder is empty (an unpacking that failed): the command names
    the PH2 files it looked for and how to get them, exit 2."""
    root = tmp_path / "data"
    (root / "ph2").mkdir(parents=True)
    for part in ("enhance", "isic2017"):
        (root / part).symlink_to(data_root / part)
    env = {"ENHANCE_DATA_DIR": str(root), "ENHANCE_CACHE_DIR": str(tmp_path / "cache")}
    code, _, err = enhance("annotations", "--out", tmp_path / "out", env=env, cwd=tmp_path)
    assert_refused(code, err, "PH2_dataset.txt", "PH2_dataset.xlsx", "enhance fetch")

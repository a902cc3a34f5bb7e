"""Registry, download (against a local HTTP server) and verification of the data."""
from __future__ import annotations

import hashlib
import zipfile

import pytest

from enhance_utils.data import paths as config, fetch, registry


def test_registry_covers_every_enhance_file(data_root):
    reg = registry.entries()
    local = {p.relative_to(data_root).as_posix() for p in (data_root / "enhance").rglob("*")
             if p.is_file()}
    enhance = {path for path in reg if path.startswith("enhance/")}
    assert enhance == local
    for path in enhance:
        entry = reg[path]
        assert "61b4176c4e8b90e6670c5fde67e98dc6babc4308" in entry.url
        assert len(entry.sha256) == 64 and entry.size > 0
    archives = [e for e in reg.values() if e.unpack_to]
    assert {e.path for e in archives} == {"isic2017/ISIC-2017_Training_Data.zip",
                                          "isic2017/ISIC-2017_Training_Part1_GroundTruth.zip",
                                          "ph2/PH2Dataset.rar"}
    for entry in reg.values():
        assert entry.downloadable or entry.archive in reg, entry.path


def test_verify_the_mirror(data_root):
    report = registry.verify(data_root)
    assert len(report) >= 50
    assert {r["status"] for r in report} == {"ok"}


def test_verify_reports_missing_and_mismatch(tmp_path, data_root):
    rel = "enhance/crowd/asymmetry.csv"
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_text("ID,i,ii,iii\n")
    status = {r["path"]: r["status"] for r in registry.verify(tmp_path)}
    assert status[rel] == "mismatch"
    assert status["enhance/crowd/border.csv"] == "missing"


def test_fetch_downloads_checks_and_skips(server, download_env, use_registry):
    folder, base, _ = server
    (folder / "a.csv").write_text("ID,i\nISIC_0000001,1\n")
    digest = hashlib.sha256((folder / "a.csv").read_bytes()).hexdigest()
    use_registry([registry.RemoteFile("enhance/x/a.csv", base + "a.csv", digest)])
    root = fetch.fetch(progressbar=False)
    target = root / "enhance/x/a.csv"
    assert root == download_env and target.read_text().startswith("ID,i")
    (folder / "a.csv").unlink()  # a second fetch must not need the server
    fetch.fetch(progressbar=False)
    assert target.is_file()
    assert not list(target.parent.glob("tmp*"))  # no temporary file left behind


def test_fetch_unzips_archives(server, download_env, use_registry):
    folder, base, _ = server
    with zipfile.ZipFile(folder / "masks.zip", "w") as archive:
        archive.writestr("Masks/ISIC_0000001_segmentation.png", b"not really a png")
    entry = registry.RemoteFile("isic2017/masks.zip", base + "masks.zip", unpack_to="isic2017")
    use_registry([entry])
    root = fetch.fetch(progressbar=False)
    assert (root / "isic2017/Masks/ISIC_0000001_segmentation.png").is_file()


def test_checksum_mismatch_is_a_clear_error(server, download_env, use_registry):
    folder, base, _ = server
    (folder / "a.csv").write_text("tampered\n")
    use_registry([registry.RemoteFile("enhance/a.csv", base + "a.csv", "0" * 64)])
    with pytest.raises(fetch.FetchError, match=r"enhance/a.csv.*put it at"):
        fetch.fetch(progressbar=False)
    assert not (download_env / "enhance/a.csv").exists()


def test_offline_error_names_file_url_and_place(download_env, use_registry):
    url = "http://127.0.0.1:9/ISIC-2017_Training_Part3_GroundTruth.csv"
    use_registry([registry.RemoteFile("isic2017/gt.csv", url, "")])
    with pytest.raises(fetch.FetchError) as err:
        fetch.fetch(progressbar=False)
    message = str(err.value)
    assert "isic2017/gt.csv" in message and url in message
    assert str(download_env / "isic2017/gt.csv") in message and "ENHANCE_DATA_DIR" in message


def test_fetch_refuses_to_write_into_data_dir(data_root, monkeypatch):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    with pytest.raises(fetch.FetchError, match="read-only"):
        fetch.fetch()


def test_cache_never_inside_data_dir(data_root, monkeypatch):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(data_root))
    monkeypatch.setenv("ENHANCE_CACHE_DIR", str(data_root / "cache"))
    with pytest.raises(ValueError, match="read-only"):
        config.cache_dir()


def test_bad_data_dir_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ENHANCE_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="ENHANCE_DATA_DIR"):
        config.data_dir()


def test_unknown_registry_path(download_env):
    with pytest.raises(ValueError, match="not in the registry: nope.csv"):
        fetch.fetch(["nope.csv"])


def test_rar_without_a_tool_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch.shutil, "which", lambda name: None)
    archive = tmp_path / "PH2Dataset.rar"
    archive.write_bytes(b"Rar!")
    unrar = fetch._processor(registry.RemoteFile("ph2/PH2Dataset.rar", "x", unpack_to="ph2"))
    with pytest.raises(fetch.FetchError, match="bsdtar.*unrar.*by hand"):
        unrar(str(archive), "download", None)


# --------------------------------------------------------------------------- single zip members
MASKS_ZIP = "isic2017/ISIC-2017_Training_Part1_GroundTruth.zip"
MASKS = "isic2017/ISIC-2017_Training_Part1_GroundTruth"


def _serve_masks_zip(data_root, folder, base, ids, sha_of=()):
    """A zip in the official layout made of real masks of the mirror; registry rows for it."""
    with zipfile.ZipFile(folder / "masks.zip", "w", zipfile.ZIP_STORED) as archive:
        for lesion in ids:
            name = f"ISIC-2017_Training_Part1_GroundTruth/{lesion}_segmentation.png"
            archive.write(data_root / "isic2017" / name, name)
    rows = [registry.RemoteFile(MASKS_ZIP, base + "masks.zip", unpack_to="isic2017")]
    for lesion in sha_of:
        path = f"{MASKS}/{lesion}_segmentation.png"
        rows.append(registry.RemoteFile(path, sha256=registry.file_sha256(data_root / path),
                                     archive=MASKS_ZIP))
    return rows


IDS = [f"ISIC_00000{n:02d}" for n in (0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12)]  # no ISIC_0000005


def test_fetch_members_reads_only_the_requested_files(data_root, server, download_env,
                                                      use_registry):
    folder, base, log = server
    many = sorted(p.name.removesuffix("_segmentation.png")
                  for p in (data_root / MASKS).glob("*.png"))
    use_registry(_serve_masks_zip(data_root, folder, base, many[:150], sha_of=IDS[:1]))
    wanted = [f"{MASKS}/{i}_segmentation.png" for i in (IDS[0], IDS[7])]
    paths = fetch.fetch_members(MASKS_ZIP, wanted, progressbar=False)
    for rel, path in zip(wanted, paths):
        assert path == download_env / rel
        assert path.read_bytes() == (data_root / rel).read_bytes()
    sent = sum(n for _, _, n in log)
    assert all(ranged for _, ranged, _ in log), log  # range requests only, never the whole file
    assert sent < (folder / "masks.zip").stat().st_size / 2
    log.clear()
    fetch.fetch_members(MASKS_ZIP, wanted, progressbar=False)  # both present: no request at all
    assert log == []
    assert not list((download_env / MASKS).glob("*.part"))


def test_fetch_members_uses_a_downloaded_archive(data_root, server, download_env, use_registry):
    folder, base, log = server
    use_registry(_serve_masks_zip(data_root, folder, base, IDS))
    (download_env / "isic2017").mkdir(parents=True)
    (folder / "masks.zip").rename(download_env / MASKS_ZIP)
    path, = fetch.fetch_members(MASKS_ZIP, [f"{MASKS}/{IDS[3]}_segmentation.png"],
                                progressbar=False)
    assert path.is_file() and log == []


def test_fetch_members_checks_crc_and_sha(data_root, server, download_env, use_registry):
    folder, base, _ = server
    rows = _serve_masks_zip(data_root, folder, base, IDS[:2])
    use_registry(rows + [registry.RemoteFile(f"{MASKS}/{IDS[1]}_segmentation.png", sha256="0" * 64,
                                          archive=MASKS_ZIP)])
    with pytest.raises(fetch.FetchError, match="does not match the registry's sha256"):
        fetch.fetch_members(MASKS_ZIP, [f"{MASKS}/{IDS[1]}_segmentation.png"], progressbar=False)
    data = bytearray((folder / "masks.zip").read_bytes())
    data[200] ^= 0xFF  # inside the first member's bytes: its CRC-32 no longer matches
    (folder / "masks.zip").write_bytes(bytes(data))
    with pytest.raises(fetch.FetchError, match=r"masks.zip.*(CRC|Bad)"):
        fetch.fetch_members(MASKS_ZIP, [f"{MASKS}/{IDS[0]}_segmentation.png"], progressbar=False)
    assert not (download_env / MASKS / f"{IDS[0]}_segmentation.png").exists()


def test_fetch_members_clear_errors(data_root, server, download_env, use_registry):
    folder, base, _ = server
    use_registry(_serve_masks_zip(data_root, folder, base, IDS[:1]))
    with pytest.raises(fetch.FetchError, match="has no file .*ISIC_0000099_segmentation.png"):
        fetch.fetch_members(MASKS_ZIP, [f"{MASKS}/ISIC_0000099_segmentation.png"],
                            progressbar=False)
    with pytest.raises(ValueError, match="not in .*Part1_GroundTruth.zip"):
        fetch.fetch_members(MASKS_ZIP, ["isic2017/elsewhere/x.png"], progressbar=False)
    with pytest.raises(ValueError, match="not a downloadable zip"):
        fetch.fetch_members("isic2017/nope.zip", [], progressbar=False)


def test_archive_of_follows_the_unpacked_layout():
    assert registry.archive_of(f"{MASKS}/ISIC_0000000_segmentation.png").path == MASKS_ZIP
    assert registry.archive_of("isic2017/ISIC-2017_Training_Data/ISIC_0000000.jpg").path == \
        "isic2017/ISIC-2017_Training_Data.zip"
    assert registry.archive_of("ph2/PH2Dataset/PH2_dataset.xlsx").path == "ph2/PH2Dataset.rar"
    assert registry.archive_of("enhance/crowd/asymmetry.csv") is None


def test_fetch_members_reads_zip64_archives(data_root, server, download_env, use_registry):
    """The ISIC training zip is 5.8 GB, hence ZIP64; more than 65535 members force the same
    ZIP64 end records in a small archive."""
    folder, base, log = server
    name = f"ISIC-2017_Training_Part1_GroundTruth/{IDS[2]}_segmentation.png"
    with zipfile.ZipFile(folder / "masks.zip", "w") as archive:
        for number in range(65_600):
            archive.writestr(f"ISIC-2017_Training_Part1_GroundTruth/filler{number}.txt", b"")
        archive.write(data_root / "isic2017" / name, name)
    assert b"PK\x06\x06" in (folder / "masks.zip").read_bytes()[-200:]  # ZIP64 end record
    use_registry([registry.RemoteFile(MASKS_ZIP, base + "masks.zip", unpack_to="isic2017")])
    path, = fetch.fetch_members(MASKS_ZIP, [f"isic2017/{name}"], progressbar=False)
    assert path.read_bytes() == (data_root / "isic2017" / name).read_bytes()
    assert log and all(ranged for _, ranged, _ in log)


def test_offline_error_names_the_first_files_and_counts_the_rest(download_env, use_registry):
    """Offline every file fails: the message stays short (``enhance book`` prints it as its
    ``error:`` line) instead of one line per file of the registry."""
    entries = [registry.RemoteFile(f"enhance/x/f{i}.csv", f"http://127.0.0.1:9/f{i}.csv", "")
               for i in range(8)]
    use_registry(entries)
    with pytest.raises(fetch.FetchError) as err:
        fetch.fetch(progressbar=False)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("8 of 8 file(s) could not be fetched")
    assert len(lines) == 1 + fetch.LISTED_FAILURES + 1
    assert "enhance/x/f0.csv" in lines[1] and lines[-1].startswith("  and 5 more")

"""The re-deploy cache: an unchanged tree reuses its zip; any change, however sneaky, misses."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import CliRun, Recorder

from mixpeek_cli.bundle import cache as bundle_cache
from mixpeek_cli.bundle import zipwriter
from mixpeek_cli.bundle.build import Bundle, build_bundle
from mixpeek_cli.output.reporter import NullReporter


@pytest.fixture(autouse=True)
def private_cache(private_home: Path) -> Path:
    return private_home / ".cache" / "mixpeek" / "bundles"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "src").mkdir(parents=True)
    (root / "main.py").write_text("print('v1')\n")
    (root / "src" / "util.py").write_text("def f():\n    return 1\n" * 50)
    (root / "assets.bin").write_bytes(os.urandom(300_000))
    return root


@pytest.fixture
def not_racy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust stamps of files written before the bundle started (as for files older than 2 s)."""
    monkeypatch.setattr(bundle_cache, "RACY_NS", 0)


def build(root: Path) -> Bundle:
    return build_bundle(root, NullReporter())


def fresh_sha(root: Path, tmp_path: Path) -> tuple[str, bytes]:
    """What the tree bundles to now, built without the cache."""
    out = tmp_path / "fresh.zip"
    bundle = build_bundle(root, NullReporter(), dest=out)
    return bundle.sha256, out.read_bytes()


def test_unchanged_tree_reuses_the_zip_without_reading_or_compressing(
    app: Path, tmp_path: Path, not_racy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build(app)
    assert not first.reused and not first.owned
    first_bytes = first.zip_path.read_bytes()

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache hit read or compressed a file")

    monkeypatch.setattr(zipwriter, "write_entries", forbidden)
    monkeypatch.setattr(bundle_cache, "_crc_of", forbidden)
    reporter = Recorder()
    second = build_bundle(app, reporter)
    assert second.reused and not second.owned
    assert second.zip_path == first.zip_path
    assert (second.sha256, second.size) == (first.sha256, first.size)
    assert [f.path for f in second.files] == [f.path for f in first.files]
    assert second.input_bytes == first.input_bytes
    assert reporter.infos == ["no file changed since the last bundle: reusing it"]
    second.cleanup()
    assert second.zip_path.read_bytes() == first_bytes  # the cache keeps it
    monkeypatch.undo()
    assert fresh_sha(app, tmp_path) == (first.sha256, first_bytes)


def test_recent_files_are_checked_by_content_and_still_hit(app: Path) -> None:
    # Just written, so every file is "racy": the hit re-reads them to compare CRCs.
    first = build(app)
    second = build(app)
    assert second.reused
    assert second.zip_path == first.zip_path


def test_content_change_with_same_size_and_mtime_restored_misses(
    app: Path, tmp_path: Path, not_racy: None
) -> None:
    first = build(app)
    target = app / "main.py"
    before = target.stat()
    target.write_text("print('v2')\n")  # same length
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    second = build(app)
    assert not second.reused
    assert second.sha256 != first.sha256
    assert (second.sha256, second.zip_path.read_bytes()) == fresh_sha(app, tmp_path)


def test_same_tick_change_is_caught_by_the_content_check(app: Path, private_cache: Path) -> None:
    """A write within the file system's timestamp tick can leave every stamp equal.

    Simulated by making the record's key match the changed file's new stamps: the
    record was made moments after the files changed, so it re-checks their CRCs.
    """
    first = build(app)
    target = app / "main.py"
    target.write_text("print('v3')\n")
    index_path = next(private_cache.glob("*/index.json"))
    index = json.loads(index_path.read_text())
    from mixpeek_cli.bundle.walk import collect_files

    now = collect_files(app, NullReporter())
    index["records"][0]["key"] = bundle_cache._key(
        Path(os.path.realpath(app)), bundle_cache._identity(now)
    )
    index_path.write_text(json.dumps(index))
    second = build(app)
    assert not second.reused
    assert second.sha256 != first.sha256


@pytest.mark.parametrize("change", ["add", "remove", "rename", "chmod", "symlink"])
def test_tree_changes_miss(app: Path, tmp_path: Path, not_racy: None, change: str) -> None:
    first = build(app)
    if change == "add":
        (app / "src" / "new.py").write_text("x = 1\n")
    elif change == "remove":
        (app / "src" / "util.py").unlink()
    elif change == "rename":
        (app / "src" / "util.py").rename(app / "src" / "utils.py")
    elif change == "chmod":
        (app / "main.py").chmod(0o755)
    else:  # a link to a file is bundled with the target's content
        os.symlink("main.py", app / "alias.py")
    second = build(app)
    assert not second.reused
    assert second.sha256 != first.sha256
    assert (second.sha256, second.zip_path.read_bytes()) == fresh_sha(app, tmp_path)


@pytest.mark.parametrize("damage", ["delete", "modify", "truncate"])
def test_damaged_cached_zip_is_not_reused(app: Path, not_racy: None, damage: str) -> None:
    first = build(app)
    good = first.zip_path.read_bytes()
    if damage == "delete":
        first.zip_path.unlink()
    elif damage == "modify":
        stat = first.zip_path.stat()
        data = bytearray(good)
        data[100] ^= 0xFF
        first.zip_path.write_bytes(bytes(data))
        os.utime(first.zip_path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    else:
        first.zip_path.write_bytes(good[:-10])
    second = build(app)
    assert not second.reused
    assert second.sha256 == first.sha256
    assert second.zip_path.read_bytes() == good


@pytest.mark.parametrize(
    "garbage",
    [b"not json", b"[]", b'{"format": 1}', b'{"format": 1, "root": 5, "records": 3}', None],
)
def test_corrupt_index_is_ignored(
    app: Path, private_cache: Path, not_racy: None, garbage: bytes | None
) -> None:
    first = build(app)
    index_path = next(private_cache.glob("*/index.json"))
    if garbage is None:  # right shape, wrong types inside a record
        index = json.loads(index_path.read_text())
        index["records"][0]["racy"] = "x"
        index["records"][0]["zip_name"] = "../../escape.zip"
        garbage = json.dumps(index).encode()
    index_path.write_bytes(garbage)
    second = build(app)
    assert not second.reused
    assert second.sha256 == first.sha256
    third = build(app)  # the rebuilt index works again
    assert third.reused


def test_cache_keeps_a_bounded_number_of_bundles(
    app: Path, private_cache: Path, not_racy: None
) -> None:
    built = []
    for n in range(bundle_cache.KEEP_PER_ROOT + 3):
        (app / "version.txt").write_text(f"{n}\n")
        built.append(build(app))
    zips = sorted(p.name for p in private_cache.glob("*/*.zip"))
    assert len(zips) == bundle_cache.KEEP_PER_ROOT
    assert sorted(b.zip_path.name for b in built[-bundle_cache.KEEP_PER_ROOT :]) == zips
    # Writing back the content of a cached state still changes the stamps (ctime).
    (app / "version.txt").write_text(f"{bundle_cache.KEEP_PER_ROOT + 1}\n")
    assert not build(app).reused


def test_kept_extras_go_with_their_zip(app: Path, private_cache: Path, not_racy: None) -> None:
    for n in range(bundle_cache.KEEP_PER_ROOT + 2):
        (app / "version.txt").write_text(f"{n}\n")
        built = build(app)
        built.keep_extra("note.txt", f"extra {n}".encode())
        assert built.cached_extra("note.txt") == f"extra {n}".encode()
    stems = sorted(p.stem for p in private_cache.glob("*/*.zip"))
    extras = sorted(p.name.split(".")[0] for p in private_cache.glob("*/*.note.txt"))
    assert extras == stems
    assert len(stems) == bundle_cache.KEEP_PER_ROOT


def test_extras_of_the_bytes_serve_every_zip_of_those_bytes(
    app: Path, private_cache: Path, not_racy: None
) -> None:
    first = build(app)
    first.keep_extra("up", b"key-1", of_bytes=True)
    first.keep_extra("files", b"of the files")
    # The same content written again (as a build does): a new zip, the same bytes.
    for path in (app / "main.py", app / "src" / "util.py"):
        path.write_bytes(path.read_bytes())
    again = build(app)
    assert not again.reused and again.zip_path != first.zip_path
    assert again.sha256 == first.sha256
    assert again.cached_extra("up", of_bytes=True) == b"key-1"
    assert again.cached_extra("files") is None  # kept with the other zip's files only

    (app / "main.py").write_text("print('v2')\n")
    other = build(app)
    assert other.sha256 != first.sha256
    assert other.cached_extra("up", of_bytes=True) is None
    # Kept while a cached zip has those bytes; gone once none has.
    for n in range(bundle_cache.KEEP_PER_ROOT):
        (app / "version.txt").write_text(f"{n}\n")
        build(app)
    assert list(private_cache.glob(f"*/{bundle_cache.BYTES_PREFIX}*")) == []


def test_unusable_cache_dir_falls_back_to_a_temporary_zip(
    app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    bundle = build(app)
    assert bundle.owned and not bundle.reused
    assert bundle.zip_path.exists()
    bundle.cleanup()
    assert not bundle.zip_path.exists()


def test_dest_bundles_do_not_use_the_cache(app: Path, tmp_path: Path, private_cache: Path) -> None:
    build_bundle(app, NullReporter(), dest=tmp_path / "a.zip")
    assert not private_cache.exists()


def test_redeploy_reuses_bundle_and_skips_upload(
    run_cli, emu, app_dir: Path, remote_env: dict[str, str], cli_env: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    first: CliRun = run_cli(
        "deploy", str(app_dir), "-m", "one", "--no-wait", "--json", env=remote_env
    )
    assert first.code == 0, first.stderr
    second: CliRun = run_cli(
        "deploy", str(app_dir), "-m", "two", "--no-wait", "--json", env=remote_env
    )
    assert second.code == 0, second.stderr
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert two["bundle_sha256"] == one["bundle_sha256"]
    assert not one["upload_reused"] and two["upload_reused"]
    # The second deploy's inline sources come from the cache, identical to the first's.
    sent = [emu.state.deploy_request(run["deploy_id"])["source_files"] for run in (one, two)]
    assert sent[0] == sent[1]
    assert sent[1]["main.py"] == (app_dir / "main.py").read_text()
    assert two["source_files_count"] == one["source_files_count"] == len(sent[1])
    assert "no file changed since the last bundle: reusing it" in second.stderr
    assert "reusing" not in first.stderr
    cached = list(Path(cli_env["XDG_CACHE_HOME"]).glob("mixpeek/bundles/*/*.zip"))
    assert len(cached) == 1  # kept for next time, not deleted after the deploy
    shutil.rmtree(Path(cli_env["XDG_CACHE_HOME"]))

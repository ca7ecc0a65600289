"""The walk cache: an unchanged tree is replayed; anything a walk depends on forces a new walk."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mixpeek_cli.bundle import ignore
from mixpeek_cli.bundle.walk import collect_files
from mixpeek_cli.bundle.walk_cache import WalkCache
from mixpeek_cli.output.reporter import NullReporter


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "src" / "deep").mkdir(parents=True)
    (root / "node_modules" / "left").mkdir(parents=True)
    (root / "main.py").write_text("print('v1')\n")
    (root / "src" / "util.py").write_text("x = 1\n")
    (root / "src" / "deep" / "data.txt").write_text("data\n")
    (root / "src" / "notes.log").write_text("log\n")
    (root / "node_modules" / "left" / "pad.js").write_text("module.exports = 1\n")
    (root / ".gitignore").write_text("*.log\n")
    return root


@pytest.fixture
def cache(tmp_path: Path, app: Path) -> WalkCache:
    return WalkCache(tmp_path / "cache", app)


def fresh(root: Path) -> list[tuple[str, str]]:
    return [(f.path, os.fspath(f.source)) for f in collect_files(root, NullReporter())]


def cached(root: Path, cache: WalkCache) -> list[tuple[str, str]]:
    return [(f.path, os.fspath(f.source)) for f in collect_files(root, NullReporter(), cache=cache)]


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_an_unchanged_tree_is_replayed_without_loading_any_rule(
    app: Path, cache: WalkCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cached(app, cache)
    assert [path for path, _ in first] == [
        ".gitignore",
        "main.py",
        "src/deep/data.txt",
        "src/util.py",
    ]

    def forbidden(root: Path) -> None:
        raise AssertionError("the replay built the ignore rules")

    monkeypatch.setattr(ignore, "load_ignore_rules", forbidden)
    assert cached(app, cache) == first
    replayed = cache.replay()
    assert replayed is not None
    monkeypatch.undo()
    walked = {f.path: f for f in collect_files(app, NullReporter())}
    for file in replayed:  # stamps taken now, for the bundle cache to judge contents
        assert file.stamp == walked[file.path].stamp
        assert file.size == os.path.getsize(file.source)


def test_changes_inside_an_excluded_directory_keep_the_replay(app: Path, cache: WalkCache) -> None:
    first = cached(app, cache)
    (app / "node_modules" / "new").mkdir()
    (app / "node_modules" / "new" / "index.js").write_text("1\n")
    (app / "node_modules" / "left" / "pad.js").write_text("changed\n")
    assert cache.replay() is not None
    assert cached(app, cache) == first == fresh(app)
    # An ignored file in a walked directory changes its listing: walked again, same result.
    (app / "src" / "other.log").write_text("ignored\n")
    assert cache.replay() is None
    assert cached(app, cache) == first == fresh(app)


def _add_file(root: Path) -> None:
    (root / "src" / "deep" / "new.py").write_text("y = 2\n")


def _add_file_and_restore_dir_times(root: Path) -> None:
    directory = root / "src" / "deep"
    before = directory.stat()
    (directory / "new.py").write_text("y = 2\n")
    os.utime(directory, ns=(before.st_atime_ns, before.st_mtime_ns))


def _remove_file(root: Path) -> None:
    (root / "src" / "util.py").unlink()


def _rename_file(root: Path) -> None:
    (root / "src" / "util.py").rename(root / "src" / "utils.py")


def _file_becomes_directory(root: Path) -> None:
    (root / "main.py").unlink()
    (root / "main.py").mkdir()
    (root / "main.py" / "inner.py").write_text("z = 3\n")


def _file_becomes_symlink(root: Path) -> None:
    (root / "src" / "util.py").unlink()
    os.symlink("../main.py", root / "src" / "util.py")


def _new_nested_gitignore(root: Path) -> None:
    (root / "src" / "deep" / ".gitignore").write_text("data.txt\n")


def _gitignore_edited_same_size_times_restored(root: Path) -> None:
    target = root / ".gitignore"
    before = target.stat()
    target.write_text("*.txt\n")  # as long as "*.log\n"
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))


def _mixpeekignore_added(root: Path) -> None:
    (root / ".mixpeekignore").write_text("!*.log\n")


def _excluded_directory_reincluded(root: Path) -> None:
    (root / ".mixpeekignore").write_text("!node_modules/\n")


CHANGES: list[Callable[[Path], None]] = [
    _add_file,
    _add_file_and_restore_dir_times,
    _remove_file,
    _rename_file,
    _file_becomes_directory,
    _file_becomes_symlink,
    _new_nested_gitignore,
    _gitignore_edited_same_size_times_restored,
    _mixpeekignore_added,
    _excluded_directory_reincluded,
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.__name__.strip("_"))
def test_each_change_forces_a_new_walk(
    app: Path, cache: WalkCache, change: Callable[[Path], None]
) -> None:
    before = cached(app, cache)
    change(app)
    assert cache.replay() is None
    after = cached(app, cache)
    assert after == fresh(app)
    assert after != before


@pytest.fixture
def repo(app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    (tmp_path / "home").mkdir()
    git(app, "init", "-q")
    return app


def _info_exclude(root: Path) -> None:
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("main.py\n")


def _excludes_file_configured(root: Path) -> None:
    excludes = root.parent / "global-ignore"
    excludes.write_text("util.py\n")
    git(root, "config", "core.excludesFile", str(excludes))


def _default_excludes_file_created(root: Path) -> None:
    default = Path(os.environ["XDG_CONFIG_HOME"]) / "git" / "ignore"
    default.parent.mkdir(parents=True)
    default.write_text("data.txt\n")


@pytest.mark.parametrize(
    "change",
    [_info_exclude, _excludes_file_configured, _default_excludes_file_created],
    ids=lambda c: c.__name__.strip("_"),
)
def test_git_level_rules_force_a_new_walk(
    repo: Path, cache: WalkCache, change: Callable[[Path], None]
) -> None:
    before = cached(repo, cache)
    change(repo)
    assert cache.replay() is None
    after = cached(repo, cache)
    assert after == fresh(repo)
    assert len(after) == len(before) - 1


def test_the_repository_disappearing_forces_a_new_walk(repo: Path, cache: WalkCache) -> None:
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("main.py\n")
    before = cached(repo, cache)
    assert "main.py" not in [path for path, _ in before]
    shutil.rmtree(repo / ".git")
    assert cache.replay() is None
    assert "main.py" in [path for path, _ in cached(repo, cache)]


def test_walks_that_met_a_symlink_are_not_recorded(app: Path, cache: WalkCache) -> None:
    os.symlink("main.py", app / "alias.py")
    assert "alias.py" in [path for path, _ in cached(app, cache)]
    assert not cache.path.exists()
    assert cache.replay() is None


def test_a_record_from_other_code_is_not_replayed(app: Path, cache: WalkCache) -> None:
    cached(app, cache)
    record = json.loads(cache.path.read_text())
    record["code"][1] = "0.0.0-another-version"
    cache.path.write_text(json.dumps(record))
    assert cache.replay() is None
    cached(app, cache)  # a full walk records it again
    assert cache.replay() is not None


@pytest.mark.parametrize(
    "garbage",
    [b"", b"not json", b"[]", b'{"format": 1}', b'{"format": 1, "root": 3, "files": "x"}'],
)
def test_a_damaged_record_means_a_full_walk(app: Path, cache: WalkCache, garbage: bytes) -> None:
    first = cached(app, cache)
    cache.path.write_bytes(garbage)
    assert cache.replay() is None
    assert cached(app, cache) == first
    assert cache.replay() is not None


def test_a_record_of_another_root_is_not_replayed(app: Path, tmp_path: Path) -> None:
    shared = tmp_path / "cache"
    cached(app, WalkCache(shared, app))
    other = tmp_path / "other"
    shutil.copytree(app, other)
    assert WalkCache(shared, other).replay() is None


def test_a_record_naming_a_file_descriptor_is_not_followed(app: Path, cache: WalkCache) -> None:
    cached(app, cache)
    record = json.loads(cache.path.read_text())
    record["sources"] = [[0, None]]
    cache.path.write_text(json.dumps(record))
    assert cache.replay() is None
    os.fstat(0)  # still open


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("files", [1, 2]),
        ("files", []),
        ("files", "main.py"),
        ("dirs", [[1, "x"]]),
        ("dirs", [["", None, "extra"]]),
        ("sources", None),
        ("repo", "top"),
    ],
)
def test_a_record_with_values_of_the_wrong_type_means_a_full_walk(
    app: Path, cache: WalkCache, key: str, value: object
) -> None:
    first = cached(app, cache)
    record = json.loads(cache.path.read_text())
    record[key] = value
    cache.path.write_text(json.dumps(record))
    assert cache.replay() is None
    assert cached(app, cache) == first


def test_a_walk_recorded_under_other_rules_is_not_replayed(tmp_path: Path, private_home) -> None:
    from mixpeek_cli.bundle.ignore import output_rules

    project = tmp_path / "project"
    (project / "dist").mkdir(parents=True)
    (project / "dist" / "index.html").write_text("x")
    (project / "dist" / "app.js.map").write_text("{}")
    (project / ".mixpeekignore").write_text("dist/*.map\n")
    root = project / "dist"
    cache_dir = tmp_path / "cache"
    as_path = collect_files(root, NullReporter(), cache=WalkCache(cache_dir, root))
    rules = output_rules(project, "dist")
    as_output = collect_files(
        root, NullReporter(), cache=WalkCache(cache_dir, root, rules.key), rules=rules.load
    )

    assert [f.path for f in as_path] == ["app.js.map", "index.html"]
    assert [f.path for f in as_output] == ["index.html"]

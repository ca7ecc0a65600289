"""Property-based tests: the bundle's file set agrees with git itself; parsers never crash."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from mixpeek_cli.bundle.build import write_zip
from mixpeek_cli.bundle.ignore import DEFAULT_EXCLUDES
from mixpeek_cli.bundle.walk import collect_files
from mixpeek_cli.bundle.walk_cache import WalkCache
from mixpeek_cli.errors import ApiError, UsageError
from mixpeek_cli.output.reporter import NullReporter
from mixpeek_cli.service.error_bodies import render_error_body
from mixpeek_cli.service.models import (
    parse_app,
    parse_deploy,
    parse_log_data,
    parse_upload_check,
    parse_upload_url,
)

DIRS = ["", "a", "b", "a/c", "dist", "a/dist", "build"]
NAMES = ["f.py", "g.log", "h.txt", "k", ".hidden", "x.pyc", "n.js"]
PATTERNS = [
    "*.log",
    "*.py",
    "h.*",
    "k",
    ".hidden",
    "dist/",
    "!dist/",
    "/a",
    "a/",
    "b/*.txt",
    "!h.txt",
    "!g.log",
    "**/c",
    "c/",
    "a/**/f.py",
    "!a/c/",
    "build",
    "!build/n.js",
    "*",
    "!*.py",
    "/dist",
    "a/c/*",
    "!a/c/k",
    "\\#k",
    "n.js",
    "!/k",
    "f.py/",
]

trees = st.sets(st.tuples(st.sampled_from(DIRS), st.sampled_from(NAMES)), min_size=1, max_size=14)
ignore_files = st.lists(st.sampled_from(PATTERNS), max_size=6)


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd.parent),
        "XDG_CONFIG_HOME": str(cwd.parent / "xdg"),
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True
    ).stdout.decode()


def _write_tree(root: Path, files: set[tuple[str, str]]) -> None:
    for directory, name in files:
        path = root / directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{directory}/{name}\n")


@settings(max_examples=80, deadline=None)
@given(files=trees, top=ignore_files, nested=ignore_files, mixpeek=ignore_files)
# Found by this test on a fresh clone: a negation naming an excluded directory brings it
# back for git; the walk once kept it excluded.
@example(files={("dist", "f.py")}, top=["*", "!*.py"], nested=[], mixpeek=["!dist/"])
def test_bundled_files_match_git_ls_files(files, top, nested, mixpeek):
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root = base / "repo"
        root.mkdir()
        _write_tree(root, files)
        (root / ".gitignore").write_text("\n".join(top) + "\n")
        if (root / "a").is_dir():
            (root / "a" / ".gitignore").write_text("\n".join(nested) + "\n")
        (root / ".mixpeekignore").write_text("\n".join(mixpeek) + "\n")
        # git's lowest-precedence source carries the defaults, its highest (the command
        # line) carries .mixpeekignore: the same order the bundler documents.
        defaults = base / "defaults"
        defaults.write_text("\n".join(DEFAULT_EXCLUDES) + "\n")
        _git(root, "init", "-q")
        _git(root, "config", "core.excludesFile", str(defaults))
        # `-x` patterns form git's highest-precedence group (`--exclude-from` would not).
        cmdline = [f"--exclude={p}" for p in mixpeek]
        listed = _git(
            root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", *cmdline
        )
        expected = {p for p in listed.split("\0") if p}

        try:
            bundled = {f.path for f in collect_files(root, NullReporter())}
        except UsageError:
            bundled = set()

        assert bundled == expected


@settings(max_examples=25, deadline=None)
@given(files=trees, mixpeek=ignore_files)
def test_bundles_stay_inside_the_root_and_are_reproducible(files, mixpeek):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "app"
        root.mkdir()
        _write_tree(root, files)
        (root / ".mixpeekignore").write_text("\n".join(mixpeek) + "\n")
        try:
            collected = collect_files(root, NullReporter())
        except UsageError:
            assume(False)  # everything ignored: nothing to bundle
        for f in collected:
            assert not f.path.startswith("/") and ".." not in f.path.split("/")
            assert Path(f.source).resolve().is_relative_to(root.resolve())
        first = write_zip(collected, Path(tmp) / "one.zip", NullReporter())
        for f in collected:
            os.utime(f.source, (1_000_000, 2_000_000))
        second = write_zip(
            collect_files(root, NullReporter()), Path(tmp) / "two.zip", NullReporter()
        )
        assert first == second
        assert (Path(tmp) / "one.zip").read_bytes() == (Path(tmp) / "two.zip").read_bytes()


mutations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(DIRS), st.sampled_from(NAMES)),
        st.tuples(st.just("remove"), st.sampled_from(DIRS), st.sampled_from(NAMES)),
        st.tuples(st.just("ignore"), st.sampled_from(["", *DIRS]), ignore_files),
        st.tuples(st.just("mixpeekignore"), st.just(""), ignore_files),
    ),
    min_size=1,
    max_size=4,
)


def _collect(root: Path, cache: WalkCache | None = None) -> list[str] | None:
    try:
        return [f.path for f in collect_files(root, NullReporter(), cache=cache)]
    except UsageError:
        return None  # everything ignored


@settings(max_examples=80, deadline=None)
@given(files=trees, top=ignore_files, changes=mutations)
def test_a_replayed_walk_always_equals_a_fresh_one(files, top, changes):
    """Whatever changes between two deploys, the walk cache never answers with a stale list."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "app"
        root.mkdir()
        _write_tree(root, files)
        for directory in DIRS:  # so that most rule edits change no directory listing
            if (root / directory).is_dir():
                (root / directory / ".gitignore").write_text("")
        (root / ".gitignore").write_text("\n".join(top) + "\n")
        (root / ".mixpeekignore").write_text("")
        cache = WalkCache(Path(tmp) / "cache", root)
        assert _collect(root, cache) == _collect(root)
        for kind, directory, arg in changes:
            if kind == "add":
                _write_tree(root, {(directory, arg)})
            elif kind == "remove":
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    (root / directory / arg).unlink()
            else:
                name = ".gitignore" if kind == "ignore" else ".mixpeekignore"
                (root / directory).mkdir(parents=True, exist_ok=True)
                (root / directory / name).write_text("\n".join(arg) + "\n")
        assert _collect(root, cache) == _collect(root)
        assert _collect(root, cache) == _collect(root)  # and once more, replayed


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "deploy_id",
        "status",
        "app_id",
        "bundle_s3_key",
        "upload_url",
        "expires_in",
        "exists",
        "etag",
        "size_bytes",
        "smoke_test",
        "passed",
        "errors",
        "slug",
        "meta",
        "line",
        "ts",
        "error",
        "detail",
        "environment",
    ]
)
api_objects = st.dictionaries(field_names, json_values, max_size=8)


# Generating nested JSON is slow on a loaded two-core machine; the property is about
# the parsers, not generation speed.
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=api_objects)
def test_response_parsers_accept_or_raise_api_error_only(data):
    for parse in (
        lambda d: parse_deploy(d, app_id="a"),
        parse_upload_url,
        lambda d: parse_upload_check(d, key="k"),
        lambda d: parse_app(d, app_id="a"),
        lambda d: parse_log_data(json.dumps(d)),
    ):
        try:
            parse(data)
        except ApiError as exc:
            assert exc.one_line()


@settings(max_examples=300)
@given(body=json_values | api_objects, status=st.sampled_from([400, 404, 409, 422, 500, 502]))
def test_error_bodies_always_render_to_text(body, status):
    import httpx

    text = render_error_body(httpx.Response(status, content=json.dumps(body).encode()))
    assert isinstance(text, str) and text


@pytest.mark.parametrize("endpoint", ["upload-url", "verify-upload", "deploy", "status", "app"])
@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=api_objects)
def test_random_answers_from_the_api_exit_cleanly(
    emu, run_cli, remote_env, app_dir, endpoint, body
):
    emu.state.clear_faults()
    path = {
        "upload-url": "/deploy/upload-url$",
        "verify-upload": "/deploy/verify-upload$",
        "deploy": "/deploy$",
        "status": r"/deploys/[^/]+$",
        "app": r"/apps/[^/]+$",
    }[endpoint]
    emu.state.add_fault(method="*", path=path, status=200, body=body, times=None)

    result = run_cli("deploy", str(app_dir), "-m", "fuzz", "--timeout", "3", env=remote_env)

    assert "Traceback" not in result.stderr
    assert result.code in (0, 1, 3, 5), result.stderr
    if result.code == 5:
        assert result.stderr.strip().splitlines()[-1].startswith("error:")

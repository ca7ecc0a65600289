"""The ignore rules, checked against real files and, where git is involved, real git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mixpeek_cli.bundle.ignore import DEFAULTS_SOURCE, load_ignore_rules, rebase_pattern
from mixpeek_cli.bundle.walk import collect_files
from mixpeek_cli.output.reporter import NullReporter

pytestmark = pytest.mark.usefixtures("private_home")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def make(root: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def bundled(root: Path) -> set[str]:
    return {f.path for f in collect_files(root, NullReporter())}


@pytest.mark.parametrize(
    ("rel", "excluded"),
    [
        (".git/config", True),
        (".hg/store", True),
        (".svn/entries", True),
        (".mixpeek/state.json", True),
        ("__pycache__/a.cpython-311.pyc", True),
        ("pkg/__pycache__/x.txt", True),
        ("pkg/mod.pyc", True),
        (".venv/bin/python", True),
        ("venv/lib/x.py", True),
        ("web/node_modules/left-pad/index.js", True),
        ("sub/.DS_Store", True),
        (".env", True),
        (".env.local", True),
        ("sub/.env.production", True),
        (".env.example", False),
        ("sub/.env.example", False),
        (".pytest_cache/v", True),
        (".mypy_cache/v", True),
        (".ruff_cache/v", True),
        (".tox/py311/x", True),
        ("app.py", False),
        ("environment.py", False),
        ("venvs.txt", False),
    ],
)
def test_default_rules(tmp_path: Path, rel: str, excluded: bool) -> None:
    make(tmp_path, {rel: "x", "keep.txt": "k"})
    rules = load_ignore_rules(tmp_path)
    assert rules.is_excluded_path(rel) is excluded
    assert (rel in bundled(tmp_path)) is not excluded


def test_rebase_pattern() -> None:
    assert rebase_pattern("*.log", "") == "*.log"
    assert rebase_pattern("*.log", "d") == "d/**/*.log"
    assert rebase_pattern("build/", "d/e") == "d/e/**/build/"
    assert rebase_pattern("/x.txt", "d") == "d/x.txt"
    assert rebase_pattern("a/b", "d") == "d/a/b"
    assert rebase_pattern("!keep.log", "d") == "!d/**/keep.log"
    assert rebase_pattern("\\!bang", "d") == "d/**/\\!bang"
    assert rebase_pattern("\\#hash", "") == "\\#hash"
    assert rebase_pattern("# comment", "d") is None
    assert rebase_pattern("   ", "d") is None
    assert rebase_pattern("x", "we[ir]d") == "we\\[ir\\]d/**/x"


def test_nested_gitignore_anchored_and_unanchored(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "sub/.gitignore": "/anchored.txt\nanywhere.txt\ndeep/x.txt\n",
            "sub/anchored.txt": "",
            "sub/more/anchored.txt": "",
            "sub/anywhere.txt": "",
            "sub/more/anywhere.txt": "",
            "anywhere.txt": "",
            "anchored.txt": "",
            "sub/deep/x.txt": "",
            "sub/more/deep/x.txt": "",
        },
    )
    assert bundled(tmp_path) == {
        "sub/.gitignore",
        "sub/more/anchored.txt",
        "anywhere.txt",
        "anchored.txt",
        "sub/more/deep/x.txt",
    }


def test_negation_and_deeper_file_wins(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".gitignore": "*.log\n",
            "sub/.gitignore": "!keep.log\n",
            "a.log": "",
            "keep.log": "",
            "sub/keep.log": "",
            "sub/other.log": "",
        },
    )
    assert bundled(tmp_path) == {".gitignore", "sub/.gitignore", "sub/keep.log"}


def test_gitignore_outside_git(tmp_path: Path) -> None:
    make(tmp_path, {".gitignore": "secret/\n", "secret/a": "", "b": ""})
    assert bundled(tmp_path) == {".gitignore", "b"}


def test_info_exclude(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / ".git" / "info").mkdir(exist_ok=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("*.tmp\n")
    make(tmp_path, {"a.tmp": "", "sub/b.tmp": "", "c.txt": ""})
    assert bundled(tmp_path) == {"c.txt"}
    rule = load_ignore_rules(tmp_path).explain("sub/b.tmp")
    assert rule is not None
    assert rule.pattern == "*.tmp"
    assert rule.source.endswith("info/exclude")


def test_core_excludes_file(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    excludes = tmp_path / "my-excludes"
    excludes.write_text("*.bak\n")
    git(repo, "config", "core.excludesFile", str(excludes))
    make(repo, {"a.bak": "", "sub/b.bak": "", "c.txt": ""})
    assert bundled(repo) == {"c.txt"}


def test_default_excludes_file_under_xdg(tmp_path: Path, private_home: Path) -> None:
    ignore = private_home / ".config" / "git" / "ignore"
    ignore.parent.mkdir(parents=True)
    ignore.write_text("*.swp\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    make(repo, {"a.swp": "", "c.txt": ""})
    assert bundled(repo) == {"c.txt"}
    # Outside a repository git's global excludes do not apply.
    plain = tmp_path / "plain"
    make(plain, {"a.swp": "", "c.txt": ""})
    assert bundled(plain) == {"a.swp", "c.txt"}


def test_mixpeekignore_reincludes_git_ignored_dir(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    make(
        tmp_path,
        {
            ".gitignore": "dist/\n*.log\n",
            ".mixpeekignore": "!dist/\nnotes.md\n",
            "dist/app.js": "",
            "dist/debug.log": "",
            "notes.md": "",
            "main.py": "",
        },
    )
    # Like git, a file pattern still beats the re-included directory.
    assert bundled(tmp_path) == {".gitignore", ".mixpeekignore", "dist/app.js", "main.py"}
    rule = load_ignore_rules(tmp_path).explain("dist/app.js")
    assert rule is not None
    assert rule.source.endswith(".mixpeekignore")


def test_mixpeekignore_can_override_defaults(tmp_path: Path) -> None:
    make(tmp_path, {".mixpeekignore": "!.env.shared\n", ".env.shared": "", ".env": ""})
    assert bundled(tmp_path) == {".mixpeekignore", ".env.shared"}
    rule = load_ignore_rules(tmp_path).explain(".env")
    assert rule is not None
    assert rule.source == DEFAULTS_SOURCE


def test_subdirectory_of_repo_honours_top_gitignore(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    make(
        tmp_path,
        {
            ".gitignore": "*.log\n/app/local.cfg\ngenerated/\nsub/only-here.txt\n",
            "app/.gitignore": "/only-here.txt\n",
            "app/a.log": "",
            "app/local.cfg": "",
            "app/only-here.txt": "",
            "app/sub/only-here.txt": "",
            "app/sub/generated/x.py": "",
            "app/main.py": "",
            "app/.mixpeekignore": "main.py\n",
        },
    )
    app = tmp_path / "app"
    assert load_ignore_rules(app).prefix == "app"
    assert bundled(app) == {".gitignore", ".mixpeekignore", "sub/only-here.txt"}


def test_excluded_dirs_are_not_walked_for_gitignores(tmp_path: Path) -> None:
    # A .gitignore inside an excluded dir must not affect anything (git never reads it).
    make(
        tmp_path,
        {
            ".gitignore": "build/\n",
            "build/.gitignore": "!*\n",
            "build/out.bin": "",
            "src/a.py": "",
        },
    )
    assert bundled(tmp_path) == {".gitignore", "src/a.py"}


DIFFERENTIAL_TREE = {
    ".gitignore": (
        "*.log\n!keep.log\nbuild/\n/root-only.txt\ndocs/*.md\n**/tmp\na/**/b.txt\n"
        "!build/rescued.txt\n\\#hash.txt\n\\!bang.txt\n# a comment\n\n*.o\n"
    ),
    "keep.log": "",
    "drop.log": "",
    "build/x.js": "",
    "build/rescued.txt": "",
    "lib/build/y.js": "",
    "root-only.txt": "",
    "lib/root-only.txt": "",
    "docs/intro.md": "",
    "docs/api/ref.md": "",
    "docs/conf.py": "",
    "tmp": "",
    "lib/tmp/cache.txt": "",
    "a/b.txt": "",
    "a/x/y/b.txt": "",
    "b.txt": "",
    "#hash.txt": "",
    "!bang.txt": "",
    "hash.txt": "",
    "lib/.gitignore": "!drop.log\n/local.txt\nsub/deep.txt\n*.o\n!keep.o\n",
    "lib/drop.log": "",
    "lib/local.txt": "",
    "lib/x/local.txt": "",
    "lib/sub/deep.txt": "",
    "lib/x/sub/deep.txt": "",
    "lib/a.o": "",
    "lib/keep.o": "",
    "lib/z/keep.o": "",
    "we[ir]d/.gitignore": "*.dat\n",
    "we[ir]d/a.dat": "",
    "wed/a.dat": "",
    "src/main.py": "",
}


@pytest.mark.parametrize("subdir", ["", "lib"])
def test_differential_against_git(tmp_path: Path, subdir: str) -> None:
    git(tmp_path, "init", "-q")
    make(tmp_path, DIFFERENTIAL_TREE)
    (tmp_path / ".git" / "info" / "exclude").write_text("src/*.py\n!src/main.py\nexcl*\n")
    make(tmp_path, {"exclusive.txt": "", "src/other.py": ""})
    path = tmp_path / subdir if subdir else tmp_path
    expected = set(
        git(path, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    ) - {""}
    assert bundled(path) == expected


def test_output_dir_rules_drop_what_would_exclude_the_output_itself(tmp_path: Path) -> None:
    from mixpeek_cli.bundle.ignore import load_output_rules

    (tmp_path / "web" / "dist").mkdir(parents=True)
    (tmp_path / ".mixpeekignore").write_text(
        "web/\ndist/\n*\nweb/dist/**\nweb/dist/*.map\n*.log\n!keep.log\n"
    )
    rules = load_output_rules(tmp_path, "web/dist")

    kept = {r.pattern for r in rules.rules if r.source.endswith(".mixpeekignore")}
    assert kept == {"web/dist/*.map", "*.log", "!keep.log"}  # dist/ matches web/dist too
    assert rules.is_excluded_file("app.js.map") and not rules.is_excluded_file("app.js")
    assert rules.is_excluded_file("x.log") and not rules.is_excluded_file("keep.log")
    assert rules.is_excluded_dir("node_modules") and rules.is_excluded_file(".env")
    # Line numbers stay those of the file, for explanations.
    explained = rules.explain("app.js.map")
    assert explained is not None and explained.line == 5


def test_the_defaults_alone_are_decided_exactly_as_pathspec_decides_them() -> None:
    """Without an ignore file the defaults are matched without pathspec (start-up); every
    path of up to three components made of the names that matter, as a file and as a
    directory, under no prefix and under one, gets pathspec's verdict and deciding rule."""
    import itertools

    from mixpeek_cli.bundle.ignore import DEFAULT_EXCLUDES, IgnoreRules, _Source

    names = [
        "a", "node_modules", ".git", "venv", ".venv", "x.pyc", ".pyc", ".DS_Store", ".env",
        ".env.local", ".env.example", ".envrc", ".env.", "env", "b.py", "__pycache__", "x.pyc.txt",
    ]  # fmt: skip
    for prefix in ("", "sub/dir"):
        sources = [_Source(DEFAULTS_SOURCE, prefix, DEFAULT_EXCLUDES, is_default=True)]
        fast = IgnoreRules(prefix, sources)
        # One more rule that matches nothing: pathspec decides.
        slow = IgnoreRules(prefix, [*sources, _Source("one", prefix, ("!never-matches-xyz",))])
        assert fast._defaults is not None and slow._defaults is None
        checked = 0
        for depth in (1, 2, 3):
            for parts in itertools.product(names, repeat=depth):
                rel = "/".join(parts)
                for is_dir in (False, True):
                    verdict = fast.explain(rel, is_dir=is_dir)
                    expected = slow.explain(rel, is_dir=is_dir)
                    assert (verdict and verdict.pattern) == (expected and expected.pattern), rel
                    excluded = fast.is_excluded_dir(rel) if is_dir else fast.is_excluded_file(rel)
                    wanted = slow.is_excluded_dir(rel) if is_dir else slow.is_excluded_file(rel)
                    assert excluded == wanted, (prefix, rel, is_dir)
                    checked += 1
        assert fast.is_excluded_dir("") == slow.is_excluded_dir("")
        assert checked == 2 * (17 + 17**2 + 17**3)

"""Which files under a deploy PATH are left out of the bundle.

Every rule uses gitignore syntax and is matched by :mod:`pathspec`. Rules are applied
in this order, the last match winning:

1. :data:`DEFAULT_EXCLUDES`;
2. git's own rules: ``core.excludesFile``, ``.git/info/exclude``, then every
   ``.gitignore`` from the repository top down to PATH and below it (deeper files
   after shallower ones, as deeper ones take precedence in git);
3. ``.mixpeekignore`` at PATH, so it can re-include what git ignores (``!dist/``).

All patterns go into ONE :class:`pathspec.GitIgnoreSpec` so git's precedence rules
hold across sources. Each pattern is rebased from the directory of the file it came
from to the repository top (PATH itself outside a repository), and every path is
matched in those coordinates. When no ignore file holds a pattern (a build's output
directory, most often), only the defaults apply, and :class:`_Defaults` answers as
pathspec would without importing it (~20 ms of every such bundle's start-up).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git/",
    ".hg/",
    ".svn/",
    ".mixpeek/",
    "__pycache__/",
    "*.pyc",
    ".venv/",
    "venv/",
    "node_modules/",
    ".DS_Store",
    ".env",
    ".env.*",
    "!.env.example",
    ".pytest_cache/",
    ".mypy_cache/",
    ".ruff_cache/",
    ".tox/",
)
"""Built-in exclusions, applied first so any ignore file can override them."""

MIXPEEKIGNORE = ".mixpeekignore"
# Builds the rules for a bundle root: load_ignore_rules, or an output directory's.
RulesLoader = Callable[[Path], "IgnoreRules"]
GITIGNORE = ".gitignore"
DEFAULTS_SOURCE = "<built-in defaults>"


@dataclass(frozen=True)
class Rule:
    """One pattern and where it came from (for explaining a decision)."""

    source: str  # file path, or DEFAULTS_SOURCE
    line: int  # 1-based; 0 for built-in defaults
    pattern: str  # as written in the source


_GLOB_SPECIALS = frozenset("\\*?[]!#")


def _escape_base(base: str) -> str:
    """Escape a directory path so it matches literally as a pattern prefix."""
    return "".join(f"\\{ch}" if ch in _GLOB_SPECIALS else ch for ch in base)


def rebase_pattern(pattern: str, base: str) -> str | None:
    """Rewrite one gitignore line from directory ``base`` ("" or "a/b") to the top.

    Returns None for blank lines and comments. A leading ``!`` stays a negation;
    escapes such as ``\\!`` and ``\\#`` are kept as written.
    """
    line = pattern.rstrip("\r\n")
    if not line.strip() or line.startswith("#"):
        return None
    negate = line.startswith("!")
    body = line[1:] if negate else line
    if not body.strip():
        return None
    # A slash anywhere but at the end anchors the pattern to its file's directory.
    anchored = "/" in body.rstrip("/")
    if base:
        escaped = _escape_base(base)
        body = f"{escaped}/{body.lstrip('/')}" if anchored else f"{escaped}/**/{body}"
    return f"!{body}" if negate else body


@dataclass(frozen=True)
class _Source:
    """The lines of one rule source and the top-relative directory they apply to."""

    name: str
    base: str
    lines: tuple[str, ...]
    is_default: bool = False


@dataclass(frozen=True)
class IgnoreInputs:
    """Everything outside the walked directories' listings that the rules were built from.

    ``repo`` is :func:`repo_fingerprint`'s answer; ``sources`` holds every rule file
    that was read *or looked for*, with :func:`source_digest` of its bytes (None:
    absent or unreadable). The same inputs always give the same rules.
    """

    repo: list[str] | None = None
    sources: list[tuple[str, str | None]] = field(default_factory=list)


class IgnoreRules:
    """The combined rules for one deploy PATH.

    ``prefix`` is PATH relative to the repository top ("" when PATH is the top or
    not in a repository); callers pass paths relative to PATH.
    """

    def __init__(
        self, prefix: str, sources: Iterable[_Source], inputs: IgnoreInputs | None = None
    ) -> None:
        self.prefix = prefix
        self.inputs = inputs or IgnoreInputs()
        self.rules: list[Rule] = []
        patterns: list[str] = []
        for source in sources:
            for number, raw in enumerate(source.lines, start=1):
                rebased = rebase_pattern(raw, source.base)
                if rebased is None:
                    continue
                patterns.append(rebased)
                line = 0 if source.is_default else number
                self.rules.append(Rule(source.name, line, raw.rstrip("\r\n")))
        self._defaults: _Defaults | None = None
        if len(patterns) == len(DEFAULT_EXCLUDES) and all(r.line == 0 for r in self.rules):
            self._defaults = _Defaults()
            return
        # Imported here: a replayed walk (walk_cache) needs no rules, so no pathspec.
        from pathspec import GitIgnoreSpec, PathSpec

        self._spec = GitIgnoreSpec.from_lines(patterns)
        # A directory is asked about only once the walk kept its parents, and git then
        # decides it by the last pattern that matches it: a negation naming it (`!dist/`
        # after `*`) brings it back. GitIgnoreSpec ranks a match on a directory mark below
        # a file pattern's, right for the files below an excluded directory but not for
        # the directory itself, asked with its trailing slash; so directories are decided
        # by plain last-match over the same patterns.
        self._dir_spec = PathSpec(self._spec.patterns)
        self._any = _union(self._spec)

    def _top(self, relpath: str) -> str:
        rel = relpath.strip("/")
        if not self.prefix:
            return rel
        return f"{self.prefix}/{rel}" if rel else self.prefix

    def _check(self, toppath: str) -> tuple[bool, int | None]:
        if self._defaults is not None:
            rel = toppath[len(self.prefix) + 1 :] if self.prefix else toppath
            return self._defaults.check(rel)
        if self._any is not None and self._any.match(toppath) is None:
            return False, None  # no pattern matches at all: most paths, decided in one call
        spec = self._dir_spec if toppath.endswith("/") else self._spec
        result = spec.check_file(toppath)
        return bool(result.include), result.index

    def is_excluded_dir(self, relpath: str) -> bool:
        """True when the directory ``relpath`` (relative to PATH) is excluded."""
        return self._check(self._top(relpath) + "/")[0]

    def is_excluded_file(self, relpath: str) -> bool:
        """True when the file ``relpath`` (relative to PATH) is excluded."""
        return self._check(self._top(relpath))[0]

    def is_excluded_path(self, relpath: str) -> bool:
        """True when the file or any directory above it (within PATH) is excluded.

        A pruned walk never reaches such a file; this answers the same question for a
        path reached another way (a symlink's target).
        """
        parts = relpath.strip("/").split("/")
        for depth in range(1, len(parts)):
            if self.is_excluded_dir("/".join(parts[:depth])):
                return True
        return self.is_excluded_file(relpath)

    def explain(self, relpath: str, *, is_dir: bool = False) -> Rule | None:
        """The rule that decided ``relpath``'s fate, or None when no rule matched."""
        top = self._top(relpath) + ("/" if is_dir else "")
        _, index = self._check(top)
        return None if index is None else self.rules[index]


class _Defaults:
    """:data:`DEFAULT_EXCLUDES` alone, decided exactly as pathspec's GitIgnoreSpec (and its
    PathSpec for a directory, asked with a trailing slash) decide them.

    Every default is one unanchored segment (a name or a ``*`` glob, ``/`` at the end for
    directories only), so a pattern matches a path where it matches one of its components:
    the last one ends the match (a file pattern), an earlier one is followed by a slash
    (pathspec's "directory mark"). For a file, the last pattern to match its name decides,
    else the last to match through a directory (GitIgnoreSpec's priorities); for a
    directory, the last match wins. tests/test_ignore.py compares the two on every path
    made of the names that matter.
    """

    def __init__(self) -> None:
        self.patterns: list[tuple[re.Pattern[str], bool, bool]] = []  # regex, exclude, dirs
        for line in DEFAULT_EXCLUDES:
            exclude = not line.startswith("!")
            body = line.lstrip("!")
            glob = body.rstrip("/")
            segment = "[^/]*".join(re.escape(part) for part in glob.split("*"))
            self.patterns.append((re.compile(segment), exclude, body.endswith("/")))
        # Most paths match no pattern in any component: one search says so.
        either = "|".join(regex.pattern for regex, _, _ in self.patterns)
        self._any = re.compile(f"(?:^|/)(?:{either})(?:/|$)")

    def check(self, rel: str) -> tuple[bool, int | None]:
        if self._any.search(rel) is None:
            return False, None
        is_dir = rel.endswith("/")
        parts = rel.strip("/").split("/") if rel.strip("/") else []
        parents, name = (parts, None) if is_dir else (parts[:-1], parts[-1] if parts else None)
        if is_dir:  # the last pattern that matches decides
            for index in reversed(range(len(self.patterns))):
                regex, exclude, _ = self.patterns[index]
                if any(regex.fullmatch(part) for part in parents):
                    return exclude, index
            return False, None
        out: tuple[bool, int | None] = (False, None)
        for index in reversed(range(len(self.patterns))):
            regex, exclude, dirs_only = self.patterns[index]
            if not dirs_only and name is not None and regex.fullmatch(name):
                return exclude, index  # the last file pattern to match decides
            if out[1] is None and any(regex.fullmatch(part) for part in parents):
                out = (exclude, index)  # else the last to match through a directory
        return out


def _union(spec: GitIgnoreSpec) -> re.Pattern[str] | None:
    """One regex matching wherever any of ``spec``'s patterns matches (a fast pre-check).

    pathspec tries its patterns one by one in Python; the union asks the regex engine
    once. Each alternative is the pattern's own regex, with pathspec's named group made
    anonymous (a name may appear only once in a regex), so it matches exactly as it does.
    """
    regexes = [p.regex for p in spec.patterns if p.include is not None and p.regex is not None]
    if not regexes or len({r.flags for r in regexes}) != 1:
        return None
    body = "|".join(f"(?:{re.sub(r'[(][?]P<[^>]+>', '(?:', r.pattern)})" for r in regexes)
    return re.compile(body, regexes[0].flags)


def _read_bytes(path: str | Path) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        # Absent, or unreadable: git silently skips ignore files it cannot read; so do we.
        return None


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.blake2b(data, digest_size=16).hexdigest()


def source_digest(path: str | Path) -> str | None:
    """A digest of a rule file's bytes, or None when it is absent or unreadable."""
    return _digest(_read_bytes(path))


class _Reader:
    """Reads rule files and remembers each one it read or looked for (IgnoreInputs)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    def lines(self, path: Path) -> list[str] | None:
        data = _read_bytes(path)
        self.seen.append((str(path), _digest(data)))
        return None if data is None else data.decode("utf-8", "surrogateescape").splitlines()


@dataclass(frozen=True)
class _RepoInfo:
    top: Path
    exclude_files: tuple[Path, ...]  # core.excludesFile, then info/exclude


def _default_excludes_file() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "git" / "ignore"


def _git(root: Path, *commands: list[str]) -> list[str | None]:
    """Each ``git -C root COMMAND``'s output, or None where git fails or is not installed.

    The commands run at the same time: each is mostly git's own start-up.
    """
    started: list[subprocess.Popen[bytes] | None] = []
    try:
        for args in commands:
            try:
                started.append(
                    subprocess.Popen(
                        ["git", "-C", os.fspath(root), *args],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                    )
                )
            except OSError:
                started.append(None)
        answers: list[str | None] = []
        for proc in started:
            if proc is None:
                answers.append(None)
                continue
            out, _ = proc.communicate()
            answers.append(os.fsdecode(out).rstrip("\n") if proc.returncode == 0 else None)
        return answers
    finally:
        for proc in started:
            if proc is not None and proc.poll() is None:  # interrupted: do not leave it
                proc.kill()
                proc.wait()


def _find_repo(root: Path) -> _RepoInfo | None:
    # git itself answers, in two short calls: no GitPython import or repository object,
    # which cost ~60 ms here and would only read the same two settings. --path expands
    # "~/"; unset (or unreadable config) means git's default file.
    found, value = _git(
        root,
        ["rev-parse", "--show-toplevel", "--git-common-dir"],
        ["config", "--path", "--get", "core.excludesFile"],
    )
    if found is None:
        return None  # not in a work tree (or a bare repository, or no git at all)
    top_text, _, common_text = found.partition("\n")
    if not top_text or not common_text:
        return None
    top = Path(os.path.realpath(top_text))
    common_dir = Path(os.path.realpath(root / common_text))  # a relative answer is from root
    if value:
        excludes_file = Path(value)
        if not excludes_file.is_absolute():
            excludes_file = top / excludes_file
    else:
        excludes_file = _default_excludes_file()
    return _RepoInfo(top, (excludes_file, common_dir / "info" / "exclude"))


def _join(prefix: str, rel: str) -> str:
    return "/".join(part for part in (prefix, rel) if part)


def repo_fingerprint(root: Path) -> list[str] | None:
    """The repository facts the rules depend on: its top and its exclude files."""
    return _fingerprint(_find_repo(root))


def _fingerprint(repo: _RepoInfo | None) -> list[str] | None:
    return None if repo is None else [str(repo.top), *map(str, repo.exclude_files)]


def _gitignores_below(
    root: Path, prefix: str, head: list[_Source], tail: list[_Source], reader: _Reader
) -> list[_Source]:
    """Read every ``.gitignore`` under ``root`` with a walk pruned by the rules so far.

    A directory's own ``.gitignore`` is read before its children are judged, and
    the walk is depth-first top-down, so an ancestor's file always precedes a
    descendant's (the order git's precedence needs; siblings never overlap).
    """
    found: list[_Source] = []
    rules = IgnoreRules(prefix, [*head, *tail])
    stack = [""]
    while stack:
        rel = stack.pop()
        directory = root / rel if rel else root
        lines = reader.lines(directory / GITIGNORE)
        if lines is not None:
            found.append(_Source(str(directory / GITIGNORE), _join(prefix, rel), tuple(lines)))
            rules = IgnoreRules(prefix, [*head, *found, *tail])
        try:
            with os.scandir(directory) as entries:
                subdirs = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue  # the bundle walk reports unreadable directories
        for name in sorted(subdirs, reverse=True):
            child = f"{rel}/{name}" if rel else name
            if not rules.is_excluded_dir(child):
                stack.append(child)
    return found


def load_ignore_rules(root: Path) -> IgnoreRules:
    """Build the combined rules for deploying the directory ``root``."""
    real_root = Path(os.path.realpath(root))
    repo = _find_repo(real_root)
    fingerprint = _fingerprint(repo)
    reader = _Reader()
    prefix = ""
    if repo is not None:
        try:
            prefix = real_root.relative_to(repo.top).as_posix()
        except ValueError:  # a work tree set elsewhere (GIT_WORK_TREE): not ours
            repo = None
        prefix = "" if prefix == "." else prefix

    head = [_Source(DEFAULTS_SOURCE, prefix, DEFAULT_EXCLUDES, is_default=True)]
    if repo is not None:
        for path in repo.exclude_files:
            head.append(_Source(str(path), "", tuple(reader.lines(path) or ())))
        parts = prefix.split("/") if prefix else []
        for depth in range(len(parts)):
            path = repo.top.joinpath(*parts[:depth], GITIGNORE)
            lines = tuple(reader.lines(path) or ())
            head.append(_Source(str(path), "/".join(parts[:depth]), lines))
    mixpeekignore = real_root / MIXPEEKIGNORE
    tail = [_Source(str(mixpeekignore), prefix, tuple(reader.lines(mixpeekignore) or ()))]
    below = _gitignores_below(real_root, prefix, head, tail, reader)
    return IgnoreRules(prefix, [*head, *below, *tail], IgnoreInputs(fingerprint, reader.seen))


# A name no real file has: a rule that matches it inside the output directory matches
# everything there.
_PROBE = "\u2063mixpeek-probe"


def load_output_rules(project: Path, output_dir: str) -> IgnoreRules:
    """The rules for bundling ``output_dir`` of the project at ``project`` as its own root.

    Build output is normally git-ignored, so git's rules do not apply; the built-in
    defaults do, and so does the project's ``.mixpeekignore``, matched against paths as
    seen from ``project`` (``dist/*.map`` drops source maps), except any rule that would
    leave out the output directory itself or everything in it.
    """
    real_project = Path(os.path.realpath(project))
    prefix = output_dir.strip("/")
    reader = _Reader()
    mixpeekignore = real_project / MIXPEEKIGNORE
    lines = reader.lines(mixpeekignore) or []
    # Blanked, not removed: every other rule keeps its line number for explanations.
    kept = tuple("" if _drops_output(line, prefix) else line for line in lines)
    sources = [
        _Source(DEFAULTS_SOURCE, prefix, DEFAULT_EXCLUDES, is_default=True),
        _Source(str(mixpeekignore), "", kept),
    ]
    inputs = IgnoreInputs(repo_fingerprint(real_project / prefix), reader.seen)
    return IgnoreRules(prefix, sources, inputs)


def _drops_output(line: str, output_dir: str) -> bool:
    """Whether the rule ``line`` excludes ``output_dir``, a directory above it, or all in it."""
    from pathspec import GitIgnoreSpec

    pattern = rebase_pattern(line, "")
    if pattern is None or pattern.startswith("!"):
        return False
    spec = GitIgnoreSpec.from_lines([pattern])
    parts = output_dir.split("/")
    candidates = ["/".join(parts[: depth + 1]) + "/" for depth in range(len(parts))]
    candidates.append(f"{output_dir}/{_PROBE}")
    return any(spec.match_file(candidate) for candidate in candidates)


@dataclass(frozen=True)
class RuleSet:
    """Which rules decide a bundle root's files, and the key that names them in caches."""

    load: RulesLoader
    key: str = ""  # "": PATH's own rules (load_ignore_rules)


def output_rules(project: Path, output_dir: str) -> RuleSet:
    """The rules of ``output_dir`` bundled as its own root (:func:`load_output_rules`)."""
    return RuleSet(
        lambda _root: load_output_rules(project, output_dir),
        key=f"output-dir {os.path.realpath(project)} {output_dir}",
    )

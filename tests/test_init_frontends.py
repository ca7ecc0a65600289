"""Frontend detection (config/frontends.py) and what `mixpeek init` writes from it."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
from terminal import run_on_a_terminal

from mixpeek_cli.config.frontends import detect_frontend

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def write_package(
    root: Path,
    *,
    dependencies: dict[str, str] | None = None,
    dev: dict[str, str] | None = None,
    build: str | None = "do-the-build",
    **extra: object,
) -> Path:
    package: dict[str, object] = dict(extra)
    if dependencies is not None:
        package["dependencies"] = dependencies
    if dev is not None:
        package["devDependencies"] = dev
    if build is not None:
        package["scripts"] = {"dev": "serve", "build": build}
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(json.dumps(package, indent=2))
    return root


def read_toml(path: Path) -> dict:  # type: ignore[type-arg]
    with path.open("rb") as fh:
        return tomllib.load(fh)


# --- detect_frontend -------------------------------------------------------------------

# name, the package it is detected by, what package.json holds, output dir, the
# framework's own build command.
FRAMEWORKS = [
    pytest.param(
        "Next.js", "next", {"next": "14", "react": "18"}, "out", "npx next build", id="next"
    ),
    pytest.param(
        "Astro", "astro", {"astro": "4", "vite": "5"}, "dist", "npx astro build", id="astro"
    ),
    pytest.param(
        "SvelteKit",
        "@sveltejs/kit",
        {"@sveltejs/kit": "2", "@sveltejs/adapter-static": "3", "vite": "5", "svelte": "4"},
        "build",
        "npx vite build",
        id="sveltekit",
    ),
    pytest.param(
        "Vue CLI",
        "@vue/cli-service",
        {"@vue/cli-service": "5", "vue": "3"},
        "dist",
        "npx vue-cli-service build",
        id="vue-cli",
    ),
    pytest.param(
        "Create React App",
        "react-scripts",
        {"react-scripts": "5", "react": "18"},
        "build",
        "npx react-scripts build",
        id="cra",
    ),
    pytest.param("Vite", "vite", {"vite": "5", "vue": "3"}, "dist", "npx vite build", id="vite"),
]
FIELDS = ("name", "package", "deps", "output_dir", "cli_build")


def with_next_export(root: Path) -> None:
    (root / "next.config.mjs").write_text(
        "/** @type {import('next').NextConfig} */\n"
        "const nextConfig = {\n  output: 'export',\n};\nexport default nextConfig;\n"
    )


@pytest.mark.parametrize(FIELDS, FRAMEWORKS)
def test_each_frontend_with_a_build_script_runs_it_with_npm(
    tmp_path, name, package, deps, output_dir, cli_build
):
    write_package(tmp_path, dev=deps)
    with_next_export(tmp_path)

    found = detect_frontend(tmp_path)

    assert found is not None
    assert (found.name, found.build_command, found.output_dir) == (
        name,
        "npm run build",
        output_dir,
    )
    assert found.note is None
    assert found.reason.startswith(f"{package} in package.json devDependencies")
    assert "build script" in found.reason


@pytest.mark.parametrize(FIELDS, FRAMEWORKS)
def test_without_a_build_script_the_frameworks_own_cli_builds(
    tmp_path, name, package, deps, output_dir, cli_build
):
    write_package(tmp_path, dependencies=deps, build=None)
    with_next_export(tmp_path)

    found = detect_frontend(tmp_path)

    assert found is not None
    assert (found.name, found.build_command, found.output_dir) == (name, cli_build, output_dir)
    assert found.reason.startswith(f"{package} in package.json dependencies")
    assert "no build script" in found.reason


def test_the_reason_names_the_package_and_its_section(tmp_path):
    write_package(tmp_path, dev={"vite": "^5.2.0"})

    found = detect_frontend(tmp_path)

    assert found is not None
    assert found.reason.startswith("vite in package.json devDependencies")
    assert "build script" in found.reason


def test_a_package_in_both_sections_is_named_from_dependencies(tmp_path):
    write_package(tmp_path, dependencies={"vite": "5"}, dev={"vite": "5"})

    found = detect_frontend(tmp_path)

    assert found is not None
    assert found.reason.startswith("vite in package.json dependencies")


@pytest.mark.parametrize(
    ("lockfile", "command"),
    [
        (None, "npm run build"),
        ("package-lock.json", "npm run build"),
        ("pnpm-lock.yaml", "pnpm run build"),
        ("yarn.lock", "yarn build"),
        ("bun.lockb", "bun run build"),
        ("bun.lock", "bun run build"),
    ],
)
def test_the_build_script_runs_with_the_lockfiles_package_manager(tmp_path, lockfile, command):
    write_package(tmp_path, dev={"vite": "5"})
    if lockfile:
        (tmp_path / lockfile).write_text("")

    found = detect_frontend(tmp_path)

    assert found is not None
    assert found.build_command == command
    if lockfile and lockfile != "package-lock.json":
        assert lockfile in found.reason


def test_the_package_manager_field_wins_over_a_lockfile(tmp_path):
    write_package(tmp_path, dev={"vite": "5"}, packageManager="yarn@4.1.0")
    (tmp_path / "package-lock.json").write_text("{}")

    found = detect_frontend(tmp_path)

    assert found is not None
    assert found.build_command == "yarn build"


def test_without_a_build_script_the_lockfile_does_not_matter(tmp_path):
    write_package(tmp_path, dev={"vite": "5"}, build=None)
    (tmp_path / "pnpm-lock.yaml").write_text("")

    found = detect_frontend(tmp_path)

    assert found is not None
    assert found.build_command == "npx vite build"


@pytest.mark.parametrize("build", ["", "   "])
def test_an_empty_build_script_counts_as_none(tmp_path, build):
    write_package(tmp_path, dev={"react-scripts": "5"}, build=build)

    found = detect_frontend(tmp_path)

    assert found is not None
    assert found.build_command == "npx react-scripts build"


@pytest.mark.parametrize(
    ("config", "text"),
    [
        ("next.config.js", "module.exports = {\n  output: 'export',\n}\n"),
        ("next.config.mjs", 'export default { output: "export", trailingSlash: true }\n'),
        ("next.config.ts", "const config: NextConfig = {\n  output:`export`,\n};\n"),
    ],
)
def test_next_with_a_static_export(tmp_path, config, text):
    write_package(tmp_path, dependencies={"next": "14", "react": "18"})
    (tmp_path / config).write_text(text)

    found = detect_frontend(tmp_path)

    assert found is not None
    assert (found.name, found.build_command, found.output_dir) == (
        "Next.js",
        "npm run build",
        "out",
    )
    assert config in found.reason
    assert found.note is None


@pytest.mark.parametrize(
    "config_text",
    [
        None,  # no next.config at all
        "module.exports = { reactStrictMode: true }\n",
        "module.exports = {\n  // output: 'export',\n}\n",
        "/*\n * output: 'export'\n */\nmodule.exports = {}\n",
    ],
)
def test_next_without_a_static_export_is_detected_with_a_note(tmp_path, config_text):
    write_package(tmp_path, dependencies={"next": "14"})
    if config_text is not None:
        (tmp_path / "next.config.js").write_text(config_text)

    found = detect_frontend(tmp_path)

    assert found is not None
    assert (found.name, found.output_dir) == ("Next.js", "out")
    assert found.note is not None
    assert "output: 'export'" in found.note
    assert "static export" in found.note


def test_sveltekit_with_the_static_adapter(tmp_path):
    write_package(
        tmp_path, dev={"@sveltejs/kit": "2", "@sveltejs/adapter-static": "3", "vite": "5"}
    )

    found = detect_frontend(tmp_path)

    assert found is not None
    assert (found.name, found.build_command, found.output_dir) == (
        "SvelteKit",
        "npm run build",
        "build",
    )
    assert "@sveltejs/adapter-static" in found.reason
    assert found.note is None


def test_sveltekit_without_the_static_adapter_is_detected_with_a_note(tmp_path):
    write_package(tmp_path, dev={"@sveltejs/kit": "2", "@sveltejs/adapter-auto": "3", "vite": "5"})

    found = detect_frontend(tmp_path)

    assert found is not None
    assert (found.name, found.output_dir) == ("SvelteKit", "build")
    assert found.note is not None
    assert "@sveltejs/adapter-static" in found.note


def test_plain_html(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><h1>hi</h1>\n")
    (tmp_path / "style.css").write_text("h1 { color: red }\n")

    found = detect_frontend(tmp_path)

    assert found is not None
    assert (found.name, found.build_command, found.output_dir) == ("plain HTML", None, None)
    assert "index.html" in found.reason


def test_an_index_html_next_to_an_unknown_package_json_is_not_plain_html(tmp_path):
    write_package(tmp_path, dependencies={"lodash": "4"})
    (tmp_path / "index.html").write_text("<h1>hi</h1>\n")

    assert detect_frontend(tmp_path) is None


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"devDependencies": {"vite": "5",}', id="syntax-error"),
        pytest.param(b"", id="empty"),
        pytest.param(b'["vite"]', id="not-an-object"),
        pytest.param(b'{"devDependencies": {"vite": "\xff\xfe"}}', id="not-utf8"),
    ],
)
def test_an_invalid_package_json_detects_nothing(tmp_path, content):
    (tmp_path / "package.json").write_bytes(content)
    (tmp_path / "index.html").write_text("<h1>hi</h1>\n")

    assert detect_frontend(tmp_path) is None


def test_an_unreadable_package_json_detects_nothing(tmp_path):
    (tmp_path / "package.json").mkdir()  # reading it fails with an OSError, whoever runs this

    assert detect_frontend(tmp_path) is None


def test_odd_shapes_inside_package_json_are_tolerated(tmp_path):
    (tmp_path / "package.json").write_text(
        json.dumps({"dependencies": ["vite"], "devDependencies": None, "scripts": "build"})
    )
    assert detect_frontend(tmp_path) is None

    (tmp_path / "package.json").write_text(
        json.dumps({"devDependencies": {"vite": "5"}, "scripts": {"build": 1}, "packageManager": 3})
    )
    found = detect_frontend(tmp_path)
    assert found is not None
    assert found.build_command == "npx vite build"


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda root: None, id="empty-directory"),
        pytest.param(lambda root: (root / "main.py").write_text("print(1)\n"), id="python"),
        pytest.param(
            lambda root: write_package(root, dependencies={"express": "4"}), id="unknown-node"
        ),
    ],
)
def test_an_unknown_project_detects_nothing(tmp_path, setup):
    setup(tmp_path)

    assert detect_frontend(tmp_path) is None


def test_a_frontend_is_frozen(tmp_path):
    write_package(tmp_path, dev={"vite": "5"})
    found = detect_frontend(tmp_path)
    assert found is not None

    with pytest.raises(dataclasses.FrozenInstanceError):
        found.name = "other"  # type: ignore[misc]


# --- mixpeek init ---------------------------------------------------------------------


@pytest.fixture
def vite_app(tmp_path: Path) -> Path:
    root = write_package(tmp_path / "app", dev={"vite": "5"}, build="vite build")
    (root / "index.html").write_text("<div id=app></div>\n")
    return root


def test_init_without_a_terminal_writes_the_detected_values_without_asking(run_cli, vite_app):
    result = run_cli("init", str(vite_app), "--app", "app_fe")

    assert result.code == 0, result.stderr
    path = vite_app / "mixpeek.toml"
    assert result.stdout == f"{path}\n"
    assert read_toml(path) == {
        "app_id": "app_fe",
        "build_command": "npm run build",
        "output_dir": "dist",
        "dev_command": "npm run dev",  # what `mixpeek dev` starts
    }
    assert "detected Vite: vite in package.json devDependencies" in result.stderr
    assert "[Y/n]" not in result.stderr


def test_init_json_gains_the_build_fields(run_cli, vite_app):
    (vite_app / "yarn.lock").write_text("")

    result = run_cli("init", str(vite_app), "--app", "app_fe", "-e", "staging", "--json")

    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "path": str(vite_app / "mixpeek.toml"),
        "created": True,
        "app_id": "app_fe",
        "environment": "staging",
        "build_command": "yarn build",
        "output_dir": "dist",
        "dev_command": "yarn dev",
        "frontend": "Vite",
    }


def test_init_yes_never_asks_even_on_a_terminal(cli_env, vite_app):
    code, stderr = run_on_a_terminal(cli_env, [], "init", str(vite_app), "--app", "a1", "--yes")

    assert code == 0, stderr
    assert "[Y/n]" not in stderr
    assert read_toml(vite_app / "mixpeek.toml")["build_command"] == "npm run build"


def test_init_flags_win_over_detection_and_are_written_as_given(run_cli, vite_app):
    result = run_cli(
        "init",
        str(vite_app),
        "--app",
        "app_fe",
        "--build-command",
        "make  site 'quoted' \"twice\"",
        "--output-dir",
        "public/site",
        "--json",
    )

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["build_command"], data["output_dir"], data["frontend"]) == (
        "make  site 'quoted' \"twice\"",
        "public/site",
        "Vite",
    )
    assert read_toml(vite_app / "mixpeek.toml") == {
        "app_id": "app_fe",
        "build_command": "make  site 'quoted' \"twice\"",
        "output_dir": "public/site",
        "dev_command": "npm run dev",
    }


def test_init_one_flag_keeps_the_other_detected_value(run_cli, vite_app):
    result = run_cli("init", str(vite_app), "--app", "a1", "--output-dir", "build")

    assert result.code == 0, result.stderr
    assert read_toml(vite_app / "mixpeek.toml") == {
        "app_id": "a1",
        "build_command": "npm run build",
        "output_dir": "build",
        "dev_command": "npm run dev",
    }


def test_init_an_empty_build_command_writes_none(run_cli, vite_app):
    result = run_cli("init", str(vite_app), "--app", "a1", "--build-command", "", "--json")

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["build_command"], data["output_dir"]) == (None, "dist")
    assert read_toml(vite_app / "mixpeek.toml") == {
        "app_id": "a1",
        "output_dir": "dist",
        "dev_command": "npm run dev",
    }


def test_init_no_detect_writes_only_what_is_given(run_cli, vite_app):
    result = run_cli("init", str(vite_app), "--app", "a1", "--no-detect", "--json")

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["build_command"], data["output_dir"], data["frontend"]) == (None, None, None)
    assert read_toml(vite_app / "mixpeek.toml") == {"app_id": "a1"}
    assert "detected" not in result.stderr

    flagged = run_cli(
        "init", str(vite_app), "-a", "a2", "--force", "--no-detect", "--output-dir", "dist"
    )
    assert flagged.code == 0, flagged.stderr
    assert read_toml(vite_app / "mixpeek.toml") == {"app_id": "a2", "output_dir": "dist"}


def test_init_plain_html_and_unknown_projects_write_no_build_keys(run_cli, tmp_path):
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text("<h1>hi</h1>\n")
    plain = run_cli("init", str(html), "--app", "a1", "--json")
    assert plain.code == 0, plain.stderr
    assert json.loads(plain.stdout)["frontend"] == "plain HTML"
    assert "nothing to build" in plain.stderr
    assert read_toml(html / "mixpeek.toml") == {"app_id": "a1"}

    unknown = tmp_path / "unknown"
    unknown.mkdir()
    (unknown / "main.py").write_text("print(1)\n")
    result = run_cli("init", str(unknown), "--app", "a1", "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["build_command"], data["output_dir"], data["frontend"]) == (None, None, None)
    assert "no frontend detected" in result.stderr
    assert read_toml(unknown / "mixpeek.toml") == {"app_id": "a1"}


def test_init_an_invalid_package_json_is_no_detection_not_a_crash(run_cli, tmp_path):
    (tmp_path / "package.json").write_text("{not json")

    result = run_cli("init", str(tmp_path), "--app", "a1", "--json")

    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["frontend"] is None
    assert read_toml(tmp_path / "mixpeek.toml") == {"app_id": "a1"}


def test_init_warns_about_a_next_app_that_is_not_a_static_export(run_cli, tmp_path):
    write_package(tmp_path, dependencies={"next": "14"})

    result = run_cli("init", str(tmp_path), "--app", "a1")

    assert result.code == 0, result.stderr
    assert "warning: Next.js: only a static export deploys" in result.stderr
    assert "output: 'export'" in result.stderr
    assert read_toml(tmp_path / "mixpeek.toml")["output_dir"] == "out"


def test_init_detection_never_replaces_a_value_the_file_holds(run_cli, vite_app):
    path = vite_app / "mixpeek.toml"
    path.write_text('# mine\napp_id = "old"\nbuild_command = "make"  # by hand\n')

    refused = run_cli("init", str(vite_app), "--app", "new")
    assert refused.code == 2
    assert "already names app 'old'" in refused.stderr
    assert path.read_text() == '# mine\napp_id = "old"\nbuild_command = "make"  # by hand\n'

    forced = run_cli("init", str(vite_app), "--app", "new", "--force", "--json")
    assert forced.code == 0, forced.stderr
    assert "keeping build_command = 'make'" in forced.stderr
    assert json.loads(forced.stdout)["build_command"] is None
    assert path.read_text().startswith("# mine\n")
    assert read_toml(path) == {
        "app_id": "new",
        "build_command": "make",
        "output_dir": "dist",
        "dev_command": "npm run dev",
    }

    flagged = run_cli("init", str(vite_app), "-a", "new", "--force", "--build-command", "just")
    assert flagged.code == 0, flagged.stderr
    assert "build_command was 'make', now 'just'" in flagged.stderr
    assert read_toml(path)["build_command"] == "just"


def test_init_an_empty_flag_cannot_remove_a_key_and_says_so(run_cli, vite_app):
    (vite_app / "mixpeek.toml").write_text('build_command = "make"\n')

    result = run_cli("init", str(vite_app), "--app", "a1", "--build-command", "")

    assert result.code == 0, result.stderr
    assert "already sets build_command = 'make'" in result.stderr
    assert read_toml(vite_app / "mixpeek.toml")["build_command"] == "make"


@pytest.mark.parametrize("bad", ["/srv/www", "../elsewhere", "dist/../../x", "C:\\site"])
def test_init_refuses_an_output_dir_outside_the_app(run_cli, vite_app, bad):
    result = run_cli("init", str(vite_app), "--app", "a1", "--output-dir", bad)

    assert result.code == 2
    assert "invalid output directory" in result.stderr
    assert not (vite_app / "mixpeek.toml").exists()


# --- on a terminal --------------------------------------------------------------------


def test_init_on_a_terminal_asks_and_no_writes_only_the_app_id_and_environment(cli_env, vite_app):
    code, stderr = run_on_a_terminal(cli_env, ["app_typed", "staging", "n"], "init", str(vite_app))

    assert code == 0, stderr
    assert "detected Vite: vite in package.json devDependencies" in stderr
    assert (
        "Write build_command = 'npm run build' and output_dir = 'dist' and dev_command = "
        "'npm run dev' to mixpeek.toml? [Y/n]: " in stderr
    )
    # Asked after the app id and environment, so the answer "n" went to this question.
    assert stderr.index("App id") < stderr.index("Environment") < stderr.index("[Y/n]")
    assert read_toml(vite_app / "mixpeek.toml") == {"app_id": "app_typed", "environment": "staging"}


def test_init_on_a_terminal_takes_the_detected_values_by_default(cli_env, vite_app):
    code, stderr = run_on_a_terminal(
        cli_env, [""], "init", str(vite_app), "--app", "a1", "-e", "production"
    )

    assert code == 0, stderr
    assert "[Y/n]" in stderr
    assert read_toml(vite_app / "mixpeek.toml") == {
        "app_id": "a1",
        "environment": "production",
        "build_command": "npm run build",
        "output_dir": "dist",
        "dev_command": "npm run dev",
    }


def test_init_on_a_terminal_never_asks_about_explicit_flags(cli_env, vite_app):
    code, stderr = run_on_a_terminal(
        cli_env,
        ["y"],
        "init",
        str(vite_app),
        "-a",
        "a1",
        "-e",
        "staging",
        "--build-command",
        "make",
    )

    assert code == 0, stderr
    assert "Write output_dir = 'dist' and dev_command = 'npm run dev' to mixpeek.toml? [Y/n]: " in (
        stderr
    )
    assert "build_command = 'npm run build'" not in stderr
    assert read_toml(vite_app / "mixpeek.toml") == {
        "app_id": "a1",
        "environment": "staging",
        "build_command": "make",
        "output_dir": "dist",
        "dev_command": "npm run dev",
    }

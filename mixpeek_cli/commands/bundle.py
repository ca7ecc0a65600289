"""`mixpeek bundle`: build and write the deploy's zip to a file, deploy nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.output.runner import Output, run_command

if TYPE_CHECKING:
    from mixpeek_cli.output.console import Console
    from mixpeek_cli.output.reporter import Reporter


def bundle(
    path: options.PathArg = Path("."),
    output_file: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write the zip.", dir_okay=False)
    ] = ...,  # type: ignore[assignment]
    include_secret: options.IncludeSecret = None,
    build_command: options.BuildCommand = None,
    output_dir: options.OutputDir = None,
    no_build: options.NoBuild = False,
    no_bundle_check: options.NoBundleCheck = False,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Write the bundle `mixpeek deploy` would upload (after the build), and print its summary.

    A bundle Canvas would refuse is still written, with a warning.
    """
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.bundle.secrets.files import bundle_paths
        from mixpeek_cli.config.settings import resolve_settings
        from mixpeek_cli.deploy.prepare import prepare_bundle
        from mixpeek_cli.deploy.request import DeployRequest, check_directory

        root = check_directory(path)
        settings = resolve_settings(
            root=root, env=os.environ, build_command=build_command, output_dir=output_dir
        )
        request = DeployRequest(
            path=root,
            message=None,
            include_secrets=frozenset(bundle_paths(root, include_secret or [])),
            build=not no_build,
            bundle_check=not no_bundle_check,
            quiet=quiet,
        )
        prepared = prepare_bundle(
            settings, request, reporter, root=root, dest=output_file, refuse=False
        )
        built, sources, check = prepared.bundle, prepared.sources, prepared.check
        if not check.ok:
            reporter.warn(f"Canvas would refuse this bundle: {check.problem}. {check.hint}")
        summary = {
            "path": str(built.zip_path),
            "sha256": built.sha256,
            "bytes": built.size,
            "file_count": len(built.files),
            "input_bytes": built.input_bytes,
            "source_files_count": sources.count,
            "source_files_skipped": sources.skipped,
            "source_files_left_out": sources.left_out_json(),
            "build": prepared.build.to_json() if prepared.build else None,
            "output_dir": prepared.output_dir,
            "bundle_check": check.to_json(),
        }
        text = "\n".join(
            f"{key}: {value}"
            for key, value in summary.items()
            if not isinstance(value, dict) and value is not None
        )
        output.emit(summary, text)
        return 0

    raise typer.Exit(run_command(output, body))

"""`mixpeek bundle`: write the deploy's zip to a file, deploy nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.output.runner import Output, run_command

if TYPE_CHECKING:
    from rich.console import Console

    from mixpeek_cli.output.reporter import Reporter


def bundle(
    path: options.PathArg = Path("."),
    output_file: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write the zip.", dir_okay=False)
    ] = ...,  # type: ignore[assignment]
    include_secret: options.IncludeSecret = None,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Write the bundle `mixpeek deploy` would upload, and print its summary."""
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.bundle.build import build_bundle
        from mixpeek_cli.bundle.secrets.files import bundle_paths, make_guard
        from mixpeek_cli.bundle.source_files import select_source_files
        from mixpeek_cli.deploy.request import check_directory

        root = check_directory(path)
        include = bundle_paths(root, include_secret or [])
        built = build_bundle(root, reporter, dest=output_file, guard=make_guard(include, reporter))
        sources = select_source_files(built.files)
        summary = {
            "path": str(built.zip_path),
            "sha256": built.sha256,
            "bytes": built.size,
            "file_count": len(built.files),
            "input_bytes": built.input_bytes,
            "source_files_count": len(sources.files),
            "source_files_skipped": (
                sources.skipped_binary + sources.skipped_large + sources.skipped_budget
            ),
        }
        output.emit(summary, "\n".join(f"{key}: {value}" for key, value in summary.items()))
        return 0

    raise typer.Exit(run_command(output, body))

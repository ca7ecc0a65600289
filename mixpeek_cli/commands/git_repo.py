"""`mixpeek git connect|disconnect|status`: the GitHub repository the app deploys from.

``connect`` without a URL takes the local repository's ``origin`` and its current branch.
The Mixpeek GitHub App must be installed on the repository's account: when the service
says it is not, the command prints where to install it (``github/install-url``) and
exits 5, with that URL in its ``--json`` document too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mixpeek_cli.commands.confirm import Yes, confirmed, refuse_without_terminal
from mixpeek_cli.commands.layer import Result, Run, command
from mixpeek_cli.printable import printable

git_app = typer.Typer(no_args_is_help=True)

DEFAULT_BRANCH = "main"  # the service's own default [sdk: ConnectRepoRequest]


def _repo_and_branch(repo_url: str | None, branch: str | None) -> tuple[str, str, str]:
    """The repository URL and branch to send, and where they came from (for people)."""
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.git.origin import github_repo_url, read_local_repo

    local = None
    if repo_url is None or branch is None:
        try:
            local = read_local_repo(Path("."))
        except UsageError:
            if repo_url is None:
                raise
    if repo_url is None:
        assert local is not None
        if local.origin is None:
            raise UsageError(
                "this git repository has no 'origin' remote",
                hint="pass the repository's URL: mixpeek git connect https://github.com/OWNER/REPO",
            )
        url = github_repo_url(local.origin)
        if url is None:
            # Not the remote itself: it may hold credentials.
            raise UsageError(
                "the 'origin' remote is not a GitHub repository",
                hint="Canvas deploys from GitHub: pass the URL, "
                "mixpeek git connect https://github.com/OWNER/REPO",
            )
        source = "the local repository's origin"
    else:
        url = github_repo_url(repo_url)
        if url is None:
            raise UsageError(
                "REPO_URL is not a GitHub repository URL",
                hint="give it as https://github.com/OWNER/REPO (or git@github.com:OWNER/REPO)",
            )
        source = "REPO_URL"
    if branch is None:
        # The local branch only when the repository is the local one; else the default.
        local_url = github_repo_url(local.origin) if local and local.origin else None
        ours = local is not None and local_url == url and local.branch is not None
        branch = local.branch if ours and local and local.branch else DEFAULT_BRANCH
    return url, branch, source


@git_app.command("connect")
@command(
    app=True,
    render=lambda run, shown: (
        printable(shown["repo_url"] if shown["connected"] else shown["install_url"] or "") or None
    ),
)
def connect(
    run: Run,
    repo_url: Annotated[
        str | None,
        typer.Argument(
            help="https://github.com/OWNER/REPO [default: the local repository's origin].",
            metavar="[REPO_URL]",
            show_default=False,
        ),
    ] = None,
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch",
            "-b",
            help="The branch whose pushes deploy [default: the local repository's current "
            "branch, else main].",
            show_default=False,
        ),
    ] = None,
) -> Result:
    """Connect the app to a GitHub repository: pushes to the branch deploy the app. When
    the Mixpeek GitHub App is not installed on the repository's account, prints where to
    install it (exit 5)."""
    from mixpeek_cli.errors import ApiError, AuthError, ExitCode
    from mixpeek_cli.service import repo

    url, chosen, source = _repo_and_branch(repo_url, branch)
    app_id, client = run.client()
    shown: dict[str, Any] = {
        "app_id": app_id,
        "repo_url": url,
        "branch": chosen,
        "connected": False,
        "install_url": None,
    }
    run.reporter.info(f"connecting {url} (branch {chosen}, from {source})")
    with client as api:
        try:
            done = repo.connect(api, app_id, url, chosen)
        except (ApiError, AuthError) as exc:
            if not repo.app_not_installed(exc):
                raise
            install = repo.install_url(api, app_id)
            return _not_installed(shown, url, install, int(ExitCode.API))
    run.reporter.info(f"connected: pushes to {done.branch} of {done.repo_url} deploy app {app_id}")
    return Result({**shown, "repo_url": done.repo_url, "branch": done.branch, "connected": True})


def _not_installed(shown: dict[str, Any], url: str, install: str | None, code: int) -> Result:
    owner = url.rsplit("/", 2)[-2]
    where = f"install it at {install}" if install else "install it from the Mixpeek dashboard"
    message = (
        f"the Mixpeek GitHub App is not installed on {owner}'s GitHub account: {where}, "
        "then run `mixpeek git connect` again"
    )
    data = {
        **shown,
        "install_url": install,
        "error": message,
        "exit_code": code,
        "deploy_id": None,
        "maybe_created": False,
    }
    # People get the URL alone on stdout (to open or copy), the sentence on stderr.
    return Result(data, code, (f"error: {message}",))


def _status_shown(run: Run, shown: dict[str, Any]) -> str | None:
    from mixpeek_cli.commands.table import cell

    if not shown["connected"]:
        return None
    return f"{cell(shown['repo_url'])}\t{cell(shown['branch'])}"


@git_app.command("status")
@command(app=True, render=_status_shown)
def status(run: Run) -> dict[str, Any]:
    """Show the repository and branch the app deploys from (nothing on stdout when none)."""
    from mixpeek_cli.service import repo

    with run.api() as (app_id, api):
        found = repo.connected_repo(api, app_id)
    if found.repo_url is None:
        run.reporter.info(f"app {app_id} is connected to no repository: mixpeek git connect")
    return {
        "app_id": app_id,
        "repo_url": found.repo_url,
        "branch": found.branch,
        "connected": found.repo_url is not None,
    }


@git_app.command("disconnect")
@command(
    app=True,
    render=lambda run, shown: printable(shown["repo_url"]) if shown["disconnected"] else None,
)
def disconnect(run: Run, yes: Yes = False) -> dict[str, Any]:
    """Disconnect the app from its repository: pushes stop deploying it. Asks first on a
    terminal; in scripts pass --yes (without it and without a terminal, nothing is sent:
    exit 2)."""
    from mixpeek_cli.service import repo

    app_id = run.settings.require_remote()[0]
    refuse_without_terminal(yes, f"git disconnect stops pushes deploying app {app_id}")
    with run.api() as (_, api):
        found = repo.connected_repo(api, app_id)
        shown = {"app_id": app_id, "repo_url": found.repo_url, "disconnected": False}
        if found.repo_url is None:
            run.reporter.info(f"app {app_id} is connected to no repository: nothing to do")
            return shown
        question = f"Disconnect {found.repo_url} from app {app_id}? Pushes stop deploying it."
        if not confirmed(yes, question):
            run.reporter.info("nothing was changed")
            return shown
        repo.disconnect(api, app_id)
    run.reporter.info(f"disconnected {found.repo_url} from app {app_id}")
    return {**shown, "disconnected": True}

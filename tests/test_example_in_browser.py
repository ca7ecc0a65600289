"""The README's example in a real browser (Debian's chromium, headless, over the DevTools
protocol), served by `mixpeek dev` and deployed to the emulator: the page's own script
reads window.__MIXPEEK__, calls the Mixpeek API through /api, and shows the server
function's answer once its button is clicked."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cdp import Browser, Page, find_chromium
from conftest import API_KEY
from runtime_support import start_dev

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hello"
APP_ID = "hello-example"  # the example's mixpeek.toml


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    program = find_chromium()
    if program is None:
        pytest.fail("chromium is needed (.ci/run installs Debian's chromium)")
    chromium = Browser(program, tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    tab = browser.new_page()
    yield tab
    tab.close()


@pytest.fixture
def example(tmp_path: Path) -> Path:
    copy = tmp_path / "hello"
    shutil.copytree(EXAMPLE, copy)
    return copy


def ask_the_function(page: Page) -> dict[str, object]:
    """Click the button as a person would; the (new) answer the page shows, parsed."""
    before = page.value("document.getElementById('answer').textContent")
    page.click("#ask")
    shown = page.wait_for(
        f"(t => t !== {json.dumps(before)} && t)(document.getElementById('answer').textContent)"
    )
    status, _, body = shown.partition(": ")
    assert status == "200", shown
    return json.loads(body)  # type: ignore[no-any-return]


def test_the_example_under_mixpeek_dev(emu, cli_env, page: Page, example: Path) -> None:  # type: ignore[no-untyped-def]
    env = {**cli_env, "MIXPEEK_BASE_URL": emu.base_url, "MIXPEEK_API_KEY": API_KEY}
    dev = start_dev([str(example), "--port", "0"], env)
    try:
        page.goto(dev.url + "/")
        assert page.value("window.__MIXPEEK__.environment") == "development"
        assert page.value("document.getElementById('where').textContent") == (
            f"Served by Canvas: app {APP_ID}, development."
        )
        api_line = page.wait_for(
            "(t => !t.startsWith('Asking') && t)(document.getElementById('api').textContent)"
        )
        assert api_line.startswith(f"Through /api, the Mixpeek API knows app {APP_ID}"), api_line
        assert ask_the_function(page) == {"message": "Hello, Canvas!", "count": 1}
        assert ask_the_function(page)["count"] == 2
        html = page.value("document.documentElement.outerHTML")
        assert API_KEY not in html
    finally:
        code, stderr = dev.stop()
    assert code == 0, stderr
    assert "GET /functions/hello 200" in stderr and f"GET /api/v1/apps/{APP_ID} 200" in stderr


def test_the_example_deployed_to_the_emulator(
    emu, run_cli, remote_env, page: Page, example: Path
) -> None:  # type: ignore[no-untyped-def]
    emu.state.set_app(APP_ID, env_vars={"MIXPEEK_API_KEY": API_KEY})  # enables its /api proxy
    result = run_cli(
        "deploy",
        str(example),
        "-m",
        "hello",
        "--json",
        env={**remote_env, "MIXPEEK_APP_ID": APP_ID},
    )
    assert result.code == 0, result.stderr
    url = json.loads(result.stdout)["url"]  # http://staging-hello-example.localhost:<port>
    page.goto(url + "/")
    assert page.value("window.__MIXPEEK__.environment") == "staging"
    assert page.value("document.getElementById('where').textContent") == (
        f"Served by Canvas: app {APP_ID}, staging."
    )
    api_line = page.wait_for(
        "(t => !t.startsWith('Asking') && t)(document.getElementById('api').textContent)"
    )
    assert api_line.startswith(f"Through /api, the Mixpeek API knows app {APP_ID}"), api_line
    first = ask_the_function(page)
    assert first["message"] == "Hello, Canvas!" and isinstance(first["count"], int)
    assert API_KEY not in page.value("document.documentElement.outerHTML")

"""The secret guard: secret-bearing files stay out, credentials in shipped files stop the deploy."""

from __future__ import annotations

import os
import random
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from mixpeek_cli.bundle.files import BundleFile
from mixpeek_cli.bundle.secrets.files import secret_reason
from mixpeek_cli.bundle.secrets.scan import scan_bytes

RNG = random.Random(7)


def token(alphabet: str = string.ascii_letters + string.digits, n: int = 36) -> str:
    # Built at run time so no real-looking credential sits in the repository.
    return "".join(RNG.choice(alphabet) for _ in range(n))


def pem_block() -> str:
    body = "\n".join(token(string.ascii_letters + string.digits + "+/", 64) for _ in range(4))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"


POSITIVES = {
    "a private key block": lambda: pem_block(),
    "a Stripe live key": lambda: f'STRIPE = "sk_live_{token(n=24)}"\n',
    "a GitHub token": lambda: f"token: ghp_{token()}\n",
    "a Slack token": lambda: f"SLACK=xoxb-{token(string.digits, 12)}-{token(n=24)}\n",
    "a Mixpeek API key": lambda: f'client = Mixpeek(api_key="sk_{token(n=32)}")\n',
    "an AWS secret access key": lambda: (
        f"aws_access_key_id = AKIA{token(string.ascii_uppercase + string.digits, 16)}\n"
        f"aws_secret_access_key = {token(string.ascii_letters + string.digits + '/+', 40)}\n"
    ),
}

NEGATIVES = [
    "# Keep your private key safe: never commit the private key file.\n",
    'API_KEY = "sk_xxxxxxxxxxxxxxxxxxxxxxxxxxxx"  # replace with your key\n',
    "Authorization: Bearer sk_xxxxxxxxxxxxx\n",
    "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n",
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    f"aws_access_key_id = AKIA{'Q' * 16}\n",  # a key id alone grants nothing
    'token = os.environ["GITHUB_TOKEN"]\n',
    "sha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n",
    "model = sk_learn_model_parameters_v2_final_weights\n",
    "stripe.api_key = 'sk_live_...'  # from the dashboard\n",
    "id = 5f2b9c1e-8a7d-4c3b-9e6f-1a2b3c4d5e6f\n",
    # "sk_" and "xox" inside longer words are not token prefixes.
    "cache = disk_9f8e7d6c5b4a39281726354aQ7\n",
    "v = boxoxb-1234567890123-abcdefghijklmnopqrstuvwx\n",
    # Private keys talked about, checked for or stood in for, in the escaped forms too.
    "The file starts with -----BEGIN PRIVATE KEY----- and ends with -----END PRIVATE KEY-----\n",
    'if (!pem.startsWith("-----BEGIN PRIVATE KEY-----\\n")) throw new Error("bad key");\n',
    "privateKey: process.env.FIREBASE_PRIVATE_KEY.replace(/\\\\n/g, '\\n'),\n",
    '"private_key": "-----BEGIN PRIVATE KEY-----\\nYOUR_PRIVATE_KEY\\n-----END PRIVATE KEY-----"\n',
    'PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n"\n',
    'PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\\n<your key>\\n-----END PRIVATE KEY-----\\n"\n',
    f'"private_key": "-----BEGIN PRIVATE KEY-----\\n{"X" * 64}\\n-----END PRIVATE KEY-----"\n',
    f"-----BEGIN RSA PRIVATE KEY-----\r\n{'A' * 64}\r\n-----END RSA PRIVATE KEY-----\r\n",
]


@pytest.mark.parametrize("kind", sorted(POSITIVES))
def test_real_looking_credentials_are_found_with_line_and_masked(kind):
    text = "line one\n" + POSITIVES[kind]()
    findings = list(scan_bytes("app/config.py", text.encode()))
    assert [f.kind for f in findings] == [kind]
    finding = findings[0]
    assert finding.line >= 2
    secret_part = text.split("\n")[1 if kind != "an AWS secret access key" else 2]
    tail = secret_part[-12:]
    assert tail not in finding.describe()  # masked
    assert finding.describe().startswith(f"app/config.py:{finding.line} holds {kind}")


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        *(
            ("a GitHub token", f"{prefix}_{token()}")
            for prefix in ("ghp", "gho", "ghu", "ghs", "ghr")
        ),
        ("a GitHub token", f"github_pat_{token(string.ascii_letters + string.digits + '_', 70)}"),
    ],
)
def test_every_token_prefix_gets_past_the_cheap_gate(kind, value):
    """The gate that spares most files the regex must let every prefix of a format through."""
    findings = list(scan_bytes("app.js", f"const t = '{value}'\n".encode()))
    assert [f.kind for f in findings] == [kind]


def test_a_temporary_aws_key_pair_is_found_too():
    key_id = f"ASIA{token(string.ascii_uppercase + string.digits, 16)}"
    secret = token(string.ascii_letters + string.digits + "/+", 40)
    text = f"aws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    findings = list(scan_bytes("env.sh", text.encode()))
    assert [f.kind for f in findings] == ["an AWS secret access key"]


@pytest.mark.parametrize("text", NEGATIVES)
def test_docs_and_placeholders_are_not_findings(text):
    assert list(scan_bytes("README.md", text.encode())) == []


def key_lines(n: int = 6) -> list[str]:
    return [token(string.ascii_letters + string.digits + "+/", 64) for _ in range(n)]


def service_account_json() -> str:
    """A Google/Firebase service account key file as the console downloads it."""
    pem = "\\n".join(["-----BEGIN PRIVATE KEY-----", *key_lines(), "-----END PRIVATE KEY-----", ""])
    return (
        "{\n"
        '  "type": "service_account",\n'
        '  "project_id": "demo-app",\n'
        f'  "private_key_id": "{token(string.hexdigits.lower(), 40)}",\n'
        f'  "private_key": "{pem}",\n'
        '  "client_email": "firebase-adminsdk@demo-app.iam.gserviceaccount.com"\n'
        "}\n"
    )


def dotenv_line() -> str:
    pem = "\\n".join(["-----BEGIN PRIVATE KEY-----", *key_lines(), "-----END PRIVATE KEY-----", ""])
    return f'PROJECT_ID=demo-app\nPRIVATE_KEY="{pem}"\n'


def encrypted_pem(eol: str) -> str:
    headers = ["Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF"]
    lines = ["-----BEGIN RSA PRIVATE KEY-----", *headers, "", *key_lines()]
    return "line one" + eol + eol.join([*lines, "-----END RSA PRIVATE KEY-----", ""])


PRIVATE_KEY_FORMS = {
    # The key inside JSON: its newlines are the two characters \n.
    "service account JSON": (service_account_json, 5),
    "dotenv, quoted and escaped": (dotenv_line, 2),
    "PEM with CRLF line ends": (lambda: "x\r\n" + pem_block().replace("\n", "\r\n"), 2),
    "encrypted PEM, CRLF": (lambda: encrypted_pem("\r\n"), 2),
    "encrypted PEM, escaped": (lambda: encrypted_pem("\\n"), 1),
    "indented (YAML block, template literal)": (
        lambda: "key: |\n" + "".join(f"  {line}\n" for line in pem_block().splitlines()),
        2,
    ),
    # JSON inside a JSON string; and PHP's json_encode, which writes / as \/.
    "escaped twice": (lambda: service_account_json().replace("\\n", "\\\\n"), 5),
    "slashes escaped": (lambda: service_account_json().replace("/", "\\/"), 5),
    "newlines stripped": (lambda: "k = '" + pem_block().replace("\n", "") + "'\n", 1),
}


@pytest.mark.parametrize("form", sorted(PRIVATE_KEY_FORMS))
def test_a_private_key_is_found_in_every_form_a_file_holds_it(form):
    make, line = PRIVATE_KEY_FORMS[form]
    text = make()

    findings = list(scan_bytes("serviceAccountKey.json", text.encode()))

    assert [(f.kind, f.line) for f in findings] == [("a private key block", line)]
    shown = findings[0].describe()
    assert shown.startswith(f"serviceAccountKey.json:{line} holds a private key block (-----BEGIN")
    # Masked: the header's first word, then nothing of the key.
    material = re.findall(r"[A-Za-z0-9+]{12,}", text.split("PRIVATE KEY-----", 1)[1])
    assert material and not any(run in shown for run in material)
    assert "PRIVATE KEY-----" not in shown


def test_binary_files_are_not_scanned():
    data = b"\0\x01\x02" + f"ghp_{token()}".encode()
    assert list(scan_bytes("logo.png", data)) == []


def make_file(tmp_path: Path, rel: str, content: str = "x") -> BundleFile:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return BundleFile(path=rel, source=path, size=path.stat().st_size, executable=False)


@pytest.mark.parametrize(
    ("rel", "content", "secret"),
    [
        (".env", "A=1", True),
        ("config/.env.production", "A=1", True),
        (".env.example", "A=", False),
        (".env.sample", "A=", False),
        (".env.template", "A=", False),
        ("deploy/id_rsa", "key", True),
        ("id_ed25519", "key", True),
        ("id_ed25519.pub", "ssh-ed25519 AAAA", False),
        ("certs/server.pem", "-----BEGIN PRIVATE KEY-----\nMII\n", True),
        ("certs/ca.pem", "-----BEGIN CERTIFICATE-----\nMII\n", False),
        ("tls/server.key", "-----BEGIN EC PRIVATE KEY-----\nMII\n", True),
        (".npmrc", "//registry.npmjs.org/:_authToken=abc123\n", True),
        (".npmrc", "registry=https://registry.npmjs.org/\n", False),
        (".pypirc", "[pypi]\nusername = __token__\npassword = pypi-abc\n", True),
        (".pypirc", "[distutils]\nindex-servers = pypi\n", False),
        (".aws/credentials", "[default]\n", True),
        ("home/.ssh/config", "Host x\n", True),
        ("src/environment.py", "x", False),
    ],
)
def test_secret_bearing_files(tmp_path, rel, content, secret):
    assert (secret_reason(make_file(tmp_path, rel, content)) is not None) is secret


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_a_scan_child_is_started_only_when_a_second_core_is_free():
    # A fresh interpreter pinned to one core (as `taskset -c 0` runs the CLI), then to all.
    probe = (
        "import os, sys; cores = sorted(os.sched_getaffinity(0));"
        " os.sched_setaffinity(0, cores[: int(sys.argv[1])] or cores);"
        " from mixpeek_cli.bundle.secrets.worker import child_from_bytes;"
        " print(child_from_bytes())"
    )

    def threshold(cores: int) -> int:
        out = subprocess.run([sys.executable, "-c", probe, str(cores)], capture_output=True)
        return int(out.stdout)

    from mixpeek_cli.bundle.secrets.worker import IN_PROCESS_BYTES

    assert threshold(1) == sys.maxsize  # one core: the scan always runs in-process
    if len(os.sched_getaffinity(0)) > 1:
        assert threshold(0) == IN_PROCESS_BYTES


def test_the_scan_runs_in_a_child_and_falls_back_to_scanning_here(tmp_path):
    from mixpeek_cli.bundle.secrets.worker import _parse, scan_in_child

    files = [
        make_file(tmp_path, "a.py", f"TOKEN = 'ghp_{token()}'\n"),
        make_file(tmp_path, "b.py", "print('clean')\n"),
    ]
    from_child = scan_in_child(files, in_process_below=0)  # a child even for two files
    # A child that died or answered nonsense must never mean "nothing found".
    from_fallback = _parse(b"", files, None)

    assert [f.describe() for f in from_child] == [f.describe() for f in from_fallback]
    assert [f.path for f in from_child] == ["a.py"]


def test_the_child_answers_by_itself_whatever_the_environment_says(tmp_path):
    # The fallback would hide a child that cannot start: ask the child directly. It runs
    # isolated (-I -S), so a PYTHONPATH shadowing the standard library does not reach it.
    import json
    import os
    import subprocess

    from mixpeek_cli.bundle.secrets.worker import child_command

    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "json.py").write_text("raise SystemExit('the shadowing json was imported')\n")
    secret = make_file(tmp_path, "a.py", f"TOKEN = 'ghp_{token()}'\n")
    clean = make_file(tmp_path, "b.py", "print('clean')\n")
    listing = [[f.path, os.fspath(f.source), f.size] for f in (secret, clean)]

    done = subprocess.run(
        child_command(),
        input=json.dumps(listing).encode(),
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(shadow)},
        cwd=shadow,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr.decode()
    findings = json.loads(done.stdout)["findings"]
    assert [(path, kind) for path, _, kind, _ in findings] == [("a.py", "a GitHub token")]


def test_a_read_error_in_the_child_is_reported_like_one_here(tmp_path):
    from mixpeek_cli.bundle.secrets.worker import scan_in_child
    from mixpeek_cli.errors import UsageError

    missing = BundleFile(path="gone.py", source=tmp_path / "gone.py", size=3, executable=False)

    with pytest.raises(UsageError, match=r"cannot read gone\.py"):
        scan_in_child([missing], in_process_below=0)
    with pytest.raises(UsageError, match=r"cannot read gone\.py"):
        scan_in_child([missing])  # and in-process, as a small scan is


def test_a_child_started_early_is_the_one_that_scans_and_close_stops_one_unused(tmp_path):
    from mixpeek_cli.bundle.secrets.worker import ScanChild, _stop, scan_in_child

    files = [make_file(tmp_path, "a.py", f"TOKEN = 'ghp_{token()}'\n")]
    early = ScanChild()
    early.start()

    found = scan_in_child(files, in_process_below=0, started=early)

    assert [f.path for f in found] == ["a.py"]
    assert early.take() is None  # taken by the scan, which stopped it when done
    unused = ScanChild()
    unused.start()
    proc = unused.take()
    assert proc is not None and proc.poll() is None
    _stop(proc)
    assert proc.returncode is not None
    unused.start()
    unused.close()
    assert unused.take() is None


class _RecordingGuard:
    """The real guard, with the order of the calls build_bundle makes written down."""

    def __init__(self) -> None:
        from mixpeek_cli.bundle.secrets.files import SecretGuard
        from mixpeek_cli.output.reporter import NullReporter

        self.real = SecretGuard(set(), NullReporter())
        self.calls: list[str] = []
        self.warm_at = self.real.warm_at

    def warm(self) -> None:
        self.calls.append("warm")
        self.real.warm()

    def release(self) -> None:
        self.calls.append("release")
        self.real.release()

    def select(self, files):
        return self.real.select(files)

    def scan(self, files, stop=None):
        self.calls.append("scan")
        self.scanned = [file.path for file in files]
        return self.real.scan(files, stop)

    def scans_here(self, files):
        return self.real.scans_here(files)

    def judge(self, findings):
        self.real.judge(findings)


def test_a_large_tree_starts_the_scan_child_during_the_walk(tmp_path, monkeypatch):
    from mixpeek_cli.bundle.build import build_bundle
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.output.reporter import NullReporter

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    small, large = tmp_path / "small", tmp_path / "large"
    make_file(small, "index.html", "<p>hi</p>\n")
    make_file(large, "index.html", "<p>hi</p>\n")
    guard = _RecordingGuard()
    make_file(large, "data.txt", "x" * (guard.warm_at + 1))
    make_file(large, "app.py", f"TOKEN = 'ghp_{token()}'\n")

    with pytest.raises(UsageError, match=r"app\.py:1 holds a GitHub token"):
        build_bundle(large, NullReporter(), guard=guard)
    assert guard.calls == ["warm", "scan", "release"]

    (large / "app.py").write_text("print('clean')\n")
    make_file(large, "new.py", "print('new')\n")  # a new listing: a full walk
    guard = _RecordingGuard()
    build_bundle(large, NullReporter(), guard=guard)
    again = _RecordingGuard()
    reused = build_bundle(large, NullReporter(), guard=again)
    (large / "new.py").write_text("print('edited')\n")  # same listing: the walk is replayed
    edited = _RecordingGuard()
    build_bundle(large, NullReporter(), guard=edited)
    tiny = _RecordingGuard()
    build_bundle(small, NullReporter(), guard=tiny)

    assert guard.calls == ["warm", "scan", "release"]
    # A replayed walk starts nothing early: most often its bundle is reused as it is.
    assert reused.reused and again.calls == ["release"]
    assert edited.calls == ["scan", "release"]
    assert tiny.calls == ["scan", "release"]  # scanned here: no child to start


def test_a_bundle_cached_under_older_rules_is_scanned_again(tmp_path, private_home, monkeypatch):
    # An upgrade that teaches the scan a new form must not reuse what the old rules passed.
    from mixpeek_cli.bundle import cache as bundle_cache
    from mixpeek_cli.bundle.build import build_bundle
    from mixpeek_cli.bundle.secrets import scan
    from mixpeek_cli.bundle.secrets.files import make_guard
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.output.reporter import NullReporter

    root = tmp_path / "app"
    make_file(root, "index.html", "<p>hi</p>\n")
    make_file(root, "serviceAccountKey.json", service_account_json())
    with monkeypatch.context() as older:
        older.setattr(bundle_cache, "RULES_VERSION", scan.RULES_VERSION - 1)
        older.setattr(scan, "scan_bytes", lambda path, data: iter(()))  # blind to the key
        build_bundle(root, NullReporter(), guard=make_guard(set(), NullReporter()))

    with pytest.raises(UsageError, match=r"serviceAccountKey\.json:5 holds a private key block"):
        build_bundle(root, NullReporter(), guard=make_guard(set(), NullReporter()))


# -- end to end: the CLI as a subprocess, against the emulator -------------------------


def assert_refused(result, path_and_line: str) -> str:  # type: ignore[no-untyped-def]
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert f"refusing to upload: {path_and_line} holds a private key block" in error
    assert ".mixpeekignore" in error and "--include-secret" in error
    return error


def key_material(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9+/]{20,}", text.split("PRIVATE KEY-----", 1)[1])


def test_a_service_account_key_in_the_tree_stops_the_deploy(emu, run_cli, remote_env, app_dir):
    text = service_account_json()
    (app_dir / "serviceAccountKey.json").write_text(text)

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert_refused(result, "serviceAccountKey.json:5")
    assert not any(run in result.out_and_err for run in key_material(text))
    assert emu.state.requests == []  # not even the upload URL was asked for


def test_a_key_in_a_source_file_outside_the_output_dir_stops_the_deploy(
    emu, run_cli, remote_env, tmp_path
):
    # The zip (dist/) is clean; the key sits in a file only source_files would carry.
    project = tmp_path / "project"
    make_file(project, "dist/index.html", "<!doctype html><p>hi</p>\n")
    make_file(project, "src/main.js", "console.log('hi')\n")
    text = dotenv_line()
    make_file(project, "config/prod.env", text)

    result = run_cli("deploy", str(project), "--output-dir", "dist", "-m", "x", env=remote_env)

    assert_refused(result, "config/prod.env:2")
    assert not any(run in result.out_and_err for run in key_material(text))
    assert emu.state.requests == []


def test_a_tree_scanned_in_process_is_scanned_from_the_writer_s_reads_and_the_rest(
    tmp_path, monkeypatch
):
    """Where no child pays, the files the writer reads whole are scanned from its bytes,
    bigger ones on the scan's thread: every finding is there, in bundle order."""
    from mixpeek_cli.bundle.build import build_bundle
    from mixpeek_cli.bundle.zipwriter import CHUNK_SIZE
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.output.reporter import NullReporter

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "app"
    make_file(root, "index.html", "<p>hi</p>\n")
    filler = "print('x')\n" * (CHUNK_SIZE // 11 + 1)  # more than a chunk: read in parts
    make_file(root, "a_big.py", f"{filler}TOKEN = 'ghp_{token()}'\n")
    make_file(root, "z.py", f"KEY = 'sk_live_{token()}'\n")
    guard = _RecordingGuard()

    with pytest.raises(UsageError) as refused:
        build_bundle(root, NullReporter(), guard=guard)
    assert "a_big.py:95327 holds a GitHub token" in str(refused.value)
    assert "and 1 more" in str(refused.value)  # z.py's Stripe key, found in the writer
    assert guard.calls == ["scan", "release"]
    assert guard.scanned == ["a_big.py"]  # the thread read only what the writer read in parts

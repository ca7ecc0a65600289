"""A local emulator of the Mixpeek Apps deploy pipeline (the published API, docs/api.md).

It serves the API over real HTTP on loopback (FastAPI + uvicorn) and stores bundles in
moto's real S3 server, also on loopback::

    from mixpeek_cli.emulator import Emulator

    with Emulator(build_seconds=0.3) as emu:
        emu.base_url           # "http://127.0.0.1:54321": point MIXPEEK_BASE_URL here
        emu.s3_endpoint_url    # moto's URL; presigned upload URLs point here
        emu.bucket             # "mixpeek-emulator-<hex>", unique per instance
        emu.s3_client()        # boto3 S3 client for moto, dummy credentials
        emu.state              # EmulatorState: the in-process test controls below

``start_emulator(...)`` does the same and returns the started handle; ``handle.wait()``
blocks until it stops (Ctrl-C friendly), ``handle.stop()`` shuts it down.

API behaviour (every answer carries exactly the fields of the SDK's models)
--------------------------------------------------------------------------
* Request bodies are strict, as the service's: an undeclared key is a 422
  ``extra_forbidden``, and types are not coerced.
* Every ``/v1`` call needs ``Authorization: Bearer <key>``: a missing or malformed one, or
  a key outside ``api_keys`` when that is set, is 403 ``UnauthorizedError``.
* ``POST /v1/apps/{app_id}/deploy/upload-url`` ``{"filename", "content_type"}`` gives a
  boto3-presigned PUT URL (Content-Type signed in) for a fresh key
  ``app-builds/{app_id}/{token}/{filename}``, valid ``upload_url_seconds``.
* ``POST .../deploy/verify-upload`` ``{"bundle_s3_key"}`` HEADs the object: ``exists``,
  ``etag`` (quoted, as S3 gives it), ``size_bytes``, ``last_modified``; a key outside
  ``app-builds/{app_id}/`` is 400 ``BadRequestError``.
* ``POST .../deploy`` queues a build; ``source="cli_upload"`` without ``bundle_s3_key`` is a
  422 ``HTTPValidationError``. ``GET .../deploys/{deploy_id}`` is the
  ``DeployStatusResponse``; an unknown deploy is 404 ``NotFoundError``.
* ``GET .../deploys/{deploy_id}/logs/stream`` is Server-Sent Events (see ``logstream``):
  every line so far, live lines, then ``event: done``; a reconnect replays everything.
* ``GET /v1/apps/{app_id}``: any app id exists (but those the ``unknown_apps`` setting
  names: 404), its slug derived from the id (see ``sites``), its ``url`` the local
  production site, its ``environments`` what each environment serves; ``GET /v1/apps``
  lists the app ids seen so far (``results``, ``total_count``, ``slug``/``search``).
* POSTs that create something (upload-url, deploy, restore) honour ``Idempotency-Key``
  like Stripe (see ``idempotency``): same key and body, same stored answer and nothing
  new; same key, other body: 422 ``IdempotencyError``.
* Builds (see ``builder``) go queued -> building -> complete/failed over ``build_seconds``
  with the published log lines. A build fails when its bundle is missing, not a zip,
  corrupt or holds no file; when it has no ``index.html`` at its root or in a single
  top-level folder (see ``bundles``); when the zip has a root-level ``MIXPEEK_FAIL_BUILD``
  file (its stripped text is the error); or when ``fail_builds_with`` is set.
  ``source="git"`` builds complete without reading S3 and publish nothing.
* A complete build publishes its files as the site of its environment
  (``state.sites.publish``, see ``site_store``), then smoke-tests it with a real ``GET /``.
  Sites are served on the API's own port at ``http://{slug}.localhost:{port}/`` (staging:
  ``staging-{slug}``): any request whose Host is ``<label>.localhost`` is a site request
  (see ``site_server``), answered before the API and its auth, and recorded in
  ``state.site_requests``.
* Every complete upload deploy becomes the app's next version (see ``versions``):
  ``GET .../versions`` lists them newest first (``VersionRecord``, ``total``),
  ``GET .../versions/{v}`` is one with ``is_active`` per environment,
  ``.../versions/{v}/diff/{to}`` compares two (files, and their source as unified diffs),
  ``.../versions/{v}/download`` presigns a GET of the version's bundle, and
  ``POST .../versions/{v}/restore`` is a quick deploy that serves that version's files
  again (see ``restore``), making no new version; ``POST .../promote`` restores staging's
  version to production.
* ``GET .../logs`` is the running app's log (see ``app_logs``): ``log_type=requests`` its
  site requests, ``runtime`` what its server functions printed (``site_functions``: a
  site's ``/functions/`` run in Node with the runtime room's runner, its ``/api`` proxied
  to this API) and the entries a test added (``POST /_emulator/runtime-logs``,
  ``state.add_runtime_log``).
* Domains (``.../domains``, verify), the GitHub repository (``connect-repo``,
  ``github/install-url``), the team (``.../users``, invitations, roles) and analytics
  (``analytics``, ``error-rate``; pageviews are the HTML pages the sites serve) are in
  ``domains_api``, ``repo_api``, ``team_api`` and ``health_api``, their data in
  ``state.admin``.

Test controls (no auth needed; docs/emulator.md has the full list)
------------------------------------------------------------------
``POST /_emulator/config`` changes any subset of the ``EmulatorConfig`` fields
(``build_seconds``, ``fail_builds_with``, ``expired_urls``, ``bad_signature_urls``,
``client_s3_endpoint_url``, ``api_keys``, ``upload_url_seconds``, ``stream_enabled``,
``stream_cut_after``, ``stream_cuts``, ``stream_stall_after``, ``smoke_test_errors``,
``unknown_apps``, ``max_apps``);
``GET`` reads them. Python: ``state.configure(...)``, ``state.config``.

``POST /_emulator/faults`` makes matching requests answer a chosen status and body, after
an optional delay, before any other handling (auth included); ``GET`` lists, ``DELETE``
clears. Python: ``state.add_fault(...)``, ``state.faults()``, ``state.clear_faults()``.

``GET /_emulator/requests`` lists every ``/v1`` request (Authorization redacted),
``GET /_emulator/s3-requests`` every request that reached S3 (signatures masked) and
``GET /_emulator/site-requests`` every request a site answered, with ids from one
sequence; ``DELETE`` forgets them. ``GET /_emulator/sites`` says what each environment
serves. Python: ``state.requests``, ``state.s3_requests``, ``state.site_requests``,
``state.clear_requests()``, ``state.sites``, ``state.deploy_request(deploy_id)``,
``state.deploys(app_id)``, ``state.versions(app_id)``, ``state.version(app_id, n)``.
``POST /_emulator/runtime-logs`` adds a runtime log entry (``GET`` lists, ``DELETE``
clears). Python: ``state.add_runtime_log(...)``, ``state.runtime_logs(app_id)``.

``PUT /_emulator/apps/{app_id}`` sets an app's title, env vars, secrets (answered
masked), ... Python: ``state.set_app(app_id, ...)``.

``POST /_emulator/apps/{app_id}/domains/{domain}`` ends a domain's DNS checks,
``PUT .../github`` installs or uninstalls the GitHub App, ``POST
.../invitations/{iid}/accept`` accepts an invitation, ``POST .../errors`` and ``POST
.../vitals`` record an error or a Web Vitals sample. Python: ``state.admin.domains``,
``.repos``, ``.team``, ``.health`` (``add_error`` records an error from anywhere).

``GET /_emulator/health`` answers ``{"ok": true, "bucket", "s3_endpoint_url"}``.
"""

from mixpeek_cli.emulator.app import create_app
from mixpeek_cli.emulator.server import Emulator, start_emulator
from mixpeek_cli.emulator.state import EmulatorConfig, EmulatorState

__all__ = ["Emulator", "EmulatorConfig", "EmulatorState", "create_app", "start_emulator"]

"""A local emulator of the Mixpeek Apps deploy API (the contract in docs: API.md).

It serves the API over real HTTP on loopback (FastAPI + uvicorn) and stores bundles in
moto's real S3 server, also on loopback::

    from mixpeek_cli.emulator import Emulator

    with Emulator(build_seconds=0.3) as emu:
        emu.base_url           # "http://127.0.0.1:54321": point MIXPEEK_BASE_URL here
        emu.s3_endpoint_url    # moto's URL; presigned URLs and credentials point here
        emu.bucket             # "mixpeek-emulator-<hex>", unique per instance
        emu.s3_client()        # boto3 S3 client for moto, dummy credentials
        emu.state              # EmulatorState: the in-process test controls below

``start_emulator(...)`` does the same and returns the started handle; ``handle.wait()``
blocks until it stops (Ctrl-C friendly), ``handle.stop()`` shuts it down.

API behaviour
-------------
* Every ``/v1`` call needs ``Authorization: Bearer <anything non-empty>``, else 401
  ``AuthenticationError``. Any app id exists; an unknown deploy id is 404 ``NotFoundError``.
* Uploads go to ``apps/{app_id}/bundles/{content_sha256}.zip``; ``already_uploaded`` is true
  when that key already holds an object of that size and SHA-256.
* ``source="cli_upload"`` without ``bundle_s3_key`` is a 422 ``HTTPValidationError``.
* POSTs honour ``Idempotency-Key`` like Stripe (see ``app``): same key and body, same stored
  answer and no new deploy; same key, other body: 422 ``IdempotencyError``.
* Builds (see ``builder``) go queued -> building -> complete/failed over ``build_seconds``.
  A complete deploy's ``url`` is ``https://{app_id}.apps.mixpeek.local`` (production) or
  ``https://{app_id}.staging.apps.mixpeek.local``. A build fails when its bundle is missing,
  not a zip, or holds no file; when the zip has a root-level ``MIXPEEK_FAIL_BUILD`` file
  (its stripped text is the error); or when ``fail_builds_with`` is set. ``source="git"``
  builds complete without reading S3.

Test controls (no auth needed)
------------------------------
``POST /_emulator/config`` with any of ``build_seconds`` (float), ``upload_mode``
(``"presigned"`` | ``"credentials"``), ``fail_builds_with`` (string, or null to clear),
``logs_enabled`` (bool; false makes the logs endpoint answer 404). ``GET /_emulator/config``
returns the current settings. ``build_seconds`` and ``fail_builds_with`` are read when a
deploy is created. Python: ``state.configure(build_seconds=...)``, ``state.config``.

``POST /_emulator/faults`` with ``{"method": "GET"|"POST"|"*", "path": "<regex, re.search on
the URL path>", "status": 503, "body": <string or JSON, optional>, "content_type":
<optional>, "retry_after": <number or string, optional: sets Retry-After>, "delay":
<seconds to wait before answering, optional>, "times": <requests it applies to, default 1;
null = forever>}``. Faults are checked in the order added, before any other handling
(including auth); each matching request uses up one. ``"status": null`` with a ``delay``
makes a slow but otherwise normal answer. Without ``body`` the answer is an ``ErrorResponse``
of type ``EmulatedFault``. ``GET /_emulator/faults`` lists them, ``DELETE`` clears them.
``/_emulator`` paths are never faulted. Python: ``state.add_fault(...)``,
``state.clear_faults()``.

``GET /_emulator/requests``: every ``/v1`` request so far, oldest first, as ``{"id",
"method", "path", "query", "headers" (Authorization shown as "Bearer ***"), "json" (parsed
body or null), "body" (raw text), "status" (the status answered)}``. ``DELETE`` clears
them. Python: ``state.requests``, ``state.clear_requests()``, and
``state.deploy_request(deploy_id)`` for the body that created a deploy.

``POST /_emulator/config`` also takes ``expired_urls`` / ``bad_signature_urls`` (ints: the
next N presigned URLs handed out are refused by S3 as expired / with
``SignatureDoesNotMatch``) and ``client_s3_endpoint_url`` (where URLs and credentials
point instead of moto, e.g. a test's proxy; null resets). Expired presigned URLs are
refused as S3 does (see ``s3_server``). ``GET /_emulator/multipart-uploads`` lists
in-progress multipart uploads; Python: ``Emulator.multipart_uploads()``.

``GET /_emulator/health`` answers ``{"ok": true, "bucket", "s3_endpoint_url"}``.
"""

from mixpeek_cli.emulator.app import create_app
from mixpeek_cli.emulator.server import Emulator, start_emulator
from mixpeek_cli.emulator.state import EmulatorConfig, EmulatorState

__all__ = ["Emulator", "EmulatorConfig", "EmulatorState", "create_app", "start_emulator"]

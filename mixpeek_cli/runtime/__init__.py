"""The Canvas runtime on this machine, one piece of code for ``mixpeek dev`` and the emulator.

What Canvas does to a request once it reaches an app, written once and used by both
``mixpeek dev`` (``commands/dev.py``, over ``dev_server.py``) and the emulator's deployed
sites (``emulator/site_server.py``):

* ``page``: the ``window.__MIXPEEK__`` script every HTML answer gets;
* ``static``: which file answers a path (the single-page-app fallback) and its type;
* ``functions``: ``/functions/<path>`` runs ``api/<path>.ts`` / ``.js`` in Node, through
  ``runner.mjs`` (package data), built by esbuild (``esbuild.py``), with ``ctx.kv`` from
  ``kv.py``;
* ``dev_env``: the local env files ``mixpeek dev`` reads (``.env.local``,
  ``.env.secrets``), with the dotenv parser ``mixpeek env push`` uses.

``mixpeek dev``'s own server (the proxy to a dev command, ``/api`` with the key added) is
``dev_server.py``, ``proxy.py``, ``api_forward.py`` and ``dev_process.py``. docs/dev.md
describes it all, and what differs from Canvas.
"""

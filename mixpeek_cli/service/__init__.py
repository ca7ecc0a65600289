"""The Mixpeek Apps API as published: the client and its retries (:mod:`.client`,
:mod:`.retry`), typed answers (:mod:`.models`), error bodies as one line
(:mod:`.error_bodies`), the build log stream (:mod:`.log_stream`), where apps are served
(:mod:`.urls`), and redaction for ``--verbose`` (:mod:`.redact`). It never prints.
"""

"""Git: commit metadata for the deploy (:mod:`.meta`), a commit's files for ``--ref``
(:mod:`.tree`), and the pre-push hook (:mod:`.hooks`).
"""

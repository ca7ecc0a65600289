"""An app's history: which version serves where and which one a rollback restores
(:mod:`.selection`), a version's zip fetched and unpacked safely (:mod:`.download`), and
the running app's logs followed without repeats (:mod:`.app_logs`).
"""

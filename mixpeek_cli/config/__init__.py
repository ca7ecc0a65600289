"""Settings resolved once (flag > env > mixpeek.toml > default), the project file, the stored key.

Exports nothing by itself: import :mod:`.settings`, :mod:`.project_file` or :mod:`.credentials`.
"""

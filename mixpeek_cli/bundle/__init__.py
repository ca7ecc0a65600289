"""The bundle: which files ship (the walk, ignore rules, the secret guard), the deterministic zip,
the re-deploy caches of both, the inline ``source_files``, and the dry-run audit.

Entry points: :func:`.build.build_bundle` and :func:`.source_files.sources_for`.
"""

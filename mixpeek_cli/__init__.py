"""Deploy Mixpeek Canvas Apps from a terminal, a script, a CI job or a git hook.

The rooms, in the order a deploy flows through them: ``commands`` (flags in, result
out) → ``config`` (settings resolved once) → ``bundle`` (the zip) → ``upload`` (to S3,
proven) → ``service`` (the Mixpeek API) → ``deploy`` (the pipeline, following it) →
``output`` (what people and scripts see). docs/development.md has the map.
"""

__version__ = "0.1.0"

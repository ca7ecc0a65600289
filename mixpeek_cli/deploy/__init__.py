"""The deploy pipeline: what was asked (:mod:`.request`), which path it takes
(:mod:`.pipeline`: a bundle in :mod:`.upload_source`, or git in :mod:`.git_source`),
creating and following it (:mod:`.create`, :mod:`.follow`), and what it did
(:mod:`.result`, rendered by :mod:`.report`).
"""

"""Secrets never ship: files that are secrets by name (:mod:`.files`), credentials found in
content (:mod:`.scan`), and the child process the scan runs in beside the zip writer
(:mod:`.worker`).
"""

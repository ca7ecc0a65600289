#!/usr/bin/env python3
"""The bench's Python reference: ``zipfile`` at ZIP_DEFLATED level 6, one thread.

    python bench/zipfile_ref.py DIR OUT.zip

Every file under DIR, in sorted order, as a plain script using the standard library would.
"""

from __future__ import annotations

import os
import sys
import zipfile


def main() -> None:
    root, out = sys.argv[1], sys.argv[2]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for top, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(top, name)
                zf.write(path, os.path.relpath(path, root))


if __name__ == "__main__":
    main()

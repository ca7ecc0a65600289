"""What people and scripts see: the reporter interface stages talk through (:mod:`.reporter`),
its rich, plain and silent displays (:mod:`.display`), the one place failures become a line
and an exit code (:mod:`.runner`), and number formats (:mod:`.formats`).
"""

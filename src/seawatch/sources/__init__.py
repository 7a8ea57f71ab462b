"""Sources: where vessel-tracking bytes come from (files, streams, feeds).

Out: chunks of bytes ending on line boundaries, handed to :mod:`seawatch.decode`.
"""

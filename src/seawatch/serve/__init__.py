"""Serving what the store holds to people: summaries now; the API and the live map later.

In: Arrow tables a reader's queries returned (:class:`seawatch.store.query.Query`). Out:
structured summaries and their text (:mod:`.situation`). Nothing here opens a store or
applies labels itself: callers hand over only what their reader may see.
"""

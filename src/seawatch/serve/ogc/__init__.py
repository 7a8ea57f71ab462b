"""OGC API – Features (Part 1 Core) under ``/ogc``, so QGIS and GDAL open a node directly.

In: requests with a Bearer token, like the REST API's. Out: :data:`router` (the routes of
:mod:`.routes`), over the collections of :mod:`.collections`; every read goes through
:class:`~seawatch.store.query.Query` for the token's reader. See docs/serve.md.
"""

from seawatch.serve.ogc.routes import router

__all__ = ["router"]

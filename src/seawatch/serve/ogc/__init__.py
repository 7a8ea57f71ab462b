"""OGC API – Features (Part 1 Core) and Moving Features (Part 1) under ``/ogc``, so QGIS and
GDAL open a node directly and a vessel's track reads as a temporal geometry.

In: requests with a Bearer token, like the REST API's. Out: :data:`router` (the routes of
:mod:`.routes`, :mod:`.moving` and :mod:`.properties`), over the collections of
:mod:`.collections`; every read goes through :class:`~seawatch.store.query.Query` for the
token's reader. See docs/serve.md.
"""

from seawatch.serve.ogc import moving as _moving  # noqa: F401 (registers /tgsequence)
from seawatch.serve.ogc import properties as _properties  # noqa: F401 (/tproperties)
from seawatch.serve.ogc.routes import router

__all__ = ["router"]

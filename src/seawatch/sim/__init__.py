"""Simulated AIS traffic with ground truth: a fleet on real sea lanes, heard by shore and space.

In: a :class:`SimConfig` (seed, vessel count, hours, start). Out: hourly files of tag-blocked
NMEA 0183 ``!AIVDM`` lines (encoded from the decoder's own layout declarations),
``truth.jsonl`` (one record per injected behaviour, named like the detectors' events),
``zones.geojson`` and ``manifest.json``. Modules: :mod:`.routes` (searoute lanes),
:mod:`.fleet` (vessels), :mod:`.motion` (moving them), :mod:`.radio` (reporting intervals,
receivers), :mod:`.behaviours` (what is injected, the truth), :mod:`.received` (the truth
that reception makes: gaps, jumps, zone entries, a shared MMSI's identity changes),
:mod:`.statics` and :mod:`.pack` (encoding), :mod:`.run` (the time loop), :mod:`.score`
(detected events scored against the truth), :mod:`.zones` (the simulated waters as GeoJSON
or a zone layer), :mod:`.synth` (the older generator of ``seawatch demo``'s sample).
Beside :mod:`seawatch.sources`, above :mod:`seawatch.decode` (it encodes with the decoder's
layouts and uses :mod:`seawatch.geo`). See docs/simulator.md.
"""

from seawatch.sim.run import DEFAULT_START, SimConfig, SimResult, simulate

__all__ = ["DEFAULT_START", "SimConfig", "SimResult", "simulate"]

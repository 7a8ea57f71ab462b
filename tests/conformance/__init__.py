"""Conformance: seawatch's decoded fields against other decoders on real NMEA files.

Reference decoders: gpsd's ``gpsdecode`` (run here, :mod:`.gpsd`) and libais' expected
JSON (shipped with the data, :mod:`.libais`). :mod:`.ours` turns seawatch's tables into
the message sequence both are compared with, :mod:`.agreement` aligns the sequences,
counts agreement per file and field and renders ``docs/conformance.md``. Every remaining
disagreement is explained in ``docs/decoding.md`` and listed in :data:`.agreement.KNOWN`.
"""

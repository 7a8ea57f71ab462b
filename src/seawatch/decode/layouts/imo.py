"""Meteorological and hydrographic application messages (type 8, DAC 1) → ``met_hydro``
(IMO SN.1/Circ.289, FI 31) and ``met_hydro_legacy`` (IMO SN/Circ.236, FI 11).

Each repeats the type 8 header (so ``dac``/``fi`` are columns too) and is selected by
DAC and FI. Quantities the circulars encode with an offset (air pressure, water level;
most of FI 11) keep their raw code in a ``*_raw`` column, with the formula in its doc.
"""

from __future__ import annotations

from seawatch.decode.fields import Field, Kind, Layout
from seawatch.decode.layouts.binary import app_select, broadcast_header
from seawatch.decode.layouts.common import (
    PER_DEG_1000_MIN,
    accuracy,
    flag,
    lat,
    lon,
    spare,
    uint,
)

_TREND = "0 = steady, 1 = decreasing, 2 = increasing"


def _tenths(name: str, width: int, na: int, doc: str, *, signed: bool = False) -> Field:
    return Field(name, width, Kind.INT if signed else Kind.UINT, scale=10, na=na, doc=doc)


def _time() -> tuple[Field, ...]:
    return (
        uint("day", 5, "UTC day of month of the observation", na=0),
        uint("hour", 5, "UTC hour of the observation", na=24),
        uint("minute", 6, "UTC minute of the observation", na=60),
    )


def _wind(dir_na: int) -> tuple[Field, ...]:
    return (
        uint(
            "wind_speed_kn",
            7,
            "Average wind speed over 10 min, knots (126 = 126 kn or more)",
            na=127,
        ),
        uint("wind_gust_kn", 7, "Wind gust (maximum over 10 min), knots", na=127),
        uint("wind_dir_deg", 9, "Average wind direction, degrees true", na=dir_na),
        uint("wind_gust_dir_deg", 9, "Wind gust direction, degrees true", na=dir_na),
    )


def _sea(dir_na: int) -> tuple[Field, ...]:
    def current(i: str, depth: bool) -> tuple[Field, ...]:
        return (
            _tenths(f"current{i}_speed_kn", 8, 255, f"Current {i or 'at surface'} speed, knots"),
            uint(
                f"current{i}_dir_deg",
                9,
                f"Current {i or 'at surface'} direction, degrees",
                na=dir_na,
            ),
            *(
                (uint(f"current{i}_depth_m", 5, f"Depth of current {i}, metres", na=31),)
                if depth
                else ()
            ),
        )

    return (
        *current("", False),
        *current("2", True),
        *current("3", True),
        _tenths("wave_height_m", 8, 255, "Significant wave height, metres"),
        uint("wave_period_s", 6, "Wave period, seconds", na=63),
        uint("wave_dir_deg", 9, "Wave direction, degrees true", na=dir_na),
        _tenths("swell_height_m", 8, 255, "Swell height, metres"),
        uint("swell_period_s", 6, "Swell period, seconds", na=63),
        uint("swell_dir_deg", 9, "Swell direction, degrees true", na=dir_na),
        uint("sea_state", 4, "Sea state, Beaufort scale (0-12)", na=13),
    )


MET_HYDRO = Layout(
    8,
    "type8_dac1_fi31",
    "met_hydro",
    (
        *broadcast_header(),
        lon(25, PER_DEG_1000_MIN),
        lat(24, PER_DEG_1000_MIN),
        accuracy(),
        *_time(),
        *_wind(360),
        _tenths("air_temp_c", 11, -1024, "Dry bulb air temperature, °C", signed=True),
        uint("humidity_pct", 7, "Relative humidity, percent", na=101),
        _tenths("dew_point_c", 10, 501, "Dew point, °C", signed=True),
        uint(
            "air_pressure_raw",
            9,
            "Air pressure code: hPa = value + 799 (0 = 799 hPa or less, 402 = 1201 hPa or more)",
            na=511,
        ),
        uint("pressure_tendency", 2, f"Air pressure tendency: {_TREND}", na=3),
        flag("visibility_greater", "Visibility is greater than the value given"),
        _tenths("visibility_nm", 7, 127, "Horizontal visibility, nautical miles"),
        uint(
            "water_level_raw", 12, "Water level incl. tide code: metres = value / 100 - 10", na=4001
        ),
        uint("water_level_trend", 2, f"Water level trend: {_TREND}", na=3),
        *_sea(360),
        _tenths("water_temp_c", 10, 501, "Water temperature, °C", signed=True),
        uint(
            "precipitation",
            3,
            "Precipitation type (WMO 306 4.201): 1 rain, 2 thunderstorm, "
            "3 freezing rain, 4 mixed/ice, 5 snow",
            na=7,
        ),
        _tenths("salinity_ppt", 9, 510, "Salinity, parts per thousand (50.1 = more than 50.0)"),
        uint("ice", 2, "Ice: 0 = no, 1 = yes", na=3),
        spare(10),
    ),
    min_bits=350,
    select=app_select(8, 1, 31),
    doc="Meteorological and hydrographic data (IMO SN.1/Circ.289)",
)

MET_HYDRO_LEGACY = Layout(
    8,
    "type8_dac1_fi11",
    "met_hydro_legacy",
    (
        *broadcast_header(),
        lat(24, PER_DEG_1000_MIN),
        lon(25, PER_DEG_1000_MIN),
        *_time(),
        *_wind(511),
        uint("air_temp_raw", 11, "Air temperature code: °C = value / 10 - 60", na=2047),
        uint("humidity_pct", 7, "Relative humidity, percent", na=127),
        uint("dew_point_raw", 10, "Dew point code: °C = value / 10 - 20", na=1023),
        uint("air_pressure_raw", 9, "Air pressure code: hPa = value + 800", na=511),
        uint("pressure_tendency", 2, f"Air pressure tendency: {_TREND}", na=3),
        _tenths("visibility_nm", 8, 255, "Horizontal visibility, nautical miles"),
        uint("water_level_raw", 9, "Water level incl. tide code: metres = value / 10 - 10", na=511),
        uint("water_level_trend", 2, f"Water level trend: {_TREND}", na=3),
        *_sea(511),
        uint("water_temp_raw", 10, "Water temperature code: °C = value / 10 - 10", na=1023),
        uint("precipitation", 3, "Precipitation type (WMO 306 4.201)", na=7),
        _tenths("salinity_ppt", 9, 511, "Salinity, parts per thousand"),
        uint("ice", 2, "Ice: 0 = no, 1 = yes", na=3),
        spare(6),
    ),
    # Up to the salinity: a Danish base station (dma_aislib/stream_example.txt) sends 344
    # bits, leaving out the ice field and the spare bits; gpsd decodes it too.
    min_bits=344,
    select=app_select(8, 1, 11),
    doc="Meteorological and hydrographic data, superseded format (IMO SN/Circ.236)",
)

LAYOUTS: tuple[Layout, ...] = (MET_HYDRO, MET_HYDRO_LEGACY)

"""ISO 3166-1 alpha-3 country codes: the nations a label or a reader may name.

The 249 officially assigned codes (ISO 3166-1, as listed by Debian's ``iso-codes``), plus
the ranges ISO 3166-1 leaves to users (``AAA``-``AAZ``, ``QMA``-``QZZ``, ``XAA``-``XZZ``,
``ZZA``-``ZZZ``; e.g. ``XKX`` for Kosovo, ``XXX`` for "not set"). Coalition names
(``FVEY``, ``QUAD``) are four letters or more and come from the policy, not from here.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ASSIGNED", "is_nation"]

_CODES: Final = """
    ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD
    BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR
    COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH
    ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL
    GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR
    JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR
    MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL
    NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY
    PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP
    SUR SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA
    UGA UKR UMI URY USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
"""
ASSIGNED: Final = frozenset(_CODES.split())
"""Officially assigned ISO 3166-1 alpha-3 codes."""


def is_nation(code: str) -> bool:
    """True for an assigned ISO 3166-1 alpha-3 code or one of the user-assigned ranges."""
    if len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
        return False
    return (
        code in ASSIGNED
        or code.startswith(("AA", "X"))
        or ("QM" <= code[:2] <= "QZ")
        or code.startswith("ZZ")
    )

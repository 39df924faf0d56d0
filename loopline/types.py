"""Typed values for func inputs and outputs, under the names Sematic gave them (`sematic.types`).

    from loopline.types import Image, Link, S3Location

Any Python type works as a func annotation; these are the ones Sematic shipped: `Image`,
`Link`, `PromptResponse`, S3 references (read with fsspec), Hugging Face references (loaded with
`transformers` or `datasets` when installed) and `SnowflakeTable`.
"""

from __future__ import annotations

from datetime import datetime

from loopline.core.huggingface import (
    HuggingFaceDatasetReference,
    HuggingFaceModelReference,
    HuggingFaceStoredModel,
)
from loopline.core.image import Image
from loopline.core.link import Link
from loopline.core.prompt import PromptResponse
from loopline.core.s3 import S3Bucket, S3Location
from loopline.storage.snowflake import SnowflakeTable

__all__ = [
    "HuggingFaceDatasetReference",
    "HuggingFaceModelReference",
    "HuggingFaceStoredModel",
    "Image",
    "Link",
    "PromptResponse",
    "S3Bucket",
    "S3Location",
    "SnowflakeTable",
    "datetime",
]

"""S3 access to the emulator's moto server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

REGION = "us-east-1"
# moto accepts any credentials; passing them explicitly keeps the emulator independent of
# whatever AWS_* variables or ~/.aws profile the developer has.
ACCESS_KEY_ID = "AKIAMIXPEEKEMULATOR0"
SECRET_ACCESS_KEY = "mixpeek-emulator-secret-access-key"
# In the user-agent of the emulator's own S3 calls, so recorded S3 requests tell them apart.
USER_AGENT = "mixpeek-emulator"
MISSING_CODES = ("404", "NoSuchKey", "NotFound")


def make_s3_client(endpoint_url: str) -> S3Client:
    # A private session: boto3's default session is shared, process-wide state.
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name=REGION,
    )
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        # Path style: virtual-host style would need DNS for "<bucket>.127.0.0.1".
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            user_agent_extra=USER_AGENT,
        ),
    )


@dataclass(frozen=True)
class StoredObject:
    etag: str  # as HeadObject gives it, quotes included
    size_bytes: int
    last_modified: datetime


def head(s3: S3Client, bucket: str, key: str) -> StoredObject | None:
    """What S3 holds at ``key``, or None when nothing is there."""
    try:
        found = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in MISSING_CODES:
            return None
        raise
    return StoredObject(found["ETag"], found["ContentLength"], found["LastModified"])


def empty_and_delete_bucket(s3: S3Client, bucket: str) -> None:
    """Drop the bucket so moto's process-wide backend does not keep growing across runs."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        keys: list[ObjectIdentifierTypeDef] = [
            {"Key": obj["Key"]} for obj in page.get("Contents", []) if "Key" in obj
        ]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    s3.delete_bucket(Bucket=bucket)

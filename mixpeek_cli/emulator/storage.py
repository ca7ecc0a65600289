"""S3 access to the emulator's moto server."""

from __future__ import annotations

import hashlib
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
SESSION_TOKEN = "mixpeek-emulator-session-token"


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
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def holds_bundle(
    s3: S3Client, bucket: str, key: str, size: int, sha256: str, verified: dict[str, str]
) -> bool:
    """Whether ``key`` already holds exactly these bytes (size first: it is cheap).

    ``verified`` maps "key etag" to the sha256 already computed for that object, as the
    real service records a bundle's hash once instead of reading it on every deploy.
    """
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    if head["ContentLength"] != size:
        return False
    memo = f"{key} {head.get('ETag', '')}"
    if memo not in verified:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        verified[memo] = hashlib.sha256(body).hexdigest()
    return verified[memo] == sha256


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


def multipart_uploads(s3: S3Client, bucket: str) -> list[dict[str, str]]:
    """In-progress multipart uploads in ``bucket``: what an aborted transfer must not leave."""
    found = []
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", []):
            found.append({"Key": upload.get("Key", ""), "UploadId": upload.get("UploadId", "")})
    return found

"""Amazon S3 implementation of :class:`firesight.ports.ObjectStore`.

Objects are written with SSE-KMS when a key is configured (else the bucket's default
encryption applies), through boto3's managed transfer, which switches to a multipart upload
above ``multipart_threshold_bytes``. In a versioned bucket every put makes a new version;
:meth:`S3ObjectStore.versions` lists them and :meth:`S3ObjectStore.get_bytes` reads any one.

References
----------
1. Amazon S3 User Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)",
   "Uploading and copying objects using multipart upload" (parts of 5 MiB to 5 GiB),
   "Using versioning in S3 buckets".
"""

from __future__ import annotations

import io
import os
import posixpath
from typing import Any

from firesight.adapters.aws._session import AwsSettings, ClientFactory, error_code, translate
from firesight.errors import NotFoundError, require
from firesight.ports import ObjectStore

#: S3's smallest multipart part (except the last) [bytes].
MIN_PART_BYTES = 5 * 1024 * 1024


class S3ObjectStore(ObjectStore):
    """Objects under ``s3://bucket/prefix``.

    Parameters
    ----------
    bucket, prefix : str
        Where the store's keys live (``prefix/key``).
    settings : AwsSettings
        Region and endpoint.
    kms_key_id : str
        KMS key id or ARN for SSE-KMS; empty: the bucket's default encryption.
    multipart_threshold_bytes, multipart_chunk_bytes : int
        boto3 transfer settings [bytes]; objects above the threshold go up in parts.
    create_bucket : bool
        Create the bucket (versioning on) if it does not exist: for development and tests;
        deployed buckets come from the template.
    """

    def __init__(self, bucket: str, prefix: str = "", *, settings: AwsSettings | None = None,
                 kms_key_id: str = "", multipart_threshold_bytes: int = 64 * 1024 * 1024,
                 multipart_chunk_bytes: int = 16 * 1024 * 1024, create_bucket: bool = False):
        require(3 <= len(bucket) <= 63 and bucket == bucket.lower() and "/" not in bucket,
                "bucket", "an S3 bucket name (3..63 lower-case characters)", bucket)
        require(multipart_chunk_bytes >= MIN_PART_BYTES, "multipart_chunk_bytes",
                f">= {MIN_PART_BYTES} (S3's minimum part size)", multipart_chunk_bytes)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.settings = settings or AwsSettings()
        self.kms_key_id = kms_key_id
        self.multipart_threshold_bytes = int(multipart_threshold_bytes)
        self.multipart_chunk_bytes = int(multipart_chunk_bytes)
        self.create_bucket = create_bucket
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._clients = ClientFactory(self.settings)
        self._bucket_checked = False

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        client = self._clients.client("s3")
        if self.create_bucket and not self._bucket_checked:
            self._ensure_bucket(client)
        return client

    def _ensure_bucket(self, client: Any) -> None:
        try:
            client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise translate(exc, f"bucket {self.bucket}") from exc
            args: dict[str, Any] = {"Bucket": self.bucket}
            if self.settings.region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
            try:
                client.create_bucket(**args)
            except Exception as create_exc:
                if error_code(create_exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise translate(create_exc, f"create bucket {self.bucket}") from create_exc
            client.put_bucket_versioning(Bucket=self.bucket,
                                         VersioningConfiguration={"Status": "Enabled"})
        self._bucket_checked = True

    def _key(self, key: str) -> str:
        key = key.strip("/")
        return posixpath.join(self.prefix, key) if self.prefix and key else (key or self.prefix)

    def _extra_args(self) -> dict[str, str]:
        if not self.kms_key_id:
            return {}
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}

    def _transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=self.multipart_threshold_bytes,
                              multipart_chunksize=self.multipart_chunk_bytes, use_threads=True)

    # -- the port --------------------------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes) -> None:
        """One PUT (or one completed multipart upload): atomic for readers."""
        self.put_object(key, data)

    def put_object(self, key: str, data: bytes) -> str:
        """Write ``data``; return the new version id ('' in an unversioned bucket)."""
        require(isinstance(data, (bytes, bytearray, memoryview)), "data", "bytes", type(data).__name__)
        client = self.client
        try:
            client.upload_fileobj(io.BytesIO(bytes(data)), self.bucket, self._key(key),
                                  ExtraArgs=self._extra_args(), Config=self._transfer_config())
            head = client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise translate(exc, f"put {self.fs_url(key)}") from exc
        return str(head.get("VersionId") or "")

    def get_bytes(self, key: str, *, version_id: str = "") -> bytes:
        args = {"Bucket": self.bucket, "Key": self._key(key)}
        if version_id:
            args["VersionId"] = version_id
        try:
            return self.client.get_object(**args)["Body"].read()
        except Exception as exc:
            err = translate(exc, f"get {self.fs_url(key)}")
            if isinstance(err, NotFoundError):
                raise NotFoundError(f"no object {key!r} in {self.url}") from exc
            raise err from exc

    def head(self, key: str) -> dict[str, Any]:
        """S3's object metadata (``ContentLength``, ``ServerSideEncryption``, ``ETag``, ...)."""
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise translate(exc, f"head {self.fs_url(key)}") from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return bool(self._list_keys(self._key(key).rstrip("/") + "/", max_keys=1))
            raise translate(exc, f"head {self.fs_url(key)}") from exc

    def _list_keys(self, full_prefix: str, *, max_keys: int | None = None) -> list[str]:
        out: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                out.extend(obj["Key"] for obj in page.get("Contents", []))
                if max_keys is not None and len(out) >= max_keys:
                    break
        except Exception as exc:
            raise translate(exc, f"list s3://{self.bucket}/{full_prefix}") from exc
        return out

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1:] if self.prefix else full_key

    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix`` taken as a path: ``a`` lists ``a`` and ``a/...``, not ``ab``."""
        prefix = prefix.strip("/")
        if not prefix:
            root = self.prefix + "/" if self.prefix else ""
            return sorted(self._relative(k) for k in self._list_keys(root))
        full = self._key(prefix)
        keys = [k for k in self._list_keys(full) if k == full or k.startswith(full + "/")]
        return sorted(self._relative(k) for k in keys)

    def children(self, prefix: str = "") -> list[str]:
        base = self._key(prefix.strip("/"))
        full = base + "/" if base else ""
        names: set[str] = set()
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full, Delimiter="/"):
                names.update(p["Prefix"][len(full):].rstrip("/") for p in page.get("CommonPrefixes", []))
                names.update(o["Key"][len(full):] for o in page.get("Contents", []))
        except Exception as exc:
            raise translate(exc, f"list s3://{self.bucket}/{full}") from exc
        return sorted(n for n in names if n)

    def delete(self, key: str) -> None:
        """Delete ``key`` and everything under ``key/`` (in a versioned bucket: delete markers)."""
        full = self._key(key)
        keys = [full] + [k for k in self._list_keys(full + "/")]
        try:
            for start in range(0, len(keys), 1000):
                self.client.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": k} for k in keys[start:start + 1000]], "Quiet": True})
        except Exception as exc:
            raise translate(exc, f"delete {self.fs_url(key)}") from exc

    def fs_url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self._key(key)}" if self._key(key) else f"s3://{self.bucket}"

    @property
    def storage_options(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"region_name": self.settings.region}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
        return {"client_kwargs": kwargs}

    def put_folder(self, local_dir: str, key: str) -> None:
        """Upload a local folder under ``key`` (replacing what was there) with SSE-KMS."""
        self.delete(key)
        for root, _dirs, files in os.walk(local_dir):
            for name in sorted(files):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, local_dir).replace(os.sep, "/")
                try:
                    self.client.upload_file(path, self.bucket, self._key(f"{key.rstrip('/')}/{rel}"),
                                            ExtraArgs=self._extra_args(), Config=self._transfer_config())
                except Exception as exc:
                    raise translate(exc, f"upload {path} to {self.fs_url(key)}") from exc

    # -- versions ----------------------------------------------------------------------------------
    def versions(self, key: str) -> list[dict[str, Any]]:
        """Versions of ``key``, newest first: ``{"version_id", "is_latest", "size_bytes",
        "deleted"}`` (``deleted`` for delete markers)."""
        full = self._key(key)
        out: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for v in page.get("Versions", []):
                    if v["Key"] == full:
                        out.append({"version_id": v["VersionId"], "is_latest": v["IsLatest"],
                                    "size_bytes": int(v["Size"]), "deleted": False,
                                    "modified": v["LastModified"]})
                for m in page.get("DeleteMarkers", []):
                    if m["Key"] == full:
                        out.append({"version_id": m["VersionId"], "is_latest": m["IsLatest"],
                                    "size_bytes": 0, "deleted": True, "modified": m["LastModified"]})
        except Exception as exc:
            raise translate(exc, f"versions of {self.fs_url(key)}") from exc
        out.sort(key=lambda v: (not v["is_latest"], -v["modified"].timestamp()))
        for v in out:
            del v["modified"]
        return out

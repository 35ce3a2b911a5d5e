#!/usr/bin/env python3
"""Runs Microsoft's azure-storage-blob SDK against the oracle: the oracle must accept the
SDK's SharedKey and SAS requests and serve the operations volumed uses, or it is not a fair judge.

    azure_sdk_check.py ENDPOINT ACCOUNT KEY CONTAINER
"""
import sys
import urllib.request

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContainerClient

endpoint, account, key, container = sys.argv[1:5]
service = BlobServiceClient(account_url=endpoint, credential={"account_name": account, "account_key": key})
client = service.get_container_client(container)
try:
    client.create_container()
except ResourceExistsError:
    pass
client.upload_blob("sdk-check/a", b"hello oracle", overwrite=True)
assert client.download_blob("sdk-check/a", offset=6, length=6).readall() == b"oracle"
try:
    client.upload_blob("sdk-check/a", b"again", overwrite=False)
    raise SystemExit("conditional upload over an existing blob was accepted")
except ResourceExistsError:
    pass
assert [b.name for b in client.list_blobs(name_starts_with="sdk-check/")] == ["sdk-check/a"]
assert client.get_blob_client("sdk-check/a").get_blob_properties().size == 12

sas = urllib.request.urlopen(f"{endpoint.rsplit('/', 1)[0]}/__sas?container={container}").read().decode()
with_sas = ContainerClient.from_container_url(f"{endpoint}/{container}?{sas}")
assert with_sas.download_blob("sdk-check/a").readall() == b"hello oracle"
client.delete_blob("sdk-check/a")

wrong = BlobServiceClient(account_url=endpoint, credential={"account_name": account, "account_key": "d3Jvbmc="})
try:
    wrong.get_container_client(container).upload_blob("sdk-check/b", b"x")
    raise SystemExit("a wrong account key was accepted")
except Exception as error:  # the SDK raises ClientAuthenticationError/HttpResponseError
    if "AuthenticationFailed" not in str(error):
        raise
print("azure SDK agrees with the oracle")

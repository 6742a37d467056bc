"""Creates (or updates) the payments secret in the local emulator.

Usage: seed_local.py ENDPOINT SECRET_ID SECRET_JSON
"""

import sys

import boto3


def main() -> None:
    endpoint, secret_id, secret_json = sys.argv[1:4]
    client = boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    try:
        client.create_secret(Name=secret_id, SecretString=secret_json)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=secret_id, SecretString=secret_json)
    print(f"secret {secret_id} is in place")


if __name__ == "__main__":
    main()

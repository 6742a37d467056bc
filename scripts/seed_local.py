"""Puts the payments secret and the payments table into the local emulator.

Usage: seed_local.py ENDPOINT SECRET_ID TABLE
The secret's members come from the environment: QBIT_API_KEY, DEBOX_APP_ID,
DEBOX_API_KEY, DEBOX_APP_SECRET, and QBIT_WEBHOOK_PUBLIC_KEY_FILE (a PEM).
Idempotent: an existing secret gets the new value, an existing table is kept.
"""

import json
import os
import sys

import boto3


def main() -> None:
    endpoint, secret_id, table = sys.argv[1:4]
    with open(os.environ["QBIT_WEBHOOK_PUBLIC_KEY_FILE"]) as pem:
        public_key = pem.read()
    secret_json = json.dumps({
        "qbit_api_key": os.environ["QBIT_API_KEY"],
        "qbit_webhook_public_key": public_key,
        "debox_app_id": os.environ["DEBOX_APP_ID"],
        "debox_api_key": os.environ["DEBOX_API_KEY"],
        "debox_app_secret": os.environ["DEBOX_APP_SECRET"],
    })
    session = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    secrets = boto3.client("secretsmanager", **session)
    try:
        secrets.create_secret(Name=secret_id, SecretString=secret_json)
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=secret_id, SecretString=secret_json)
    print(f"secret {secret_id} is in place")

    dynamodb = boto3.client("dynamodb", **session)
    try:
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )
    except dynamodb.exceptions.ResourceInUseException:
        pass
    print(f"table {table} is in place")


if __name__ == "__main__":
    main()

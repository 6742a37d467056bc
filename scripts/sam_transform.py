"""Runs the SAM transform locally (aws-sam-translator, no AWS account or
network) and writes the CloudFormation it produces, for cfn-lint.

Usage: sam_transform.py TEMPLATE OUTPUT.json
The template's policies are inline statements only, so no managed policy
has to be looked up in IAM.
"""

import json
import os
import sys

# The transform needs a region to build ARNs; nothing is called in it.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from cfnlint.decode import decode
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The translator asks this for AWS managed policy ARNs; we use none."""

    def load(self):
        return {}


def main():
    source, output = sys.argv[1:3]
    template, matches = decode(source)
    if template is None:
        sys.exit(f"{source} does not parse: {matches}")
    # As after `sam package`: code lives in S3 (the transform checks the form).
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = "s3://packaged-by-sam/bootstrap.zip"
    parameters = {"DeboxMerchantUserId": "merchant", "AWS::Region": "us-east-1"}
    transformed = transform(template, parameters, NoManagedPolicies())
    with open(output, "w") as f:
        json.dump(transformed, f, indent=1, default=str)


if __name__ == "__main__":
    main()

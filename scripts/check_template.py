"""Checks template.yaml against the code and the contract, offline.

Usage: check_template.py [TEMPLATE]   (default: template.yaml)
Exits 1 and lists every mismatch:
- every crate under functions/ has an AWS::Serverless::Function built by
  rust-cargolambda with that binary, on provided.al2023 / arm64;
- the routes and methods are the API's (openapi.yaml: each operation's
  `x-function`), each on the right function;
- the API's default authorizer is AWS_IAM and only the operations that
  openapi.yaml makes public (`security: []`) are;
- every environment variable the code reads (shared/src/config.rs) is set;
- the timeout is the code's FUNCTION_TIMEOUT_MS, the table's TTL attribute
  the code's TTL_ATTRIBUTE, with `pk` a string key, point-in-time recovery
  and deletion protection;
- no policy grants `*`.
"""

import os
import re
import sys

import yaml

from cfnlint.decode import decode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def api_operations():
    """{(METHOD, path): (function, public)} from openapi.yaml."""
    document = yaml.safe_load(read("openapi.yaml"))
    operations = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options"):
                continue  # path-level `parameters`, `summary`...
            public = operation.get("security", document.get("security")) == []
            operations[(method.upper(), path)] = (operation["x-function"], public)
    return operations


def contract_routes():
    return {route: function for route, (function, _) in api_operations().items()}


def public_routes():
    return {route for route, (_, public) in api_operations().items() if public}


def check(template_path):
    template, matches = decode(template_path)
    if template is None:
        return [f"{template_path} does not parse: {matches}"]
    problems = []
    resources = template.get("Resources", {})
    globals_fn = template.get("Globals", {}).get("Function", {})
    functions = {
        name: r for name, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"
    }

    def setting(resource, key):
        return resource.get("Properties", {}).get(key, globals_fn.get(key))

    by_binary = {}
    for name, resource in functions.items():
        meta = resource.get("Metadata", {})
        binary = meta.get("BuildProperties", {}).get("Binary")
        if meta.get("BuildMethod") != "rust-cargolambda":
            problems.append(f"{name}: BuildMethod must be rust-cargolambda")
        by_binary[binary] = (name, resource)
        if setting(resource, "Runtime") != "provided.al2023":
            problems.append(f"{name}: Runtime must be provided.al2023")
        if setting(resource, "Architectures") != ["arm64"]:
            problems.append(f"{name}: Architectures must be [arm64]")
        if setting(resource, "Handler") != "bootstrap":
            problems.append(f"{name}: Handler must be bootstrap")

    crates = sorted(d for d in os.listdir(os.path.join(ROOT, "functions")) if os.path.isdir(os.path.join(ROOT, "functions", d)))
    for crate in crates:
        if crate not in by_binary:
            problems.append(f"functions/{crate} has no function resource in the template")
    for binary in by_binary:
        if binary not in crates:
            problems.append(f"function binary {binary} has no crate under functions/")

    api = [r for r in resources.values() if r.get("Type") == "AWS::Serverless::HttpApi"]
    if len(api) != 1:
        problems.append("there must be exactly one AWS::Serverless::HttpApi")
    elif api[0].get("Properties", {}).get("Auth", {}).get("DefaultAuthorizer") != "AWS_IAM":
        problems.append("the HttpApi's DefaultAuthorizer must be AWS_IAM")

    routes = {}
    for binary, (name, resource) in by_binary.items():
        for event_name, event in resource.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties", {})
            route = (str(props.get("Method", "")).upper(), props.get("Path"))
            routes[route] = binary
            public = props.get("Auth", {}).get("Authorizer") == "NONE"
            if public and route not in public_routes():
                problems.append(f"{name}.{event_name}: {route[0]} {route[1]} is a merchant route and must not be public")
            if not public and route in public_routes():
                problems.append(f"{name}.{event_name}: {route[0]} {route[1]} must be public (Qbit cannot sign with SigV4)")
    expected = contract_routes()
    for route, binary in expected.items():
        if routes.get(route) != binary:
            problems.append(f"route {route[0]} {route[1]} must go to {binary}, found {routes.get(route)}")
    for route in routes:
        if route not in expected:
            problems.append(f"route {route[0]} {route[1]} is not in the contract")

    read_vars = set(re.findall(r'pub const [A-Z_]+: &str = "([A-Z_]+)";', read("shared/src/config.rs")))
    global_env = set(globals_fn.get("Environment", {}).get("Variables", {}))
    for name, resource in functions.items():
        env = global_env | set(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
        for var in sorted(read_vars - env):
            problems.append(f"{name}: environment variable {var} is read by the code but not set")

    timeout_ms = int(re.search(r"FUNCTION_TIMEOUT_MS: u64 = ([0-9_]+);", read("shared/src/http/response.rs")).group(1).replace("_", ""))
    for name, resource in functions.items():
        if setting(resource, "Timeout") != timeout_ms // 1000:
            problems.append(f"{name}: Timeout must be {timeout_ms // 1000} s (FUNCTION_TIMEOUT_MS)")

    ttl = re.search(r'TTL_ATTRIBUTE: &str = "([a-z_]+)"', read("shared/src/table.rs")).group(1)
    tables = [r for r in resources.values() if r.get("Type") == "AWS::DynamoDB::Table"]
    if len(tables) != 1:
        problems.append("there must be exactly one DynamoDB table")
    else:
        table = tables[0].get("Properties", {})
        if table.get("KeySchema") != [{"AttributeName": "pk", "KeyType": "HASH"}]:
            problems.append("the table's key must be pk (HASH)")
        if {"AttributeName": "pk", "AttributeType": "S"} not in table.get("AttributeDefinitions", []):
            problems.append("pk must be a string")
        if table.get("TimeToLiveSpecification") != {"AttributeName": ttl, "Enabled": True}:
            problems.append(f"the table's TTL must be enabled on {ttl}")
        if not table.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            problems.append("point-in-time recovery must be on")
        if table.get("DeletionProtectionEnabled") is not True:
            problems.append("deletion protection must be on")

    for name, resource in functions.items():
        for policy in resource.get("Properties", {}).get("Policies", []):
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = statement.get("Action")
                actions = actions if isinstance(actions, list) else [actions]
                if "*" in actions or statement.get("Resource") == "*":
                    problems.append(f"{name}: a policy grants *")
    return problems


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "template.yaml")
    problems = check(path)
    for problem in problems:
        print(f"template: {problem}")
    if problems:
        sys.exit(1)
    print(f"template: {os.path.basename(path)} matches the code and the contract")


if __name__ == "__main__":
    main()

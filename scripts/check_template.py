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
- no policy grants `*`;
- guard rails: the API throttles its default route, and the public webhook
  route (openapi.yaml's `security: []`) has its own, lower limit; an access
  log to a log group with a retention, in JSON with the request id, route,
  status, latencies and the caller's IAM identity; every function logs to a
  log group with a retention and pins ApplicationLogLevel INFO and
  SystemLogLevel WARN; every provider base URL the code reads
  (`*_BASE_URL` in shared/src/config.rs) is an https:// default whose
  AllowedPattern refuses http://; the alarms watch the metrics and outcomes
  shared/src/metrics.rs writes, in its NAMESPACE.
"""

import json
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


# CloudWatch Logs' allowed retention periods, in days.
RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

# What the access log must hold: {what: any one of these variables}.
ACCESS_LOG_FIELDS = {
    "the request id": ["$context.requestId"],
    "the route": ["$context.routeKey"],
    "the status": ["$context.status"],
    "the integration latency": ["$context.integrationLatency", "$context.integration.latency"],
    "the response latency": ["$context.responseLatency"],
    "the caller's identity (user ARN)": ["$context.identity.userArn"],
    "the caller's identity (account)": ["$context.identity.accountId"],
}

# The alarms the runbook names: {alarm: (metric, Outcome, the file that
# spells the outcome)}; shared/src/metrics.rs writes every metric.
ALARMS = {
    "UnknownTransferAlarm": ("Transfers", "unknown", "shared/src/transfer/types.rs"),
    "UnreadableWebhookEventAlarm": ("WebhookEvents", "unreadable", "shared/src/metrics.rs"),
    "UnmatchedWebhookEventAlarm": ("WebhookEvents", "unmatched", "shared/src/metrics.rs"),
    "WebhookSignatureFailuresAlarm": ("WebhookEvents", "signature_refused", "shared/src/metrics.rs"),
}

# URLs a provider base URL's AllowedPattern must refuse.
PLAIN_HTTP = ["http://example.com", "http://127.0.0.1:8720", "http://open.debox.pro/api"]


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

    parameters = template.get("Parameters", {})
    problems += check_throttling(api[0] if len(api) == 1 else {}, parameters, set(routes))
    problems += check_logs(resources, functions, globals_fn, api[0] if len(api) == 1 else {}, parameters)
    problems += check_base_urls(globals_fn, parameters)
    problems += check_alarms(resources)
    return problems


def resolve(value, parameters):
    """A literal, or the Default of the parameter a `Ref` names."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
        return parameters[value["Ref"]].get("Default")
    return value


def number(value, parameters):
    try:
        return float(resolve(value, parameters))
    except (TypeError, ValueError):
        return None


def check_throttling(api, parameters, routes):
    problems = []
    props = api.get("Properties", {})
    default = props.get("DefaultRouteSettings", {}) or {}
    limits = {}
    for key in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
        limits[key] = number(default.get(key), parameters)
        if limits[key] is None or limits[key] <= 0:
            problems.append(f"the HttpApi has no throttling on its default route (DefaultRouteSettings.{key})")
    settings = props.get("RouteSettings", {}) or {}
    route_keys = {f"{method} {path}" for method, path in routes}
    for key in settings:
        if key not in route_keys:
            problems.append(f"RouteSettings key {key!r} is not a route of the API (SAM's keys are \"METHOD /path\")")
    for method, path in sorted(public_routes()):
        route = f"{method} {path}"
        own = settings.get(route)
        if not own:
            problems.append(f"route {route} has no throttling of its own (RouteSettings) below the merchant routes'")
            continue
        for key, merchant in limits.items():
            mine = number(own.get(key), parameters)
            if mine is None or mine <= 0:
                problems.append(f"route {route} has no {key} of its own")
            elif merchant is not None and mine >= merchant:
                problems.append(f"route {route}'s {key} ({mine:g}) must be lower than the merchant routes' ({merchant:g})")
    return problems


def log_group(resources, ref):
    """The AWS::Logs::LogGroup a `Ref` or `GetAtt X.Arn` names, or None."""
    name = None
    if isinstance(ref, dict) and "Ref" in ref:
        name = ref["Ref"]
    elif isinstance(ref, dict) and "Fn::GetAtt" in ref:
        target = ref["Fn::GetAtt"]
        name = target[0] if isinstance(target, list) else str(target).split(".")[0]
    resource = resources.get(name) if isinstance(name, str) else None
    if resource and resource.get("Type") == "AWS::Logs::LogGroup":
        return name, resource
    return None


def check_retention(name, resource, parameters):
    value = resource.get("Properties", {}).get("RetentionInDays")
    if value is None:
        return [f"log group {name} has no RetentionInDays (its lines would be kept forever)"]
    days = number(value, parameters)
    if days not in RETENTION_DAYS:
        return [f"log group {name}: RetentionInDays {resolve(value, parameters)!r} is not one of CloudWatch's retention periods"]
    if isinstance(value, dict) and value.get("Ref") in parameters:
        allowed = parameters[value["Ref"]].get("AllowedValues")
        if not allowed or not {number(v, {}) for v in allowed} <= RETENTION_DAYS:
            return [f"parameter {value['Ref']} must allow only CloudWatch's retention periods (AllowedValues)"]
    return []


def check_logs(resources, functions, globals_fn, api, parameters):
    problems = []
    for name, resource in functions.items():
        logging = dict(globals_fn.get("LoggingConfig", {}) or {})
        logging.update(resource.get("Properties", {}).get("LoggingConfig", {}) or {})
        for key, level in (("LogFormat", "JSON"), ("ApplicationLogLevel", "INFO"), ("SystemLogLevel", "WARN")):
            if logging.get(key) != level:
                problems.append(f"{name}: LoggingConfig must pin {key} {level} (found {logging.get(key)})")
        group = log_group(resources, logging.get("LogGroup"))
        if group is None:
            # Or the group Lambda would use by default, created by the template.
            default_name = {"Fn::Sub": f"/aws/lambda/${{{name}}}"}
            group = next(((n, r) for n, r in resources.items() if r.get("Type") == "AWS::Logs::LogGroup"
                          and r.get("Properties", {}).get("LogGroupName") == default_name), None)
        if group is None:
            problems.append(f"{name} has no log group with a retention (LoggingConfig.LogGroup: !Ref an AWS::Logs::LogGroup)")
        else:
            problems += check_retention(*group, parameters)

    access = api.get("Properties", {}).get("AccessLogSettings")
    if not access:
        return problems + ["the HttpApi has no AccessLogSettings (who called, and how it went, would be logged nowhere)"]
    group = log_group(resources, access.get("DestinationArn"))
    if group is None:
        problems.append("the access log's DestinationArn must be !GetAtt <an AWS::Logs::LogGroup>.Arn")
    else:
        problems += check_retention(*group, parameters)
    fmt = access.get("Format")
    if not isinstance(fmt, str):
        return problems + ["the access log has no Format"]
    try:
        json.loads(re.sub(r"\$context\.[A-Za-z0-9_.]+", "x", fmt))
    except ValueError as e:
        problems.append(f"the access log format is not one JSON object per line: {e}")
    for what, variables in ACCESS_LOG_FIELDS.items():
        if not any(re.search(re.escape(v) + r"(?![A-Za-z0-9_.])", fmt) for v in variables):
            problems.append(f"the access log format lacks {what} ({' or '.join(variables)})")
    return problems


def check_base_urls(globals_fn, parameters):
    problems = []
    env = globals_fn.get("Environment", {}).get("Variables", {})
    config = read("shared/src/config.rs")
    for var in sorted(set(re.findall(r'pub const [A-Z_]+: &str = "([A-Z_]+_BASE_URL)";', config))):
        value = env.get(var)
        if isinstance(value, dict) and value.get("Ref") in parameters:
            name, parameter = value["Ref"], parameters[value["Ref"]]
        else:
            name, parameter = var, {"Default": value}
        default = str(parameter.get("Default", ""))
        if not default.startswith("https://"):
            problems.append(f"parameter {name} ({var}): default {default or None} is not an https:// URL")
        if name == var:
            continue  # a literal: nothing else to check
        pattern = parameter.get("AllowedPattern")
        if not pattern:
            problems.append(f"parameter {name} ({var}) has no AllowedPattern (it must accept only https:// URLs)")
            continue
        if default.startswith("https://") and not re.fullmatch(pattern, default):
            problems.append(f"parameter {name} ({var}): AllowedPattern refuses its own default {default}")
        for url in PLAIN_HTTP:
            if re.fullmatch(pattern, url):
                problems.append(f"parameter {name} ({var}): AllowedPattern admits http:// ({url})")
                break
        if not parameter.get("ConstraintDescription"):
            problems.append(f"parameter {name} ({var}) has no ConstraintDescription (what a refused value is told)")
    return problems


def check_alarms(resources):
    problems = []

    def strings(path):
        # The code, not its tests: a string only a test mentions is not written.
        code = re.split(r"#\[cfg\(test\)\]\s*mod tests\b", read(path))[0]
        return set(re.findall(r'"([A-Za-z_]+)"', code))

    metrics = read("shared/src/metrics.rs")
    namespace = re.search(r'pub const NAMESPACE: &str = "([A-Za-z0-9_./-]+)";', metrics).group(1)
    for alarm, (metric, outcome, source) in ALARMS.items():
        for what, value, path in (("metric", metric, "shared/src/metrics.rs"), ("outcome", outcome, source)):
            if value not in strings(path):
                problems.append(f"{alarm} watches {what} {value!r}, which {path} never writes")
        resource = resources.get(alarm)
        if not resource or resource.get("Type") != "AWS::CloudWatch::Alarm":
            problems.append(f"{alarm} is missing (an AWS::CloudWatch::Alarm on {metric} with Outcome = {outcome})")
            continue
        props = resource.get("Properties", {})
        found = (props.get("Namespace"), props.get("MetricName"), props.get("Dimensions"))
        want = (namespace, metric, [{"Name": "Outcome", "Value": outcome}])
        if found != want:
            problems.append(f"{alarm} must watch {namespace} {metric} with Outcome = {outcome}, found {found[0]} {found[1]} {found[2]}")
        if {"Ref": "AlarmTopic"} not in (props.get("AlarmActions") or []):
            problems.append(f"{alarm} must notify AlarmTopic")
    problems += check_panics_alarmed(resources, namespace, strings("shared/src/metrics.rs"))
    return problems


def check_panics_alarmed(resources, namespace, written):
    # A handler's panic is answered (500), so Lambda counts no error for it:
    # FunctionErrorsAlarm must add the Panics count shared/src/metrics.rs writes.
    metric, outcome = "Panics", "panicked"
    problems = [f"FunctionErrorsAlarm counts {what} {value!r}, which shared/src/metrics.rs never writes"
                for what, value in (("metric", metric), ("outcome", outcome)) if value not in written]
    queries = ((resources.get("FunctionErrorsAlarm") or {}).get("Properties") or {}).get("Metrics") or []
    ids = [q.get("Id") for q in queries
           if (q.get("MetricStat") or {}).get("Metric") == {
               "Namespace": namespace, "MetricName": metric,
               "Dimensions": [{"Name": "Outcome", "Value": outcome}]}]
    sums = [q.get("Expression", "") for q in queries if q.get("ReturnData")]
    if not ids or not any(re.search(rf"\b{re.escape(ids[0])}\b", e) for e in sums):
        problems.append(f"FunctionErrorsAlarm must add {namespace} {metric} (Outcome = {outcome}) to Lambda's Errors")
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

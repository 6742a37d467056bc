"""Tests for the offline template checks: the real template passes, and
each broken copy fails the check that should catch it.

Prints "N passed, N failed" and exits 1 on any failure.
"""

import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
TEMPLATE = open(os.path.join(ROOT, "template.yaml")).read()


def cfn_lint(text):
    """The SAM transform run here, then cfn-lint on the CloudFormation it
    made (cfn-lint alone misses dangling references inside SAM resources)."""
    with tempfile.TemporaryDirectory() as out:
        transformed = os.path.join(out, "transformed.json")
        code, output = run([sys.executable, os.path.join(ROOT, "scripts", "sam_transform.py"), "{path}", transformed], text)
        if code != 0:
            return code, output
        done = subprocess.run([os.path.join(BIN, "cfn-lint"), transformed], capture_output=True, text=True)
        return done.returncode, done.stdout + done.stderr


def check(text):
    return run([sys.executable, os.path.join(ROOT, "scripts", "check_template.py"), "{path}"], text)


def run(command, text):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        command = [c.replace("{path}", f.name) for c in command]
        done = subprocess.run(command, capture_output=True, text=True)
        return done.returncode, done.stdout + done.stderr
    finally:
        os.unlink(f.name)


def mutate(old, new, count=1):
    assert TEMPLATE.count(old) >= count, f"the template no longer contains {old!r}"
    return TEMPLATE.replace(old, new, count)


def block(start):
    """The template's lines from the one starting with `start` to the last
    line indented deeper than it."""
    lines = TEMPLATE.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    indent = len(start) - len(start.lstrip())
    end = first + 1
    while end < len(lines) and len(lines[end]) - len(lines[end].lstrip()) > indent:
        end += 1
    return "".join(lines[first:end])


DEFAULT_ROUTE_SETTINGS = block("      DefaultRouteSettings:")
WEBHOOK_ROUTE_SETTINGS = block("      RouteSettings:")

CASES = [
    # (name, checker, template text, should pass, text the output must contain)
    ("the template passes cfn-lint", cfn_lint, TEMPLATE, True, ""),
    ("the template matches the code", check, TEMPLATE, True, "matches the code"),
    ("a broken reference in a policy fails", cfn_lint,
     mutate("Resource: !Ref PaymentsSecret", "Resource: !Ref PaymentSecret"), False, "E1020 'PaymentSecret'"),
    ("a broken reference in the environment fails", cfn_lint,
     mutate("PAYMENTS_TABLE: !Ref PaymentsTable", "PAYMENTS_TABLE: !Ref PaymentsTabel"), False, "E1020 'PaymentsTabel'"),
    ("a broken GetAtt fails", cfn_lint,
     mutate("Resource: !GetAtt PaymentsTable.Arn", "Resource: !GetAtt PaymentsTabel.Arn"), False, "E1010 'PaymentsTabel'"),
    ("a public merchant route fails", check,
     mutate("            Path: /charges\n            Method: POST\n",
            "            Path: /charges\n            Method: POST\n            Auth:\n              Authorizer: NONE\n"),
     False, "POST /charges is a merchant route and must not be public"),
    ("a missing environment variable fails", check,
     mutate("        DEBOX_MERCHANT_USER_ID: !Ref DeboxMerchantUserId\n", ""),
     False, "DEBOX_MERCHANT_USER_ID is read by the code but not set"),
    ("a wrong method fails", check,
     mutate("            Path: /vbox/balance\n            Method: GET", "            Path: /vbox/balance\n            Method: POST"),
     False, "route GET /vbox/balance must go to vbox-balance"),
    ("a function without a resource fails", check,
     mutate("Binary: vbox-balance", "Binary: vbox-balances"), False, "functions/vbox-balance has no function resource"),
    ("a protected webhook fails", check,
     mutate("            Auth:\n              Authorizer: NONE\n", ""), False, "POST /webhooks/qbit must be public"),
    ("a TTL on another attribute fails", check,
     mutate("AttributeName: expires_at", "AttributeName: ttl"), False, "TTL must be enabled on expires_at"),
    ("a wildcard policy fails", check,
     mutate("Action: secretsmanager:GetSecretValue", "Action: \"*\""), False, "a policy grants *"),
    # Guard rails.
    ("an API without throttling fails", check,
     mutate(DEFAULT_ROUTE_SETTINGS, ""), False, "no throttling on its default route"),
    ("a webhook without its own limit fails", check,
     mutate(WEBHOOK_ROUTE_SETTINGS, ""), False, "route POST /webhooks/qbit has no throttling of its own"),
    ("a webhook limit keyed by a path alone fails", check,
     mutate('"POST /webhooks/qbit":', '"/webhooks/qbit":'), False, "'/webhooks/qbit' is not a route of the API"),
    ("a webhook limit not lower than the merchant routes' fails", check,
     mutate("  WebhookRateLimit:\n    Type: Number\n    Default: 10\n", "  WebhookRateLimit:\n    Type: Number\n    Default: 50\n"),
     False, "ThrottlingRateLimit (50) must be lower than the merchant routes' (50)"),
    ("a log group without retention fails", check,
     mutate("      RetentionInDays: !Ref LogRetentionDays\n", ""), False, "ApiAccessLogGroup has no RetentionInDays"),
    ("a function without its log group fails", check,
     mutate("      LoggingConfig:\n        LogGroup: !Ref VboxBalanceLogGroup\n", ""),
     False, "VboxBalanceFunction has no log group with a retention"),
    ("a retention CloudWatch does not offer fails", check,
     mutate("    Default: 90\n", "    Default: 91\n"), False, "91 is not one of CloudWatch's retention periods"),
    ("an API without an access log fails", check,
     mutate("      AccessLogSettings:\n", "      AccessLogSettingz:\n"), False, "the HttpApi has no AccessLogSettings"),
    ("an access log without the caller fails", check,
     mutate('"caller_arn":"$context.identity.userArn",', ""), False, "lacks the caller's identity (user ARN)"),
    ("an access log without latency fails", check,
     mutate('"response_latency_ms":"$context.responseLatency",', ""), False, "lacks the response latency"),
    ("an access log that is not JSON fails", check,
     mutate('"status":"$context.status",', '"status":$context.status"'), False, "not one JSON object per line"),
    ("a missing application log level pin fails", check,
     mutate("      ApplicationLogLevel: INFO\n", ""), False, "LoggingConfig must pin ApplicationLogLevel INFO (found None)"),
    ("a system log level other than WARN fails", check,
     mutate("      SystemLogLevel: WARN\n", "      SystemLogLevel: DEBUG\n"), False, "LoggingConfig must pin SystemLogLevel WARN (found DEBUG)"),
    ("an http:// provider default fails", check,
     mutate("Default: https://open.debox.pro", "Default: http://open.debox.pro"),
     False, "DeboxOpenBaseUrl (DEBOX_OPEN_BASE_URL): default http://open.debox.pro is not an https:// URL"),
    ("a base URL pattern admitting http:// fails", check,
     mutate('AllowedPattern: "https://', 'AllowedPattern: "https?://'), False, "QbitBaseUrl (QBIT_BASE_URL): AllowedPattern admits http://"),
    ("a base URL without a pattern fails", check,
     mutate('    AllowedPattern: "https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^?#\\\\s]*)?"\n', "", 3),
     False, "DeboxAppBaseUrl (DEBOX_APP_BASE_URL) has no AllowedPattern"),
    ("a missing signature failures alarm fails", check,
     mutate("  WebhookSignatureFailuresAlarm:\n", "  WebhookSignatureFailuresAlarmOld:\n"),
     False, "WebhookSignatureFailuresAlarm is missing"),
    ("a missing unmatched event alarm fails", check,
     mutate("  UnmatchedWebhookEventAlarm:\n", "  UnmatchedWebhookEventAlarmOld:\n"),
     False, "UnmatchedWebhookEventAlarm is missing"),
    ("an errors alarm without the panics count fails", check,
     mutate("deboxTransfer, vboxBalance, panics])", "deboxTransfer, vboxBalance])"),
     False, "FunctionErrorsAlarm must add PaymentsBundle Panics (Outcome = panicked) to Lambda's Errors"),
    ("an alarm on the wrong outcome fails", check,
     mutate("          Value: signature_refused\n", "          Value: signature_failed\n"),
     False, "WebhookSignatureFailuresAlarm must watch PaymentsBundle WebhookEvents with Outcome = signature_refused"),
]


def main():
    passed = failed = 0
    for name, checker, text, should_pass, expected in CASES:
        code, output = checker(text)
        ok = (code == 0) == should_pass and expected in output
        if ok:
            passed += 1
            print(f"ok      {name}")
        else:
            failed += 1
            print(f"FAILED  {name} (exit {code})\n{output}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

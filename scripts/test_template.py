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

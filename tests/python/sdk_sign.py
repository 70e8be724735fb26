"""Drive the official Huawei Cloud Python SDK for the Rust tests.

`sdk_sign.py` (tests/signer_sdk.rs) signs requests. Reads a JSON list of cases on stdin; each is
  {"method", "url" (scheme://netloc, no path), "path" (resource path as sent, already encoded),
   "query": [[key, value], ...], "headers": [[name, value], ...], "body_hex",
   "ak", "sk", "security_token" (or null), "date" (X-Sdk-Date value)}
and writes a JSON list of {"authorization", "uri", "headers"} in the same order.

The request goes through BasicCredentials.sign_request, the SDK's own entry point, so the
X-Security-Token handling is the SDK's, and from there through signer.Signer.
`sdk_sign.py requests` (tests/cloud_sdk_requests.rs) sends real SDK calls to a recording server.
Reads {"endpoint", "project_id", "ak", "sk", "calls": [{"method", "request", "args"}]} where
"method" is a ModelArtsClient method, "request" its request class and "args" its keyword
arguments; a JSON object with "__model__": "ClassName" becomes that SDK model class, built from
the other keys. Writes one error string (or null) per call; responses are not checked.

Exit status 3 means the SDK could not be imported.
"""
import json
import sys
from urllib.parse import urlparse

try:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest
except ImportError as exc:  # the Rust test turns this into a failure naming ./scripts/test
    print(f"cannot import huaweicloudsdkcore: {exc}", file=sys.stderr)
    sys.exit(3)


def sign(case):
    parsed = urlparse(case["url"])
    headers = {name: value for name, value in case["headers"]}
    headers["X-Sdk-Date"] = case["date"]
    request = SdkRequest(
        method=case["method"],
        schema=parsed.scheme,
        host=parsed.netloc,
        resource_path=case["path"],
        query_params=[(k, v) for k, v in case["query"]],
        header_params=headers,
        body=bytes.fromhex(case["body_hex"]),
    )
    credentials = BasicCredentials(case["ak"], case["sk"])
    if case.get("security_token") is not None:
        credentials = credentials.with_security_token(case["security_token"])
    signed = credentials.sign_request(request)
    return {
        "authorization": signed.header_params.get("Authorization"),
        "uri": signed.uri,
        "headers": signed.header_params,
    }


def to_model(value):
    from huaweicloudsdkmodelarts.v1 import model

    if isinstance(value, list):
        return [to_model(v) for v in value]
    if isinstance(value, dict):
        converted = {k: to_model(v) for k, v in value.items() if k != "__model__"}
        if "__model__" in value:
            return getattr(model, value["__model__"])(**converted)
        return converted
    return value


def send_requests(spec):
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkmodelarts.v1 import ModelArtsClient, model

    credentials = BasicCredentials(spec["ak"], spec["sk"], spec["project_id"])
    client = ModelArtsClient.new_builder().with_credentials(credentials).with_endpoints([spec["endpoint"]]).build()
    outcomes = []
    for call in spec["calls"]:
        request = getattr(model, call["request"])(**to_model(call["args"]))
        try:
            getattr(client, call["method"])(request)
            outcomes.append(None)
        except Exception as exc:  # the recording server's answers are not what is under test
            outcomes.append(f"{type(exc).__name__}: {exc}")
    return outcomes


def main():
    if sys.argv[1:] == ["requests"]:
        json.dump(send_requests(json.load(sys.stdin)), sys.stdout)
        return
    cases = json.load(sys.stdin)
    json.dump([sign(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()

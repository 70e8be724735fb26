"""Sign requests with the official Huawei Cloud Python SDK, for tests/signer_sdk.rs.

Reads a JSON list of cases on stdin; each case is
  {"method", "url" (scheme://netloc, no path), "path" (resource path as sent, already encoded),
   "query": [[key, value], ...], "headers": [[name, value], ...], "body_hex",
   "ak", "sk", "security_token" (or null), "date" (X-Sdk-Date value)}
and writes a JSON list of {"authorization", "uri", "headers"} in the same order.

The request goes through BasicCredentials.sign_request, the SDK's own entry point, so the
X-Security-Token handling is the SDK's, and from there through signer.Signer.
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


def main():
    cases = json.load(sys.stdin)
    json.dump([sign(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()

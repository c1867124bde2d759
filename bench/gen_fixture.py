#!/usr/bin/env python3
"""Writes N synthetic API Gateway v2 stages in the demo fixture format (GetApis/GetStages
answers per account and region), so they go through the same mapping code as live data.

    gen_fixture.py N OUT.json

Stage i belongs to API a{10000000 + i // 3} (3 stages per API: s0, s1, s2) in us-east-1, in one of 20
accounts. Its stage_arn is therefore computable from i, which the point-lookup benchmark uses:
    arn:aws:apigateway:us-east-1::/apis/a{10000000 + i // 3}/stages/s{i % 3}
"""

import datetime
import json
import sys

ACCOUNTS = 20
REGION = "us-east-1"
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def ts(seconds):
    return (EPOCH + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def stage(i):
    api = i // 3
    s = {
        "stageName": f"s{i % 3}",
        "createdDate": ts(i * 3_600 % (730 * 86_400)),
        "lastUpdatedDate": ts(i * 3_600 % (730 * 86_400) + 86_400),
        "defaultRouteSettings": {
            "detailedMetricsEnabled": i % 2 == 0,
            "throttlingBurstLimit": 100 + i % 400,
            "throttlingRateLimit": 50.0 + i % 100,
        },
        "routeSettings": {},
        "stageVariables": {"lambdaAlias": f"alias{i % 7}", "build": str(i)},
        "tags": {"env": ["dev", "staging", "prod"][i % 3], "team": f"team{api % 50}"},
        "autoDeploy": i % 2 == 1,
        "deploymentId": f"d{i:08d}",
        "description": f"synthetic stage {i}",
    }
    if i % 5 == 0:
        s["routeSettings"] = {"GET /items": {"throttlingBurstLimit": 10, "throttlingRateLimit": 5.5}}
    if i % 11 == 0:
        s["accessLogSettings"] = {
            "destinationArn": f"arn:aws:logs:{REGION}:000000000000:log-group:g{api}",
            "format": "$context.requestId",
        }
    if i % 13 == 0:
        s["lastDeploymentStatusMessage"] = "Deployment attempt failed"
    return s


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    accounts = {}
    apis = (n + 2) // 3
    for api in range(apis):
        account = f"{100000000000 + api % ACCOUNTS}"
        region = accounts.setdefault(account, {"region": REGION, "getApis": {"items": []},
                                                "getStages": {}})
        api_id = f"a{10000000 + api}"
        region["getApis"]["items"].append({
            "apiId": api_id,
            "name": f"api-{api}",
            "protocolType": "WEBSOCKET" if api % 10 == 0 else "HTTP",
            "apiEndpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com",
            "createdDate": ts(api * 10_800 % (730 * 86_400)),
            "tags": {"team": f"team{api % 50}"},
        })
        region["getStages"][api_id] = {
            "items": [stage(i) for i in range(api * 3, min(api * 3 + 3, n))]
        }
    doc = {"accounts": [{"accountId": a, "regions": [r]} for a, r in sorted(accounts.items())]}
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))


if __name__ == "__main__":
    main()

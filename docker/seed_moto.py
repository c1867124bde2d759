"""Seeds a moto server with API Gateway v2 APIs and stages for the compose "aws" and "scale"
profiles, and creates the "scale" profile's snapshot bucket.

    python3 seed_moto.py http://moto:5000
"""

import sys
import time
import urllib.request

import boto3

ENDPOINT = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000"

for _ in range(60):
    try:
        urllib.request.urlopen(ENDPOINT + "/moto-api/", timeout=2)
        break
    except OSError:
        time.sleep(1)

s3 = boto3.client(
    "s3",
    region_name="us-east-1",
    endpoint_url=ENDPOINT,
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
if "stagesql-snapshots" not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
    s3.create_bucket(Bucket="stagesql-snapshots")

for region in ("us-east-1", "eu-west-1"):
    client = boto3.client(
        "apigatewayv2",
        region_name=region,
        endpoint_url=ENDPOINT,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    if client.get_apis().get("Items"):
        continue
    for name, protocol in (("orders", "HTTP"), ("chat", "WEBSOCKET")):
        extra = {"RouteSelectionExpression": "$request.body.action"} if protocol == "WEBSOCKET" else {}
        api = client.create_api(Name=f"{name}-{region}", ProtocolType=protocol, **extra)
        for stage in ("dev", "prod"):
            client.create_stage(
                ApiId=api["ApiId"],
                StageName=stage,
                Description=f"{stage} stage of {name}",
                StageVariables={"tier": stage},
                Tags={"env": stage, "team": name},
            )
print("seeded moto at", ENDPOINT)

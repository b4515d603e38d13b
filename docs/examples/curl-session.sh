#!/usr/bin/env bash
# The reference's direct-to-S3 steps by hand, with curl and jq, against the ossfs
# emulator (or APS). docs/EMULATOR.md walks through it; the integration tests run it.
#
#   ossfs emulator &            # prints the endpoint and credentials to export
#   export OSSFS_ENDPOINT=http://127.0.0.1:9230 APS_CLIENT_ID=ossfs-emulator APS_CLIENT_SECRET=ossfs-emulator-secret
#   docs/examples/curl-session.sh [BUCKET]
set -euo pipefail

endpoint=${OSSFS_ENDPOINT:-https://developer.api.autodesk.com}
bucket=${1:-curl-session-$RANDOM}
key='folder/hello world+1.txt'
# The object key travels percent-encoded as one path segment (/ -> %2F, + -> %2B).
enc=$(jq -rn --arg k "$key" '$k|@uri')
file=$(mktemp)
trap 'rm -f "$file"' EXIT
printf 'hello from curl, %s\n' "$(date -u +%FT%TZ)" >"$file"

step() { printf '\n== %s\n' "$*" >&2; }

step "1. 2-legged token"
token=$(curl -sSf -X POST "$endpoint/authentication/v2/token" \
  -u "$APS_CLIENT_ID:$APS_CLIENT_SECRET" \
  -H 'Content-Type: application/x-www-form-urlencoded' \
  -d 'grant_type=client_credentials' \
  --data-urlencode 'scope=bucket:create bucket:read data:read data:write data:create' | jq -r .access_token)
auth=(-H "Authorization: Bearer $token")

step "2. create bucket $bucket"
curl -sS -X POST "$endpoint/oss/v2/buckets" "${auth[@]}" \
  -H 'Content-Type: application/json' -H 'x-ads-region: US' \
  -d "{\"bucketKey\":\"$bucket\",\"policyKey\":\"transient\"}" | jq -c . >&2

step "3. signeds3upload: one part URL and an uploadKey"
upload=$(curl -sSf "$endpoint/oss/v2/buckets/$bucket/objects/$enc/signeds3upload?parts=1" "${auth[@]}")
upload_key=$(jq -r .uploadKey <<<"$upload")
part_url=$(jq -r '.urls[0]' <<<"$upload")

step "4. PUT the part to the signed URL (no Authorization header)"
etag=$(curl -sSf -X PUT --upload-file "$file" -D - -o /dev/null "$part_url" |
  tr -d '\r' | sed -n 's/^[Ee][Tt]ag: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p')
echo "ETag $etag" >&2

step "5. complete the upload with the uploadKey"
size=$(wc -c <"$file" | tr -d ' ')
curl -sSf -X POST "$endpoint/oss/v2/buckets/$bucket/objects/$enc/signeds3upload" "${auth[@]}" \
  -H 'Content-Type: application/json' -H 'x-ads-meta-Content-Type: text/plain' \
  -d "{\"uploadKey\":\"$upload_key\",\"size\":$size,\"eTags\":[\"$etag\"]}" | jq -c . >&2

step "6. signeds3download"
download=$(curl -sSf "$endpoint/oss/v2/buckets/$bucket/objects/$enc/signeds3download" "${auth[@]}")
jq -c '{status, size, sha1}' <<<"$download" >&2

step "7. GET the bytes from the signed URL"
curl -sSf "$(jq -r .url <<<"$download")" -o "$file.back"
cmp "$file" "$file.back"
sha1=$(sha1sum "$file.back" | cut -d' ' -f1)
rm -f "$file.back"
[ "$sha1" = "$(jq -r .sha1 <<<"$download")" ]
echo "round trip ok: sha1 $sha1" >&2
echo "$sha1"

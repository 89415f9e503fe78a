#!/usr/bin/env bash
# busybox-image.sh OUT_DIR [TAG]: an OCI image layout (image-spec image-layout.md) holding a
# one-layer busybox image built from Debian's busybox-static, CMD ["/bin/sh"], tagged TAG
# (default latest) — the image the project runs with no registry. Reproducible: fixed mtimes,
# sorted entries, numeric owners, gzip without a timestamp, canonical JSON.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: busybox-image.sh OUT_DIR [TAG]}
tag=${2:-latest}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$HERE/busybox-rootfs.sh" "$work/rootfs"
mkdir -p "$out/blobs/sha256"
epoch=0
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -C "$work/rootfs" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 -c "$work/layer.tar" >"$work/layer.tar.gz"
layer=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$out/blobs/sha256/$layer"
python3 - "$out" "$diff_id" "$layer" "$layer_size" "$tag" <<'PY'
import hashlib, json, os, sys
out, diff_id, layer, layer_size, tag = sys.argv[1:]
def put(obj):
    data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return d, len(data)
config = {
    "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
    "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
    "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "muelle scripts/busybox-image.sh (Debian busybox-static)"}],
}
cd, cs = put(config)
manifest = {
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cd, "size": cs},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + layer, "size": int(layer_size)}],
}
md, ms = put(manifest)
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + md, "size": ms,
     "platform": {"architecture": "amd64", "os": "linux"},
     "annotations": {"org.opencontainers.image.ref.name": tag, "io.containerd.image.name": "docker.io/library/busybox:" + tag}}]}
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump(index, f, sort_keys=True, separators=(",", ":"))
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
print("sha256:" + md)
PY

#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/) from the project's
own examples:

* the hex test vectors of docs/PROTOCOL.md (`<!-- vector:NAME -->` + a ```hex block);
* an audit bundle assembled from the §13.11 vectors (entries 0-2, the checkpoint of size 3,
  its cosignature, the §11 roots and CRLs) that verifies in full;
* the example lines of docs/FEED.md and a `tipctl send --file` TOML tip;
* deploy/*.toml, verbatim and with every file path replaced by "." (so a fuzzed config
  passes the existence checks and reaches the later validation steps).

Run from anywhere: `python3 fuzz/seed.py`. Idempotent: it rewrites the files it owns and
leaves any other file in the corpus directories alone.
"""
import hashlib
import re
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "corpus"


# --- minimal CBOR (definite lengths, the project's canonical map order) -------------------

def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise ValueError(n)


def enc(v):
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return _head(0, v)
    if isinstance(v, bytes):
        return _head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return _head(3, len(b)) + b
    if isinstance(v, list):
        return _head(4, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: (len(k.encode()), k.encode()))
        return _head(5, len(v)) + b"".join(enc(k) + enc(v[k]) for k in keys)
    raise TypeError(type(v))


def dec(b, i=0):
    """Decodes one item at i; returns (value, next index)."""
    ib = b[i]
    major, ai = ib >> 5, ib & 31
    i += 1
    if ai < 24:
        n = ai
    else:
        size = {24: 1, 25: 2, 26: 4, 27: 8}[ai]
        n = int.from_bytes(b[i:i + size], "big")
        i += size
    if major == 0:
        return n, i
    if major == 2:
        return bytes(b[i:i + n]), i + n
    if major == 3:
        return b[i:i + n].decode(), i + n
    if major == 4:
        out = []
        for _ in range(n):
            x, i = dec(b, i)
            out.append(x)
        return out, i
    if major == 5:
        out = {}
        for _ in range(n):
            k, i = dec(b, i)
            out[k], i = dec(b, i)
        return out, i
    if major == 7 and ai in (20, 21):
        return ai == 21, i
    raise ValueError(f"unsupported CBOR item {ib:#x}")


def frame(body):
    return len(body).to_bytes(4, "big") + body


# --- sources -------------------------------------------------------------------------------

def vectors():
    text = (ROOT / "docs" / "PROTOCOL.md").read_text()
    found = re.findall(r"<!-- vector:([a-z0-9-]+) -->\s*```hex\n(.*?)```", text, re.S)
    out = {name: bytes.fromhex("".join(body.split())) for name, body in found}
    if len(out) < 40:
        sys.exit(f"only {len(out)} vectors found in docs/PROTOCOL.md; has its format changed?")
    return out


def pem(label, der):
    import base64
    b64 = base64.b64encode(der).decode()
    lines = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n".encode()


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(a, b):
    return hashlib.sha256(b"\x01" + a + b).digest()


def audit_entries(v):
    """Entries 0-2 of §13.11: 0 is a vector, 1 is inside the proof response, 2 is 1 acked."""
    e0 = v["audit-entry"]
    proof, _ = dec(v["response-proof-frame"], 4)
    e1 = proof["ok"]["entry"]
    d2, _ = dec(e1)
    d2.update(i=2, kind="acked", time=d2["time"] + 1000)
    e2 = enc(d2)
    leaves = [leaf_hash(e) for e in (e0, e1, e2)]
    root = node_hash(node_hash(leaves[0], leaves[1]), leaves[2])
    if leaves[0] != v["audit-leaf"] or root != v["audit-root-3"] or enc(dec(e1)[0]) != e1:
        sys.exit("the rebuilt audit entries do not match the §13.11 vectors")
    return [e0, e1, e2], leaves


def bundle(v):
    (entries, leaves) = audit_entries(v)
    anchors = [
        {"authority": a, "root": v[f"{p}-root-cert"], "crl": v[f"{p}-crl"]}
        for a, p in (("MX", "mx"), ("US", "us"), ("OPERATOR", "operator"))
    ]
    header = {
        "v": 1,
        "log": "tiprelay://OPERATOR/relay/main",
        "created": 1_796_126_460_000,
        "first": 0,
        "count": 3,
        "prefix": [],
        "checkpoints": [{"checkpoint": v["audit-checkpoint-envelope"], "cosignatures": [v["cosignature-envelope"]]}],
        "anchors": anchors,
    }
    body = b"TIPRELAY-AUDIT-1\n" + frame(enc(header))
    body += b"".join(frame(e + leaf) for e, leaf in zip(entries, leaves))
    trailer = {"end": 3, "sha256": hashlib.sha256(body).digest()}
    return body, body + frame(enc(trailer))


def feed_lines():
    text = (ROOT / "docs" / "FEED.md").read_text()
    lines = []
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        lines += [l.encode() for l in block.splitlines() if l.strip()]
    if not lines:
        sys.exit("no ```json example lines in docs/FEED.md; has its format changed?")
    return lines


TIP_TOML = b'''to = "US"
category = "drug_shipment"
summary = "Tractor-trailer with hidden compartment, northbound lane 4"
tlp = "amber+strict"
urgency = "immediate"
details = "Seen at 14:10."
lang = "en"
observed_at = "2026-11-30T21:04:00Z"
valid_until = "2026-12-30T21:04:00Z"
source_reliability = "C"
info_credibility = 3
refs = ["01a23179-de00-7111-9111-111111111111"]

[location]
lat = 31.7625
lon = -107.6225
radius_m = 2500
place = "Puerto Palomas"
port_of_entry = "Columbus, NM"
'''


def configs():
    out = {}
    for p in sorted((ROOT / "deploy").glob("*.toml")):
        text = p.read_text()
        out[p.stem] = text.encode()
        # Every quoted absolute path becomes ".", which exists next to the fuzzed file.
        local = re.sub(r'"/[^"]*"', '"."', text)
        out[p.stem + ".local-paths"] = local.encode()
    if not out:
        sys.exit("no deploy/*.toml")
    return out


# --- corpus --------------------------------------------------------------------------------

def main():
    v = vectors()
    seeds = {t: {} for t in (
        "envelope", "payloads", "request", "response", "audit_entry", "audit_bundle", "feed_line", "relay_config",
        "pki")}
    for name, b in v.items():
        if name.endswith("-envelope"):
            seeds["envelope"][name] = b
        elif name.endswith("-payload"):
            seeds["payloads"][name] = b
        elif name.startswith("request-"):
            seeds["request"][name] = b
            seeds["request"][name.replace("-frame", "-body")] = b[4:]
        elif name.startswith("response-"):
            seeds["response"][name] = b
            seeds["response"][name.replace("-frame", "-body")] = b[4:]
        elif name.endswith("-cert"):
            seeds["pki"][name + ".der"] = b
            seeds["pki"][name + ".pem"] = pem("CERTIFICATE", b)
        elif name.endswith("-crl"):
            seeds["pki"][name + ".der"] = b
            seeds["pki"][name + ".pem"] = pem("X509 CRL", b)
        elif name.endswith("-seed"):
            # PKCS#8 v1 of an Ed25519 seed (RFC 8410): a fixed prefix, then the 32 bytes.
            der = bytes.fromhex("302e020100300506032b657004220420") + b
            seeds["pki"][name.replace("-seed", "-key") + ".der"] = der
            seeds["pki"][name.replace("-seed", "-key") + ".pem"] = pem("PRIVATE KEY", der)
    seeds["pki"]["mx-analyst-key-and-cert.pem"] = (
        seeds["pki"]["mx-analyst-key.pem"] + seeds["pki"]["mx-analyst-signing-cert.pem"])
    seeds["pki"]["roots-chain.pem"] = b"".join(
        seeds["pki"][f"{p}-root-cert.pem"] for p in ("mx", "us", "operator"))
    entries, _ = audit_entries(v)
    for i, e in enumerate(entries):
        seeds["audit_entry"][f"audit-entry-{i}"] = e
    body, whole = bundle(v)
    seeds["audit_bundle"]["bundle-3-entries"] = whole
    # What `read_bundle` reads (header and entries) without the trailer `verify_bundle` needs.
    seeds["audit_bundle"]["bundle-no-trailer"] = body
    lines = feed_lines()
    for i, l in enumerate(lines):
        seeds["feed_line"][f"feed-example-{i}.json"] = l
    seeds["feed_line"]["feed-examples.jsonl"] = b"\n".join(lines) + b"\n"
    seeds["feed_line"]["tip-file.toml"] = TIP_TOML
    for name, text in configs().items():
        seeds["relay_config"][name + ".toml"] = text

    total = 0
    for target, files in seeds.items():
        d = CORPUS / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (d / name).write_bytes(data)
            total += len(data)
        print(f"{target:14} {len(files):3} seeds")
    print(f"{total} bytes in total")


if __name__ == "__main__":
    main()

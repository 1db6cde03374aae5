#!/usr/bin/env python3
"""Bytes of one UploadResults message, plain vs gzip vs deflate (zlib level 6, as grpc-swift).

Builds a typical agent batch (the fields `SyncResultMapping` fills: seq, job id, created-at,
model digest, source, caption text, attributes JSON with prompt / image digest / tokens /
placement, latency) and encodes it as protobuf by hand (the wire format is simple enough; no
generated code needed). Prints the gRPC payload size (5-byte message prefix included) for each
encoding. HTTP/2 and TLS framing come on top in every case.

    python3 tools/bench/upload_compression.py [BATCH_SIZE ...]
"""
import gzip
import hashlib
import json
import random
import sys
import zlib


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value) if value else b""


def field_bytes(number: int, value: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(value)) + value if value else b""


SUBJECTS = ["a person", "two people", "a delivery van", "a cat", "a cyclist", "an empty corridor", "a parked car",
            "a man in a red jacket", "a woman with a stroller", "a forklift"]
ACTIONS = ["standing at the door", "walking past the entrance", "waiting near the gate", "crossing the parking lot",
           "carrying a box", "sitting on a bench", "looking at the camera"]
SCENES = ["in daylight", "at night under a street lamp", "in the rain", "next to a blue sign", "beside two bicycles"]


def result(rng: random.Random, seq: int, model_digest: str) -> bytes:
    text = f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(ACTIONS)} {rng.choice(SCENES)}."
    attributes = json.dumps({"image_digest": hashlib.sha256(rng.randbytes(32)).hexdigest(), "placement": "cpu",
                             "prompt": "Describe this image in one sentence.", "tokens": rng.randint(9, 24)},
                            sort_keys=True, separators=(",", ":"))
    return (field_varint(1, seq) + field_bytes(2, str(1000 + seq).encode())
            + field_varint(3, 1_795_800_000_000 + seq * 60_000 + rng.randint(0, 999))
            + field_bytes(4, model_digest.encode()) + field_bytes(5, b"camera0") + field_bytes(6, text.encode())
            + field_bytes(7, attributes.encode()) + field_varint(8, rng.randint(800, 2500)))


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [5, 20, 100]
    rng = random.Random(8)
    model_digest = hashlib.sha256(b"demo model manifest").hexdigest()
    print("| results per batch | plain bytes | gzip bytes | deflate bytes | gzip / plain |")
    print("|---|---|---|---|---|")
    for n in sizes:
        request = b"".join(field_bytes(2, result(rng, seq, model_digest)) for seq in range(1, n + 1))
        plain = len(request) + 5
        gz = len(gzip.compress(request, compresslevel=6, mtime=0)) + 5
        deflate = len(zlib.compress(request, 6)) + 5
        print(f"| {n} | {plain:,} | {gz:,} | {deflate:,} | {gz / plain:.2f} |")


if __name__ == "__main__":
    main()

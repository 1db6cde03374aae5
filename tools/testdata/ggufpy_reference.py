#!/usr/bin/env python3
"""Reference GGUF files for the GGUF module's tests, made with gguf-py (the `gguf` package).

Usage: gguf.py OUTDIR   (writes OUTDIR/gguf/; skips the work when it is already up to date)

Writes, with gguf-py's GGUFWriter:
  types.gguf    metadata of every value type (arrays of every element type) and tensors of every
                ggml type gguf-py can write, in several shapes (1-D, odd row counts, 3-D, 4-D);
  align64.gguf  general.alignment = 64;
  v2.gguf       align64.gguf with the version field set to 2 (v2 and v3 share one layout);
  empty.gguf    metadata only, no tensors.
For every tensor whose type the Swift side dequantizes, <file>.expected/<tensor>.f32 holds the
Float32 dequantization by gguf-py's gguf.quants.dequantize (numpy astype for plain int/float types,
numpy d*q for Q8_K, which gguf-py lacks), flattened in ggml order (row-major over reversed ne).
Types gguf-py cannot quantize (K-quants, IQ4_NL/XS) get random block bytes with finite fp16 scales.
manifest.json records what gguf-py's GGUFReader reports: version, alignment, data offset, every
metadata field (type, element type, value) and the tensor table (name, type, ne shape, relative
offset, byte count, element count).
"""
import hashlib
import json
import shutil
import sys
from pathlib import Path

# This file is itself named gguf.py: drop its folder from the import path so `import gguf`
# finds the package, not this script.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import gguf  # noqa: E402
from gguf import GGMLQuantizationType as Q  # noqa: E402
from gguf import GGUFValueType as V  # noqa: E402

# Types the Swift dequantizer implements; expected .f32 files are written for these.
DEQUANTIZED = {
    Q.F32, Q.F16, Q.BF16, Q.F64, Q.I8, Q.I16, Q.I32, Q.I64,
    Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0,
    Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.Q8_K,
    Q.IQ4_NL, Q.IQ4_XS, Q.MXFP4, Q.TQ1_0, Q.TQ2_0,
}
# Types gguf-py quantizes itself.
QUANTIZABLE = {Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.MXFP4, Q.TQ1_0, Q.TQ2_0}
# Byte offsets of fp16 scale fields within one block, for random-byte blocks.
HALF_FIELDS = {
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
    Q.IQ4_NL: [0], Q.IQ4_XS: [0], Q.IQ2_XXS: [0], Q.IQ2_XS: [0], Q.IQ2_S: [0],
    Q.IQ3_XXS: [0], Q.IQ3_S: [0], Q.IQ1_S: [0], Q.Q1_0: [0],
}
PLAIN = {Q.F32: np.float32, Q.F16: np.float16, Q.F64: np.float64,
         Q.I8: np.int8, Q.I16: np.int16, Q.I32: np.int32, Q.I64: np.int64}


def random_halves(rng, n):
    """Finite fp16 values spanning subnormals to ~100, both signs."""
    mag = 10.0 ** rng.uniform(-6.5, 2.0, size=n)
    return (rng.choice([-1.0, 1.0], size=n) * mag).astype(np.float16)


def tensor_bytes(rng, qtype, ne):
    """Returns (numpy array to hand to GGUFWriter, raw_dtype or None, expected float32 or None)."""
    np_shape = tuple(reversed(ne))
    if qtype in PLAIN:
        dtype = PLAIN[qtype]
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            data = rng.integers(info.min, info.max, size=np_shape, dtype=dtype, endpoint=True)
        else:
            data = (rng.standard_normal(np_shape) * 3).astype(dtype)
        if qtype == Q.F32 and data.size >= 4:
            flat = data.reshape(-1)  # a few special values to check they pass through unchanged
            flat[:4] = [np.float32(1e-45), np.float32(-0.0), np.float32(3.4e38), np.float32(-1.5e-39)]
        if qtype in (Q.F32, Q.F16):
            expected = gguf.quants.dequantize(data.view(np.uint8), qtype)
        else:
            expected = data.astype(np.float32)
        return data, None, expected
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    if qtype in QUANTIZABLE:
        data = (rng.standard_normal(np_shape) * rng.uniform(0.01, 4)).astype(np.float32)
        q = gguf.quants.quantize(data, qtype)
    else:
        n_blocks = int(np.prod(ne)) // block_size
        blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
        if qtype == Q.Q8_K:
            d = (rng.standard_normal(n_blocks) * 0.05).astype(np.float32)
            blocks[:, 0:4] = d.view(np.uint8).reshape(n_blocks, 4)
        for off in HALF_FIELDS.get(qtype, []):
            blocks[:, off:off + 2] = random_halves(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
        q = blocks.reshape(np_shape[:-1] + (np_shape[-1] // block_size * type_size,))
    expected = None
    if qtype in DEQUANTIZED:
        if qtype == Q.Q8_K:
            flat = q.reshape(-1, type_size)
            d = flat[:, 0:4].copy().view(np.float32)
            qs = flat[:, 4:260].view(np.int8).astype(np.float32)
            expected = (d * qs).reshape(np_shape)
        else:
            expected = gguf.quants.dequantize(q, qtype)
    return q, qtype, expected


def shapes_for(block):
    return [[block * 3, 5], [block], [block * 2, 3, 2], [block, 1, 3, 2]]


def add_metadata(w):
    w.add_uint8("test.uint8", 200)
    w.add_int8("test.int8", -100)
    w.add_uint16("test.uint16", 60000)
    w.add_int16("test.int16", -30000)
    w.add_uint32("test.uint32", 4000000000)
    w.add_int32("test.int32", -2000000000)
    w.add_float32("test.float32", 0.1)
    w.add_bool("test.bool_true", True)
    w.add_bool("test.bool_false", False)
    w.add_string("test.string", "MiniCPM-V ✓ naïve 日本")
    w.add_string("test.empty_string", "")
    w.add_uint64("test.uint64", 2**63 + 12345)
    w.add_int64("test.int64", -(2**62))
    w.add_float64("test.float64", 2.718281828459045)
    w.add_uint32("clip.vision.block_count", 27)
    w.add_int32("test.u32_as_i32", 77)
    arrays = {
        V.UINT8: [0, 1, 255], V.INT8: [-128, 0, 127], V.UINT16: [0, 65535], V.INT16: [-32768, 32767],
        V.UINT32: [0, 4294967295, 7], V.INT32: [-1, 2, -2147483648], V.FLOAT32: [0.5, -1.25, 3e-20],
        V.BOOL: [True, False, True], V.STRING: ["a", "", "Ġhello", "日本"],
        V.UINT64: [0, 2**64 - 1], V.INT64: [-(2**63), 2**63 - 1], V.FLOAT64: [1e-300, -2.5],
    }
    for vt, values in arrays.items():
        w.add_key_value(f"test.array.{vt.name.lower()}", values, V.ARRAY, sub_type=vt)
    w.add_array("tokenizer.ggml.tokens", [f"tok{i}" for i in range(300)])


def write_file(path, rng, types, alignment=None, metadata=True, shapes=None):
    w = gguf.GGUFWriter(str(path), "edgevlm-test")
    if alignment is not None:
        w.add_custom_alignment(alignment)
    if metadata:
        add_metadata(w)
    expected = {}
    for qtype in types:
        block = gguf.GGML_QUANT_SIZES[qtype][0]
        for i, ne in enumerate(shapes or shapes_for(block)):
            name = f"{qtype.name.lower()}.{i}"
            data, raw_dtype, exp = tensor_bytes(rng, qtype, ne)
            w.add_tensor(name, data, raw_dtype=raw_dtype)
            if exp is not None:
                expected[name] = np.ascontiguousarray(exp, dtype=np.float32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return expected


def json_value(field):
    main = field.types[0]
    if main == V.ARRAY:
        sub = field.types[-1]
        values = field.contents()
        if sub in (V.FLOAT32, V.FLOAT64):
            values = [float(v) for v in values]
        elif sub == V.BOOL:
            values = [bool(v) for v in values]
        elif sub != V.STRING:
            values = [int(v) for v in values]
        return {"type": "array", "element_type": sub.name.lower(), "value": values}
    v = field.contents()
    if main in (V.FLOAT32, V.FLOAT64):
        v = float(v)
    elif main == V.BOOL:
        v = bool(v)
    elif main != V.STRING:
        v = int(v)
    return {"type": main.name.lower(), "value": v}


def describe(path):
    r = gguf.GGUFReader(str(path))
    metadata = []
    for name, field in r.fields.items():
        if name.startswith("GGUF."):
            continue
        metadata.append({"key": name, **json_value(field)})
    tensors = [{
        "name": t.name, "type": t.tensor_type.name.lower(), "type_code": int(t.tensor_type),
        "shape": [int(x) for x in t.shape], "offset": int(t.data_offset) - int(r.data_offset),
        "n_bytes": int(t.n_bytes), "n_elements": int(t.n_elements),
    } for t in r.tensors]
    return {
        "version": int(r.fields["GGUF.version"].contents()), "alignment": int(r.alignment),
        "data_offset": int(r.data_offset), "file_size": path.stat().st_size,
        "metadata": metadata, "tensors": tensors,
    }


def main():
    out = Path(sys.argv[1]) / "gguf"
    stamp = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16] + "-" + gguf.__version__ \
        if hasattr(gguf, "__version__") else hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    manifest_path = out / "manifest.json"
    if manifest_path.exists() and json.loads(manifest_path.read_text()).get("stamp") == stamp:
        return
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rng = np.random.default_rng(20261127)

    all_types = [Q.F32, Q.F16, Q.BF16, Q.F64, Q.I8, Q.I16, Q.I32, Q.I64,
                 Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0,
                 Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.Q8_K,
                 Q.IQ4_NL, Q.IQ4_XS, Q.MXFP4, Q.TQ1_0, Q.TQ2_0,
                 Q.IQ2_XXS, Q.IQ2_XS, Q.IQ2_S, Q.IQ3_XXS, Q.IQ3_S, Q.IQ1_S]
    files = {}
    files["types.gguf"] = write_file(out / "types.gguf", rng, all_types)
    files["align64.gguf"] = write_file(out / "align64.gguf", rng, [Q.F32, Q.Q8_0, Q.Q4_K], alignment=64,
                                       metadata=False, shapes=[[256, 3], [512]])
    data = bytearray((out / "align64.gguf").read_bytes())
    data[4:8] = (2).to_bytes(4, "little")
    (out / "v2.gguf").write_bytes(bytes(data))
    files["v2.gguf"] = files["align64.gguf"]
    files["empty.gguf"] = write_file(out / "empty.gguf", rng, [])

    manifest = {"stamp": stamp, "files": {}}
    for name, expected in files.items():
        desc = describe(out / name)
        exp_dir = out / (name + ".expected")
        exp_dir.mkdir(exist_ok=True)
        for tname, values in expected.items():
            (exp_dir / f"{tname}.f32").write_bytes(values.astype("<f4").tobytes())
        desc["expected"] = sorted(expected)
        manifest["files"][name] = desc
    manifest["quant_sizes"] = {t.name.lower(): list(v) for t, v in gguf.GGML_QUANT_SIZES.items()}
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Dumps the field table of the installed onnx package's compiled protobuf
schema (Debian's python3-onnx), as an independent check of the hand-written
schema in packages/core/src/onnx/schema.ts (see packages/core/test/schema.test.ts).

    /usr/bin/python3 models/dump_onnx_schema.py > test/fixtures/onnx_pb2_fields.json
"""
import json

import onnx
from onnx import onnx_ml_pb2

TYPES = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 8: "bool", 9: "string",
         11: "message", 12: "bytes", 13: "uint32", 14: "enum"}


def walk(desc, prefix, out):
    for f in desc.fields:
        out.append({"message": prefix + desc.name, "name": f.name, "number": f.number,
                    "type": TYPES.get(f.type, str(f.type)), "repeated": f.label == 3,
                    "packed": bool(f.GetOptions().packed)})
    for nested in desc.nested_types:
        walk(nested, prefix + desc.name + ".", out)


fields = []
for msg in onnx_ml_pb2.DESCRIPTOR.message_types_by_name.values():
    walk(msg, "", fields)
print(json.dumps({"onnx_version": onnx.__version__, "ir_version": onnx.IR_VERSION, "fields": fields}, indent=0))

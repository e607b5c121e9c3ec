"""Writes tests/data/uint8_input.onnx: a tiny model whose input is a uint8
N x 3 x 96 x 96 tensor (Cast to float, mean over the pixels, two scores),
for the tests that the ONNX classifiers refuse non-f32 inputs instead of
feeding them f32 values. Byte-identical on re-runs.

usage: python3 tools/make_uint8_model.py   (needs onnx==1.23.2)
"""
import os

import onnx
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

x = helper.make_tensor_value_info("image", TensorProto.UINT8, ["N", 3, 96, 96])
y = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 1])
nodes = [
    helper.make_node("Cast", ["image"], ["f"], to=TensorProto.FLOAT),
    helper.make_node("ReduceMean", ["f"], ["m"], axes=[2, 3], keepdims=0),
    helper.make_node("ReduceMean", ["m"], ["scores"], axes=[1], keepdims=1),
]
graph = helper.make_graph(nodes, "uint8_input", [x], [y])
model = helper.make_model(graph, producer_name="multiscale-lime tests",
                          opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
path = os.path.join(ROOT, "tests", "data", "uint8_input.onnx")
with open(path, "wb") as f:
    f.write(model.SerializeToString())
print(path)

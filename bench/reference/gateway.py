"""Python reference gateway for `npm run bench:gateway`: the seeds' Flask gateway (seed 003, 9.2.5),
rewritten minimally so it runs without tensorflow / tensorflow-serving-api.

Same pipeline as the seeds' `model_server.py` with keras_image_helper's xception preprocessor:
urllib download -> PIL open, convert('RGB') -> resize((299, 299), NEAREST) -> float32 numpy,
x /= 127.5; x -= 1 -> PredictRequest with tensor_content (what tf.make_tensor_proto produces for a
float32 array) -> grpcio unary call to PredictionService/Predict -> {label: score} from float_val.

The only difference from the seeds: the protobuf messages are encoded and decoded by hand here,
because the TensorFlow packages are not installable on the bench machine. The encoding copies the
tensor twice (tobytes and one join; tf.make_tensor_proto + SerializeToString copy it at least as
often), so this does not make the reference slower than the original.

Run: gunicorn --bind 127.0.0.1:9696 --chdir bench/reference gateway:app  (TF_SERVING_HOST=host:port)
"""
import os
import struct
from io import BytesIO
from urllib import request as urlrequest

import grpc
import numpy as np
from flask import Flask, jsonify, request
from PIL import Image

host = os.getenv("TF_SERVING_HOST", "localhost:8500")
channel = grpc.insecure_channel(host)
# Generic stub: raw bytes in, raw bytes out (no generated *_pb2 modules available).
predict = channel.unary_unary(
    "/tensorflow.serving.PredictionService/Predict",
    request_serializer=None,
    response_deserializer=None,
)

MODEL_NAME = os.getenv("MODEL_NAME", "clothing-model")
SIGNATURE_NAME = "serving_default"
INPUT_NAME = "input_8"
OUTPUT_NAME = "dense_7"
TARGET_SIZE = (299, 299)
DT_FLOAT = 1

labels = [
    "dress",
    "hat",
    "longsleeve",
    "outwear",
    "pants",
    "shirt",
    "shoes",
    "shorts",
    "skirt",
    "t-shirt",
]


# --- keras_image_helper's xception preprocessor, inlined -------------------------------------

def from_url(url):
    with urlrequest.urlopen(url) as resp:
        buffer = resp.read()
    img = Image.open(BytesIO(buffer))
    if img.mode != "RGB":
        img = img.convert("RGB")
    img = img.resize(TARGET_SIZE, Image.NEAREST)
    x = np.array(img, dtype="float32")
    X = np.array([x])
    X /= 127.5
    X -= 1.0
    return X


# --- protobuf by hand --------------------------------------------------------------------------

def _varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _len_field(field, payload):
    return _varint((field << 3) | 2) + _varint(len(payload)) + payload


def make_request(X):
    """tensorflow.serving.PredictRequest{model_spec=1{name=1, signature_name=3},
    inputs=2 map<string, TensorProto{dtype=1, tensor_shape=2{dim=2{size=1}}, tensor_content=4}>}.

    The tensor bytes are copied twice (tobytes, then one join behind the headers), as
    tf.make_tensor_proto plus SerializeToString copy them at least twice in the seeds' gateway."""
    content = X.astype("<f4", copy=False).tobytes()
    model_spec = _len_field(1, MODEL_NAME.encode()) + _len_field(3, SIGNATURE_NAME.encode())
    shape = b"".join(_len_field(2, b"\x08" + _varint(d)) for d in X.shape)
    tensor_head = b"\x08" + _varint(DT_FLOAT) + _len_field(2, shape) + _varint((4 << 3) | 2) + _varint(len(content))
    entry_head = _len_field(1, INPUT_NAME.encode()) + _varint((2 << 3) | 2) + _varint(len(tensor_head) + len(content)) + tensor_head
    head = _len_field(1, model_spec) + _varint((2 << 3) | 2) + _varint(len(entry_head) + len(content)) + entry_head
    return b"".join((head, content))


def _fields(buf):
    """Yields (field, wire, value) where value is an int (varint) or a memoryview slice."""
    pos, n = 0, len(buf)
    while pos < n:
        key = 0
        shift = 0
        while True:
            b = buf[pos]
            pos += 1
            key |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        field, wire = key >> 3, key & 7
        if wire == 0:
            v = 0
            shift = 0
            while True:
                b = buf[pos]
                pos += 1
                v |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            yield field, wire, v
        elif wire == 1:
            yield field, wire, buf[pos:pos + 8]
            pos += 8
        elif wire == 2:
            ln = 0
            shift = 0
            while True:
                b = buf[pos]
                pos += 1
                ln |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            yield field, wire, buf[pos:pos + ln]
            pos += ln
        elif wire == 5:
            yield field, wire, buf[pos:pos + 4]
            pos += 4
        else:
            raise ValueError("unsupported protobuf wire type %d" % wire)


def _floats(tensor):
    """float_val (5, packed or not) or tensor_content (4) of a DT_FLOAT TensorProto."""
    vals = []
    for field, wire, v in _fields(tensor):
        if field == 5 and wire == 2:
            vals.extend(struct.unpack("<%df" % (len(v) // 4), v))
        elif field == 5 and wire == 5:
            vals.append(struct.unpack("<f", v)[0])
        elif field == 4 and wire == 2 and not vals:
            vals.extend(struct.unpack("<%df" % (len(v) // 4), v))
    return vals


def process_response(pb_result):
    """PredictResponse{outputs=1 map<string, TensorProto>} -> {label: score} for OUTPUT_NAME."""
    buf = memoryview(pb_result)
    for field, wire, entry in _fields(buf):
        if field != 1 or wire != 2:
            continue
        key, tensor = None, None
        for f, w, v in _fields(entry):
            if f == 1 and w == 2:
                key = bytes(v).decode()
            elif f == 2 and w == 2:
                tensor = v
        if key == OUTPUT_NAME and tensor is not None:
            pred = _floats(tensor)
            return {c: p for c, p in zip(labels, pred)}
    raise ValueError("output %s missing from PredictResponse" % OUTPUT_NAME)


def apply_model(url):
    X = from_url(url)
    pb_request = make_request(X)
    pb_result = predict(pb_request, timeout=20.0)
    return process_response(pb_result)


app = Flask("clothing-model")


@app.route("/predict", methods=["POST"])
def predict_endpoint():
    url = request.get_json()
    result = apply_model(url["url"])
    return jsonify(result)


if __name__ == "__main__":
    app.run(debug=True, host="0.0.0.0", port=9696)

"""Read the parameter blobs of a binary Caffe model (``.caffemodel``).

A ``.caffemodel`` is a protobuf ``NetParameter``. The small wire-format reader
below decodes the few fields that hold weights, so neither Caffe nor protobuf
is needed; it depends on numpy alone.
"""

from __future__ import annotations

import numpy as np

# Field numbers from Caffe's src/caffe/proto/caffe.proto.
NET_LAYER = 100  # NetParameter.layer (LayerParameter)
NET_V1_LAYERS = 2  # NetParameter.layers (V1LayerParameter, deprecated)
LAYER_NAME, LAYER_BLOBS = 1, 7
V1_LAYER_NAME, V1_LAYER_BLOBS = 4, 6
BLOB_LEGACY_DIMS = (1, 2, 3, 4)  # num, channels, height, width
BLOB_DATA, BLOB_SHAPE = 5, 7
SHAPE_DIM = 1

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def read_varint(buf, pos):
    """Decode a base-128 varint.

    Parameters
    ----------
    buf : bytes or memoryview
        Encoded message.
    pos : int
        Offset of the varint's first byte.

    Returns
    -------
    value, pos : int
        The unsigned value and the offset just after it.
    """
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def iter_fields(buf):
    """Walk the top-level fields of one protobuf message.

    Parameters
    ----------
    buf : bytes or memoryview
        Encoded message.

    Yields
    ------
    field : int
        Field number.
    wire_type : int
        0 (varint), 1 (64-bit), 2 (length-delimited) or 5 (32-bit).
    value : int or memoryview
        The integer of a varint, else the raw bytes (without the length prefix).
    """
    buf = memoryview(buf)
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        field, wire_type = key >> 3, key & 7
        if wire_type == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            value, pos = buf[pos:pos + size], pos + size
        elif wire_type == LENGTH:
            size, pos = read_varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise ValueError(f"unsupported wire type {wire_type} (field {field})")
        if pos > len(buf):
            raise ValueError(f"truncated field {field}")
        yield field, wire_type, value


def _packed_varints(wire_type, value):
    if wire_type == VARINT:
        return [value]
    out, pos = [], 0
    while pos < len(value):
        item, pos = read_varint(value, pos)
        out.append(item)
    return out


def parse_blob(buf):
    """Decode a Caffe ``BlobProto`` into a float32 array.

    Parameters
    ----------
    buf : bytes or memoryview
        Encoded ``BlobProto``.

    Returns
    -------
    ndarray
        The ``data`` values in the blob's shape (``shape.dim`` if present, else
        the legacy num/channels/height/width).
    """
    chunks, dims, legacy = [], [], {}
    for field, wire_type, value in iter_fields(buf):
        if field == BLOB_DATA:
            # Packed (wire type 2) as Caffe writes it, or one float per field.
            chunks.append(np.frombuffer(value, dtype="<f4"))
        elif field == BLOB_SHAPE:
            for sub_field, sub_type, sub_value in iter_fields(value):
                if sub_field == SHAPE_DIM:
                    dims += _packed_varints(sub_type, sub_value)
        elif field in BLOB_LEGACY_DIMS and wire_type == VARINT:
            legacy[field] = value
    data = np.concatenate(chunks) if chunks else np.zeros(0, dtype="<f4")
    if not dims and legacy:
        dims = [legacy.get(f, 1) for f in BLOB_LEGACY_DIMS]
    if dims and int(np.prod(dims)) != data.size:
        raise ValueError(f"blob shape {dims} does not match its {data.size} values")
    return data.astype(np.float32).reshape(dims if dims else (-1,))


def _parse_layer(buf, name_field, blobs_field):
    name, blobs = None, []
    for field, _, value in iter_fields(buf):
        if field == name_field:
            name = bytes(value).decode("utf-8")
        elif field == blobs_field:
            blobs.append(parse_blob(value))
    return name, blobs


def read_caffemodel(data):
    """Parameter blobs of every layer of a binary Caffe ``NetParameter``.

    Parameters
    ----------
    data : bytes
        Contents of a ``.caffemodel`` file.

    Returns
    -------
    dict of str to list of ndarray
        Layer name to its blobs (for convolutions: weight, then bias), for the
        layers that have blobs. New-style (``layer``) and V1 (``layers``)
        layers are both read.
    """
    layers = {}
    for field, wire_type, value in iter_fields(data):
        if wire_type != LENGTH:
            continue
        if field == NET_LAYER:
            name, blobs = _parse_layer(value, LAYER_NAME, LAYER_BLOBS)
        elif field == NET_V1_LAYERS:
            name, blobs = _parse_layer(value, V1_LAYER_NAME, V1_LAYER_BLOBS)
        else:
            continue
        if blobs:
            layers[name] = blobs
    return layers

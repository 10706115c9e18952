"""The protobuf wire format for the few messages this service speaks (proto/gameday/v1/inventory.proto,
common.proto), by hand: varints and length-delimited fields. A real service would use generated code."""


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3) + varint(value) if value else b""


def field_bytes(number, value):
    return varint(number << 3 | 2) + varint(len(value)) + value if value else b""


def read_varint(data, i):
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, i


def fields(data):
    """(field number, wire type, value) for each field of a message."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            size, i = read_varint(data, i)
            value, i = data[i:i + size], i + size
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def decode_get_inventory_request(data):
    """gameday.v1.GetInventoryRequest → player_id"""
    for number, wire, value in fields(data):
        if number == 1 and wire == 2:
            return value.decode()
    return ""


def encode_get_inventory_response(player_id, items, gold, served_by):
    """gameday.v1.GetInventoryResponse; items: (sku, name, quantity)"""
    out = field_bytes(1, player_id.encode())
    for sku, name, quantity in items:
        item = field_bytes(1, sku.encode()) + field_bytes(2, name.encode()) + field_varint(3, quantity)
        out += varint(2 << 3 | 2) + varint(len(item)) + item
    return out + field_varint(3, gold) + field_bytes(4, served_by.encode())


def encode_error_detail(code, message):
    """gameday.v1.ErrorDetail"""
    return field_varint(1, code) + field_bytes(2, message.encode())

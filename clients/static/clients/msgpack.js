// msgpack for the browser client: what Skirmish sends and receives, no dependencies.
//
// decode(bytes) -> value: maps become plain objects whose keys are String(key) (the int key codes
// of compact deltas become "12", "-2", and their nil key "null"); ext types are refused.
// encode(value) -> Uint8Array: null, booleans, numbers (integers as ints, others as float64),
// strings, arrays and plain objects (string keys).
// expandDelta(items, keys) -> the map form of a compact delta (game_server/protocol/frames.py).

const utf8in = new TextDecoder("utf-8", { fatal: true });
const utf8out = new TextEncoder();

export function decode(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const str = (n) => {
    const s = utf8in.decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const many = (n, map) => {
    if (!map) {
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = value();
      return out;
    }
    const out = {};
    for (let i = 0; i < n; i++) {
      const key = String(value());
      // (as JSON.parse does: "__proto__" is an own key, never the prototype)
      Object.defineProperty(out, key, { value: value(), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  const take = (n, read) => {
    const v = read(pos);
    pos += n;
    return v;
  };
  function value() {
    if (pos >= bytes.length) throw new Error("msgpack: truncated");
    const b = bytes[pos++];
    if (b < 0x80) return b;
    if (b < 0x90) return many(b & 0x0f, true);
    if (b < 0xa0) return many(b & 0x0f, false);
    if (b < 0xc0) return str(b & 0x1f);
    if (b >= 0xe0) return b - 0x100;
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: { const n = take(1, (p) => view.getUint8(p)); pos += n; return bytes.slice(pos - n, pos); }
      case 0xc5: { const n = take(2, (p) => view.getUint16(p)); pos += n; return bytes.slice(pos - n, pos); }
      case 0xc6: { const n = take(4, (p) => view.getUint32(p)); pos += n; return bytes.slice(pos - n, pos); }
      case 0xca: return take(4, (p) => view.getFloat32(p));
      case 0xcb: return take(8, (p) => view.getFloat64(p));
      case 0xcc: return take(1, (p) => view.getUint8(p));
      case 0xcd: return take(2, (p) => view.getUint16(p));
      case 0xce: return take(4, (p) => view.getUint32(p));
      case 0xcf: return Number(take(8, (p) => view.getBigUint64(p)));
      case 0xd0: return take(1, (p) => view.getInt8(p));
      case 0xd1: return take(2, (p) => view.getInt16(p));
      case 0xd2: return take(4, (p) => view.getInt32(p));
      case 0xd3: return Number(take(8, (p) => view.getBigInt64(p)));
      case 0xd9: return str(take(1, (p) => view.getUint8(p)));
      case 0xda: return str(take(2, (p) => view.getUint16(p)));
      case 0xdb: return str(take(4, (p) => view.getUint32(p)));
      case 0xdc: return many(take(2, (p) => view.getUint16(p)), false);
      case 0xdd: return many(take(4, (p) => view.getUint32(p)), false);
      case 0xde: return many(take(2, (p) => view.getUint16(p)), true);
      case 0xdf: return many(take(4, (p) => view.getUint32(p)), true);
      default: throw new Error(`msgpack: type 0x${b.toString(16)} is not supported`);
    }
  }
  const out = value();
  if (pos !== bytes.length) throw new Error("msgpack: trailing bytes");
  return out;
}

export function encode(input) {
  const parts = [];
  const head = (...bytes) => parts.push(Uint8Array.from(bytes));
  const fixed = (tag, size, write) => {
    const buf = new Uint8Array(1 + size);
    buf[0] = tag;
    write(new DataView(buf.buffer), 1);
    parts.push(buf);
  };
  const length = (n, fix, fixLimit, tags) => {
    if (n < fixLimit) head(fix | n);
    else if (tags[0] && n < 0x100) head(tags[0], n);
    else if (n < 0x10000) fixed(tags[1], 2, (v, p) => v.setUint16(p, n));
    else fixed(tags[2], 4, (v, p) => v.setUint32(p, n));
  };
  function value(x) {
    if (x === null || x === undefined) head(0xc0);
    else if (x === false) head(0xc2);
    else if (x === true) head(0xc3);
    else if (typeof x === "number") number(x);
    else if (typeof x === "string") {
      const b = utf8out.encode(x);
      length(b.length, 0xa0, 32, [0xd9, 0xda, 0xdb]);
      parts.push(b);
    } else if (Array.isArray(x)) {
      length(x.length, 0x90, 16, [0, 0xdc, 0xdd]);
      x.forEach(value);
    } else if (typeof x === "object") {
      const entries = Object.entries(x).filter(([, v]) => v !== undefined);
      length(entries.length, 0x80, 16, [0, 0xde, 0xdf]);
      for (const [k, v] of entries) {
        value(k);
        value(v);
      }
    } else throw new Error(`msgpack: cannot encode ${typeof x}`);
  }
  function number(n) {
    if (!Number.isSafeInteger(n)) fixed(0xcb, 8, (v, p) => v.setFloat64(p, n));
    else if (n >= 0 && n < 0x80) head(n);
    else if (n < 0 && n >= -32) head(n + 0x100);
    else if (n >= 0 && n < 0x100) head(0xcc, n);
    else if (n >= 0 && n < 0x10000) fixed(0xcd, 2, (v, p) => v.setUint16(p, n));
    else if (n >= 0 && n < 0x100000000) fixed(0xce, 4, (v, p) => v.setUint32(p, n));
    else if (n >= 0) fixed(0xcf, 8, (v, p) => v.setBigUint64(p, BigInt(n)));
    else if (n >= -0x80) fixed(0xd0, 1, (v, p) => v.setInt8(p, n));
    else if (n >= -0x8000) fixed(0xd1, 2, (v, p) => v.setInt16(p, n));
    else if (n >= -0x80000000) fixed(0xd2, 4, (v, p) => v.setInt32(p, n));
    else fixed(0xd3, 8, (v, p) => v.setBigInt64(p, BigInt(n)));
  }
  value(input);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The map form {type, tick, base, t, delta} of a compact delta [tick, t, node, base?, extra?]. */
export function expandDelta(items, keys) {
  const [tick, t, node, base = tick - 1, extras = []] = items;
  const key = (code) => {
    const at = Math.floor(code / 2);
    if (at < 0) return extras[-at - 1];
    return at < keys.length ? keys[at] : String(at - keys.length);
  };
  const expand = (n) => {
    const out = {};
    for (const [k, v] of Object.entries(n)) {
      if (k === "null") {
        out.del = v.map(key);
        continue;
      }
      const code = Number(k);
      const part = code % 2 !== 0 ? "add" : v !== null && typeof v === "object" && !Array.isArray(v) ? "sub" : "set";
      (out[part] ||= {})[key(code)] = part === "sub" ? expand(v) : v;
    }
    return out;
  };
  return { type: "delta", tick, base, t, delta: expand(node) };
}

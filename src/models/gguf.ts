/**
 * GGUF reader: the header, metadata and tensor table of a GGUF file (v2, v3,
 * little-endian), read incrementally through a file handle. Tensor data is
 * never read. Every count and length is checked against what is left of the
 * file before anything is allocated, so a corrupt or hostile file fails fast
 * with a GGUFParseError instead of exhausting memory.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { GGUFParseError } from "../inference/gguf-parse-error.ts";
import { hasFillInTheMiddleTokens } from "./capabilities.ts";

export const GGUFValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GGUFValueType = (typeof GGUFValueType)[keyof typeof GGUFValueType];

export type GGUFNumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array;

/** An array value keeps its item type, so that it can be written back unchanged. */
export interface GGUFArray {
  itemType: GGUFValueType;
  items: GGUFNumericArray | string[] | boolean[] | GGUFArray[];
  /** The number of items, where it is known without reading them (a string array read from a file). */
  readonly count?: number;
}

/** How many items `array` has, without reading a vocabulary left in its file. */
export function arrayLength(array: GGUFArray): number {
  return array.count ?? array.items.length;
}

/** 64-bit integers are numbers when they fit exactly, bigints otherwise. */
export type GGUFValue = number | bigint | boolean | string | GGUFArray;

export interface GGUFMetadataEntry {
  type: GGUFValueType;
  value: GGUFValue;
}

export interface GGUFTensorInfo {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  dims: number[];
  /** ggml type id, see {@link ggmlTypes}. */
  type: number;
  /** Relative to {@link GGUFFile.dataOffset}. */
  offset: number;
  /** Bytes of data, from the type's block size and the dims. */
  size: number;
}

export interface GGUFFile {
  version: number;
  metadata: Map<string, GGUFMetadataEntry>;
  tensors: GGUFTensorInfo[];
  alignment: number;
  /** Absolute file offset where tensor data begins. */
  dataOffset: number;
  fileSize: number;
}

export interface GGMLTypeInfo {
  name: string;
  /** Elements per block. */
  blockSize: number;
  bytesPerBlock: number;
}

const QK_K = 256;

/** ggml tensor types (ggml.h `enum ggml_type`), with their block layout. */
export const ggmlTypes: ReadonlyMap<number, GGMLTypeInfo> = new Map(
  (
    [
      [0, "F32", 1, 4],
      [1, "F16", 1, 2],
      [2, "Q4_0", 32, 2 + 16],
      [3, "Q4_1", 32, 2 + 2 + 16],
      [6, "Q5_0", 32, 2 + 4 + 16],
      [7, "Q5_1", 32, 2 + 2 + 4 + 16],
      [8, "Q8_0", 32, 2 + 32],
      [9, "Q8_1", 32, 2 + 2 + 32],
      [10, "Q2_K", QK_K, 2 + 2 + QK_K / 16 + QK_K / 4],
      [11, "Q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12],
      [12, "Q4_K", QK_K, 2 + 2 + QK_K / 2 + 12],
      [13, "Q5_K", QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12],
      [14, "Q6_K", QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16],
      [15, "Q8_K", QK_K, 4 + QK_K + QK_K / 8],
      [16, "IQ2_XXS", QK_K, 2 + QK_K / 4],
      [17, "IQ2_XS", QK_K, 2 + QK_K / 4 + QK_K / 32],
      [18, "IQ3_XXS", QK_K, 2 + QK_K / 4 + QK_K / 8],
      [19, "IQ1_S", QK_K, 2 + QK_K / 8 + QK_K / 16],
      [20, "IQ4_NL", 32, 2 + 16],
      [21, "IQ3_S", QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4],
      [22, "IQ2_S", QK_K, 2 + QK_K / 4 + QK_K / 16],
      [23, "IQ4_XS", QK_K, 2 + 2 + QK_K / 2 + QK_K / 64],
      [24, "I8", 1, 1],
      [25, "I16", 1, 2],
      [26, "I32", 1, 4],
      [27, "I64", 1, 8],
      [28, "F64", 1, 8],
      [29, "IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32],
      [30, "BF16", 1, 2],
      [34, "TQ1_0", QK_K, 2 + 4 * 13],
      [35, "TQ2_0", QK_K, 2 + 64],
      [39, "MXFP4", 32, 1 + 16],
      [40, "NVFP4", 64, 4 + 32],
      [41, "Q1_0", 128, 2 + 16],
      [42, "Q2_0", 64, 2 + 16],
    ] as const
  ).map(([id, name, blockSize, bytesPerBlock]) => [id, { name, blockSize, bytesPerBlock }]),
);

/** `general.file_type` (llama.h `enum llama_ftype`) → the quantization name people use. */
export const llamaFileTypes: ReadonlyMap<number, string> = new Map([
  [0, "F32"],
  [1, "F16"],
  [2, "Q4_0"],
  [3, "Q4_1"],
  [7, "Q8_0"],
  [8, "Q5_0"],
  [9, "Q5_1"],
  [10, "Q2_K"],
  [11, "Q3_K_S"],
  [12, "Q3_K_M"],
  [13, "Q3_K_L"],
  [14, "Q4_K_S"],
  [15, "Q4_K_M"],
  [16, "Q5_K_S"],
  [17, "Q5_K_M"],
  [18, "Q6_K"],
  [19, "IQ2_XXS"],
  [20, "IQ2_XS"],
  [21, "Q2_K_S"],
  [22, "IQ3_XS"],
  [23, "IQ3_XXS"],
  [24, "IQ1_S"],
  [25, "IQ4_NL"],
  [26, "IQ3_S"],
  [27, "IQ3_M"],
  [28, "IQ2_S"],
  [29, "IQ2_M"],
  [30, "IQ4_XS"],
  [31, "IQ1_M"],
  [32, "BF16"],
  [36, "TQ1_0"],
  [37, "TQ2_0"],
  [38, "MXFP4_MOE"],
  [39, "NVFP4"],
  [40, "Q1_0"],
  [41, "Q2_0"],
]);

/** Bytes taken by a tensor of this type and these dims; throws on an impossible shape. */
export function ggmlTensorBytes(type: number, dims: readonly number[]): number {
  const info = ggmlTypes.get(type);
  if (!info) throw new GGUFParseError(`unknown ggml type ${type}`);
  const elements = dims.reduce((product, dim) => product * dim, 1);
  if (!Number.isSafeInteger(elements)) throw new GGUFParseError(`tensor of ${dims.join("x")} elements overflows`);
  if ((dims[0] ?? 1) % info.blockSize !== 0) {
    throw new GGUFParseError(`tensor row of ${dims[0]} is not a multiple of ${info.name}'s block size ${info.blockSize}`);
  }
  return (elements / info.blockSize) * info.bytesPerBlock;
}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_ARRAY_DEPTH = 4;
/** Vocabularies reach ~260k entries; a count beyond this is corruption, not a model. */
const MAX_ARRAY_ITEMS = 16 * 1024 * 1024;
/** Far above any real key, tensor name or embedded tokenizer json; stops a 2 GB "string". */
const MAX_STRING_BYTES = 64 * 1024 * 1024;
/** All the strings of one array: a 262k-token vocabulary takes ~4 MB. */
const MAX_STRING_ARRAY_BYTES = 1024 * 1024 * 1024;
/** Each read of the header: small, since most of a header is vocabulary passed over (a 1 MiB buffer per read left ~6 MB more RSS after importing the demo models). */
const CHUNK_BYTES = 64 * 1024;

const scalarSizes: ReadonlyMap<number, number> = new Map([
  [GGUFValueType.UINT8, 1],
  [GGUFValueType.INT8, 1],
  [GGUFValueType.UINT16, 2],
  [GGUFValueType.INT16, 2],
  [GGUFValueType.UINT32, 4],
  [GGUFValueType.INT32, 4],
  [GGUFValueType.FLOAT32, 4],
  [GGUFValueType.BOOL, 1],
  [GGUFValueType.UINT64, 8],
  [GGUFValueType.INT64, 8],
  [GGUFValueType.FLOAT64, 8],
]);

type NumericArrayConstructor = new (buffer: ArrayBuffer) => GGUFNumericArray;
const numericArrayTypes: ReadonlyMap<number, NumericArrayConstructor> = new Map<number, NumericArrayConstructor>([
  [GGUFValueType.UINT8, Uint8Array],
  [GGUFValueType.INT8, Int8Array],
  [GGUFValueType.UINT16, Uint16Array],
  [GGUFValueType.INT16, Int16Array],
  [GGUFValueType.UINT32, Uint32Array],
  [GGUFValueType.INT32, Int32Array],
  [GGUFValueType.FLOAT32, Float32Array],
  [GGUFValueType.FLOAT64, Float64Array],
  [GGUFValueType.UINT64, BigUint64Array],
  [GGUFValueType.INT64, BigInt64Array],
]);

/** Smallest encoding of one value of a type, for checking counts against the bytes left. */
function minimumBytes(type: number): number {
  if (type === GGUFValueType.STRING) return 8;
  if (type === GGUFValueType.ARRAY) return 12;
  return scalarSizes.get(type) ?? 1;
}

/**
 * Sequential little-endian reads over a file handle through one growable
 * buffer. `need(n)` (async) makes n bytes available; the typed reads after it
 * are synchronous, which keeps loops over 150k vocabulary strings fast.
 */
class FileCursor {
  private buffer = Buffer.alloc(CHUNK_BYTES);
  private bufferStart = 0; // file offset of buffer[0]
  private filled = 0; // valid bytes in buffer
  private position = 0; // read cursor within buffer

  constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly fileSize: number,
  ) {}

  get offset(): number {
    return this.bufferStart + this.position;
  }

  get remaining(): number {
    return this.fileSize - this.offset;
  }

  has(bytes: number): boolean {
    return this.filled - this.position >= bytes;
  }

  async need(bytes: number, what: string): Promise<void> {
    if (this.has(bytes)) return;
    if (bytes > this.remaining) {
      throw new GGUFParseError(`truncated file: ${what} needs ${bytes} bytes at offset ${this.offset}, ${this.remaining} left`);
    }
    const unread = this.filled - this.position;
    const target = this.buffer.length >= bytes ? this.buffer : Buffer.alloc(bytes);
    this.buffer.copy(target, 0, this.position, this.filled);
    this.buffer = target;
    this.bufferStart += this.position;
    this.position = 0;
    this.filled = unread;
    while (this.filled < bytes) {
      const want = Math.min(this.buffer.length - this.filled, this.fileSize - this.bufferStart - this.filled);
      const { bytesRead } = await this.handle.read(this.buffer, this.filled, want, this.bufferStart + this.filled);
      if (bytesRead === 0) throw new GGUFParseError(`file shrank while reading ${what}`);
      this.filled += bytesRead;
    }
  }

  u8(): number {
    return this.buffer[this.position++]!;
  }
  i8(): number {
    return this.buffer.readInt8(this.position++);
  }
  u16(): number {
    return this.advance(2, this.buffer.readUInt16LE(this.position));
  }
  i16(): number {
    return this.advance(2, this.buffer.readInt16LE(this.position));
  }
  u32(): number {
    return this.advance(4, this.buffer.readUInt32LE(this.position));
  }
  i32(): number {
    return this.advance(4, this.buffer.readInt32LE(this.position));
  }
  f32(): number {
    return this.advance(4, this.buffer.readFloatLE(this.position));
  }
  f64(): number {
    return this.advance(8, this.buffer.readDoubleLE(this.position));
  }
  u64(): bigint {
    return this.advance(8, this.buffer.readBigUInt64LE(this.position));
  }
  i64(): bigint {
    return this.advance(8, this.buffer.readBigInt64LE(this.position));
  }
  /** A uint64 count or length as a number, without a BigInt per call; exact below 2^53, and larger ones are rejected by size checks anyway. */
  count(): number {
    return this.u32() + this.u32() * 2 ** 32;
  }

  utf8(bytes: number): string {
    return this.advance(bytes, this.buffer.toString("utf8", this.position, this.position + bytes));
  }

  /**
   * Passes over the buffered strings for items `index`.. of `count` in one
   * synchronous sweep; stops at a string that is not wholly buffered or whose
   * length is suspect, and returns the index it stopped at.
   */
  skipStrings(count: number, index: number): number {
    const { buffer, filled } = this;
    let position = this.position;
    while (index < count && filled - position >= 8) {
      const length = buffer.readUInt32LE(position);
      if (buffer.readUInt32LE(position + 4) !== 0 || length > MAX_STRING_BYTES || filled - position - 8 < length) break;
      position += 8 + length;
      index++;
    }
    this.position = position;
    return index;
  }

  skip(bytes: number): void {
    this.position += bytes;
  }

  /** Copies the next bytes into `target` chunk by chunk, never buffering them all. */
  async copyInto(target: Uint8Array, what: string): Promise<void> {
    let copied = 0;
    while (copied < target.length) {
      const step = Math.min(CHUNK_BYTES, target.length - copied);
      await this.need(step, what);
      target.set(this.buffer.subarray(this.position, this.position + step), copied);
      this.position += step;
      copied += step;
    }
  }

  private advance<T>(bytes: number, value: T): T {
    this.position += bytes;
    return value;
  }
}

function safeNumber(value: bigint): number | bigint {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
}

/** A uint64 count or length that must fit in what is left of the file, `unit` bytes each. */
function checkedCount(cursor: FileCursor, count: number, unit: number, what: string): number {
  if (count * unit > cursor.remaining) {
    throw new GGUFParseError(`${what} of ${count} cannot fit in the ${cursor.remaining} bytes left at offset ${cursor.offset}`);
  }
  return count;
}

/** Consumes a string's already-buffered 8-byte length prefix and checks it. */
function stringLength(cursor: FileCursor, what: string): number {
  const length = cursor.count();
  if (length <= cursor.remaining && length <= MAX_STRING_BYTES) return length;
  checkedCount(cursor, length, 1, `${what} length`);
  throw new GGUFParseError(`${what} of ${length} bytes is larger than any sane GGUF string`);
}

async function readString(cursor: FileCursor, what: string): Promise<string> {
  await cursor.need(8, `${what} length`);
  const length = stringLength(cursor, what);
  await cursor.need(length, what);
  return cursor.utf8(length);
}

function readScalar(cursor: FileCursor, type: number): number | bigint | boolean {
  switch (type) {
    case GGUFValueType.UINT8:
      return cursor.u8();
    case GGUFValueType.INT8:
      return cursor.i8();
    case GGUFValueType.UINT16:
      return cursor.u16();
    case GGUFValueType.INT16:
      return cursor.i16();
    case GGUFValueType.UINT32:
      return cursor.u32();
    case GGUFValueType.INT32:
      return cursor.i32();
    case GGUFValueType.FLOAT32:
      return cursor.f32();
    case GGUFValueType.BOOL:
      return cursor.u8() !== 0;
    case GGUFValueType.UINT64:
      return safeNumber(cursor.u64());
    case GGUFValueType.INT64:
      return safeNumber(cursor.i64());
    case GGUFValueType.FLOAT64:
      return cursor.f64();
    default:
      throw new GGUFParseError(`unknown value type ${type}`);
  }
}

/**
 * Passes over a string array, checking each string's length, and leaves its
 * bytes in the file: read, and decoded, on first access to `items`. A
 * 150k-token vocabulary (and its merges) then costs nothing to the summary,
 * the import check or `/api/show` without `verbose`, which need its length only.
 */
async function readStringArray(cursor: FileCursor, count: number, what: string): Promise<GGUFArray> {
  const start = cursor.offset;
  let index = 0;
  while ((index = cursor.skipStrings(count, index)) < count) {
    // This string straddles the end of the buffer, or its length needs checking (and maybe rejecting).
    await cursor.need(8, `${what}[${index}] length`);
    const length = stringLength(cursor, `${what}[${index}]`);
    await cursor.need(length, `${what}[${index}]`);
    cursor.skip(length);
    index++;
  }
  const end = cursor.offset;
  if (end - start > MAX_STRING_ARRAY_BYTES) throw new GGUFParseError(`${what}: a string array larger than ${MAX_STRING_ARRAY_BYTES} bytes`);
  const { path } = cursor;
  let items: string[] | undefined;
  const array: GGUFArray = {
    itemType: GGUFValueType.STRING,
    get items() {
      return (items ??= readStringsAt(path, start, end, count, what));
    },
  };
  // Not enumerable: the array still compares and serialises as its type and items.
  return Object.defineProperty(array, "count", { value: count });
}

/** The `count` length-prefixed strings between `start` and `end` of the file, as checked when it was read. */
function readStringsAt(path: string, start: number, end: number, count: number, what: string): string[] {
  const bytes = Buffer.allocUnsafe(end - start);
  const fd = openSync(path, "r");
  try {
    for (let read = 0; read < bytes.length; ) {
      const bytesRead = readSync(fd, bytes, read, bytes.length - read, start + read);
      if (bytesRead === 0) throw new GGUFParseError(`${what}: the file shrank since it was read`);
      read += bytesRead;
    }
  } finally {
    closeSync(fd);
  }
  const items = new Array<string>(count);
  let position = 0;
  for (let i = 0; i < count; i++) {
    const length = position + 8 <= bytes.length ? bytes.readUInt32LE(position) : Infinity;
    if (position + 8 + length > bytes.length) throw new GGUFParseError(`${what}: the file changed since it was read`);
    items[i] = bytes.toString("utf8", position + 8, position + 8 + length);
    position += 8 + length;
  }
  return items;
}

async function readArray(cursor: FileCursor, depth: number, what: string): Promise<GGUFArray> {
  if (depth > MAX_ARRAY_DEPTH) throw new GGUFParseError(`${what}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
  await cursor.need(12, `${what} array header`);
  const itemType = cursor.u32();
  if (itemType !== GGUFValueType.STRING && itemType !== GGUFValueType.ARRAY && !scalarSizes.has(itemType)) {
    throw new GGUFParseError(`${what}: unknown array item type ${itemType}`);
  }
  const type = itemType as GGUFValueType;
  const count = checkedCount(cursor, cursor.count(), minimumBytes(type), `${what} array count`);
  if (count > MAX_ARRAY_ITEMS) throw new GGUFParseError(`${what}: array of ${count} items is larger than any sane GGUF array`);

  const NumericArray = numericArrayTypes.get(type);
  if (NumericArray) {
    // Typed arrays use the host's byte order; GGUF and every host we run on are little-endian.
    const items = new NumericArray(new ArrayBuffer(count * scalarSizes.get(type)!));
    await cursor.copyInto(new Uint8Array(items.buffer), what);
    return { itemType: type, items };
  }
  if (type === GGUFValueType.BOOL) {
    const bytes = new Uint8Array(count);
    await cursor.copyInto(bytes, what);
    return { itemType: type, items: Array.from(bytes, (byte) => byte !== 0) };
  }
  if (type === GGUFValueType.STRING) return readStringArray(cursor, count, what);
  const items = new Array<GGUFArray>(count);
  for (let i = 0; i < count; i++) items[i] = await readArray(cursor, depth + 1, `${what}[${i}]`);
  return { itemType: type, items };
}

async function readValue(cursor: FileCursor, type: number, key: string): Promise<GGUFValue> {
  if (type === GGUFValueType.STRING) return readString(cursor, key);
  if (type === GGUFValueType.ARRAY) return readArray(cursor, 1, key);
  const size = scalarSizes.get(type);
  if (size === undefined) throw new GGUFParseError(`${key}: unknown value type ${type}`);
  await cursor.need(size, key);
  return readScalar(cursor, type);
}

async function readHeader(cursor: FileCursor): Promise<{ version: number; tensorCount: number; kvCount: number }> {
  if (cursor.fileSize < 4) throw new GGUFParseError("not a GGUF file (shorter than the magic)");
  await cursor.need(4, "magic");
  if (cursor.u32() !== MAGIC) throw new GGUFParseError("not a GGUF file (bad magic)");
  await cursor.need(4 + 8 + 8, "header");
  const version = cursor.u32();
  if (version === 1) throw new GGUFParseError("GGUF version 1 is not supported");
  if (version !== 2 && version !== 3) {
    const swapped = Buffer.alloc(4);
    swapped.writeUInt32BE(version);
    const hint = [2, 3].includes(swapped.readUInt32LE()) ? " (a big-endian GGUF, which is not supported)" : "";
    throw new GGUFParseError(`unsupported GGUF version ${version}${hint}`);
  }
  return { version, tensorCount: cursor.count(), kvCount: cursor.count() };
}

async function readMetadata(cursor: FileCursor, kvCount: number): Promise<Map<string, GGUFMetadataEntry>> {
  const count = checkedCount(cursor, kvCount, 8 + 4 + 1, "metadata count");
  const metadata = new Map<string, GGUFMetadataEntry>();
  for (let i = 0; i < count; i++) {
    const key = await readString(cursor, `metadata key #${i}`);
    if (metadata.has(key)) throw new GGUFParseError(`duplicate metadata key ${JSON.stringify(key)}`);
    await cursor.need(4, `type of ${key}`);
    const type = cursor.u32();
    const value = await readValue(cursor, type, key);
    metadata.set(key, { type: type as GGUFValueType, value });
  }
  return metadata;
}

async function readTensorInfo(cursor: FileCursor, index: number): Promise<Omit<GGUFTensorInfo, "size">> {
  const name = await readString(cursor, `tensor #${index} name`);
  await cursor.need(4, `${name} dims`);
  const dimCount = cursor.u32();
  if (dimCount > MAX_DIMS) throw new GGUFParseError(`tensor ${name} has ${dimCount} dims, at most ${MAX_DIMS} allowed`);
  await cursor.need(dimCount * 8 + 4 + 8, `${name} shape`);
  const dims: number[] = [];
  for (let d = 0; d < dimCount; d++) {
    const dim = safeNumber(cursor.u64());
    if (typeof dim === "bigint") throw new GGUFParseError(`tensor ${name} dim ${dim} overflows`);
    dims.push(dim);
  }
  const type = cursor.u32();
  const offset = safeNumber(cursor.u64());
  if (typeof offset === "bigint") throw new GGUFParseError(`tensor ${name} offset ${offset} overflows`);
  return { name, dims, type, offset };
}

function readAlignment(metadata: Map<string, GGUFMetadataEntry>): number {
  const entry = metadata.get("general.alignment");
  if (!entry) return DEFAULT_ALIGNMENT;
  const alignment = entry.value;
  if (entry.type !== GGUFValueType.UINT32 || typeof alignment !== "number" || alignment === 0 || (alignment & (alignment - 1)) !== 0) {
    throw new GGUFParseError(`general.alignment must be a power-of-two uint32, got ${String(alignment)}`);
  }
  return alignment;
}

function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

/** Sizes each tensor and checks that it lies, aligned, inside the file's data section. */
function placeTensors(infos: Omit<GGUFTensorInfo, "size">[], alignment: number, dataBytes: number): GGUFTensorInfo[] {
  const names = new Set<string>();
  return infos.map((info) => {
    if (names.has(info.name)) throw new GGUFParseError(`duplicate tensor ${JSON.stringify(info.name)}`);
    names.add(info.name);
    if (info.offset % alignment !== 0) throw new GGUFParseError(`tensor ${info.name} offset ${info.offset} is not aligned to ${alignment}`);
    const size = ggmlTensorBytes(info.type, info.dims);
    if (info.offset + size > dataBytes) {
      throw new GGUFParseError(`tensor ${info.name} (${size} bytes at data offset ${info.offset}) runs past the end of the file`);
    }
    return { ...info, size };
  });
}

/** Reads everything but the tensor data of a GGUF file. */
export async function readGGUF(path: string): Promise<GGUFFile> {
  const handle = await open(path, "r");
  try {
    const { size: fileSize } = await handle.stat();
    const cursor = new FileCursor(handle, path, fileSize);
    const { version, tensorCount, kvCount } = await readHeader(cursor);
    const metadata = await readMetadata(cursor, kvCount);
    const count = checkedCount(cursor, tensorCount, 8 + 4 + 8 + 4 + 8, "tensor count");
    const infos: Omit<GGUFTensorInfo, "size">[] = [];
    for (let i = 0; i < count; i++) infos.push(await readTensorInfo(cursor, i));
    const alignment = readAlignment(metadata);
    const dataOffset = alignUp(cursor.offset, alignment);
    if (count > 0 && dataOffset > fileSize) throw new GGUFParseError("truncated file: tensor data section is missing");
    const tensors = placeTensors(infos, alignment, fileSize - dataOffset);
    return { version, metadata, tensors, alignment, dataOffset, fileSize };
  } finally {
    await handle.close();
  }
}

export interface GGUFModelInfo {
  architecture: string; // general.architecture
  name?: string; // general.name
  parameterCount: number; // sum over tensors of product(dims)
  fileType?: number; // general.file_type
  quantization: string; // "F16", "Q4_K_M", "F32", ... from file_type, else dominant tensor type
  contextLength?: number; // <arch>.context_length
  embeddingLength?: number; // <arch>.embedding_length
  blockCount?: number; // <arch>.block_count
  headCount?: number; // <arch>.attention.head_count
  headCountKv?: number; // <arch>.attention.head_count_kv (default headCount)
  keyLength?: number; // <arch>.attention.key_length (default embedding/headCount)
  valueLength?: number; // <arch>.attention.value_length
  slidingWindow?: number; // <arch>.attention.sliding_window
  poolingType?: number; // <arch>.pooling_type
  chatTemplate?: string; // tokenizer.chat_template
  fillInTheMiddle?: boolean; // the tokenizer names the prefix, suffix and middle tokens infill needs
  hasTokenizer: boolean; // tokenizer.ggml.model present
  tokenizerModel?: string;
  tensorBytes: number; // total bytes of tensor data (sum of each tensor's size from type + dims, using ggml block sizes)
  fileSize: number;
  // For memory planning, so that a load need not read the file again:
  feedForwardLength?: number; // <arch>.feed_forward_length, the widest layer's where it varies
  vocabularySize?: number; // tokenizer.ggml.tokens' length, else token_embd.weight's second dimension
  tokenEmbeddingBytes?: number; // token_embd.weight's size
}

function metadataString(file: GGUFFile, key: string): string | undefined {
  const value = file.metadata.get(key)?.value;
  return typeof value === "string" ? value : undefined;
}

/** A scalar number; some architectures store per-layer arrays (e.g. head counts), then the first item stands. */
function metadataNumber(file: GGUFFile, key: string): number | undefined {
  const value = file.metadata.get(key)?.value;
  if (typeof value === "number") return value;
  if (typeof value === "object" && value.itemType !== GGUFValueType.STRING && typeof value.items[0] === "number") return value.items[0];
  return undefined;
}

/** The type holding the most bytes, for files that do not declare general.file_type. */
function dominantTensorType(tensors: GGUFTensorInfo[]): string {
  const bytesByType = new Map<number, number>();
  for (const tensor of tensors) bytesByType.set(tensor.type, (bytesByType.get(tensor.type) ?? 0) + tensor.size);
  const [type] = [...bytesByType].reduce((best, entry) => (entry[1] > best[1] ? entry : best), [-1, -1]);
  return ggmlTypes.get(type)?.name ?? "unknown";
}

/** The facts about a model that the gateway shows and plans memory with. */
export function summarizeGGUF(file: GGUFFile): GGUFModelInfo {
  const architecture = metadataString(file, "general.architecture") ?? "unknown";
  const arch = (key: string) => metadataNumber(file, `${architecture}.${key}`);
  const fileType = metadataNumber(file, "general.file_type");
  const embeddingLength = arch("embedding_length");
  const headCount = arch("attention.head_count");
  const tokenizerModel = metadataString(file, "tokenizer.ggml.model");
  const tokens = file.metadata.get("tokenizer.ggml.tokens")?.value;
  const tokenEmbedding = file.tensors.find((tensor) => tensor.name === "token_embd.weight");
  return {
    architecture,
    name: metadataString(file, "general.name"),
    parameterCount: file.tensors.reduce((sum, tensor) => sum + tensor.dims.reduce((product, dim) => product * dim, 1), 0),
    fileType,
    quantization: (fileType === undefined ? undefined : llamaFileTypes.get(fileType)) ?? dominantTensorType(file.tensors),
    contextLength: arch("context_length"),
    embeddingLength,
    blockCount: arch("block_count"),
    headCount,
    headCountKv: arch("attention.head_count_kv") ?? headCount,
    keyLength: arch("attention.key_length") ?? (embeddingLength && headCount ? embeddingLength / headCount : undefined),
    valueLength: arch("attention.value_length"),
    slidingWindow: arch("attention.sliding_window"),
    poolingType: arch("pooling_type"),
    chatTemplate: metadataString(file, "tokenizer.chat_template"),
    fillInTheMiddle: hasFillInTheMiddleTokens(file.metadata),
    hasTokenizer: tokenizerModel !== undefined,
    tokenizerModel,
    tensorBytes: file.tensors.reduce((sum, tensor) => sum + tensor.size, 0),
    fileSize: file.fileSize,
    feedForwardLength: largestNumber(file.metadata.get(`${architecture}.feed_forward_length`)?.value),
    vocabularySize: typeof tokens === "object" ? arrayLength(tokens) : tokenEmbedding?.dims[1],
    tokenEmbeddingBytes: tokenEmbedding?.size,
  };
}

/** Per-layer arrays (some architectures vary the FFN width) count by their widest layer. */
function largestNumber(value: GGUFValue | undefined): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "object" && value.itemType !== GGUFValueType.STRING) {
    let largest: number | undefined;
    for (const item of value.items as Iterable<unknown>) if (typeof item === "number" && (largest === undefined || item > largest)) largest = item;
    return largest;
  }
  return undefined;
}

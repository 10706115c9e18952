/**
 * A user's protobuf schemas at run time, without generated code: a descriptor set
 * (`buf build -o image.binpb`, or `protoc --include_imports --descriptor_set_out=…`) loaded into
 * @bufbuild/protobuf's file registry, messages found by their full name, and fields named by a
 * dotted path of proto field names (`player_id`, `meta.version`; the camelCase JSON names work
 * too), set on requests and read from responses through the reflection API.
 */
import { readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { createFileRegistry, fromBinary, ScalarType, toBinary, type DescField, type DescMessage, type FileRegistry } from '@bufbuild/protobuf'
import { reflect, type ReflectMessage } from '@bufbuild/protobuf/reflect'
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt'

/** A problem with the schemas or the mappings: input to fix, never a failed operation. */
export class SchemaError extends Error {
  override name = 'SchemaError'
}

const registries = new Map<string, { mtimeMs: number; registry: FileRegistry }>()

/** Loads a descriptor set (cached while the file is unchanged); relative paths resolve against the working directory. */
export function loadDescriptorSet(path: string): FileRegistry {
  const file = resolve(path)
  let mtimeMs: number
  try {
    mtimeMs = statSync(file).mtimeMs
  } catch {
    throw new SchemaError(`descriptor set ${file} not found: build it from your .proto files with \`buf build -o ${path}\``)
  }
  const cached = registries.get(file)
  if (cached?.mtimeMs === mtimeMs) return cached.registry
  let registry: FileRegistry
  try {
    registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(file)))
  } catch (err) {
    throw new SchemaError(
      `${file} is not a usable descriptor set (${(err as Error).message}): build it with \`buf build -o ${path}\` (or protoc --include_imports --descriptor_set_out)`,
    )
  }
  registries.set(file, { mtimeMs, registry })
  return registry
}

export function findMessage(registry: FileRegistry, typeName: string): DescMessage {
  const desc = registry.getMessage(typeName.replace(/^\./, ''))
  if (desc) return desc
  const known = [...registry].filter((d) => d.kind === 'message').map((d) => d.typeName)
  const short = (typeName.split('.').pop() ?? '').toLowerCase()
  const shortOf = (n: string) => (n.split('.').pop() ?? '').toLowerCase()
  const near = known.filter((n) => short && (shortOf(n) === short || shortOf(n).startsWith(short) || short.startsWith(shortOf(n))))
  throw new SchemaError(
    `no message ${typeName} in the descriptor set${near.length ? ` (did you mean ${near.join(' or ')}?)` : known.length ? ` (it has ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''})` : ''}`,
  )
}

/** What a mapped field carries, which decides the field types it may have. */
export type FieldRole = 'key' | 'value' | 'version' | 'status'

const INTEGER_SCALARS = new Set([
  ScalarType.INT32,
  ScalarType.UINT32,
  ScalarType.SINT32,
  ScalarType.FIXED32,
  ScalarType.SFIXED32,
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
])
const LONG_SCALARS = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64])

/** A resolved dotted path: message fields down to one singular scalar (or, for a status, enum) field. */
export interface FieldPath {
  readonly text: string
  readonly fields: DescField[]
}

export function resolveField(message: DescMessage, path: string, role: FieldRole): FieldPath {
  const fields: DescField[] = []
  let desc: DescMessage = message
  const parts = path.split('.')
  for (const [i, part] of parts.entries()) {
    const field = desc.fields.find((f) => f.name === part || f.localName === part || f.jsonName === part)
    if (!field) throw new SchemaError(`${desc.typeName} has no field ${part} (fields: ${desc.fields.map((f) => f.name).join(', ') || 'none'})`)
    fields.push(field)
    const last = i === parts.length - 1
    if (!last) {
      if (field.fieldKind !== 'message') throw new SchemaError(`${desc.typeName}.${field.name} is not a message: ${path} cannot go through it`)
      desc = field.message
      continue
    }
    const ok =
      field.fieldKind === 'scalar' &&
      (role === 'key'
        ? field.scalar === ScalarType.STRING
        : field.scalar === ScalarType.STRING || INTEGER_SCALARS.has(field.scalar) || (role === 'status' && field.scalar === ScalarType.BOOL))
    if (!ok && !(role === 'status' && field.fieldKind === 'enum')) {
      const want = role === 'key' ? 'a string' : role === 'status' ? 'an integer, string, bool or enum' : 'a string or an integer'
      throw new SchemaError(`${desc.typeName}.${field.name} holds the ${role}: it must be a singular field of ${want}`)
    }
  }
  return { text: path, fields }
}

/** A new message of `desc` with the given fields set. */
export function buildMessage(desc: DescMessage, values: [FieldPath, string | number][]): Uint8Array {
  const root = reflect(desc)
  for (const [path, value] of values) {
    let at: ReflectMessage = root
    for (const field of path.fields.slice(0, -1)) {
      const child = at.get(field as DescField & { fieldKind: 'message' })
      at.set(field, child)
      at = child
    }
    const leaf = path.fields[path.fields.length - 1]!
    at.set(leaf, scalarFor(leaf, value))
  }
  return toBinary(desc, root.message)
}

function scalarFor(field: DescField, value: string | number): unknown {
  if (field.fieldKind !== 'scalar') throw new SchemaError(`${field.name} cannot be set`)
  if (field.scalar === ScalarType.STRING) return String(value)
  if (LONG_SCALARS.has(field.scalar)) return BigInt(value)
  return Number(value)
}

/** A decoded message, read by field paths. */
export class DecodedMessage {
  private constructor(private readonly root: ReflectMessage) {}

  static decode(desc: DescMessage, data: Uint8Array): DecodedMessage {
    return new DecodedMessage(reflect(desc, fromBinary(desc, data)))
  }

  /** The field's value (numbers for integers, an enum's name when it has one), or undefined when a message on the way is unset. */
  get(path: FieldPath): string | number | bigint | boolean | undefined {
    const value = this.raw(path) as string | number | bigint | boolean | undefined
    const leaf = path.fields[path.fields.length - 1]!
    if (value !== undefined && leaf.fieldKind === 'enum') return leaf.enum.values.find((v) => v.number === value)?.name ?? value
    return value
  }

  /** Whether the field holds its type's zero value (0, "", false, an enum's value 0). */
  isZero(path: FieldPath): boolean {
    const leaf = path.fields[path.fields.length - 1]!
    const raw = leaf.fieldKind === 'enum' ? this.raw(path) : this.get(path)
    return raw === undefined || raw === 0 || raw === 0n || raw === '' || raw === false
  }

  private raw(path: FieldPath): unknown {
    let at = this.root
    for (const field of path.fields.slice(0, -1)) {
      if (!at.isSet(field)) return undefined
      at = at.get(field as DescField & { fieldKind: 'message' })
    }
    return at.get(path.fields[path.fields.length - 1]!)
  }

  isSet(path: FieldPath): boolean {
    let at = this.root
    for (const field of path.fields) {
      if (!at.isSet(field)) return false
      if (field.fieldKind === 'message') at = at.get(field)
    }
    return true
  }
}

/**
 * Heap snapshots summed by kind (a constructor's name for objects and closures, V8's own node type for the rest,
 * e.g. `object shape` for hidden classes), and the growth per user between two of them: where the bytes of one more
 * user go. `npm run bench:memory -- --by-kind` prints it.
 */
import { readFileSync } from 'node:fs';

export interface KindTotal {
  bytes: number;
  count: number;
}

interface HeapSnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Sums a `.heapsnapshot` file's nodes by kind. */
export function heapKinds(file: string): Map<string, KindTotal> {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshotFile;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [number, number, number];
  const { nodes, strings } = snapshot;
  const kinds = new Map<string, KindTotal>();
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + typeAt]!]!;
    const named = type === 'object' || type === 'closure' || type === 'native';
    const kind = named ? `${type} ${strings[nodes[i + nameAt]!]}` : type;
    const total = kinds.get(kind) ?? { bytes: 0, count: 0 };
    total.bytes += nodes[i + sizeAt]!;
    total.count += 1;
    kinds.set(kind, total);
  }
  return kinds;
}

/** What grew from `before` to `after`, per user, largest first. */
export function growthPerUser(before: Map<string, KindTotal>, after: Map<string, KindTotal>, users: number): Array<{ kind: string } & KindTotal> {
  return [...after]
    .map(([kind, total]) => ({
      kind,
      bytes: (total.bytes - (before.get(kind)?.bytes ?? 0)) / users,
      count: (total.count - (before.get(kind)?.count ?? 0)) / users,
    }))
    .filter((row) => row.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
}

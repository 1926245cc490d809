/**
 * @module domain/sorted-map
 * The ordered map behind the presence list: a B+ tree (sorted-btree), so paging by name
 * and inserting a user both stay O(log n) at tens of thousands of users.
 */
import btree from 'sorted-btree';

type BTreeClass = typeof btree.default;
// sorted-btree is CommonJS with `exports.default`: Node's ESM interop puts the class on `.default`,
// bundler-style interop (vitest) hands it over directly.
const interop = btree as unknown as { default?: BTreeClass };
export const SortedMap: BTreeClass = interop.default ?? (btree as unknown as BTreeClass);
export type SortedMap<K, V> = InstanceType<typeof btree.default<K, V>>;

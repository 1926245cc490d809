/**
 * @module domain/sorted-map
 * The ordered map behind the presence list: a B+ tree (sorted-btree), so paging by name
 * and inserting a user both stay O(log n) at tens of thousands of users.
 */
import btree from 'sorted-btree';

// sorted-btree is CommonJS with `exports.default`; under Node's ESM interop the class sits on `.default`.
export const SortedMap = btree.default;
export type SortedMap<K, V> = InstanceType<typeof btree.default<K, V>>;

// What a hot standby (a node in recovery) refuses that a master runs, as SQLSTATEs. Shared by the
// kinds: any kind's replica may be a streaming standby (its role comes from pg_is_in_recovery()),
// and a read-only subscriber refuses a write hidden in a read with 25006 as a standby does. Data only.

/**
 * 0A000 (unlogged or temporary relations during recovery, SERIALIZABLE), 25006 (anything that
 * writes: nextval(), txid_current(), a function that writes, LOCK, LISTEN, NOTIFY), 55000
 * (recovery is in progress: pg_current_wal_lsn() …).
 */
export const HOT_STANDBY_REFUSALS: ReadonlySet<string> = Object.freeze(new Set(['0A000', '25006', '55000']));

// What Meridian knows about PostgreSQL's built-in functions without asking a catalog. Used before
// the catalog (so a live catalog cannot make nextval a read) and instead of it when none is loaded
// (CLI use, or before the first refresh). Names are bare and lower-case; pg_catalog.x matches x.
// Must not: list user-space functions, or call something read that can change data or session state.

/** Functions with side effects: always a write, whatever pg_proc says. */
export const BUILTIN_WRITE_FUNCTIONS: ReadonlySet<string> = new Set([
  // sequences: currval/lastval only answer in the session that called nextval, so they stay on the master
  'nextval', 'setval', 'currval', 'lastval',
  // locks (session-level ones also pin, see ADVISORY_*)
  'pg_advisory_lock', 'pg_advisory_lock_shared', 'pg_try_advisory_lock', 'pg_try_advisory_lock_shared',
  'pg_advisory_unlock', 'pg_advisory_unlock_shared', 'pg_advisory_unlock_all',
  'pg_advisory_xact_lock', 'pg_advisory_xact_lock_shared', 'pg_try_advisory_xact_lock', 'pg_try_advisory_xact_lock_shared',
  // session state, transaction ids, notifications
  'set_config', 'setseed', 'txid_current', 'pg_current_xact_id', 'pg_notify',
  // large objects
  'lo_create', 'lo_creat', 'lo_import', 'lo_export', 'lo_unlink', 'lo_open', 'lo_close', 'lo_write', 'lo_put',
  'lo_truncate', 'lo_truncate64', 'lo_from_bytea', 'lowrite', 'lo_lseek', 'lo_lseek64', 'loread', 'lo_get',
  // server administration
  'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_switch_wal',
  'pg_create_restore_point', 'pg_backup_start', 'pg_backup_stop', 'pg_promote', 'pg_wal_replay_pause',
  'pg_wal_replay_resume', 'pg_stat_reset', 'pg_stat_reset_shared', 'pg_stat_reset_single_table_counters',
  'pg_logical_emit_message', 'pg_create_physical_replication_slot', 'pg_create_logical_replication_slot',
  'pg_drop_replication_slot', 'pg_replication_slot_advance', 'pg_logical_slot_get_changes',
  'pg_replication_origin_create', 'pg_replication_origin_drop', 'pg_replication_origin_session_setup',
  'pg_import_system_collations', 'pg_file_write', 'dblink_exec',
]);

/** Session-level advisory locks: the session pins to its backend until they are released. */
export const ADVISORY_LOCK_FUNCTIONS: ReadonlySet<string> = new Set([
  'pg_advisory_lock', 'pg_advisory_lock_shared', 'pg_try_advisory_lock', 'pg_try_advisory_lock_shared',
]);
export const ADVISORY_UNLOCK_FUNCTIONS: ReadonlySet<string> = new Set(['pg_advisory_unlock', 'pg_advisory_unlock_shared']);
export const ADVISORY_UNLOCK_ALL = 'pg_advisory_unlock_all';
export const SET_CONFIG = 'set_config';

/** Functions whose call has a session effect the classifier must see in the parse tree. */
export function hasCallEffect(bareName: string): boolean {
  return ADVISORY_LOCK_FUNCTIONS.has(bareName) || ADVISORY_UNLOCK_FUNCTIONS.has(bareName) ||
    bareName === ADVISORY_UNLOCK_ALL || bareName === SET_CONFIG;
}

/**
 * VOLATILE in pg_proc but without side effects: their result differs per call, but running them
 * on a replica is harmless, so a SELECT of them is a read.
 */
export const BUILTIN_SIDE_EFFECT_FREE_FUNCTIONS: ReadonlySet<string> = new Set([
  'random', 'random_normal', 'pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'clock_timestamp', 'timeofday',
  'gen_random_uuid', 'uuidv4', 'uuidv7', 'uuid_generate_v4', 'uuid_generate_v1', 'pg_current_wal_lsn',
  'pg_current_wal_insert_lsn', 'pg_current_wal_flush_lsn', 'pg_last_wal_receive_lsn', 'pg_last_wal_replay_lsn',
  'pg_last_xact_replay_timestamp', 'pg_stat_get_activity', 'pg_stat_get_backend_pid', 'pg_ls_dir',
]);

/** IMMUTABLE or STABLE built-ins that ORMs, drivers, admin tools and pgbench call. */
export const BUILTIN_READ_FUNCTIONS: ReadonlySet<string> = new Set([
  // time and session information
  'now', 'statement_timestamp', 'transaction_timestamp', 'current_setting', 'version', 'pg_backend_pid',
  'inet_server_port', 'inet_server_addr', 'inet_client_addr', 'inet_client_port', 'pg_is_in_recovery',
  'current_database', 'current_schema', 'current_schemas', 'pg_postmaster_start_time', 'pg_conf_load_time',
  'pg_my_temp_schema', 'pg_is_other_temp_schema', 'pg_wal_lsn_diff', 'txid_current_snapshot', 'pg_current_snapshot',
  'pg_trigger_depth', 'pg_jit_available', 'age', 'make_date', 'make_time', 'make_timestamp', 'make_timestamptz',
  'make_interval', 'date_trunc', 'date_part', 'date_bin', 'to_char', 'to_date', 'to_timestamp', 'to_number',
  'justify_days', 'justify_hours', 'justify_interval', 'isfinite', 'timezone',
  // aggregates and window functions
  'count', 'sum', 'avg', 'min', 'max', 'array_agg', 'string_agg', 'json_agg', 'jsonb_agg', 'json_object_agg',
  'jsonb_object_agg', 'bool_and', 'bool_or', 'every', 'bit_and', 'bit_or', 'stddev', 'stddev_pop',
  'stddev_samp', 'variance', 'var_pop', 'var_samp', 'percentile_cont', 'percentile_disc', 'mode',
  'row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead', 'first_value',
  'last_value', 'nth_value',
  // strings
  'lower', 'upper', 'length', 'substring', 'overlay', 'normalize', 'is_normalized', 'similar_to_escape', 'char_length', 'character_length', 'octet_length', 'bit_length', 'substr',
  'replace', 'concat', 'concat_ws', 'left', 'right', 'btrim', 'ltrim', 'rtrim', 'lpad', 'rpad', 'initcap',
  'split_part', 'strpos', 'starts_with', 'reverse', 'repeat', 'translate', 'format', 'md5', 'sha256',
  'encode', 'decode', 'quote_ident', 'quote_literal', 'quote_nullable', 'regexp_replace', 'regexp_match',
  'regexp_matches', 'regexp_split_to_array', 'regexp_split_to_table', 'regexp_like', 'regexp_count',
  'ascii', 'chr', 'to_hex', 'unaccent', 'string_to_array', 'array_to_string', 'convert_from', 'convert_to',
  'hashtext', 'hashtextextended',
  // numbers
  'abs', 'round', 'floor', 'ceil', 'ceiling', 'trunc', 'mod', 'power', 'sqrt', 'exp', 'ln', 'log', 'sign',
  'div', 'pi', 'width_bucket', 'gcd', 'lcm',
  // arrays, json, ranges
  'array_length', 'array_upper', 'array_lower', 'array_position', 'array_positions', 'array_append',
  'array_prepend', 'array_cat', 'array_remove', 'array_replace', 'cardinality', 'unnest', 'generate_series',
  'generate_subscripts', 'to_json', 'to_jsonb', 'row_to_json', 'array_to_json', 'json_build_object',
  'jsonb_build_object', 'json_build_array', 'jsonb_build_array', 'json_object', 'jsonb_object', 'jsonb_set',
  'jsonb_insert', 'jsonb_strip_nulls', 'json_strip_nulls', 'jsonb_pretty', 'json_extract_path',
  'json_extract_path_text', 'jsonb_extract_path', 'jsonb_extract_path_text', 'json_array_elements',
  'jsonb_array_elements', 'json_array_elements_text', 'jsonb_array_elements_text', 'json_each', 'jsonb_each',
  'json_each_text', 'jsonb_each_text', 'json_object_keys', 'jsonb_object_keys', 'json_typeof',
  'jsonb_typeof', 'json_array_length', 'jsonb_array_length', 'jsonb_path_query', 'jsonb_path_exists',
  'jsonb_path_match', 'jsonb_path_query_array', 'jsonb_path_query_first', 'lower_inc', 'upper_inc', 'isempty',
  // catalog and introspection helpers used by ORMs, psql and admin tools
  'pg_typeof', 'format_type', 'pg_get_expr', 'pg_get_indexdef', 'pg_get_constraintdef', 'pg_get_viewdef',
  'pg_get_triggerdef', 'pg_get_functiondef', 'pg_get_function_arguments', 'pg_get_function_result',
  'pg_get_function_identity_arguments', 'pg_get_serial_sequence', 'pg_get_userbyid', 'pg_get_keywords',
  'pg_get_ruledef', 'pg_get_partkeydef', 'pg_get_statisticsobjdef', 'pg_table_is_visible',
  'pg_type_is_visible', 'pg_function_is_visible', 'obj_description', 'col_description', 'shobj_description',
  'has_table_privilege', 'has_schema_privilege', 'has_database_privilege', 'has_column_privilege',
  'has_function_privilege', 'has_sequence_privilege', 'pg_has_role', 'to_regclass', 'to_regtype',
  'to_regproc', 'to_regprocedure', 'to_regnamespace', 'to_regrole', 'pg_encoding_to_char', 'pg_char_to_encoding',
  'pg_database_size', 'pg_relation_size', 'pg_total_relation_size', 'pg_table_size', 'pg_indexes_size',
  'pg_size_pretty', 'pg_column_size', 'pg_relation_filenode', 'pg_relation_filepath', 'pg_tablespace_location',
  'pg_settings_get_flags', 'pg_get_indexdef', 'array_dims', 'current_user', 'session_user',
]);

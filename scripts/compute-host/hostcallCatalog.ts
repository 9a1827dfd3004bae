// Hostcalls the runtime imports but this host deliberately does not implement: each answers
// UNSUPPORTED (and is logged once). Anything imported that is neither implemented (guestImports.ts)
// nor listed here fails the import-list test, so a js-compute upgrade that adds an import is noticed.
export const STUBBED_HOSTCALLS: Record<string, readonly string[]> = {
  fastly_http_req: ['redirect_to_websocket_proxy_v2', 'register_dynamic_backend', 'inspect'],
  fastly_http_downstream: ['next_request', 'next_request_wait'],
  fastly_image_optimizer: ['transform_image_optimizer_request'],
  // Viceroy answers the HTTP cache hostcalls with "not available" too; the readthrough cache of
  // fetch(req, {backend}) is implemented host-side instead.
  fastly_http_cache: [
    'is_request_cacheable', 'transaction_lookup', 'transaction_insert', 'transaction_insert_and_stream_back',
    'transaction_update', 'transaction_update_and_return_fresh', 'transaction_choose_stale',
    'transaction_record_not_cacheable', 'transaction_abandon', 'close', 'get_suggested_backend_request',
    'get_suggested_cache_options', 'prepare_response_for_storage', 'get_found_response', 'get_state',
    'get_length', 'get_max_age_ns', 'get_stale_while_revalidate_ns', 'get_stale_if_error_ns', 'get_age_ns',
    'get_hits', 'get_sensitive_data', 'get_surrogate_keys', 'get_vary_rule',
  ],
  fastly_cache: [
    'lookup', 'transaction_lookup', 'transaction_lookup_async', 'cache_busy_handle_wait', 'close_busy', 'insert',
    'transaction_insert', 'transaction_update', 'transaction_insert_and_stream_back', 'transaction_cancel',
    'get_body', 'get_state', 'close', 'get_user_metadata', 'get_length', 'get_max_age_ns',
    'get_stale_while_revalidate_ns', 'get_age_ns', 'get_hits',
  ],
  fastly_secret_store: ['plaintext', 'open', 'get', 'from_bytes'],
  fastly_erl: [
    'ratecounter_increment', 'ratecounter_lookup_rate', 'ratecounter_lookup_count', 'penaltybox_add',
    'penaltybox_has', 'check_rate',
  ],
  fastly_device_detection: ['lookup'],
  fastly_kv_store: ['open', 'list', 'list_wait', 'lookup', 'lookup_wait_v2', 'delete', 'delete_wait', 'insert', 'insert_wait'],
  fastly_acl: ['open', 'lookup'],
  fastly_purge: ['purge_surrogate_key'],
  fastly_shielding: ['backend_for_shield', 'shield_info'],
};

/** WASI preview1: wasiPreview1.ts supplies every function of it the runtime imports. */
export const WASI_MODULE = 'wasi_snapshot_preview1';

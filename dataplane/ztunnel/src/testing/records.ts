// Test-only record builders live with the model in @ambit/config; re-exported for the ztunnel's tests.
export * from '@ambit/config/testing';

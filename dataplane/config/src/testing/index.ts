// Test-only builders (never imported by production code): `@ambit/config/testing`.
export * from './records.ts';

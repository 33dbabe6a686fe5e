// Unit tests: chaining Ambit's CNI plugin into a node's conflist and out again, in a scratch directory.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { podConflist } from '../../cni-config.ts';
import {
  AMBIT_CNI_TYPE,
  chainInto,
  installCni,
  pluginScript,
  unchainFrom,
  uninstallCni,
} from './cni-install.ts';

const PLUGIN = { type: AMBIT_CNI_TYPE, eventSocket: '/var/run/ambit/cni.sock' };
const base = podConflist({ podCidr: '10.244.0.0/24', ipamDataDir: '/ipam' });
const text = JSON.stringify(base);
const types = (t: string | undefined): string[] =>
  (JSON.parse(t ?? '{}') as { plugins: { type: string }[] }).plugins.map((p) => p.type);

describe('chainInto / unchainFrom', () => {
  it('appends the plugin last, keeps everything else, and is idempotent', () => {
    const chained = chainInto(text, PLUGIN);
    expect(types(chained)).toEqual(['loopback', 'bridge', AMBIT_CNI_TYPE]);
    expect(JSON.parse(chained ?? '')).toMatchObject({ name: base.name, cniVersion: base.cniVersion });
    expect(chainInto(chained ?? '', PLUGIN)).toBeUndefined();
  });

  it('moves a stale or misplaced entry of its type to the end with the current settings', () => {
    const stale = JSON.stringify({
      ...base,
      plugins: [{ type: AMBIT_CNI_TYPE, eventSocket: '/old' }, ...base.plugins],
    });
    const fixed = JSON.parse(chainInto(stale, PLUGIN) ?? '') as { plugins: Record<string, unknown>[] };
    expect(fixed.plugins.map((p) => p.type)).toEqual(['loopback', 'bridge', AMBIT_CNI_TYPE]);
    expect(fixed.plugins[2]).toEqual(PLUGIN);
  });

  it('takes the plugin out again, leaving the list as it was', () => {
    expect(JSON.parse(unchainFrom(chainInto(text, PLUGIN) ?? '', AMBIT_CNI_TYPE) ?? '')).toEqual(base);
    expect(unchainFrom(text, AMBIT_CNI_TYPE)).toBeUndefined();
  });

  it('writes a plugin binary that execs the given program, quoted', () => {
    expect(pluginScript("/repo/it's/ambit-cni")).toContain(`exec '/repo/it'\\''s/ambit-cni' "$@"`);
  });
});

describe('installCni / uninstallCni', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('waits for a conflist, chains in with the binary first, and leaves the node as it found it', () => {
    dir = mkdtempSync(join(tmpdir(), 'ambit-cni-install-'));
    const o = {
      binDir: join(dir, 'bin'),
      confDir: join(dir, 'net.d'),
      pluginPath: '/repo/bin/ambit-cni',
      plugin: PLUGIN,
    };
    mkdirSync(o.binDir);
    mkdirSync(o.confDir);
    expect(installCni(o)).toBe('waiting');
    expect(statSync(join(o.binDir, AMBIT_CNI_TYPE)).mode & 0o777).toBe(0o755);
    const conf = join(o.confDir, '10-ambit-podnet.conflist');
    writeFileSync(conf, text);
    expect(installCni(o)).toBe('installed');
    expect(types(readFileSync(conf, 'utf8'))).toEqual(['loopback', 'bridge', AMBIT_CNI_TYPE]);
    expect(installCni(o)).toBe('unchanged');
    writeFileSync(conf, text); // the network add-on rewrote its file: chain in again
    expect(installCni(o)).toBe('installed');
    uninstallCni(o);
    uninstallCni(o);
    expect(JSON.parse(readFileSync(conf, 'utf8'))).toEqual(base);
    expect(existsSync(join(o.binDir, AMBIT_CNI_TYPE))).toBe(false);
  });
});

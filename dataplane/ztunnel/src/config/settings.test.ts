import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSPORT, parseSettings, SettingsError } from './settings.ts';

describe('parseSettings', () => {
  it('reads the DaemonSet environment', () => {
    const s = parseSettings({
      NODE_NAME: 'n1',
      CONTROL_PLANE_ADDRESS: 'ambit-control-plane.ambit-system.svc:15010',
    });
    expect(s).toMatchObject({
      node: 'n1',
      controlPlane: 'ambit-control-plane.ambit-system.svc:15010',
      drainMs: 25_000,
      transport: DEFAULT_TRANSPORT,
    });
  });

  it('selects the transport', () => {
    const local = { NODE_NAME: 'n1', LOCAL_CONFIG_PATH: 'x' };
    expect(parseSettings({ ...local, ZTUNNEL_TRANSPORT: 'native' }).transport).toBe('native');
    expect(parseSettings({ ...local, ZTUNNEL_TRANSPORT: 'typescript' }).transport).toBe('typescript');
    expect(parseSettings({ ...local, ZTUNNEL_TRANSPORT: '' }).transport).toBe(DEFAULT_TRANSPORT);
    expect(() => parseSettings({ ...local, ZTUNNEL_TRANSPORT: 'rust' })).toThrow(/ZTUNNEL_TRANSPORT/);
  });

  it('takes a local config instead of the control plane', () => {
    expect(
      parseSettings({ NODE_NAME: 'n1', LOCAL_CONFIG_PATH: '/etc/ambit/config.json' }).localConfigPath,
    ).toBe('/etc/ambit/config.json');
  });

  it('names what is missing or wrong', () => {
    expect(() => parseSettings({})).toThrow(/NODE_NAME is required/);
    expect(() => parseSettings({ NODE_NAME: 'n1' })).toThrow(SettingsError);
    expect(() => parseSettings({ NODE_NAME: 'n1', CONTROL_PLANE_ADDRESS: 'nope' })).toThrow(/not host:port/);
    expect(() => parseSettings({ NODE_NAME: 'n1', LOCAL_CONFIG_PATH: 'x', LOG_LEVEL: 'loud' })).toThrow(
      /LOG_LEVEL/,
    );
  });
});

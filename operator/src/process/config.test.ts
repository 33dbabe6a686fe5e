import { describe, expect, it } from 'vitest';
import { ConfigError, parseOperatorConfig } from './config.ts';

describe('parseOperatorConfig', () => {
  it('reads the downward-API identity and defaults the rest', () => {
    expect(parseOperatorConfig({ POD_NAME: 'ambit-operator-7d9-x2', POD_NAMESPACE: 'ambit-system' })).toEqual(
      {
        identity: 'ambit-operator-7d9-x2',
        namespace: 'ambit-system',
        httpPort: 8080,
        grpcPort: 15010,
        clusterDomain: 'cluster.local',
        kubeconfig: undefined,
      },
    );
  });

  it('names the variable that is wrong', () => {
    expect(() => parseOperatorConfig({ HTTP_PORT: 'http' })).toThrow(ConfigError);
    expect(() => parseOperatorConfig({ HTTP_PORT: '70000' })).toThrow(/HTTP_PORT="70000"/);
    expect(() => parseOperatorConfig({ CLUSTER_DOMAIN: 'Bad_Domain' })).toThrow(/CLUSTER_DOMAIN/);
  });
});
